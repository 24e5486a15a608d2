"""EPIC result objects: :class:`GoalEpicResult` (distance to goal labels) and :class:`EpicResult`.

Small frozen dataclasses with the estimate, its interval and how it was computed. The saved
results table (``<dataset>/results/epic.parquet``) they are written to is
:mod:`evalkit.pipeline.results`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from evalkit.metrics.metric_result import MetricResult
from evalkit.text import fixed, plural


def _interval_text(interval: tuple[float, float] | None, confidence: float) -> str:
    if interval is None:
        return "no interval"
    return f"{confidence:.0%} CI [{fixed(interval[0])}, {fixed(interval[1])}]"


@dataclass(frozen=True)
class GoalEpicResult:
    """EPIC distance of a reward to 0/1 goal labels (paper Lemma 1), with a bootstrap interval.

    :ivar distance: ``sqrt(½(1 − ρ))``: 0 separates goal from non-goal frames perfectly,
        √½ ≈ 0.707 carries no information, 1 is perfectly inverted.
    :ivar rho: weighted Pearson (point-biserial) correlation of reward and label, in [−1, 1].
    :ivar interval: ``(low, high)`` confidence interval of the distance, or ``None`` without bootstrap.
    :ivar rho_interval: the same interval expressed for ρ, ``(low, high)``.
    :ivar method: how it was computed, in words.
    :ivar ci_method: ``"bca"``, ``"percentile"`` or ``None`` (no bootstrap).
    :ivar confidence: nominal coverage of the interval.
    :ivar n_frames: frames used (with a positive weight).
    :ivar n_goal: goal frames among them.
    :ivar n_nongoal: non-goal frames among them.
    :ivar n_episodes: episodes (the bootstrap's resampling unit).
    :ivar n_goal_episodes: episodes with at least one goal frame.
    :ivar n_bootstrap: bootstrap resamples drawn (0: none).
    :ivar n_degenerate: resamples left out because ρ was undefined in them (no goal frame, no
        non-goal frame, or a constant reward).
    :ivar seed: seed of the resampling.
    :ivar weighted: whether frame weights other than equal ones were used.
    :ivar name: which reward column this is (e.g. ``"alpha=0.5"``), if named.
    """

    distance: float
    rho: float
    interval: tuple[float, float] | None
    rho_interval: tuple[float, float] | None
    method: str
    ci_method: str | None
    confidence: float
    n_frames: int
    n_goal: int
    n_nongoal: int
    n_episodes: int
    n_goal_episodes: int
    n_bootstrap: int
    n_degenerate: int
    seed: int
    weighted: bool = False
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (intervals as two-element lists)."""
        d = asdict(self)
        for key in ("interval", "rho_interval"):
            d[key] = None if d[key] is None else [float(v) for v in d[key]]
        return d

    def to_metric_result(self) -> MetricResult:
        """This result as the metric panel's row (``metric="epic"``, ``estimate`` the distance);
        ``details`` carries ``rho``, ``rho_interval``, ``n_goal``, ``n_nongoal``,
        ``n_goal_episodes`` and ``weighted``."""
        return MetricResult(
            metric="epic",
            estimate=self.distance,
            interval=self.interval,
            method=self.method,
            ci_method=self.ci_method,
            confidence=self.confidence,
            n=self.n_frames,
            n_episodes=self.n_episodes,
            n_bootstrap=self.n_bootstrap,
            n_degenerate=self.n_degenerate,
            seed=self.seed,
            name=self.name,
            details={
                "rho": self.rho,
                "rho_interval": self.rho_interval,
                "n_goal": self.n_goal,
                "n_nongoal": self.n_nongoal,
                "n_goal_episodes": self.n_goal_episodes,
                "weighted": self.weighted,
            },
        )

    def __str__(self) -> str:
        name = f"{self.name}: " if self.name else ""
        return (
            f"{name}EPIC distance {fixed(self.distance)} ({_interval_text(self.interval, self.confidence)}), "
            f"ρ = {fixed(self.rho)}; {self.n_goal} goal / {self.n_nongoal} non-goal frames in {plural(self.n_episodes, 'episode')}"
        )


@dataclass(frozen=True)
class EpicResult:
    """EPIC distance between two reward functions of transitions (Gleave et al. 2021).

    :ivar distance: ``sqrt(½(1 − ρ))`` of the canonicalised rewards.
    :ivar rho: Pearson correlation of the canonicalised rewards under the transition distribution.
    :ivar method: ``"tabular"`` (exact expectations) or ``"sample"`` (sample-based canonicalisation).
    :ivar gamma: the discount used in the canonicalisation.
    :ivar n_transitions: transitions the correlation was taken over (tabular: states² × actions).
    :ivar n_coverage: coverage samples of the expectations (tabular: 0, they are exact).
    :ivar interval: bootstrap interval of the distance over transitions (episodes), if asked for.
    :ivar rho_interval: the same interval for ρ.
    :ivar ci_method: ``"bca"``, ``"percentile"`` or ``None``.
    :ivar confidence: nominal coverage of the interval.
    :ivar n_bootstrap: resamples drawn (0: none).
    :ivar n_degenerate: resamples left out because ρ was undefined in them.
    """

    distance: float
    rho: float
    method: str
    gamma: float
    n_transitions: int
    n_coverage: int
    interval: tuple[float, float] | None = None
    rho_interval: tuple[float, float] | None = None
    ci_method: str | None = None
    confidence: float = 0.95
    n_bootstrap: int = 0
    n_degenerate: int = 0

    def __str__(self) -> str:
        return (
            f"EPIC distance {fixed(self.distance)} ({_interval_text(self.interval, self.confidence)}), "
            f"ρ = {fixed(self.rho)} ({self.method}, γ = {self.gamma:g})"
        )
