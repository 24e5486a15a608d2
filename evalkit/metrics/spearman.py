"""Spearman rank correlation of a reward with a progress variable, with an episode interval.

Definition (weighted; integer weights equal repeated rows): the weighted Pearson correlation
of the weighted mid-ranks ``R(v) = W(< v) + ½ W(= v)`` of the reward and of the progress
variable (unweighted: ``scipy.stats.spearmanr``, ties get their average rank). "Is the reward
shaped towards the goal?": +1 when the reward orders frames exactly as progress does.

Interval: episode-cluster bootstrap of the Spearman ρ of per-episode contingency tables over at
most ``bins × bins`` tie-preserving bins (the ranks are recomputed in every resample, duplicated
episodes tying with their copies). Exact when both variables have at most ``bins`` distinct
values; otherwise frames sharing a bin count as tied inside a resample and the resample values
are re-centred on the exact estimate (:mod:`evalkit.metrics.tables`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.rank_agreement import rank_agreement
from evalkit.metrics.tables import RESAMPLE_BINS_2D, midranks, spearman_from_table

DEFINITION = "Spearman ρ of reward and progress (weighted mid-ranks)"


def weighted_midranks(codes: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-frame weighted mid-ranks ``W(< v_i) + ½ W(= v_i)`` from tie-group codes."""
    return midranks(np.bincount(codes, weights=w))[codes]


def spearman_exact(
    x_codes: np.ndarray,
    x_sizes: np.ndarray,
    y_codes: np.ndarray,
    y_sizes: np.ndarray,
    w: np.ndarray,
    weighted: bool = True,
) -> float:
    """Weighted Spearman ρ from tie-group codes of ``x`` and ``y`` (exact)."""
    total = w.sum()
    rx = weighted_midranks(x_codes, w) - 0.5 * total  # weighted mean of mid-ranks: W/2
    ry = weighted_midranks(y_codes, w) - 0.5 * total
    wrx = w * rx
    return float(np.clip((wrx @ ry) / np.sqrt((wrx @ rx) * ((w * ry) @ ry)), -1.0, 1.0))


def spearman(
    rewards: np.ndarray,
    progress: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
    bins: int | None = RESAMPLE_BINS_2D,
) -> list[MetricResult]:
    """Spearman ρ of each reward column with ``progress`` (one value per frame), ``metric="spearman"``.

    :raises DegenerateError: no or mismatched progress values, a constant reward or progress,
        NaN values, too many degenerate resamples.
    """
    return rank_agreement(
        {"spearman": (spearman_from_table, spearman_exact, DEFINITION)},
        rewards,
        progress,
        weights,
        episodes,
        bootstrap,
        names,
        bins,
    )
