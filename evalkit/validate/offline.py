"""The offline metrics of the tabular study, each a distance (0: the same reward; larger: worse).

Every metric scores all candidates of one problem at once: ``score(problem) -> (K,)`` values,
NaN where the metric is undefined or does not apply. The metrics:

- ``EPIC (uniform)``: general EPIC (Gleave et al. 2021) with uniform coverage of states and
  actions, ρ over all transitions;
- ``EPIC (half)``: the same with coverage uniform over :func:`~evalkit.validate.spectrum.observed_states`
  only, ρ over transitions between them (a dataset that never visits half the states);
- ``STARC``: VAL canonicalisation with the uniformly random policy, L2 norm and distance
  (Skalse et al. 2024, :mod:`evalkit.metrics.starc`);
- ``goal EPIC`` and ``goal 1 − AUC``: the goal metrics of a reward of the reached state
  against the goal labels of the states (goal ground truths and state-only candidates only);
- ``Pearson (raw)`` and ``L2 (raw)``: naive baselines without canonicalisation, the Pearson
  distance ``sqrt(½(1 − ρ))`` and the root-mean-square difference over all transitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from evalkit.errors import DegenerateError, EvalkitError
from evalkit.metrics.auc import roc_auc
from evalkit.metrics.general import canonicalize_tabular
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.starc import starc_distance
from evalkit.metrics.stats import distance_from_rho, is_constant, weighted_moments
from evalkit.validate.spectrum import STATE_ONLY, observed_states

POINT_ONLY = BootstrapOptions(n_bootstrap=0)
"""Goal metrics of the tabular study are point estimates: the study bootstraps over MDPs."""


@dataclass(frozen=True)
class Problem:
    """One MDP with one ground truth and its candidates.

    :ivar P: transitions ``(S, A, S)``.
    :ivar reward: ground truth ``(S, A, S)``.
    :ivar candidates: ``(K, S, A, S)``.
    :ivar gamma: discount.
    :ivar goals: goal mask ``(S,)`` of a goal ground truth, ``None`` for a dense one.
    """

    P: np.ndarray
    reward: np.ndarray
    candidates: np.ndarray
    gamma: float
    goals: np.ndarray | None


def pearson_distances(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sqrt(½(1 − ρ))`` of every column of ``x`` ``(n, K)`` with ``y`` ``(n,)`` under weights
    ``w``; NaN where a column (or ``y``) is constant."""
    cov, var_x, var_y = weighted_moments(x, y, w)
    bad = is_constant(var_x, x, w) | is_constant(np.array([var_y]), y[:, None], w)[0]
    rho = np.clip(cov / np.sqrt(np.where(bad, 1.0, var_x * var_y)), -1.0, 1.0)
    return np.where(bad, np.nan, distance_from_rho(rho))


def general_epic(problem: Problem, state_dist: np.ndarray | None = None) -> np.ndarray:
    """General EPIC of every candidate to the ground truth (exact, tabular).

    :param state_dist: coverage ``D_S`` (default uniform); ``D_A`` is uniform and ρ is taken
        under ``D_S ⊗ D_A ⊗ D_S``, as :func:`evalkit.metrics.general.epic_tabular` does.
    """
    n_s, n_a, _ = problem.reward.shape
    ds = np.full(n_s, 1.0 / n_s) if state_dist is None else state_dist / state_dist.sum()

    def canonical(r: np.ndarray) -> np.ndarray:
        return canonicalize_tabular(r, gamma=problem.gamma, state_dist=ds).ravel()

    w = np.einsum("s,a,t->sat", ds, np.full(n_a, 1.0 / n_a), ds).ravel()
    on = w > 0
    cands = np.stack([canonical(c)[on] for c in problem.candidates], axis=1)
    return pearson_distances(cands, canonical(problem.reward)[on], w[on])


def _epic_uniform(problem: Problem) -> np.ndarray:
    return general_epic(problem)


def _epic_half(problem: Problem) -> np.ndarray:
    return general_epic(problem, observed_states(problem.reward.shape[0]).astype(float))


def _starc(problem: Problem) -> np.ndarray:
    return starc_distance(
        problem.reward[None], problem.candidates, problem.P[None], gamma=problem.gamma
    )


def _per_state_only(
    problem: Problem, score: Callable[[np.ndarray, np.ndarray], float]
) -> np.ndarray:
    """``score(state_rewards, goals)`` of each state-only candidate of a goal ground truth
    (NaN elsewhere, and where the goal metric is undefined)."""
    out = np.full(len(problem.candidates), np.nan)
    if problem.goals is None:
        return out
    for k in np.flatnonzero(STATE_ONLY):
        try:
            out[k] = score(problem.candidates[k, 0, 0, :], problem.goals)
        except DegenerateError:
            pass
    return out


def _goal_epic(problem: Problem) -> np.ndarray:
    return _per_state_only(problem, lambda r, g: epic_goal(r, g, bootstrap=POINT_ONLY).distance)


def _goal_auc(problem: Problem) -> np.ndarray:
    return _per_state_only(
        problem, lambda r, g: 1.0 - roc_auc(r, g, bootstrap=POINT_ONLY)[0].estimate
    )


def _pearson_raw(problem: Problem) -> np.ndarray:
    x = problem.candidates.reshape(len(problem.candidates), -1).T
    y = problem.reward.ravel()
    return pearson_distances(x, y, np.ones(len(y)))


def _l2_raw(problem: Problem) -> np.ndarray:
    diff = problem.candidates - problem.reward[None]
    return np.sqrt(np.mean(diff**2, axis=(1, 2, 3)))


@dataclass(frozen=True)
class OfflineMetric:
    """A distance between a candidate and the ground truth.

    :ivar name: its name in tables and figures.
    :ivar description: what it computes, in one line.
    :ivar score: ``score(problem) -> (K,)`` distances (NaN: undefined or not applicable).
    """

    name: str
    description: str
    score: Callable[[Problem], np.ndarray]


_STUDY_METRICS: dict[str, OfflineMetric] = {}


def register_study_metric(metric: OfflineMetric) -> OfflineMetric:
    """Add a tabular reward-comparison metric to the study (tables, figure panels, correlations
    with regret); a plugin calls this to have its metric validated against exact regret.

    :raises EvalkitError: a metric of that name is already registered.
    """
    if metric.name in _STUDY_METRICS:
        raise EvalkitError(f"A study metric named {metric.name!r} is already registered.")
    _STUDY_METRICS[metric.name] = metric
    return metric


def unregister_study_metric(name: str) -> OfflineMetric:
    """Remove a registered study metric (tests, plugins reloading) and return it.

    :raises EvalkitError: no study metric of that name.
    """
    if name not in _STUDY_METRICS:
        raise EvalkitError(f"No study metric named {name!r}; known: {', '.join(_STUDY_METRICS)}.")
    return _STUDY_METRICS.pop(name)


def study_metrics() -> tuple[OfflineMetric, ...]:
    """The registered study metrics, in the order of tables and figure panels."""
    return tuple(_STUDY_METRICS.values())


for _metric in (
    OfflineMetric(
        "EPIC (uniform)", "general EPIC, coverage uniform over states and actions", _epic_uniform
    ),
    OfflineMetric(
        "EPIC (half)",
        "general EPIC, coverage uniform over the first half of the states only",
        _epic_half,
    ),
    OfflineMetric(
        "STARC", "VAL canonicalisation (uniform policy), L2 norm, L2 distance; in [0, 2]", _starc
    ),
    OfflineMetric(
        "goal EPIC",
        "Pearson distance of a state-only reward to the goal labels (goal truths only)",
        _goal_epic,
    ),
    OfflineMetric(
        "goal 1 − AUC",
        "1 − ROC-AUC of a state-only reward for the goal labels (goal truths only)",
        _goal_auc,
    ),
    OfflineMetric(
        "Pearson (raw)", "sqrt(½(1 − ρ)) of the raw rewards over all transitions", _pearson_raw
    ),
    OfflineMetric("L2 (raw)", "root-mean-square difference of the raw rewards", _l2_raw),
):
    register_study_metric(_metric)
