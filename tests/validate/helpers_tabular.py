"""Independent planning for the tabular tests: plain loops and value iteration, sharing no
code with :mod:`evalkit.validate.mdp`."""

from __future__ import annotations

import itertools

import numpy as np


def value_iteration(P: np.ndarray, R: np.ndarray, gamma: float, tol: float = 1e-13) -> np.ndarray:
    """Optimal values of one MDP ``P (S, A, S)``, ``R (S, A, S)`` by value iteration."""
    V = np.zeros(P.shape[0])
    while True:
        new = q_from(P, R, V, gamma).max(axis=1)
        if np.max(np.abs(new - V)) < tol:
            return new
        V = new


def q_from(P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    return (P * (R + gamma * V[None, None, :])).sum(axis=2)


def tie_split_greedy(Q: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    pi = np.zeros_like(Q)
    for s in range(Q.shape[0]):
        best = Q[s].max()
        ties = [a for a in range(Q.shape[1]) if best - Q[s, a] <= tol * np.abs(Q[s]).max()]
        pi[s, ties] = 1.0 / len(ties)
    return pi


def evaluate(
    P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float, tol: float = 1e-13
) -> np.ndarray:
    """``V^π`` by iterating the Bellman expectation operator."""
    V = np.zeros(P.shape[0])
    while True:
        new = (pi * q_from(P, R, V, gamma)).sum(axis=1)
        if np.max(np.abs(new - V)) < tol:
            return new
        V = new


def regret_by_value_iteration(P, R_true, R_cand, d0, gamma) -> float:
    """Normalised regret of the candidate's optimal policy (ties split), by value iteration."""

    def optimal(R):
        return tie_split_greedy(q_from(P, R, value_iteration(P, R, gamma), gamma))

    v = lambda pi: d0 @ evaluate(P, R_true, pi, gamma)  # noqa: E731
    best, worst, got = v(optimal(R_true)), v(optimal(-R_true)), v(optimal(R_cand))
    return 0.0 if best - worst <= 1e-12 else (best - got) / (best - worst)


def deterministic_policy_values(P, R, d0, gamma) -> dict[tuple[int, ...], float]:
    """``V^π(d0)`` of every deterministic policy, by an explicit matrix inverse."""
    n_s, n_a, _ = P.shape
    out = {}
    for actions in itertools.product(range(n_a), repeat=n_s):
        P_pi = np.array([P[s, actions[s]] for s in range(n_s)])
        r_pi = np.array([P[s, actions[s]] @ R[s, actions[s]] for s in range(n_s)])
        out[actions] = float(d0 @ np.linalg.inv(np.eye(n_s) - gamma * P_pi) @ r_pi)
    return out
