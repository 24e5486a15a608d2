"""The reward as a goal detector: the machinery behind :mod:`evalkit.metrics.auc` and
:mod:`evalkit.metrics.average_precision` (both statistics of the goal and non-goal weight per
ordered score group, so the panel computes them together from one set of tables)."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.cluster import SummedStatistic, stack
from evalkit.metrics.goal import as_labels
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.tables import (
    BootstrapOptions,
    Frames,
    coarsen,
    episode_histogram,
    finish,
    frames,
    tie_groups,
)

HistStatistic = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``(goal weight, non-goal weight)`` per ordered score group, ``(..., Q)`` → ``(...)``."""


def check_two_classes(y: np.ndarray, what: str) -> None:
    """Raise when every frame has the same label."""
    n_goal = int(y.sum())
    if n_goal == 0 or n_goal == len(y):
        which = "goal" if n_goal else "non-goal"
        raise DegenerateError(
            f"All {len(y)} frames are labelled {which}, so the {what} is undefined; it needs goal and "
            "non-goal frames."
        )


def _column_part(
    statistics: Sequence[HistStatistic], codes: np.ndarray, q: int, fr: Frames, wg, wn
) -> SummedStatistic:
    hist = np.concatenate(
        [episode_histogram(fr, codes, q, wg), episode_histogram(fr, codes, q, wn)], axis=1
    )

    def reduce(s: np.ndarray) -> np.ndarray:
        return np.stack([f(s[:, :q], s[:, q:]) for f in statistics], axis=1)

    return SummedStatistic(hist, reduce)


def goal_detection(
    statistics: Mapping[str, tuple[HistStatistic, str]],
    rewards: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None,
    episodes: np.ndarray | None,
    options: BootstrapOptions,
    names: Sequence[str] | None,
    bins: int | None,
) -> list[MetricResult]:
    """Each ``statistics[metric] = (function, definition)`` of every reward column, with intervals.

    Results are ordered by metric, then column; all share one matrix product per resample block.
    """
    fr = frames(rewards, weights, episodes, names)
    y = as_labels(labels, len(fr.keep))[fr.keep]
    check_two_classes(y, " and ".join(statistics))
    boot = options.wanted(fr.n_episodes)
    funcs = [f for f, _ in statistics.values()]
    wg, wn = fr.weights * y, fr.weights * ~y
    k = fr.rewards.shape[1]
    estimates = np.empty((k, len(funcs)))
    parts = []
    for j in range(k):
        codes, sizes = tie_groups(fr.rewards[:, j])
        g = np.bincount(codes, weights=wg, minlength=len(sizes))
        h = np.bincount(codes, weights=wn, minlength=len(sizes))
        estimates[j] = [f(g, h) for f in funcs]
        if boot:
            parts.append(_column_part(funcs, *coarsen(codes, sizes, bins), fr, wg, wn))
    n_goal = int(y.sum())
    details = {
        "n_goal": n_goal,
        "n_nongoal": fr.n - n_goal,
        "n_goal_episodes": len(np.unique(fr.episode[y])),
    }
    what = " and ".join(statistics)
    metrics = [(m, d) for m, (_, d) in statistics.items()]
    return finish(metrics, estimates, stack(parts) if boot else None, fr, options, what, details)
