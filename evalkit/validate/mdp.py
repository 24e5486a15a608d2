"""Random finite MDPs and exact planning on them, batched over leading axes.

Every function takes arrays with any number of leading batch axes: transitions
``P[..., s, a, s′]``, rewards ``R[..., s, a, s′]`` (broadcast against ``P``), policies
``pi[..., s, a]``, start distributions ``d0[..., s]``. Values are exact up to the linear solver:
a policy's value solves ``(I − γ P_π) V = r_π``; optimal values come from policy iteration,
which ends in finitely many steps at the exact optimum.

Example (the optimal policy's value is at least that of the uniformly random policy)::

    >>> import numpy as np
    >>> P, d0 = random_mdps(1, 5, 2, seed=0)
    >>> R = np.random.default_rng(1).normal(size=(1, 5, 2, 5))
    >>> v_star = start_value(P, R, optimal_policy(P, R, 0.9), d0, 0.9)
    >>> bool(v_star >= start_value(P, R, uniform_policy(P), d0, 0.9))
    True
"""

from __future__ import annotations

import numpy as np

from evalkit.metrics.starc import (
    check_discount,
    expected_next,
    expected_reward,
    policy_values,
    solve_values,
)

TIE_TOLERANCE = 1e-9
"""Actions whose Q is within this fraction of the state's largest ``|Q|`` of the best one tie."""

MAX_POLICY_ITERATIONS = 10_000


def random_mdps(
    n: int,
    n_states: int,
    n_actions: int,
    *,
    seed: int = 0,
    branching: int = 4,
    concentration: float = 1.0,
    n_start: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random MDPs with sparse Dirichlet transitions and a sparse start distribution.

    Each ``(s, a)`` moves to ``branching`` distinct next states drawn uniformly, with
    probabilities ~ Dirichlet(``concentration``); the start distribution puts Dirichlet(1)
    weights on ``n_start`` distinct states.

    :return: ``P`` of shape ``(n, S, A, S)`` (rows sum to 1) and ``d0`` of shape ``(n, S)``.
    """
    rng = np.random.default_rng(seed)
    k = min(branching, n_states)
    P = np.zeros((n, n_states, n_actions, n_states))
    # k distinct successors per (mdp, s, a): the first k of a random permutation
    succ = np.argsort(rng.random((n, n_states, n_actions, n_states)), axis=-1)[..., :k]
    probs = rng.dirichlet(np.full(k, concentration), size=(n, n_states, n_actions))
    np.put_along_axis(P, succ, probs, axis=-1)
    d0 = np.zeros((n, n_states))
    starts = np.argsort(rng.random((n, n_states)), axis=-1)[:, : min(n_start, n_states)]
    np.put_along_axis(d0, starts, rng.dirichlet(np.ones(starts.shape[1]), size=n), axis=-1)
    return P, d0


def uniform_policy(P: np.ndarray) -> np.ndarray:
    """The uniformly random policy ``pi[..., s, a] = 1/|A|`` for transitions ``P``."""
    return np.full(P.shape[:-1], 1.0 / P.shape[-2])


def policy_value(P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float) -> np.ndarray:
    """Exact state values ``V^π[..., s]`` by a linear solve of ``(I − γ P_π) V = r_π``."""
    return policy_values(P, R, pi, gamma)


def q_values(P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    """``Q[..., s, a] = Σ_s′ P(s′ | s, a) (R(s, a, s′) + γ V(s′))``."""
    return expected_reward(P, R) + gamma * expected_next(P, V)


def greedy_policy(Q: np.ndarray, tol: float = TIE_TOLERANCE) -> np.ndarray:
    """The greedy policy of ``Q[..., s, a]``, splitting ties uniformly.

    Actions whose Q is within ``tol × max_a |Q(s, a)|`` of the best tie.
    """
    best = Q.max(axis=-1, keepdims=True)
    scale = np.abs(Q).max(axis=-1, keepdims=True)
    ties = (best - Q) <= tol * scale
    return ties / ties.sum(axis=-1, keepdims=True)


def optimal_values(P: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    """Exact optimal state values ``V*[..., s]`` by policy iteration."""
    gamma = check_discount(gamma)
    r = expected_reward(P, R)  # (..., S, A), the batch shape of P and R together
    batch, (n_s, n_a) = r.shape[:-2], r.shape[-2:]
    r = r.reshape(-1, n_s, n_a)
    P_flat = P.reshape(-1, n_s, n_a, n_s)
    which_P = np.broadcast_to(np.arange(len(P_flat)).reshape(P.shape[:-3]), batch).ravel()
    states = np.arange(n_s)[None, :]
    action = r.argmax(axis=-1)  # start from the myopic policy
    V = np.empty((len(r), n_s))
    active = np.arange(len(r))
    for _ in range(MAX_POLICY_ITERATIONS):
        # only the problems whose policy changed are evaluated again; a deterministic policy's
        # P_π and r_π are the rows its actions pick
        act = action[active]
        P_pi = P_flat[which_P[active][:, None], states, act]
        r_pi = np.take_along_axis(r[active], act[..., None], axis=-1)[..., 0]
        V[active] = solve_values(P_pi, r_pi, gamma)
        Q = r[active] + gamma * expected_next(P_flat[which_P[active]], V[active])
        current = np.take_along_axis(Q, act[..., None], axis=-1)[..., 0]
        better = Q.max(axis=-1) > current + TIE_TOLERANCE * np.abs(Q).max(axis=-1)
        changed = better.any(axis=-1)
        if not changed.any():
            return V.reshape(batch + (n_s,))
        action[active] = np.where(better, Q.argmax(axis=-1), act)
        active = active[changed]
    raise RuntimeError("policy iteration did not converge")  # finite MDPs always do


def optimal_policy(P: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    """The optimal policy of reward ``R``: greedy in ``Q*``, ties split uniformly."""
    V = optimal_values(P, R, gamma)
    return greedy_policy(q_values(P, R, V, gamma))


def start_value(
    P: np.ndarray, R: np.ndarray, pi: np.ndarray, d0: np.ndarray, gamma: float
) -> np.ndarray:
    """``V^π(d0) = Σ_s d0(s) V^π(s)`` of policy ``pi`` under reward ``R``."""
    return np.einsum("...s,...s->...", d0, policy_value(P, R, pi, gamma))


def normalised_regret(
    P: np.ndarray, R_true: np.ndarray, candidates: np.ndarray, d0: np.ndarray, gamma: float
) -> np.ndarray:
    """Normalised regret of the optimal policy of each candidate reward, under ``R_true``.

    ``(V*(d0) − V^π(d0)) / (V*(d0) − V_worst(d0))`` with π optimal for the candidate (ties split
    uniformly) and V_worst the value under ``R_true`` of the policy optimal for ``−R_true``.
    0 where every policy is equally good.

    :param P: ``(m, S, A, S)``.
    :param R_true: ``(m, S, A, S)``.
    :param candidates: ``(m, K, S, A, S)``.
    :param d0: ``(m, S)``.
    :return: ``(m, K)`` in [0, 1].
    """
    gamma = check_discount(gamma)
    Pk = P[:, None]
    pi = optimal_policy(Pk, candidates, gamma)  # (m, K, S, A)
    v_pi = start_value(Pk, R_true[:, None], pi, d0[:, None], gamma)
    v_best = start_value(P, R_true, optimal_policy(P, R_true, gamma), d0, gamma)
    v_worst = start_value(P, R_true, optimal_policy(P, -R_true, gamma), d0, gamma)
    span = (v_best - v_worst)[:, None]
    flat = span <= TIE_TOLERANCE * np.maximum(np.abs(v_best), np.abs(v_worst))[:, None]
    regret = np.where(flat, 0.0, (v_best[:, None] - v_pi) / np.where(flat, 1.0, span))
    return np.clip(regret, 0.0, 1.0)
