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

EPIC of CLIP rewards, a reward function or a column of numbers against a dataset's labels, and
the saved results table, are :mod:`evalkit.pipeline`.
"""

from evalkit.epic.bootstrap import CI_METHODS, BootstrapResult, bootstrap_pearson
from evalkit.epic.general import (
    canonicalize,
    canonicalize_tabular,
    epic,
    epic_tabular,
    state_reward,
    tabular_reward,
)
from evalkit.epic.goal import epic_goal, epic_goal_columns, lemma1_rho
from evalkit.epic.results import EpicResult, GoalEpicResult
from evalkit.epic.stats import distance_from_rho, weighted_pearson

__all__ = [
    "CI_METHODS",
    "BootstrapResult",
    "EpicResult",
    "GoalEpicResult",
    "bootstrap_pearson",
    "canonicalize",
    "canonicalize_tabular",
    "distance_from_rho",
    "epic",
    "epic_goal",
    "epic_goal_columns",
    "epic_tabular",
    "lemma1_rho",
    "state_reward",
    "tabular_reward",
    "weighted_pearson",
]
