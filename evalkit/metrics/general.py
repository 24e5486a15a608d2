"""General EPIC (Gleave et al. 2021) for rewards of transitions ``R(s, a, s′)``.

The canonically shaped reward removes potential shaping and constant shifts::

    C(R)(s, a, s′) = R(s, a, s′) + E[γ R(s′, A, S′) − R(s, A, S′) − γ R(S, A, S′)]

with ``S, S′ ~ D_S`` independent and ``A ~ D_A`` (the *coverage* distributions), and

    D_EPIC(R1, R2) = sqrt(½ (1 − ρ(C(R1), C(R2))))

with ρ the Pearson correlation under a distribution of transitions ``D_T``. Two versions:

- :func:`epic_tabular` — exact, for small finite MDPs: rewards are arrays ``(|S|, |A|, |S|)``
  and the distributions are probability vectors.
- :func:`epic` — sample-based: rewards are vectorised callables ``R(s, a, s′)`` (or tabular
  arrays indexed by integer states), expectations are means over coverage samples, ρ is taken
  over sampled transitions (optionally weighted, with an episode bootstrap).

The middle term averages over the action distribution, ``R(s, A, S′)``, as in Gleave et al.'s
Definition 4.1 and their reference code (``evaluating-rewards``); the VLM-RM paper's appendix
misprints it as ``R(s, a, S′)``, which puts rewards that prefer opposite actions at distance 0.

For a reward of the reached state only, ``C(R)(s′) = R(s′) − E[R(S′)]``, so the distance is
the per-frame Pearson distance that :func:`evalkit.metrics.goal.epic_goal` computes (paper
Lemma 1); the tests check that both routes agree.

Example (a reward and a positively rescaled, potential-shaped copy are at distance 0)::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> R = rng.normal(size=(4, 2, 4))
    >>> phi = rng.normal(size=4)
    >>> shaped = 2 * R + 3 + 0.9 * phi[None, None, :] - phi[:, None, None]
    >>> round(epic_tabular(R, shaped, gamma=0.9).distance, 6)
    0.0
"""

from __future__ import annotations

from typing import Callable, Union

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.bootstrap import bootstrap_pearson
from evalkit.metrics.options import NO_INTERVAL, BootstrapOptions
from evalkit.metrics.results import EpicResult
from evalkit.metrics.stats import as_weights, distance_from_rho, weighted_pearson

RewardFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``R(states, actions, next_states) -> rewards``, vectorised over the leading axis."""

Reward = Union[RewardFn, np.ndarray]
"""A reward callable, or a tabular reward ``(|S|, |A|, |S|)`` indexed by integer states/actions."""

CANONICAL_SCALE_TOL = 1e-10
"""A canonical reward whose spread is below this fraction of the reward's magnitude is constant."""


def tabular_reward(table: np.ndarray) -> RewardFn:
    """A callable for a tabular reward ``R[s, a, s′]`` over integer states and actions."""
    t = np.asarray(table, dtype=float)
    if t.ndim != 3 or t.shape[0] != t.shape[2]:
        raise DegenerateError(f"A tabular reward must have shape (|S|, |A|, |S|), not {t.shape}.")
    return lambda s, a, s2: t[
        np.asarray(s, dtype=np.intp), np.asarray(a, dtype=np.intp), np.asarray(s2, dtype=np.intp)
    ]


def state_reward(fn: Callable[[np.ndarray], np.ndarray]) -> RewardFn:
    """Lift a reward of the reached state ``f(s′)`` to a transition reward ``R(s, a, s′) = f(s′)``."""
    return lambda s, a, s2: fn(s2)


def _as_fn(reward: Reward) -> RewardFn:
    return reward if callable(reward) else tabular_reward(np.asarray(reward))


def check_gamma(gamma: float) -> float:
    """γ as a float, or a clear error when it is not a number in [0, 1]."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise DegenerateError(
            f"The discount γ must be a number in [0, 1], not {gamma!r}."
        ) from None
    if not 0.0 <= g <= 1.0:  # also refuses NaN
        raise DegenerateError(f"The discount γ must lie in [0, 1], not {gamma!r}.")
    return g


def _distribution(p: np.ndarray | None, shape: tuple[int, ...], what: str) -> np.ndarray:
    if p is None:
        return np.full(shape, 1.0 / np.prod(shape))
    q = np.asarray(p, dtype=float)
    if q.shape != shape:
        raise DegenerateError(f"The {what} must have shape {shape}, not {q.shape}.")
    if not np.all(np.isfinite(q)) or np.any(q < 0) or not q.sum() > 0:
        raise DegenerateError(f"The {what} must be finite, non-negative and not all zero.")
    return q / q.sum()


# -- exact, tabular ----------------------------------------------------------------------------


def canonicalize_tabular(
    reward: np.ndarray,
    *,
    gamma: float = 0.99,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
) -> np.ndarray:
    """Exact canonically shaped reward of a tabular reward ``(|S|, |A|, |S|)``.

    :param reward: ``R[s, a, s′]``.
    :param gamma: discount γ.
    :param state_dist: coverage distribution ``D_S`` of S and S′ (default uniform).
    :param action_dist: coverage distribution ``D_A`` (default uniform).
    :return: ``C(R)`` with the same shape. Idempotent: ``C(C(R)) = C(R)``.
    """
    R = np.asarray(reward, dtype=float)
    if R.ndim != 3 or R.shape[0] != R.shape[2]:
        raise DegenerateError(f"A tabular reward must have shape (|S|, |A|, |S|), not {R.shape}.")
    if not np.all(np.isfinite(R)):
        raise DegenerateError("The tabular reward has NaN or infinite entries.")
    gamma = check_gamma(gamma)
    n_s, n_a, _ = R.shape
    ds = _distribution(state_dist, (n_s,), "state distribution")
    da = _distribution(action_dist, (n_a,), "action distribution")
    from_state = np.einsum("xat,a,t->x", R, da, ds)  # E_{A,S'} R(x, A, S') for every state x
    mean = ds @ from_state  # E R(S, A, S')
    # γ E R(s', A, S') − E R(s, A, S') − γ E R(S, A, S'): the same function of a state, at s' and at s
    return R + gamma * from_state[None, None, :] - from_state[:, None, None] - gamma * mean


def _pearson_of_canonical(
    c1: np.ndarray, c2: np.ndarray, w: np.ndarray, scales: tuple[float, float]
) -> float:
    for c, scale, which in ((c1, scales[0], "first"), (c2, scales[1], "second")):
        p = w / w.sum()
        sd = np.sqrt(p @ (c - p @ c) ** 2)
        if not sd > CANONICAL_SCALE_TOL * scale:
            raise DegenerateError(
                f"The {which} reward is a constant plus potential shaping (its canonical form is constant "
                "under the transition distribution), so its EPIC distance is undefined."
            )
    return float(weighted_pearson(c1, c2, w)[0])


def epic_tabular(
    r1: np.ndarray,
    r2: np.ndarray,
    *,
    gamma: float = 0.99,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
    transition_dist: np.ndarray | None = None,
) -> EpicResult:
    """Exact EPIC distance between two tabular rewards ``(|S|, |A|, |S|)``.

    :param gamma: discount γ of the canonicalisation.
    :param state_dist: coverage ``D_S`` (default uniform).
    :param action_dist: coverage ``D_A`` (default uniform).
    :param transition_dist: ``D_T[s, a, s′]``, the distribution ρ is taken under (default
        ``D_S ⊗ D_A ⊗ D_S``).
    :raises DegenerateError: when a canonical reward is constant (ρ undefined).
    """
    R1, R2 = np.asarray(r1, dtype=float), np.asarray(r2, dtype=float)
    if R1.shape != R2.shape:
        raise DegenerateError(
            f"The two tabular rewards have different shapes, {R1.shape} and {R2.shape}."
        )
    c1 = canonicalize_tabular(R1, gamma=gamma, state_dist=state_dist, action_dist=action_dist)
    c2 = canonicalize_tabular(R2, gamma=gamma, state_dist=state_dist, action_dist=action_dist)
    n_s, n_a, _ = R1.shape
    if transition_dist is None:
        ds = _distribution(state_dist, (n_s,), "state distribution")
        da = _distribution(action_dist, (n_a,), "action distribution")
        dt = np.einsum("s,a,t->sat", ds, da, ds)
    else:
        dt = _distribution(transition_dist, R1.shape, "transition distribution")
    w = dt.ravel()
    on = w > 0
    scales = (float(np.abs(R1).max()), float(np.abs(R2).max()))
    rho = _pearson_of_canonical(c1.ravel()[on], c2.ravel()[on], w[on], scales)
    return EpicResult(
        distance=distance_from_rho(rho),
        rho=rho,
        method="tabular",
        gamma=gamma,
        n_transitions=int(on.sum()),
        n_coverage=0,
    )


# -- sample-based ------------------------------------------------------------------------------


def _call(fn: RewardFn, s: np.ndarray, a: np.ndarray, s2: np.ndarray) -> np.ndarray:
    out = np.asarray(fn(s, a, s2), dtype=float).reshape(-1)
    if out.shape != (len(s),):
        raise DegenerateError(
            f"A reward function returned {out.size} values for {len(s)} transitions; it must return one per transition."
        )
    if not np.all(np.isfinite(out)):
        raise DegenerateError("A reward function returned NaN or infinite values.")
    return out


def _tile(x: np.ndarray, times: int) -> np.ndarray:
    return np.tile(x, (times,) + (1,) * (x.ndim - 1))


def _coverage_mean(
    fn: RewardFn, s: np.ndarray, cov_a: np.ndarray, cov_s2: np.ndarray, chunk: int
) -> np.ndarray:
    """``mean_j R(s_i, A_j, S′_j)`` for every i, in chunks of about ``chunk`` calls."""
    m = len(cov_s2)
    rows = max(1, chunk // m)
    out = np.empty(len(s))
    for i0 in range(0, len(s), rows):
        i1 = min(len(s), i0 + rows)
        b = i1 - i0
        ss = np.repeat(s[i0:i1], m, axis=0)
        out[i0:i1] = _call(fn, ss, _tile(cov_a, b), _tile(cov_s2, b)).reshape(b, m).mean(axis=1)
    return out


def _sample_terms(
    reward: Reward,
    states,
    actions,
    next_states,
    coverage_states,
    coverage_actions,
    coverage_next_states,
    gamma: float,
    chunk_size: int,
) -> tuple[np.ndarray, float]:
    """Canonical reward of every transition, and the magnitude of the reward values seen."""
    gamma = check_gamma(gamma)
    fn = _as_fn(reward)
    s, a, s2 = np.asarray(states), np.asarray(actions), np.asarray(next_states)
    cs, ca = np.asarray(coverage_states), np.asarray(coverage_actions)
    if not (len(s) == len(a) == len(s2)):
        raise DegenerateError(
            f"There are {len(s)} states, {len(a)} actions and {len(s2)} next states; pass one of each per transition."
        )
    if len(s) < 2:
        raise DegenerateError("EPIC needs at least 2 transitions.")
    if len(cs) == 0 or len(cs) != len(ca):
        raise DegenerateError(
            f"There are {len(cs)} coverage states and {len(ca)} coverage actions; pass one of each per coverage sample (at least one)."
        )
    cs2 = (
        np.roll(cs, 1, axis=0) if coverage_next_states is None else np.asarray(coverage_next_states)
    )
    if len(cs2) != len(cs):
        raise DegenerateError(
            f"There are {len(cs)} coverage states but {len(cs2)} coverage next states."
        )
    direct = _call(fn, s, a, s2)
    next_term = _coverage_mean(fn, s2, ca, cs2, chunk_size)
    here_term = _coverage_mean(fn, s, ca, cs2, chunk_size)
    mean = _call(fn, cs, ca, cs2)
    canonical = direct + gamma * next_term - here_term - gamma * mean.mean()
    scale = max(
        np.abs(direct).max(), np.abs(next_term).max(), np.abs(here_term).max(), np.abs(mean).max()
    )
    return canonical, float(scale)


def canonicalize(
    reward: Reward,
    states: np.ndarray,
    actions: np.ndarray,
    next_states: np.ndarray,
    coverage_states: np.ndarray,
    coverage_actions: np.ndarray,
    coverage_next_states: np.ndarray | None = None,
    *,
    gamma: float = 0.99,
    chunk_size: int = 1 << 20,
) -> np.ndarray:
    """Sample-based canonically shaped reward of each transition ``(s_i, a_i, s′_i)``.

    The expectations are means over the ``M`` coverage samples ``(S_j, A_j, S′_j)``:
    ``E[R(s′, A, S′)] ≈ mean_j R(s′_i, A_j, S′_j)``, ``E[R(s, A, S′)] ≈ mean_j R(s_i, A_j, S′_j)``,
    ``E[R(S, A, S′)] ≈ mean_j R(S_j, A_j, S′_j)`` — ``2 n M + n + M`` reward calls in all.

    :param reward: a vectorised callable ``R(s, a, s′)`` or a tabular array ``(|S|, |A|, |S|)``.
    :param states: ``(n, ...)`` states ``s_i`` (any per-sample shape the reward accepts).
    :param actions: ``(n, ...)`` actions.
    :param next_states: ``(n, ...)`` next states.
    :param coverage_states: ``(M, ...)`` samples of ``D_S``.
    :param coverage_actions: ``(M, ...)`` samples of ``D_A``.
    :param coverage_next_states: ``(M, ...)`` further samples of ``D_S`` for ``S′``, independent
        of ``coverage_states``; default: ``coverage_states`` rotated by one.
    :param gamma: discount γ.
    :param chunk_size: reward evaluations per call to ``reward``.
    """
    return _sample_terms(
        reward,
        states,
        actions,
        next_states,
        coverage_states,
        coverage_actions,
        coverage_next_states,
        gamma,
        chunk_size,
    )[0]


def epic(
    r1: Reward,
    r2: Reward,
    states: np.ndarray,
    actions: np.ndarray,
    next_states: np.ndarray,
    coverage_states: np.ndarray,
    coverage_actions: np.ndarray,
    coverage_next_states: np.ndarray | None = None,
    *,
    gamma: float = 0.99,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    bootstrap: BootstrapOptions = NO_INTERVAL,
    chunk_size: int = 1 << 20,
) -> EpicResult:
    """Sample-based EPIC distance between two rewards of transitions (Gleave et al. 2021).

    The transitions ``(states, actions, next_states)`` are samples of the distribution ρ is
    taken under; the coverage samples define the canonicalisation's expectations (see
    :func:`canonicalize`). Converges to :func:`epic_tabular` as both sample sizes grow.

    :param weights: per-transition weights ``≥ 0`` (default equal).
    :param episodes: per-transition episode ids for the bootstrap (default: independent).
    :param bootstrap: bootstrap of the transitions (default ``n_bootstrap=0``: no interval). The
        interval reflects the sampling of transitions, not of the coverage samples.
    :raises DegenerateError: when a canonical reward is constant, or inputs do not match.
    """
    n_bootstrap = bootstrap.n_bootstrap
    c1, s1 = _sample_terms(
        r1,
        states,
        actions,
        next_states,
        coverage_states,
        coverage_actions,
        coverage_next_states,
        gamma,
        chunk_size,
    )
    c2, s2 = _sample_terms(
        r2,
        states,
        actions,
        next_states,
        coverage_states,
        coverage_actions,
        coverage_next_states,
        gamma,
        chunk_size,
    )
    w = as_weights(weights, len(c1))
    on = w > 0
    rho = _pearson_of_canonical(c1[on], c2[on], w[on], (s1, s2))
    interval = rho_interval = None
    n_deg = 0
    if n_bootstrap > 0:
        boot = bootstrap_pearson(
            c1,
            c2,
            w,
            episodes,
            bootstrap=bootstrap,
        )
        rho_interval = (float(boot.low[0]), float(boot.high[0]))
        interval = (distance_from_rho(rho_interval[1]), distance_from_rho(rho_interval[0]))
        n_deg = int(boot.n_degenerate[0])
    return EpicResult(
        distance=distance_from_rho(rho),
        rho=rho,
        method="sample",
        gamma=gamma,
        n_transitions=int(on.sum()),
        n_coverage=len(coverage_states),
        interval=interval,
        rho_interval=rho_interval,
        ci_method=bootstrap.ci_method if n_bootstrap > 0 else None,
        confidence=bootstrap.confidence,
        n_bootstrap=n_bootstrap,
        n_degenerate=n_deg,
    )
