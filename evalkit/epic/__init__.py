"""EPIC distances (Gleave et al. 2021) with bootstrap confidence intervals.

Pure functions of numpy arrays; nothing here loads a model.

- :func:`epic_goal` — distance of a reward to 0/1 goal labels by the closed form of the paper's
  Lemma 1, weighted, with an episode-bootstrap interval (percentile or BCa); ``(n, k)`` rewards
  evaluate ``k`` rewards (e.g. one per α) on the same resamples.
- :func:`epic`, :func:`epic_tabular`, :func:`canonicalize`, :func:`canonicalize_tabular` —
  general EPIC for rewards of transitions ``R(s, a, s′)``: sample-based and exact.
- :func:`bootstrap_pearson` — the vectorised episode bootstrap behind the intervals.
- :func:`evaluate_rewards` and the reward sources — EPIC of CLIP rewards, a reward function or
  a column of numbers against a dataset's labels, saved to ``<dataset>/results/epic.parquet``
  (:func:`load_epic_results`).
"""

from evalkit.epic.bootstrap import CI_METHODS, BootstrapResult, bootstrap_pearson
from evalkit.epic.dataset import (
    DatasetEpic,
    RewardSource,
    clip_rewards,
    column_rewards,
    evaluate_rewards,
    function_rewards,
)
from evalkit.epic.general import (
    canonicalize,
    canonicalize_tabular,
    epic,
    epic_tabular,
    state_reward,
    tabular_reward,
)
from evalkit.epic.goal import epic_goal, lemma1_rho
from evalkit.epic.results import (
    EpicResult,
    GoalEpicResult,
    load_epic_results,
    results_path,
    upsert_epic_results,
)
from evalkit.epic.stats import distance_from_rho, weighted_pearson

__all__ = [
    "CI_METHODS",
    "BootstrapResult",
    "DatasetEpic",
    "RewardSource",
    "EpicResult",
    "GoalEpicResult",
    "bootstrap_pearson",
    "canonicalize",
    "canonicalize_tabular",
    "clip_rewards",
    "column_rewards",
    "distance_from_rho",
    "epic",
    "epic_goal",
    "epic_tabular",
    "evaluate_rewards",
    "function_rewards",
    "lemma1_rho",
    "load_epic_results",
    "results_path",
    "state_reward",
    "tabular_reward",
    "upsert_epic_results",
    "weighted_pearson",
]
