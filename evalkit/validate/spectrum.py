"""Ground-truth rewards and the spectrum of candidate rewards of the tabular study.

For one MDP and one ground truth ``R_true(s, a, s′)`` the candidates span every degree of
quality, with exact regret known for each:

- ``noise λ``: ``(1 − λ) R_true/σ + λ N`` with N standard normal per transition (λ = 0 is the
  ground truth, λ = 1 pure noise);
- ``shaped``, ``scaled``, ``shifted``, ``shaped+scaled``: potential shaping ``γΦ(s′) − Φ(s)``
  with a large random Φ, a positive factor, a constant, both; the optimal policy is unchanged,
  so the regret is 0 and invariant metrics must say 0 (the *invariance rows*);
- ``flip p``: the sign of a random fraction p of transitions flipped; ``inverted``: ``−R_true``;
- ``prototype q``: a reward of the reached state only, 1 on as many states as the target set
  has, a fraction q of which lie in it (target set: the goal states of a goal ground truth,
  the states with the highest mean incoming reward of a dense one);
- ``random state``: a random reward of the reached state;
- ``decoy b``: ``R_true`` plus a bonus ``b·range(R_true)`` for reaching the states the second
  coverage distribution leaves out (:func:`observed_states`), where a metric measured under
  that coverage is blind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

NOISE_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
FLIP_FRACTIONS = (0.1, 0.25, 0.5)
PROTOTYPE_OVERLAPS = (1.0, 0.75, 0.5, 0.25, 0.0)
DECOY_BONUSES = (1.0, 5.0)
SHAPING_SCALE = 5.0
"""Potentials are drawn with this many standard deviations of ``R_true``."""

GROUND_TRUTHS = ("dense", "goal")


def observed_states(n_states: int) -> np.ndarray:
    """Boolean mask of the states the second coverage distribution covers: the first half.

    States of a random MDP are exchangeable, so a fixed half is as good as a random one and
    anyone can rebuild the mask from ``|S|`` alone.
    """
    mask = np.zeros(n_states, dtype=bool)
    mask[: max(1, n_states // 2)] = True
    return mask


def n_goal_states(n_states: int) -> int:
    """Size of the goal (and target) set: an eighth of the states, at least two (the goal
    metrics need two goal states), never all."""
    return max(1, min(n_states - 1, max(2, n_states // 8)))


def dense_truth(n_states: int, n_actions: int, rng: np.random.Generator) -> np.ndarray:
    """A dense ground truth: ``R(s, a, s′)`` standard normal per transition."""
    return rng.normal(size=(n_states, n_actions, n_states))


def goal_truth(
    n_states: int, n_actions: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A goal ground truth: ``R(s, a, s′) = 1`` when ``s′`` is a goal state, else 0.

    :return: the reward ``(S, A, S)`` and the goal mask ``(S,)``.
    """
    goals = np.zeros(n_states, dtype=bool)
    goals[rng.choice(n_states, n_goal_states(n_states), replace=False)] = True
    reward = np.broadcast_to(goals.astype(float), (n_states, n_actions, n_states)).copy()
    return reward, goals


def target_states(reward: np.ndarray) -> np.ndarray:
    """The states with the highest mean incoming reward ``E_{s,a} R(s, a, s′)`` (the goal set of
    a goal ground truth), as a boolean mask of :func:`n_goal_states` states."""
    incoming = reward.mean(axis=(0, 1))
    top = np.argsort(-incoming, kind="stable")[: n_goal_states(reward.shape[-1])]
    mask = np.zeros(reward.shape[-1], dtype=bool)
    mask[top] = True
    return mask


def _state_reward(values: np.ndarray, n_actions: int) -> np.ndarray:
    n = len(values)
    return np.broadcast_to(values.astype(float), (n, n_actions, n)).copy()


def _prototype(targets: np.ndarray, overlap: float, rng: np.random.Generator) -> np.ndarray:
    inside, outside = np.flatnonzero(targets), np.flatnonzero(~targets)
    n_in = int(round(overlap * len(inside)))
    chosen = np.concatenate(
        [
            rng.choice(inside, n_in, replace=False),
            rng.choice(outside, min(len(outside), len(inside) - n_in), replace=False),
        ]
    )
    values = np.zeros(len(targets))
    values[chosen] = 1.0
    return values


Builder = Callable[[np.ndarray, np.random.Generator, float, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Candidate:
    """One kind of candidate reward.

    :ivar name: its name in tables and ``names``.
    :ivar state_only: a reward of the reached state only (the goal metrics apply).
    :ivar invariant: the ground truth up to shaping, positive scaling and shifts (regret 0).
    :ivar build: ``build(R_true, rng, gamma, targets) -> (S, A, S)``.
    """

    name: str
    state_only: bool
    invariant: bool
    build: Builder


def _noise(lam: float) -> Builder:
    return lambda R, rng, g, t: (1 - lam) * R / R.std() + lam * rng.normal(size=R.shape)


def _shaping(R: np.ndarray, rng: np.random.Generator, gamma: float) -> np.ndarray:
    phi = SHAPING_SCALE * R.std() * rng.normal(size=R.shape[0])
    return gamma * phi[None, None, :] - phi[:, None, None]


def _flip(p: float) -> Builder:
    return lambda R, rng, g, t: np.where(rng.random(R.shape) < p, -R, R)


def _prototype_reward(q: float) -> Builder:
    return lambda R, rng, g, t: _state_reward(_prototype(t, q, rng), R.shape[1])


def _decoy(b: float) -> Builder:
    def build(R, rng, gamma, targets):
        bonus = b * (R.max() - R.min()) * ~observed_states(R.shape[0])
        return R + bonus[None, None, :]

    return build


def _random_state(R, rng, gamma, targets):
    return _state_reward(rng.normal(size=R.shape[0]), R.shape[1])


CANDIDATES: tuple[Candidate, ...] = (
    *(Candidate(f"noise {lam:g}", False, lam == 0, _noise(lam)) for lam in NOISE_LEVELS),
    Candidate("shaped", False, True, lambda R, rng, g, t: R + _shaping(R, rng, g)),
    Candidate("scaled", False, True, lambda R, rng, g, t: 10.0 * R),
    Candidate("shifted", False, True, lambda R, rng, g, t: R + 3.0 * R.std()),
    Candidate("shaped+scaled", False, True, lambda R, rng, g, t: 0.2 * R + _shaping(R, rng, g)),
    *(Candidate(f"flip {p:g}", False, False, _flip(p)) for p in FLIP_FRACTIONS),
    Candidate("inverted", False, False, lambda R, rng, g, t: -R),
    *(Candidate(f"prototype {q:g}", True, False, _prototype_reward(q)) for q in PROTOTYPE_OVERLAPS),
    Candidate("random state", True, False, _random_state),
    *(Candidate(f"decoy {b:g}", False, False, _decoy(b)) for b in DECOY_BONUSES),
)
"""Every candidate, in the order of the ``K`` axis."""
CANDIDATE_NAMES: tuple[str, ...] = tuple(c.name for c in CANDIDATES)
STATE_ONLY = np.array([c.state_only for c in CANDIDATES])
"""Which candidates are rewards of the reached state only."""
INVARIANT = np.array([c.invariant for c in CANDIDATES])
"""The invariance rows: the ground truth up to shaping, positive scaling and shifts."""


def candidate_rewards(
    reward: np.ndarray, gamma: float, targets: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Every candidate of :data:`CANDIDATE_NAMES` for ground truth ``reward`` ``(S, A, S)``.

    :param targets: boolean mask of the target states (prototypes overlap it).
    :return: ``(K, S, A, S)``.
    """
    return np.stack([c.build(reward, rng, gamma, targets) for c in CANDIDATES])
