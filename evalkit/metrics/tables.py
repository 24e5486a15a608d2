"""Shared pieces of the metric panel: checked frame inputs, tie-preserving bins, per-episode
histograms, and the statistics of a (weighted) histogram or contingency table.

**Binned resample tables.** A rank or threshold statistic (AUC, AP, Spearman, Kendall) of a
resample depends on the order of every frame, which costs O(n) per resample. The bootstrap
therefore computes it from per-episode histograms over at most ``bins`` value bins of the
reward (and of the progress variable): a resample's table is ``counts @ histograms``, one matrix
product. Bins follow the sorted values and never split tied values; when a variable has at most
``bins`` distinct values each bin is one value and the resample statistic is *exact*. Otherwise
frames in one bin count as tied inside the resample, and the resample values are re-centred on
the exact estimate (:func:`evalkit.metrics.cluster.cluster_bootstrap`), and the interval is clipped
to the metric's range (:data:`METRIC_RANGES`). Estimates are always exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.bootstrap import episode_index
from evalkit.metrics.cluster import ClusterInterval, cluster_bootstrap
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.stats import as_reward_matrix, as_weights, check_finite

RESAMPLE_BINS_1D = 256
"""Value bins of the reward in AUC/AP resample tables (exact with at most this many values)."""
RESAMPLE_BINS_2D = 24
"""Value bins per axis of the Spearman/Kendall resample tables (reward × progress)."""

METRIC_RANGES: dict[str, tuple[float, float]] = {
    "epic": (0.0, 1.0),
    "auc": (0.0, 1.0),
    "ap": (0.0, 1.0),
}
"""The values a metric can take; an interval is clipped to them (re-centred binned resamples can
step outside). Correlations not listed lie in [-1, 1]."""


def _clipped(metric: str, low: float, high: float) -> tuple[float, float]:
    lo, hi = METRIC_RANGES.get(metric, (-1.0, 1.0))
    return float(min(max(low, lo), hi)), float(min(max(high, lo), hi))


@dataclass(frozen=True)
class Frames:
    """Checked inputs: rewards ``(n, k)``, weights, episode index per frame (zero weights dropped)."""

    rewards: np.ndarray
    weights: np.ndarray
    episode: np.ndarray
    n_episodes: int
    names: list[str] | None
    weighted: bool
    keep: np.ndarray

    @property
    def n(self) -> int:
        return len(self.weights)

    def column_name(self, j: int) -> str | None:
        return self.names[j] if self.names else None


def frames(
    rewards: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> Frames:
    """Check rewards (finite numbers), weights (≥ 0) and episode ids; drop zero-weight frames."""
    r, _ = as_reward_matrix(rewards)
    n, k = r.shape
    if n == 0:
        raise DegenerateError("There are no frames to evaluate.")
    names = list(names) if names is not None else None
    if names is not None and len(names) != k:
        raise ValueError(f"{k} reward columns but {len(names)} names")
    check_finite(r, "rewards", names)
    w = as_weights(weights, n)
    inverse, _ = episode_index(episodes, n)
    keep = w > 0
    weighted = bool(weights is not None and np.ptp(w[keep]) > 0)
    used, inverse = np.unique(inverse[keep], return_inverse=True)
    return Frames(r[keep], w[keep], inverse.ravel(), len(used), names, weighted, keep)


def per_frame(values: np.ndarray | None, fr: Frames, what: str) -> np.ndarray:
    """A second per-frame variable (progress, ground-truth reward): finite, one per frame, kept rows."""
    if values is None:
        raise DegenerateError(f"No {what} was given; this metric needs one value per frame.")
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) != len(fr.keep):
        raise DegenerateError(
            f"There are {len(fr.keep)} frames but {len(v) if v.ndim == 1 else v.shape} {what} values; "
            "pass one per frame."
        )
    check_finite(v[:, None], what)
    return v[fr.keep]


def tie_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each value's group of tied values (``0..G-1`` in increasing value) and group sizes."""
    uniq, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return inverse.ravel(), counts


def coarsen(codes: np.ndarray, sizes: np.ndarray, max_bins: int | None) -> tuple[np.ndarray, int]:
    """Tie groups merged into at most ``max_bins`` bins of about equal counts (ties never split).

    ``max_bins=None`` or at most ``max_bins`` groups: one bin per group. Otherwise the group
    starting at sorted position ``p`` of ``n`` goes to bin ``floor(p · max_bins / n)``.
    """
    if max_bins is None or len(sizes) <= max_bins:
        return codes, len(sizes)
    start = np.cumsum(sizes) - sizes
    used, group_bin = np.unique(start * max_bins // int(sizes.sum()), return_inverse=True)
    return group_bin.ravel()[codes], len(used)


def episode_histogram(
    fr: Frames, codes: np.ndarray, n_cells: int, weights: np.ndarray
) -> np.ndarray:
    """``(E, n_cells)`` sums of ``weights`` per episode and cell."""
    flat = fr.episode * n_cells + codes
    return np.bincount(flat, weights=weights, minlength=fr.n_episodes * n_cells).reshape(
        fr.n_episodes, n_cells
    )


def midranks(mass: np.ndarray) -> np.ndarray:
    """Weighted mid-ranks of ordered tie groups with weights ``mass`` (``(..., Q)``).

    ``W(<) + W(=)/2``: with unit weights this is the usual 1-based mid-rank minus ½ (a constant,
    which no correlation sees).
    """
    return np.cumsum(mass, axis=-1) - 0.5 * mass


def auc_from_hist(goal: np.ndarray, non: np.ndarray) -> np.ndarray:
    """ROC-AUC from goal/non-goal weight per ordered score group (``(..., Q)``): ties count ½."""
    below = np.cumsum(non, axis=-1) - non
    pairs = np.sum(goal * (below + 0.5 * non), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pairs / (goal.sum(axis=-1) * non.sum(axis=-1))
    return np.where((goal.sum(axis=-1) > 0) & (non.sum(axis=-1) > 0), out, np.nan)


def ap_from_hist(goal: np.ndarray, non: np.ndarray) -> np.ndarray:
    """Average precision from goal/non-goal weight per ordered score group (``(..., Q)``).

    Tied scores form one threshold (scikit-learn's convention):
    ``AP = Σ_q (g_q / G) · TP_q / (TP_q + FP_q)`` over groups ``q``, with ``TP_q``, ``FP_q`` the goal
    and non-goal weight at scores ``≥`` group ``q``'s score.
    """
    tp = np.cumsum(goal[..., ::-1], axis=-1)[..., ::-1]
    fp = np.cumsum(non[..., ::-1], axis=-1)[..., ::-1]
    total = goal.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(goal > 0, tp / (tp + fp), 0.0)
        out = np.sum(goal * precision, axis=-1) / total
    return np.where((total > 0) & (non.sum(axis=-1) > 0), out, np.nan)


def spearman_from_table(table: np.ndarray) -> np.ndarray:
    """Spearman ρ (Pearson of weighted mid-ranks) of a ``(..., Qx, Qy)`` weighted contingency table."""
    rows = table.sum(axis=-1)
    cols = table.sum(axis=-2)
    total = rows.sum(axis=-1)
    half = 0.5 * total[..., None]
    rx = midranks(rows) - half
    ry = midranks(cols) - half
    cov = np.sum(rx * (table @ ry[..., None])[..., 0], axis=-1)
    vx = np.sum(rows * rx * rx, axis=-1)
    vy = np.sum(cols * ry * ry, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = cov / np.sqrt(vx * vy)
    degenerate = ~(vx > 1e-12 * total**3) | ~(vy > 1e-12 * total**3)
    return np.where(degenerate, np.nan, np.clip(rho, -1.0, 1.0))


def kendall_from_table(table: np.ndarray) -> np.ndarray:
    """Kendall τ-b of a ``(..., Qx, Qy)`` weighted contingency table (tie-corrected, not τ-a).

    Over ordered pairs: ``τ_b = Σ_{i,j} w_i w_j sgn(Δx) sgn(Δy) / sqrt((W² − Σ_a r_a²)(W² − Σ_b c_b²))``
    with row and column totals ``r``, ``c`` (the weighted form of ``(n_c − n_d) / sqrt((n0 − n1)(n0 − n2))``).
    """
    above = np.cumsum(table, axis=-2) - table  # Σ over rows a' < a, per column
    lower_left = np.cumsum(above, axis=-1) - above  # a' < a, b' < b
    upper_left = above.sum(axis=-1, keepdims=True) - np.cumsum(above, axis=-1)  # a' < a, b' > b
    s = 2.0 * np.sum(table * (lower_left - upper_left), axis=(-2, -1))
    rows = table.sum(axis=-1)
    cols = table.sum(axis=-2)
    w2 = rows.sum(axis=-1) ** 2
    dx = w2 - np.sum(rows * rows, axis=-1)
    dy = w2 - np.sum(cols * cols, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = s / np.sqrt(dx * dy)
    degenerate = ~(dx > 1e-12 * w2) | ~(dy > 1e-12 * w2)
    return np.where(degenerate, np.nan, np.clip(tau, -1.0, 1.0))


def finish(
    metrics: Sequence[tuple[str, str]],
    estimates: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] | None,
    fr: Frames,
    options: BootstrapOptions,
    what: str,
    details: Sequence[dict] | dict | None = None,
) -> list[MetricResult]:
    """Bootstrap ``statistic`` (unless ``n_bootstrap`` is 0 or it is ``None``) and build the results.

    :param metrics: ``(name, definition)`` of each of ``m`` metrics.
    :param estimates: ``(k, m)`` exact values per column and metric; the statistic's values are
        in the order of ``estimates.ravel()``.
    :param what: the metrics' name in error messages.
    :param details: one dict for all columns, or one per column.
    :return: :class:`MetricResult` objects ordered by metric, then column.
    """
    interval = None
    if statistic is not None and options.n_bootstrap > 0:
        interval = cluster_bootstrap(statistic, fr.n_episodes, estimates.ravel(), options, what)
    return _results(metrics, estimates, interval, fr, options, details)


def _results(
    metrics: Sequence[tuple[str, str]],
    estimates: np.ndarray,
    interval: ClusterInterval | None,
    fr: Frames,
    options: BootstrapOptions,
    details: Sequence[dict] | dict | None,
) -> list[MetricResult]:
    k, m = estimates.shape
    out = []
    for i, (metric, definition) in enumerate(metrics):
        method = definition
        if interval is not None:
            method += f"; {options.label} bootstrap over episodes (B={options.n_bootstrap})"
        for j in range(k):
            v = j * m + i
            d = details[j] if isinstance(details, (list, tuple)) else details
            out.append(
                MetricResult(
                    metric=metric,
                    estimate=float(estimates[j, i]),
                    interval=None
                    if interval is None
                    else _clipped(metric, interval.low[v], interval.high[v]),
                    method=method,
                    ci_method=options.ci_method if interval is not None else None,
                    confidence=options.confidence,
                    n=fr.n,
                    n_episodes=fr.n_episodes,
                    n_bootstrap=options.n_bootstrap if interval is not None else 0,
                    n_degenerate=0 if interval is None else int(interval.n_degenerate[v]),
                    seed=options.seed,
                    name=fr.column_name(j),
                    details=dict(d or {}),
                )
            )
    return out
