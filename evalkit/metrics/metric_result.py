"""The result objects of the metric panel: :class:`MetricResult` and :class:`MetricUnavailable`.

Every metric of :mod:`evalkit.metrics.panel` returns one :class:`MetricResult` per reward column:
the estimate, its episode-bootstrap interval and how both were computed; a metric that is not
defined on a dataset can be reported as a :class:`MetricUnavailable` with the reason instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evalkit.text import fixed, plural


@dataclass(frozen=True)
class MetricResult:
    """One reward-quality metric of one reward column, with its episode-bootstrap interval.

    :ivar metric: the metric's registry name (``"epic"``, ``"auc"``, ``"ap"``, ``"spearman"``,
        ``"kendall"``, ``"voc"``, ``"erc_pearson"``, ``"erc_spearman"``).
    :ivar estimate: the value on the full sample (exact, never binned).
    :ivar interval: ``(low, high)`` confidence interval of the estimate, or ``None`` (no bootstrap).
    :ivar method: the definition and the interval's construction, in words.
    :ivar ci_method: ``"bca"``, ``"percentile"`` or ``None`` (no bootstrap).
    :ivar confidence: nominal coverage of the interval.
    :ivar n: frames used (positive weight).
    :ivar n_episodes: episodes (the bootstrap's resampling unit).
    :ivar n_bootstrap: resamples drawn (0: none).
    :ivar n_degenerate: resamples in which the metric was undefined, left out of the interval.
    :ivar seed: seed of the resampling.
    :ivar name: which reward column this is (e.g. ``"alpha=0.5"``), if named.
    :ivar details: metric-specific counts and values (e.g. ``n_goal``, ``n_constant_episodes``,
        EPIC's ``rho``), documented by each metric.
    :ivar note: what a reader should know about the estimate, in one sentence (e.g. how many
        episodes VOC left out and why), or ``""``.
    """

    metric: str
    estimate: float
    interval: tuple[float, float] | None
    method: str
    ci_method: str | None
    confidence: float
    n: int
    n_episodes: int
    n_bootstrap: int
    n_degenerate: int
    seed: int
    name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def available(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (the interval as a two-element list)."""
        d = asdict(self)
        d["interval"] = None if self.interval is None else [float(v) for v in self.interval]
        return d

    def __str__(self) -> str:
        name = f"{self.name}: " if self.name else ""
        ci = (
            "no interval"
            if self.interval is None
            else f"{self.confidence:.0%} CI [{fixed(self.interval[0])}, {fixed(self.interval[1])}]"
        )
        return (
            f"{name}{self.metric} {fixed(self.estimate)} ({ci}); {plural(self.n, 'frame')} in "
            f"{plural(self.n_episodes, 'episode')}"
        )


@dataclass(frozen=True)
class MetricUnavailable:
    """A metric that is not defined on this dataset, and why (one sentence)."""

    metric: str
    reason: str
    name: str | None = None

    @property
    def available(self) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        name = f"{self.name}: " if self.name else ""
        return f"{name}{self.metric} not computed: {self.reason}"
