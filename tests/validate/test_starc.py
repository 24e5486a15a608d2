"""STARC against a brute force of its definition, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.errors import DegenerateError
from evalkit.metrics.starc import starc_distance, value_adjusted_levelling


def _brute_force_starc(R1, R2, P, gamma):
    """The definition, with loops: V^π of the uniform policy by iteration, then
    c(s, a, s′) = Σ_x τ(x | s, a) [R(s, a, x) − V(s) + γ V(x)], normalised by its L2 norm."""
    n_s, n_a, _ = P.shape

    def canonical(R):
        V = np.zeros(n_s)
        for _ in range(400):  # 0.8 ** 400 < 1e-38
            V = np.array(
                [
                    sum(
                        P[s, a, x] * (R[s, a, x] + gamma * V[x]) / n_a
                        for a in range(n_a)
                        for x in range(n_s)
                    )
                    for s in range(n_s)
                ]
            )
        c = np.zeros((n_s, n_a, n_s))
        for s in range(n_s):
            for a in range(n_a):
                for t in range(n_s):
                    c[s, a, t] = sum(
                        P[s, a, x] * (R[s, a, x] - V[s] + gamma * V[x]) for x in range(n_s)
                    )
        norm = np.sqrt((c**2).sum())
        return c / norm if norm > 1e-12 else c

    return float(np.sqrt(((canonical(R1) - canonical(R2)) ** 2).sum()))


@pytest.fixture
def mdp():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4) * 0.5, size=(4, 3))
    return P, rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 3, 4)), rng


def test_starc_matches_brute_force_of_its_definition(mdp):
    P, R1, R2, _ = mdp
    got = float(starc_distance(R1, R2, P, gamma=0.8))
    assert got == pytest.approx(_brute_force_starc(R1, R2, P, 0.8), abs=1e-9)
    assert 0 < got < 2


def test_starc_is_batched(mdp):
    P, R1, R2, rng = mdp
    Rs = np.stack([R2, -R1, R1 + rng.normal(size=R1.shape)])
    got = starc_distance(R1[None], Rs, P[None], gamma=0.8)
    assert got.shape == (3,)
    for k in range(3):
        assert got[k] == pytest.approx(_brute_force_starc(R1, Rs[k], P, 0.8), abs=1e-9)


def test_shaping_scaling_shifting_and_redistribution_are_at_distance_0(mdp):
    P, R, _, rng = mdp
    phi = 10 * rng.normal(size=4)
    shaped = 3 * R + 0.8 * phi[None, None, :] - phi[:, None, None] + 7.0
    # S′-redistribution: a change with zero expectation under τ(s, a)
    delta = rng.normal(size=R.shape)
    delta -= (P * delta).sum(axis=-1, keepdims=True)
    for other in (shaped, R + delta):
        assert float(starc_distance(R, other, P, gamma=0.8)) == pytest.approx(0.0, abs=1e-10)


def test_opposite_rewards_are_at_distance_2_and_a_pure_potential_is_zero(mdp):
    P, R, _, rng = mdp
    assert float(starc_distance(R, -R, P, gamma=0.8)) == pytest.approx(2.0)
    phi = rng.normal(size=4)
    potential = np.broadcast_to(0.8 * phi[None, None, :] - phi[:, None, None], R.shape)
    np.testing.assert_allclose(value_adjusted_levelling(potential, P, gamma=0.8), 0.0, atol=1e-12)
    assert float(starc_distance(R, potential, P, gamma=0.8)) == pytest.approx(1.0)


def test_canonical_reward_is_idempotent(mdp):
    P, R, _, _ = mdp
    c = value_adjusted_levelling(R, P, gamma=0.8)
    np.testing.assert_allclose(value_adjusted_levelling(c, P, gamma=0.8), c, atol=1e-12)


@pytest.mark.parametrize("gamma", [1.0, 1.5, -0.2])
def test_a_bad_discount_is_one_sentence(mdp, gamma):
    P, R1, R2, _ = mdp
    with pytest.raises(DegenerateError, match=r"\[0, 1\)"):
        starc_distance(R1, R2, P, gamma=gamma)


def test_transitions_that_are_not_distributions_are_refused(mdp):
    P, R1, R2, _ = mdp
    with pytest.raises(DegenerateError, match="distribution"):
        starc_distance(R1, R2, 2 * P, gamma=0.5)
