"""STARC distance (Skalse et al. 2024) between tabular rewards ``R(s, a, s′)`` of a known MDP.

STARC ("STAndardised Reward Comparison") canonicalises each reward, normalises it, and measures
the distance between the normalised canonical rewards. evalkit uses the paper's
*value-adjusted levelling* (VAL) with the uniformly random policy π::

    c(R)(s, a, s′) = E_{S′ ~ τ(s, a)} [ R(s, a, S′) − V^π(s) + γ V^π(S′) ]

where ``V^π`` is the value of π under ``R`` and τ the MDP's transitions, then
``s(R) = c(R) / ‖c(R)‖₂`` (``s(R) = 0`` where ``c(R) = 0``) and
``D_STARC(R1, R2) = ‖s(R1) − s(R2)‖₂``, in [0, 2]. ``c`` removes potential shaping, constant
shifts (a shift is a potential) and S′-redistribution (rewards that differ only in how they
spread over next states with equal expectation), and the normalisation removes positive
scaling, so rewards with the same order of policies are at distance 0. Unlike EPIC it needs the
transitions τ, and it ignores rewards of transitions τ never makes.

The expectation over ``S′ ~ τ(s, a)`` makes ``c(R)`` a function of ``(s, a)``; the norm is
taken over all ``(s, a, s′)`` with equal weight, which gives the same normalised distances as
the norm over ``(s, a)``.

Example (a rescaled, potential-shaped copy is at distance 0)::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> P = rng.dirichlet(np.ones(4), size=(4, 2))
    >>> R = rng.normal(size=(4, 2, 4))
    >>> phi = rng.normal(size=4)
    >>> shaped = 2 * R + 0.9 * phi[None, None, :] - phi[:, None, None]
    >>> round(float(starc_distance(R, shaped, P, gamma=0.9)), 6)
    0.0
"""

from __future__ import annotations

import numpy as np

from evalkit.errors import DegenerateError

ZERO_NORM_TOL = 1e-10
"""A canonical reward whose norm is below this fraction of the reward's magnitude is zero."""


def check_discount(gamma: float) -> float:
    """γ as a float in [0, 1), or one sentence saying why not (γ = 1 has no finite values)."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise DegenerateError(
            f"The discount γ must be a number in [0, 1), not {gamma!r}."
        ) from None
    if not 0.0 <= g < 1.0:  # also refuses NaN
        raise DegenerateError(
            f"The discount γ must lie in [0, 1) for values of infinite-horizon MDPs to be finite, not {gamma!r}."
        )
    return g


def _check_mdp(P: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    if P.ndim < 3 or P.shape[-1] != P.shape[-3]:
        raise DegenerateError(f"Transitions must have shape (..., |S|, |A|, |S|), not {P.shape}.")
    if R.shape[-3:] != P.shape[-3:]:
        raise DegenerateError(
            f"A reward of shape {R.shape} does not match transitions of shape {P.shape}."
        )
    if not np.allclose(P.sum(axis=-1), 1.0) or np.any(P < 0):
        raise DegenerateError("Each row P[s, a, :] of the transitions must be a distribution.")
    if not np.all(np.isfinite(R)):
        raise DegenerateError("The tabular reward has NaN or infinite entries.")
    return P, R


def expected_reward(P: np.ndarray, R: np.ndarray) -> np.ndarray:
    """``r[..., s, a] = Σ_s′ P(s′ | s, a) R(s, a, s′)`` (broadcast over leading axes)."""
    return (P * R).sum(axis=-1)


def expected_next(P: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``Σ_s′ P(s′ | s, a) V(s′)`` as ``(..., S, A)``, for ``P (..., S, A, S)`` and ``V (..., S)``
    (one batched matrix product)."""
    n_s, n_a = P.shape[-3], P.shape[-2]
    flat = P.reshape(P.shape[:-3] + (n_s * n_a, n_s))
    out = np.matmul(flat, V[..., :, None])[..., 0]
    return out.reshape(out.shape[:-1] + (n_s, n_a))


def solve_values(P_pi: np.ndarray, r_pi: np.ndarray, gamma: float) -> np.ndarray:
    """``V`` solving ``(I − γ P_π) V = r_π`` for ``P_π (..., S, S)`` and ``r_π (..., S)``."""
    A = np.eye(P_pi.shape[-1]) - gamma * P_pi
    A, b = np.broadcast_arrays(A, r_pi[..., None])
    return np.linalg.solve(A, b)[..., 0]


def policy_values(P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float) -> np.ndarray:
    """Exact ``V^π[..., s]`` by a linear solve of ``(I − γ P_π) V = r_π`` (batched).

    :param P: transitions ``(..., S, A, S)``.
    :param R: reward ``(..., S, A, S)`` (broadcast against ``P``).
    :param pi: policy ``(..., S, A)``.
    """
    r_pi = (pi * expected_reward(P, R)).sum(axis=-1)
    return solve_values((pi[..., None] * P).sum(axis=-2), r_pi, gamma)


def value_adjusted_levelling(
    reward: np.ndarray,
    transitions: np.ndarray,
    *,
    gamma: float,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """VAL canonical reward ``E_{S′~τ(s,a)}[R(s, a, S′) − V^π(s) + γ V^π(S′)]`` (batched).

    :param reward: ``R[..., s, a, s′]``.
    :param transitions: ``τ[..., s, a, s′]`` (rows sum to 1; broadcast against ``reward``).
    :param gamma: discount γ in [0, 1).
    :param policy: ``π[..., s, a]`` (default uniformly random).
    :return: ``c(R)`` of shape ``(..., S, A, S)``, constant along ``s′``.
    """
    gamma = check_discount(gamma)
    P, R = _check_mdp(transitions, reward)
    pi = np.full(P.shape[-3:-1], 1.0 / P.shape[-2]) if policy is None else np.asarray(policy)
    V = policy_values(P, R, pi, gamma)
    c = expected_reward(P, R) - V[..., :, None] + gamma * expected_next(P, V)
    return np.broadcast_to(c[..., None], c.shape + (P.shape[-1],)).copy()


def starc_normalise(canonical: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """``c / ‖c‖₂`` over the last three axes, 0 where ``‖c‖₂ ≤`` :data:`ZERO_NORM_TOL` × ``scale``.

    :param scale: the magnitude of the reward the canonical form came from (``max |R|``).
    """
    norm = np.sqrt(np.sum(canonical**2, axis=(-3, -2, -1), keepdims=True))
    zero = norm <= ZERO_NORM_TOL * np.asarray(scale)[..., None, None, None] * np.sqrt(
        np.prod(canonical.shape[-3:])
    )
    return np.where(zero, 0.0, canonical / np.where(zero, 1.0, norm))


def starc_distance(
    r1: np.ndarray,
    r2: np.ndarray,
    transitions: np.ndarray,
    *,
    gamma: float,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """STARC distance ``‖s(R1) − s(R2)‖₂`` with VAL canonicalisation and the L2 norm (batched).

    :param r1: ``(..., S, A, S)``.
    :param r2: ``(..., S, A, S)``.
    :param transitions: ``τ[..., s, a, s′]``, broadcast against the rewards.
    :param gamma: discount γ in [0, 1).
    :param policy: the policy of VAL (default uniformly random).
    :return: distances in [0, 2] over the leading axes (a 0-d array for one pair).
    """
    normalised = []
    for r in (r1, r2):
        c = value_adjusted_levelling(r, transitions, gamma=gamma, policy=policy)
        scale = np.abs(np.asarray(r, dtype=float)).max(axis=(-3, -2, -1))
        normalised.append(starc_normalise(c, scale))
    diff = normalised[0] - normalised[1]
    return np.sqrt(np.sum(diff**2, axis=(-3, -2, -1)))
