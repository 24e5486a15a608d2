"""Exact regret on random MDPs, checked against value iteration and policy enumeration."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_tabular import (
    deterministic_policy_values,
    evaluate,
    regret_by_value_iteration,
)

from evalkit.errors import EvalkitError
from evalkit.validate.mdp import (
    greedy_policy,
    normalised_regret,
    optimal_policy,
    optimal_values,
    policy_value,
    random_mdps,
)


def test_random_mdps_are_sparse_distributions():
    P, d0 = random_mdps(3, 10, 3, seed=1, branching=4)
    assert P.shape == (3, 10, 3, 10) and d0.shape == (3, 10)
    np.testing.assert_allclose(P.sum(axis=-1), 1.0)
    np.testing.assert_allclose(d0.sum(axis=-1), 1.0)
    assert ((P > 0).sum(axis=-1) == 4).all()
    assert (P >= 0).all() and (d0 >= 0).all()


def test_policy_value_matches_iterated_bellman_operator():
    P, _ = random_mdps(2, 6, 3, seed=2)
    rng = np.random.default_rng(0)
    R = rng.normal(size=(2, 6, 3, 6))
    pi = rng.dirichlet(np.ones(3), size=(2, 6))
    V = policy_value(P, R, pi, 0.8)
    for i in range(2):
        np.testing.assert_allclose(V[i], evaluate(P[i], R[i], pi[i], 0.8), atol=1e-10)


def test_regret_matches_independent_value_iteration():
    P, d0 = random_mdps(3, 6, 3, seed=3)
    rng = np.random.default_rng(1)
    R_true = rng.normal(size=(3, 6, 3, 6))
    cands = np.stack(
        [R_true + rng.normal(scale=s, size=R_true.shape) for s in (0.0, 0.5, 1.0, 3.0)]
        + [-R_true, np.zeros_like(R_true)],
        axis=1,
    )
    regret = normalised_regret(P, R_true, cands, d0, 0.9)
    for i in range(3):
        for k in range(cands.shape[1]):
            expected = regret_by_value_iteration(P[i], R_true[i], cands[i, k], d0[i], 0.9)
            assert regret[i, k] == pytest.approx(expected, abs=1e-8)
    np.testing.assert_allclose(regret[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(regret[:, 4], 1.0, atol=1e-12)


def test_regret_matches_enumeration_of_deterministic_policies():
    # full-support start: the policy maximising V(d0) is optimal in every state
    P, _ = random_mdps(4, 4, 2, seed=4, branching=3)
    d0 = np.full((4, 4), 0.25)
    rng = np.random.default_rng(2)
    R_true = rng.normal(size=(4, 4, 2, 4))
    cand = R_true + rng.normal(size=R_true.shape)
    regret = normalised_regret(P, R_true, cand[:, None], d0, 0.7)[:, 0]
    for i in range(4):
        v_true = deterministic_policy_values(P[i], R_true[i], d0[i], 0.7)
        v_cand = deterministic_policy_values(P[i], cand[i], d0[i], 0.7)
        chosen = max(v_cand, key=v_cand.get)
        best, worst = max(v_true.values()), min(v_true.values())
        assert regret[i] == pytest.approx((best - v_true[chosen]) / (best - worst), abs=1e-9)
        assert optimal_values(P[i], R_true[i], 0.7) @ d0[i] == pytest.approx(best, abs=1e-9)


def test_ties_split_uniformly():
    Q = np.array([[1.0, 1.0 + 1e-12, 0.5], [2.0, 3.0, 3.0], [0.0, 0.0, 0.0]])
    pi = greedy_policy(Q)
    np.testing.assert_allclose(pi, [[0.5, 0.5, 0], [0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_a_constant_candidate_is_the_uniformly_random_policy():
    P, d0 = random_mdps(1, 5, 3, seed=5)
    R = np.random.default_rng(3).normal(size=(1, 5, 3, 5))
    pi = optimal_policy(P, np.full_like(R, 2.0), 0.9)
    np.testing.assert_allclose(pi, 1 / 3)
    regret = normalised_regret(P, R, np.full_like(R, 2.0)[:, None], d0, 0.9)[0, 0]
    assert regret == pytest.approx(
        regret_by_value_iteration(P[0], R[0], np.full_like(R[0], 2.0), d0[0], 0.9), abs=1e-9
    )
    assert 0 < regret < 1


@pytest.mark.parametrize("gamma", [1.0, -0.1, float("nan"), "x"])
def test_a_discount_outside_0_1_is_refused(gamma):
    P, d0 = random_mdps(1, 3, 2)
    with pytest.raises(EvalkitError, match=r"\[0, 1\)"):
        optimal_values(P, np.zeros_like(P), gamma)
