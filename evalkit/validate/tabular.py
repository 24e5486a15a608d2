"""The tabular study: does an offline metric rank rewards by the regret of training on them?

On random finite MDPs everything is exact. For each MDP and each ground truth (dense, goal),
the candidates of :mod:`evalkit.validate.spectrum` are scored by every metric of
:mod:`evalkit.validate.offline`, and their outcome is the exact normalised regret of the policy
optimal for the candidate (:func:`evalkit.validate.mdp.normalised_regret`). Each metric's
Spearman and Kendall τ-b with regret, with a bootstrap interval over MDPs, say how well it
predicts the outcome.

A study folder holds ``summary.json``, ``summary.md``, ``validity.png``/``.svg`` and
``mdps.npz`` with the arrays ``P (m, S, A, S)``, ``d0 (m, S)``, ``gamma``,
``R_true (m, S, A, S)``, ``R (m, K, S, A, S)``, ``regret (m, K)`` and ``names (K,)``: problem
``2i`` is MDP ``i`` with the dense ground truth, ``2i + 1`` the same MDP with the goal one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_folder, atomic_write_text
from evalkit.metrics.starc import check_discount
from evalkit.validate.correlate import (
    Comparison,
    Correlation,
    compare,
    correlate,
    per_problem_spearman,
)
from evalkit.validate.mdp import normalised_regret, random_mdps
from evalkit.validate.offline import Problem, study_metrics
from evalkit.validate.spectrum import (
    CANDIDATE_NAMES,
    GROUND_TRUTHS,
    INVARIANT,
    candidate_rewards,
    dense_truth,
    goal_truth,
    target_states,
)
from evalkit.validate.study_folder import check_study_folder as refuse_other_studies

SUMMARY = "summary.json"
STUDY_KIND = "tabular"
"""``summary.json``'s ``study`` field: how ``evalkit report`` recognises a study folder."""
WORKING_COPIES = 4
"""Arrays as large as all candidates that the study holds at its peak (rewards, broadcast
transitions, products in the regret's policy iteration)."""


@dataclass(frozen=True)
class TabularSettings:
    """What a tabular study is run with (a study folder records them).

    :ivar n_mdps: random MDPs (each with both ground truths).
    :ivar n_states: states per MDP.
    :ivar n_actions: actions per state.
    :ivar gamma: discount in [0, 1).
    :ivar branching: next states reachable from each ``(s, a)``.
    :ivar seed: seed of every random draw.
    :ivar n_bootstrap: resamples of MDPs for the intervals (0: none).
    :ivar confidence: nominal coverage of the intervals.
    """

    n_mdps: int = 50
    n_states: int = 32
    n_actions: int = 4
    gamma: float = 0.9
    branching: int = 4
    seed: int = 0
    n_bootstrap: int = 1000
    confidence: float = 0.95

    def check(self) -> None:
        """Raise one sentence for settings that cannot run (sizes, γ, memory)."""
        check_discount(self.gamma)
        for what, value, least in (
            ("number of MDPs", self.n_mdps, 2),
            ("number of states", self.n_states, 2),
            ("number of actions", self.n_actions, 2),
            ("branching", self.branching, 1),
        ):
            if value < least:
                raise EvalkitError(f"The {what} must be at least {least}, not {value}.")
        if not 0 < self.confidence < 1:
            raise EvalkitError(f"The confidence must lie in (0, 1), not {self.confidence}.")
        need, have = self.memory_needed(), available_memory()
        if have is not None and need > have:
            raise EvalkitError(
                f"A study of {self.n_mdps} MDPs with {self.n_states} states and {self.n_actions} "
                f"actions needs about {need / 2**30:.1f} GiB of memory but {have / 2**30:.1f} GiB "
                "is available; use fewer MDPs, states or actions."
            )

    def memory_needed(self) -> int:
        """Bytes the study needs at its peak (about)."""
        per_reward = self.n_states**2 * self.n_actions * 8
        problems = 2 * self.n_mdps * (len(CANDIDATE_NAMES) + 2)
        return WORKING_COPIES * problems * per_reward


def available_memory() -> Optional[int]:
    """Bytes of memory available to new allocations, or ``None`` where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@dataclass
class TabularStudy:
    """A finished tabular study.

    :ivar settings: what it was run with.
    :ivar P: ``(m, S, A, S)`` transitions of every problem.
    :ivar d0: ``(m, S)`` start distributions.
    :ivar R_true: ``(m, S, A, S)`` ground truths.
    :ivar R: ``(m, K, S, A, S)`` candidates.
    :ivar kinds: ``(m,)`` the ground truth of each problem (``"dense"``, ``"goal"``).
    :ivar regret: ``(m, K)`` exact normalised regret.
    :ivar values: metric name → ``(m, K)`` distances (NaN: not applicable).
    :ivar correlations: one per metric, over all problems.
    :ivar by_truth: ground truth → one correlation per metric, over its problems only.
    :ivar comparisons: every other metric against the best one (highest τ-b), paired.
    """

    settings: TabularSettings
    P: np.ndarray
    d0: np.ndarray
    R_true: np.ndarray
    R: np.ndarray
    kinds: np.ndarray
    regret: np.ndarray
    values: dict[str, np.ndarray]
    correlations: list[Correlation]
    by_truth: dict[str, list[Correlation]]
    comparisons: list[Comparison]

    @property
    def mdp_index(self) -> np.ndarray:
        """``(m,)`` the MDP each problem is built on."""
        return np.arange(len(self.kinds)) // len(GROUND_TRUTHS)


Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``."""


def build_problems(
    settings: TabularSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray | None]]:
    """Random MDPs, both ground truths on each, and their candidates.

    :return: ``P``, ``d0``, ``R_true``, ``R``, ``kinds`` (problem ``2i``: MDP ``i``, dense;
        ``2i + 1``: goal) and the goal mask of each problem (``None`` for dense ones).
    """
    s = settings
    P1, d01 = random_mdps(s.n_mdps, s.n_states, s.n_actions, seed=s.seed, branching=s.branching)
    rng = np.random.default_rng([s.seed, 1])
    m = len(GROUND_TRUTHS) * s.n_mdps
    R_true = np.empty((m, s.n_states, s.n_actions, s.n_states))
    R = np.empty((m, len(CANDIDATE_NAMES)) + R_true.shape[1:])
    goals: list[np.ndarray | None] = []
    for i in range(s.n_mdps):
        dense = dense_truth(s.n_states, s.n_actions, rng)
        goal, goal_mask = goal_truth(s.n_states, s.n_actions, rng)
        for j, (truth, mask) in enumerate(((dense, None), (goal, goal_mask))):
            p = len(GROUND_TRUTHS) * i + j
            R_true[p] = truth
            R[p] = candidate_rewards(truth, s.gamma, target_states(truth), rng)
            goals.append(mask)
    kinds = np.tile(np.array(GROUND_TRUTHS), s.n_mdps)
    P = np.repeat(P1, len(GROUND_TRUTHS), axis=0)
    d0 = np.repeat(d01, len(GROUND_TRUTHS), axis=0)
    return P, d0, R_true, R, kinds, goals


def run_tabular_study(
    settings: TabularSettings = TabularSettings(), progress: Progress | None = None
) -> TabularStudy:
    """Run the tabular study.

    :param progress: called as ``progress(stage, done, total)`` while it runs.
    """
    settings.check()
    report = progress or (lambda stage, done, total: None)
    P, d0, R_true, R, kinds, goals = build_problems(settings)
    report("regret", 0, 1)
    regret = normalised_regret(P, R_true, R, d0, settings.gamma)
    report("regret", 1, 1)
    m = len(kinds)
    metrics = study_metrics()
    values = {metric.name: np.empty(regret.shape) for metric in metrics}
    for p in range(m):
        problem = Problem(P[p], R_true[p], R[p], settings.gamma, goals[p])
        for metric in metrics:
            values[metric.name][p] = metric.score(problem)
        report("metrics", p + 1, m)
    mdp_index = np.arange(m) // len(GROUND_TRUTHS)
    per_problem = {name: per_problem_spearman(v, regret) for name, v in values.items()}

    def correlations(rows: np.ndarray, stage: str) -> list[Correlation]:
        out = []
        for i, metric in enumerate(metrics):
            out.append(
                correlate(
                    metric.name,
                    values[metric.name][rows],
                    regret[rows],
                    mdp_index[rows],
                    n_bootstrap=settings.n_bootstrap,
                    confidence=settings.confidence,
                    seed=settings.seed,
                    per_problem=per_problem[metric.name][rows],
                )
            )
            report(stage, i + 1, len(metrics))
        return out

    pooled = correlations(np.arange(m), "bootstrap")
    best = best_metric(pooled)
    comparisons = [
        compare(
            (name, values[name]),
            (best, values[best]),
            regret,
            mdp_index,
            n_bootstrap=settings.n_bootstrap,
            confidence=settings.confidence,
            seed=settings.seed,
        )
        for name in values
        if best is not None and name != best
    ]
    by_truth = {
        truth: correlations(np.flatnonzero(kinds == truth), f"bootstrap ({truth})")
        for truth in GROUND_TRUTHS
    }
    return TabularStudy(
        settings, P, d0, R_true, R, kinds, regret, values, pooled, by_truth, comparisons
    )


# -- the study folder --------------------------------------------------------------------------


def check_study_folder(out: Path, settings: TabularSettings) -> None:
    """Refuse to write into a folder that holds something else or a study with other settings.

    A folder with a study of the same settings is replaced (the study is deterministic).
    """
    refuse_other_studies(out, SUMMARY, asdict(settings), STUDY_KIND)


def _fmt(value: float, interval: tuple[float, float] | None) -> str:
    if not np.isfinite(value):
        return "n/a"
    text = f"{value:+.3f}".replace("-", "−")
    if interval is not None:
        text += f" [{interval[0]:+.2f}, {interval[1]:+.2f}]".replace("-", "−")
    return text


def summary_dict(study: TabularStudy) -> dict:
    """Everything ``summary.json`` holds."""
    rows = {}
    for k, name in enumerate(CANDIDATE_NAMES):
        rows[name] = {
            truth: {
                "regret": float(study.regret[study.kinds == truth, k].mean()),
                **{
                    metric: _finite_mean(values[study.kinds == truth, k])
                    for metric, values in study.values.items()
                },
            }
            for truth in GROUND_TRUTHS
        }
    invariance = {
        metric: _finite_max(values[:, INVARIANT]) for metric, values in study.values.items()
    }
    return {
        "study": STUDY_KIND,
        "settings": asdict(study.settings),
        "n_problems": len(study.kinds),
        "candidates": list(CANDIDATE_NAMES),
        "metrics": {name: _description(name) for name in study.values},
        "correlations": [c.to_dict() for c in study.correlations],
        "correlations_by_truth": {
            truth: [c.to_dict() for c in cs] for truth, cs in study.by_truth.items()
        },
        "mean_by_candidate": rows,
        "invariance_max": invariance,
        "invariance_max_regret": float(study.regret[:, INVARIANT].max()),
        "best_metric": best_metric(study.correlations),
        "against_best": [c.to_dict() for c in study.comparisons],
    }


def _finite_mean(a: np.ndarray) -> float | None:
    finite = a[np.isfinite(a)]
    return float(finite.mean()) if len(finite) else None


def _finite_max(a: np.ndarray) -> float | None:
    finite = a[np.isfinite(a)]
    return float(finite.max()) if len(finite) else None


def best_metric(correlations: list[Correlation]) -> str | None:
    """The metric with the highest Kendall τ-b with regret over all rows."""
    ranked = [c for c in correlations if np.isfinite(c.kendall)]
    return max(ranked, key=lambda c: c.kendall).metric if ranked else None


def summary_markdown(study: TabularStudy) -> str:
    """The study's table, as Markdown."""
    s = study.settings
    pct = round(100 * s.confidence)
    lines = [
        "# Does the offline verdict predict training? (tabular)",
        "",
        f"{s.n_mdps} random MDPs ({s.n_states} states, {s.n_actions} actions, γ = {s.gamma:g}, "
        f"seed {s.seed}) × 2 ground truths (dense, goal) × {len(CANDIDATE_NAMES)} candidate "
        "rewards. Outcome: the exact normalised regret of the policy optimal for the candidate. "
        f"Rank correlation of each metric (a distance) with regret, {pct} % bootstrap interval "
        f"over MDPs ({s.n_bootstrap} resamples); higher is better.",
        "",
        "| metric | rows | Spearman | Kendall τ-b | per-MDP Spearman | max on invariance rows |",
        "|---|---|---|---|---|---|",
    ]
    inv = _invariance_text(study)
    for c in study.correlations:
        lines.append(
            f"| {c.metric} | {c.n_rows} | {_fmt(c.spearman, c.spearman_interval)} | "
            f"{_fmt(c.kendall, c.kendall_interval)} | "
            f"{_fmt(c.per_mdp_spearman, c.per_mdp_interval)} | {inv[c.metric]} |"
        )
    lines += [
        "",
        "Kendall τ-b by ground truth:",
        "",
        "| metric | " + " | ".join(GROUND_TRUTHS) + " |",
    ]
    lines.append("|---|" + "---|" * len(GROUND_TRUTHS))
    for i, c in enumerate(study.correlations):
        cells = [
            _fmt(study.by_truth[t][i].kendall, study.by_truth[t][i].kendall_interval)
            for t in GROUND_TRUTHS
        ]
        lines.append(f"| {c.metric} | " + " | ".join(cells) + " |")
    best = best_metric(study.correlations)
    if best is not None:
        lines += [
            "",
            f"Best predictor of regret (Kendall τ-b over all rows): **{best}**. Each other "
            f"metric's τ-b minus {best}'s on the rows both score (paired bootstrap over MDPs):",
            "",
            "| metric | rows | τ-b difference |",
            "|---|---|---|",
        ]
        lines += [
            f"| {c.metric} | {c.n_rows} | {_fmt(c.kendall_difference, c.interval)} |"
            for c in study.comparisons
        ]
    return "\n".join(lines) + "\n"


def _invariance_text(study: TabularStudy) -> dict[str, str]:
    """Per metric, its largest value on the invariance rows, formatted (n/a: not applicable)."""
    out = {}
    for name, values in study.values.items():
        worst = _finite_max(values[:, INVARIANT])
        out[name] = "n/a" if worst is None else f"{worst:.3g}"
    return out


def write_study(study: TabularStudy, out: str | os.PathLike[str], figure: bool = True) -> Path:
    """Write the study folder (atomically: all of it or nothing); returns its path.

    :param figure: draw ``validity.png``/``.svg`` (the slowest part).
    """
    from evalkit.plots.validity import plot_validity  # matplotlib only when writing

    target = Path(out)
    check_study_folder(target, study.settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_folder(target) as tmp:
        np.savez(
            tmp / "mdps.npz",
            P=study.P,
            d0=study.d0,
            gamma=np.float64(study.settings.gamma),
            R_true=study.R_true,
            R=study.R,
            regret=study.regret,
            names=np.array(CANDIDATE_NAMES),
        )
        atomic_write_text(json.dumps(summary_dict(study), indent=2) + "\n", tmp / SUMMARY)
        atomic_write_text(summary_markdown(study), tmp / "summary.md")
        if figure:
            plot_validity(
                {name: v.ravel() for name, v in study.values.items()},
                study.regret.ravel(),
                np.repeat(study.kinds, study.regret.shape[1]),
                {c.metric: c.kendall for c in study.correlations},
                tmp / "validity",
            )
    return target


def _description(name: str) -> str:
    """The description of the study metric ``name`` (a metric unregistered since: empty)."""
    return next((m.description for m in study_metrics() if m.name == name), "")
