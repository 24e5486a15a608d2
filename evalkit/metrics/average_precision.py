"""Average precision of a reward as a goal detector, with an episode-bootstrap interval.

Definition (weighted; integer weights equal repeated rows). Sort frames by descending reward;
tied rewards form **one threshold** (scikit-learn's ``average_precision_score`` convention)::

    AP = Σ_{i goal} (w_i / W_goal) · precision(x_i),
    precision(t) = Σ_{goal j: x_j ≥ t} w_j / Σ_{all j: x_j ≥ t} w_j

i.e. the precision at each goal frame's threshold, averaged over goal frames — equivalently
``Σ_k (R_k − R_{k−1}) P_k`` over the distinct thresholds. Without ties this is the textbook
"mean of the precision at each goal frame in descending order". The chance level is the goal
share ``W_goal / W``; 1 ranks every goal frame first. Suited to rare goal frames.

Interval: as :mod:`evalkit.metrics.auc` (binned resample tables, exact with at most ``bins``
distinct rewards, re-centred otherwise).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from evalkit.metrics.detection import goal_detection
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.tables import RESAMPLE_BINS_1D, ap_from_hist

DEFINITION = "average precision of the reward as a goal detector (tied scores: one threshold)"


def average_precision(
    rewards: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
    bins: int | None = RESAMPLE_BINS_1D,
) -> list[MetricResult]:
    """Average precision of each reward column against 0/1 goal labels (``metric="ap"``).

    Parameters, errors and ``details`` as :func:`evalkit.metrics.auc.roc_auc`.
    """
    return goal_detection(
        {"ap": (ap_from_hist, DEFINITION)},
        rewards,
        labels,
        weights,
        episodes,
        bootstrap,
        names,
        bins,
    )
