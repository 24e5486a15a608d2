"""The built-in metrics, registered in the order the panel reports them.

Their computations (:mod:`evalkit.metrics.computations`) are imported on first use, so that
reading names and help texts loads no numerical library. A new metric is registered the same way
from its own module (:func:`evalkit.metrics.register_metric`).
"""

from __future__ import annotations

import math

from evalkit.metrics.registry import Lazy, Metric, ResultRow, register_metric

_COMPUTATIONS = "evalkit.metrics.computations"
_GOAL_DETECTION = Lazy(f"{_COMPUTATIONS}:GOAL_DETECTION")
_RANK_AGREEMENT = Lazy(f"{_COMPUTATIONS}:RANK_AGREEMENT")
_TWO_CLASSES = Lazy("evalkit.metrics.goal:two_label_classes")
_POLICY_RANKING = Lazy("evalkit.metrics.policy_ranking:panel_policy_ranking")
_RANKING_CHECK = Lazy("evalkit.metrics.policy_ranking:ranking_check")

_NO_ORDER = {"reference": 0.0, "reference_label": "no order (0)"}
_UNCORRELATED = {"reference": 0.0, "reference_label": "uncorrelated (0)"}

BUILTIN_METRICS = (
    Metric(
        "epic",
        ("labels",),
        "goal EPIC distance to the goal labels",
        Lazy("evalkit.metrics.goal:panel_goal_epic"),
        (
            ResultRow(
                "epic", "EPIC distance", False, math.sqrt(0.5), reference_label="uninformative (√½)"
            ),
        ),
        _TWO_CLASSES,
    ),
    Metric(
        "auc",
        ("labels",),
        "ROC-AUC of the reward as a goal detector",
        _GOAL_DETECTION,
        (ResultRow("auc", "ROC-AUC", True, 0.5, "chance (0.5)"),),
        _TWO_CLASSES,
    ),
    Metric(
        "ap",
        ("labels",),
        "average precision of the reward as a goal detector",
        _GOAL_DETECTION,
        (ResultRow("ap", "average precision", True),),
        _TWO_CLASSES,
    ),
    Metric(
        "spearman",
        ("progress",),
        "Spearman ρ with the progress variable",
        _RANK_AGREEMENT,
        (ResultRow("spearman", "Spearman ρ with progress", True, **_NO_ORDER),),
    ),
    Metric(
        "kendall",
        ("progress",),
        "Kendall τ-b with the progress variable",
        _RANK_AGREEMENT,
        (ResultRow("kendall", "Kendall τ-b with progress", True, **_NO_ORDER),),
    ),
    Metric(
        "voc",
        ("episodes",),
        "value-order correlation (reward vs time per episode)",
        Lazy(f"{_COMPUTATIONS}:value_order"),
        (ResultRow("voc", "VOC", True, **_NO_ORDER),),
        Lazy(f"{_COMPUTATIONS}:voc_check"),
    ),
    Metric(
        "erc",
        ("episodes", "gt_rewards"),
        "episode-return correlation (results erc_pearson and erc_spearman)",
        Lazy(f"{_COMPUTATIONS}:episode_returns"),
        (
            ResultRow("erc_pearson", "ERC, Pearson", True, **_UNCORRELATED),
            ResultRow("erc_spearman", "ERC, Spearman", True, **_UNCORRELATED),
        ),
        Lazy(f"{_COMPUTATIONS}:erc_check"),
    ),
    Metric(
        "rank_quality",
        ("quality", "episodes"),
        "policy ranking: Kendall τ-b of episode returns with episode quality (expert > noisy > random)",
        _POLICY_RANKING,
        (ResultRow("rank_quality", "Kendall τ-b, return vs quality", True, **_NO_ORDER),),
        _RANKING_CHECK,
    ),
    Metric(
        "rank_success",
        ("labels", "episodes"),
        "policy ranking: Kendall τ-b of episode returns with success (a goal frame in the episode)",
        _POLICY_RANKING,
        (ResultRow("rank_success", "Kendall τ-b, return vs success", True, **_NO_ORDER),),
        _RANKING_CHECK,
    ),
)
"""The built-in metrics, in panel order."""

for _metric in BUILTIN_METRICS:
    register_metric(_metric)
