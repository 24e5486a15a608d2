"""Rank agreement of a reward with a progress variable: the machinery behind
:mod:`evalkit.metrics.spearman` and :mod:`evalkit.metrics.kendall`.

Both are statistics of the weighted contingency table of (reward, progress) values, so the
panel computes them together. The bootstrap uses per-episode tables over at most
``bins × bins`` tie-preserving bins (:mod:`evalkit.metrics.tables`: exact when both variables have
at most ``bins`` distinct values, re-centred on the exact estimate otherwise).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.cluster import SummedStatistic, stack
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.tables import (
    BootstrapOptions,
    coarsen,
    episode_histogram,
    finish,
    frames,
    per_frame,
    tie_groups,
)

TableStatistic = Callable[[np.ndarray], np.ndarray]
"""A ``(..., Qx, Qy)`` weighted contingency table → ``(...)`` values (NaN: undefined)."""
ExactStatistic = Callable[..., float]
"""``(x codes, x group sizes, y codes, y group sizes, weights, weighted) → value`` on all frames."""


def rank_agreement(
    statistics: Mapping[str, tuple[TableStatistic, ExactStatistic, str]],
    rewards: np.ndarray,
    progress: np.ndarray | None,
    weights: np.ndarray | None,
    episodes: np.ndarray | None,
    options: BootstrapOptions,
    names: Sequence[str] | None,
    bins: int | None,
) -> list[MetricResult]:
    """Each ``statistics[metric] = (table statistic, exact statistic, definition)`` per column."""
    fr = frames(rewards, weights, episodes, names)
    y = per_frame(progress, fr, "progress variable")
    what = " and ".join(statistics)
    if np.ptp(y) == 0:
        raise DegenerateError(
            f"The progress variable is constant over the frames, so the {what} rank correlation is undefined."
        )
    boot = options.wanted(fr.n_episodes)
    k = fr.rewards.shape[1]
    y_codes, y_sizes = tie_groups(y)
    cy, qy = coarsen(y_codes, y_sizes, bins)
    tables = [t for t, _, _ in statistics.values()]
    estimates = np.empty((k, len(statistics)))
    parts = []
    for j in range(k):
        x = fr.rewards[:, j]
        if np.ptp(x) == 0:
            label = f" ({fr.names[j]})" if fr.names else ""
            raise DegenerateError(
                f"The reward{label} is constant over the frames, so its {what} rank correlation is undefined."
            )
        x_codes, x_sizes = tie_groups(x)
        estimates[j] = [
            exact(x_codes, x_sizes, y_codes, y_sizes, fr.weights, fr.weighted)
            for _, exact, _ in statistics.values()
        ]
        if boot:
            cx, qx = coarsen(x_codes, x_sizes, bins)
            hist = episode_histogram(fr, cx * qy + cy, qx * qy, fr.weights)

            def reduce(s: np.ndarray, qx: int = qx) -> np.ndarray:
                t = s.reshape(len(s), qx, qy)
                return np.stack([f(t) for f in tables], axis=1)

            parts.append(SummedStatistic(hist, reduce))
    metrics = [(m, d) for m, (_, _, d) in statistics.items()]
    return finish(metrics, estimates, stack(parts) if boot else None, fr, options, what)
