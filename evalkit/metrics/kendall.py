"""Kendall τ-b of a reward with a progress variable, with an episode interval.

Definition: **τ-b** (tie-corrected; not τ-a, which some benchmarks report under this name)::

    τ_b = (n_c − n_d) / sqrt((n0 − n1)(n0 − n2)),   n0 = n(n − 1)/2,
    n1 = Σ_ties in reward t(t − 1)/2,   n2 = Σ_ties in progress u(u − 1)/2

(``scipy.stats.kendalltau(variant="b")``). Weighted (integer weights equal repeated rows), over
ordered pairs: ``Σ w_i w_j sgn(Δx) sgn(Δy) / sqrt((W² − Σ_groups Wx²)(W² − Σ_groups Wy²))``.
Unweighted estimates use scipy's O(n log n) algorithm; weighted ones the contingency table of
distinct values, or beyond ``MAX_WEIGHTED_CELLS`` cells integer weights as repeated rows
(non-integer weights are then refused).

Interval: as :mod:`evalkit.metrics.spearman` (binned per-episode tables, exact with at most
``bins`` distinct values per variable, re-centred otherwise).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import kendalltau

from evalkit.errors import DegenerateError
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.rank_agreement import rank_agreement
from evalkit.metrics.tables import RESAMPLE_BINS_2D, kendall_from_table

DEFINITION = "Kendall τ-b of reward and progress (tie-corrected)"
MAX_WEIGHTED_CELLS = 20_000_000
"""Largest (distinct rewards × distinct progress values) table for a weighted τ-b."""
MAX_REPEATED_ROWS = 20_000_000
"""Beyond the table, integer weights up to this total are expanded into repeated rows."""


def kendall_exact(
    x_codes: np.ndarray,
    x_sizes: np.ndarray,
    y_codes: np.ndarray,
    y_sizes: np.ndarray,
    w: np.ndarray,
    weighted: bool = True,
) -> float:
    """Kendall τ-b from tie-group codes of ``x`` and ``y`` under weights ``w`` (exact)."""
    if not weighted:
        return float(kendalltau(x_codes, y_codes, variant="b").statistic)
    cx, qx, cy, qy = x_codes, len(x_sizes), y_codes, len(y_sizes)
    if qx * qy > MAX_WEIGHTED_CELLS:
        if np.all(w == np.round(w)) and w.sum() <= MAX_REPEATED_ROWS:
            reps = w.astype(np.int64)
            return float(
                kendalltau(np.repeat(cx, reps), np.repeat(cy, reps), variant="b").statistic
            )
        raise DegenerateError(
            f"A weighted Kendall τ-b of {qx} distinct rewards × {qy} distinct progress values with "
            "non-integer weights is too large to compute; use integer or equal weights, or a coarser "
            "progress variable."
        )
    table = np.bincount(cx * qy + cy, weights=w, minlength=qx * qy).reshape(qx, qy)
    return float(kendall_from_table(table))


def kendall(
    rewards: np.ndarray,
    progress: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
    bins: int | None = RESAMPLE_BINS_2D,
) -> list[MetricResult]:
    """Kendall τ-b of each reward column with ``progress``, ``metric="kendall"``.

    Errors as :func:`evalkit.metrics.spearman.spearman`.
    """
    return rank_agreement(
        {"kendall": (kendall_from_table, kendall_exact, DEFINITION)},
        rewards,
        progress,
        weights,
        episodes,
        bootstrap,
        names,
        bins,
    )
