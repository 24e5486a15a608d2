"""The computations of the built-in metrics (:mod:`evalkit.metrics.builtin` registers them).

Each is a :class:`~evalkit.metrics.registry.Computation`: ``(metrics, inputs, bootstrap)`` →
one :class:`~evalkit.metrics.metric_result.MetricResult` per result row and reward column.
Metrics that share tables share one object: AUC and AP (:data:`GOAL_DETECTION`, histograms of
goal and non-goal weight per reward value) and Spearman and Kendall (:data:`RANK_AGREEMENT`,
contingency tables of reward and progress), each computing its chosen members in one pass.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from evalkit.metrics.auc import DEFINITION as AUC_DEFINITION
from evalkit.metrics.average_precision import DEFINITION as AP_DEFINITION
from evalkit.metrics.detection import goal_detection
from evalkit.metrics.erc import MIN_EPISODES, erc
from evalkit.metrics.kendall import DEFINITION as KENDALL_DEFINITION
from evalkit.metrics.kendall import kendall_exact
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.rank_agreement import rank_agreement
from evalkit.metrics.registry import Metric, PanelInputs
from evalkit.metrics.spearman import DEFINITION as SPEARMAN_DEFINITION
from evalkit.metrics.spearman import spearman_exact
from evalkit.metrics.tables import (
    RESAMPLE_BINS_1D,
    RESAMPLE_BINS_2D,
    ap_from_hist,
    auc_from_hist,
    kendall_from_table,
    spearman_from_table,
)
from evalkit.metrics.voc import voc


class SharedTables:
    """Metrics computed together from one set of per-episode tables of the reward and a second
    per-frame input (:func:`~evalkit.metrics.detection.goal_detection` with the labels,
    :func:`~evalkit.metrics.rank_agreement.rank_agreement` with the progress variable).

    :param group: the function computing the chosen members of the group in one pass.
    :param second: the :class:`~evalkit.metrics.registry.PanelInputs` field it reads.
    :param statistics: ``metric name -> (statistics…, definition)`` of the members.
    :param bins: value bins of the resample tables.
    """

    def __init__(
        self,
        group: Callable[..., list[MetricResult]],
        second: str,
        statistics: Mapping[str, tuple],
        bins: int,
    ) -> None:
        self.group = group
        self.second = second
        self.statistics = dict(statistics)
        self.bins = bins

    def __call__(
        self, metrics: Sequence[Metric], inputs: PanelInputs, bootstrap: BootstrapOptions
    ) -> list[MetricResult]:
        return self.group(
            {m.name: self.statistics[m.name] for m in metrics},
            inputs.rewards,
            getattr(inputs, self.second),
            inputs.weights,
            inputs.episodes,
            bootstrap,
            inputs.names,
            self.bins,
        )


GOAL_DETECTION = SharedTables(
    goal_detection,
    "labels",
    {"auc": (auc_from_hist, AUC_DEFINITION), "ap": (ap_from_hist, AP_DEFINITION)},
    RESAMPLE_BINS_1D,
)
RANK_AGREEMENT = SharedTables(
    rank_agreement,
    "progress",
    {
        "spearman": (spearman_from_table, spearman_exact, SPEARMAN_DEFINITION),
        "kendall": (kendall_from_table, kendall_exact, KENDALL_DEFINITION),
    },
    RESAMPLE_BINS_2D,
)


def value_order(
    metrics: Sequence[Metric], inputs: PanelInputs, bootstrap: BootstrapOptions
) -> list[MetricResult]:
    """VOC (:func:`evalkit.metrics.voc.voc`) of every reward column."""
    return voc(
        inputs.rewards, inputs.episodes, inputs.weights, bootstrap=bootstrap, names=inputs.names
    )


def episode_returns(
    metrics: Sequence[Metric], inputs: PanelInputs, bootstrap: BootstrapOptions
) -> list[MetricResult]:
    """ERC (:func:`evalkit.metrics.erc.erc`, its two rows) of every reward column."""
    return erc(
        inputs.rewards,
        inputs.gt_rewards,
        inputs.episodes,
        inputs.weights,
        bootstrap=bootstrap,
        names=inputs.names,
    )


def frames_per_episode(inputs: PanelInputs) -> np.ndarray:
    """How many frames each episode holds."""
    return np.unique(np.asarray(inputs.episodes), return_counts=True)[1]


def voc_check(metric: Metric, inputs: PanelInputs) -> str | None:
    """VOC needs an episode of at least two frames."""
    if frames_per_episode(inputs).max() < 2:
        return f"The metric {metric.name} correlates reward with time inside episodes, and every episode has one frame."
    return None


def erc_check(metric: Metric, inputs: PanelInputs) -> str | None:
    """ERC needs :data:`~evalkit.metrics.erc.MIN_EPISODES` episodes."""
    n = len(frames_per_episode(inputs))
    if n < MIN_EPISODES:
        return f"The metric {metric.name} correlates returns over episodes and needs at least {MIN_EPISODES}; there are {n}."
    return None
