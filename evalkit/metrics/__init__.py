"""Reward-quality metrics: EPIC (Gleave et al. 2021) and the metric panel, with bootstrap intervals.

Pure functions of numpy arrays that return result objects; nothing here loads a model or
touches a file.

**The registry** (:mod:`evalkit.metrics.registry`): every metric is one :class:`Metric`
registered once with :func:`register_metric` (its needs, computation, result rows and their
axes); :func:`get_metric`, :func:`metric_names` and :data:`METRICS` read it. The panel, the
commands, evaluation rollouts, figures and the report derive from it.

- :func:`epic_goal` — distance of a reward to 0/1 goal labels by the closed form of the paper's
  Lemma 1, weighted, with an episode-bootstrap interval (percentile or BCa), as a
  :class:`GoalEpicResult`; :func:`epic_goal_columns` evaluates ``(n, k)`` rewards (e.g. one per
  α) on the same resamples.
- :func:`epic`, :func:`epic_tabular`, :func:`canonicalize`, :func:`canonicalize_tabular` —
  general EPIC for rewards of transitions ``R(s, a, s′)``: sample-based and exact.
- :func:`roc_auc`, :func:`average_precision`, :func:`spearman`, :func:`kendall` (τ-b),
  :func:`voc`, :func:`erc`, each returning :class:`MetricResult` objects with an episode-cluster
  bootstrap interval (:mod:`evalkit.metrics.cluster`); :func:`epic_pairwise` (the distance
  matrix between reward sources). :func:`metric_panel` computes registered metrics in one call;
  :func:`check_available` says why a metric is not defined on a dataset.
- :class:`BootstrapOptions` — ``n_bootstrap``, ``ci_method``, ``confidence``, ``seed``: the one
  ``bootstrap=`` argument of every metric function.

Reading the registry imports no numerical library; the functions are imported on first use.
EPIC of CLIP rewards, a reward function or a column of numbers against a dataset's labels, and
the saved results table, are :mod:`evalkit.pipeline`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from evalkit.metrics import builtin as _builtin  # noqa: F401 (registers the built-in metrics)
from evalkit.metrics.options import CI_METHODS, NO_INTERVAL, BootstrapOptions, bootstrap_iv
from evalkit.metrics.registry import (
    FAMILY_NEEDS,
    METRICS,
    NEEDS,
    Lazy,
    Metric,
    PanelInputs,
    ResultRow,
    get_metric,
    get_result_row,
    metric_names,
    needing,
    register_metric,
    result_rows,
    unregister_metric,
)

_LAZY = {
    "roc_auc": "auc",
    "average_precision": "average_precision",
    "BootstrapResult": "bootstrap",
    "bootstrap_pearson": "bootstrap",
    "ClusterInterval": "cluster",
    "SummedStatistic": "cluster",
    "cluster_bootstrap": "cluster",
    "draw_resamples": "cluster",
    "erc": "erc",
    "canonicalize": "general",
    "canonicalize_tabular": "general",
    "epic": "general",
    "epic_tabular": "general",
    "state_reward": "general",
    "tabular_reward": "general",
    "epic_goal": "goal",
    "epic_goal_columns": "goal",
    "lemma1_rho": "goal",
    "kendall": "kendall",
    "MetricResult": "metric_result",
    "MetricUnavailable": "metric_result",
    "PairwiseEpic": "pairwise",
    "epic_pairwise": "pairwise",
    "check_available": "panel",
    "metric_panel": "panel",
    "EpicResult": "results",
    "GoalEpicResult": "results",
    "spearman": "spearman",
    "distance_from_rho": "stats",
    "weighted_pearson": "stats",
    "voc": "voc",
}
"""Functions and types imported on first use (numpy, scipy), by the module that holds them."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"evalkit.metrics.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'evalkit.metrics' has no attribute {name!r}")


if TYPE_CHECKING:
    from evalkit.metrics.auc import roc_auc
    from evalkit.metrics.average_precision import average_precision
    from evalkit.metrics.bootstrap import BootstrapResult, bootstrap_pearson
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
    from evalkit.metrics.kendall import kendall
    from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
    from evalkit.metrics.pairwise import PairwiseEpic, epic_pairwise
    from evalkit.metrics.panel import check_available, metric_panel
    from evalkit.metrics.results import EpicResult, GoalEpicResult
    from evalkit.metrics.spearman import spearman
    from evalkit.metrics.stats import distance_from_rho, weighted_pearson
    from evalkit.metrics.voc import voc

__all__ = [
    "CI_METHODS",
    "METRICS",
    "FAMILY_NEEDS",
    "NEEDS",
    "NO_INTERVAL",
    "BootstrapOptions",
    "BootstrapResult",
    "ClusterInterval",
    "EpicResult",
    "GoalEpicResult",
    "Lazy",
    "Metric",
    "MetricResult",
    "MetricUnavailable",
    "PairwiseEpic",
    "PanelInputs",
    "ResultRow",
    "SummedStatistic",
    "average_precision",
    "bootstrap_iv",
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
    "get_metric",
    "get_result_row",
    "kendall",
    "lemma1_rho",
    "metric_names",
    "metric_panel",
    "needing",
    "register_metric",
    "result_rows",
    "roc_auc",
    "spearman",
    "state_reward",
    "tabular_reward",
    "unregister_metric",
    "voc",
    "weighted_pearson",
]
