"""EPIC distances (Gleave et al. 2021) with bootstrap confidence intervals.

Pure functions of numpy arrays that return result objects; nothing here loads a model or
touches a file.

- :func:`epic_goal` — distance of a reward to 0/1 goal labels by the closed form of the paper's
  Lemma 1, weighted, with an episode-bootstrap interval (percentile or BCa);
  :func:`epic_goal_columns` evaluates ``(n, k)`` rewards (e.g. one per α) on the same resamples.
- :func:`epic`, :func:`epic_tabular`, :func:`canonicalize`, :func:`canonicalize_tabular` —
  general EPIC for rewards of transitions ``R(s, a, s′)``: sample-based and exact.
- :func:`bootstrap_pearson` — the vectorised episode bootstrap behind the intervals.
- :class:`GoalEpicResult`, :class:`EpicResult` — the results.

The metric panel, one module per metric, each returning :class:`MetricResult`
objects with an episode-cluster bootstrap interval (:mod:`evalkit.metrics.cluster`):
:func:`roc_auc`, :func:`average_precision`, :func:`spearman`, :func:`kendall` (τ-b),
:func:`voc`, :func:`erc`, :func:`goal_epic` (goal EPIC in the same form) and
:func:`epic_pairwise` (the distance matrix between reward sources). :func:`metric_panel`
computes the ones named in :data:`METRICS` in one call; :func:`check_available` says why a
metric is not defined on a dataset.

EPIC of CLIP rewards, a reward function or a column of numbers against a dataset's labels, and
the saved results table, are :mod:`evalkit.pipeline`.
"""

from evalkit.metrics.auc import roc_auc
from evalkit.metrics.average_precision import average_precision
from evalkit.metrics.bootstrap import CI_METHODS, BootstrapResult, bootstrap_pearson
from evalkit.metrics.cluster import (
    ClusterInterval,
    SummedStatistic,
    cluster_bootstrap,
    draw_resamples,
)
from evalkit.metrics.erc import erc
from evalkit.metrics.general import (
    canonicalize,
    canonicalize_tabular,
    epic,
    epic_tabular,
    state_reward,
    tabular_reward,
)
from evalkit.metrics.goal import epic_goal, epic_goal_columns, lemma1_rho
from evalkit.metrics.goal_metric import goal_epic
from evalkit.metrics.kendall import kendall
from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
from evalkit.metrics.pairwise import PairwiseEpic, epic_pairwise
from evalkit.metrics.panel import METRICS, check_available, metric_names, metric_panel
from evalkit.metrics.results import EpicResult, GoalEpicResult
from evalkit.metrics.spearman import spearman
from evalkit.metrics.stats import distance_from_rho, weighted_pearson
from evalkit.metrics.voc import voc

__all__ = [
    "CI_METHODS",
    "METRICS",
    "BootstrapResult",
    "ClusterInterval",
    "EpicResult",
    "GoalEpicResult",
    "MetricResult",
    "MetricUnavailable",
    "PairwiseEpic",
    "SummedStatistic",
    "average_precision",
    "bootstrap_pearson",
    "canonicalize",
    "canonicalize_tabular",
    "check_available",
    "cluster_bootstrap",
    "distance_from_rho",
    "draw_resamples",
    "epic",
    "epic_goal",
    "epic_goal_columns",
    "epic_pairwise",
    "epic_tabular",
    "erc",
    "goal_epic",
    "kendall",
    "lemma1_rho",
    "metric_names",
    "metric_panel",
    "roc_auc",
    "spearman",
    "state_reward",
    "tabular_reward",
    "voc",
    "weighted_pearson",
]
