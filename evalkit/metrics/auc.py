"""ROC-AUC of a reward as a goal detector, with an episode-bootstrap interval.

Definition (weighted; integer weights equal repeated rows)::

    AUC = Σ_{i goal} Σ_{j non-goal} w_i w_j ([x_i > x_j] + ½ [x_i = x_j]) / (W_goal · W_non-goal)

the probability that a random goal frame scores above a random non-goal frame, ties counting ½.
Unweighted it equals the Mann–Whitney ``U / (n₁ n₀)`` of the goal frames' scores. 0.5: no
information; 1: every goal frame above every non-goal frame.

Interval: episode-cluster bootstrap (:mod:`evalkit.metrics.cluster`) of the AUC of per-episode
histograms over at most ``bins`` tie-preserving reward bins (exact when the reward has at most
``bins`` distinct values; otherwise frames of one bin count as tied in a resample and the
resample values are re-centred on the exact estimate, :mod:`evalkit.metrics.tables`).

Example::

    >>> import numpy as np
    >>> from evalkit.metrics.options import NO_INTERVAL
    >>> res = roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]), bootstrap=NO_INTERVAL)
    >>> res[0].estimate
    0.75
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from evalkit.metrics.detection import goal_detection
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.tables import RESAMPLE_BINS_1D, auc_from_hist

DEFINITION = "ROC-AUC of the reward as a goal detector (ties count ½; Mann–Whitney U / n₁n₀)"


def roc_auc(
    rewards: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
    bins: int | None = RESAMPLE_BINS_1D,
) -> list[MetricResult]:
    """ROC-AUC of each reward column ``(n,)`` or ``(n, k)`` against 0/1 goal labels.

    :param weights: frame weights ``≥ 0`` (zero-weight frames ignored; integers = repeated rows).
    :param episodes: episode id per frame (the bootstrap's unit; default: every frame its own).
    :param bootstrap: resamples (``n_bootstrap=0``: point estimate only, ``interval=None``),
        interval method, confidence and seed.
    :param bins: reward bins of the resample tables (``None``: one per distinct value, exact but
        slower).
    :raises DegenerateError: one class only, NaN rewards, mismatched lengths, too many
        degenerate resamples.
    :return: one :class:`MetricResult` (``metric="auc"``) per column; ``details`` holds
        ``n_goal``, ``n_nongoal``, ``n_goal_episodes``.
    """
    return goal_detection(
        {"auc": (auc_from_hist, DEFINITION)},
        rewards,
        labels,
        weights,
        episodes,
        bootstrap,
        names,
        bins,
    )
