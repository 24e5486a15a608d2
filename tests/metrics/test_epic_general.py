"""General EPIC (Gleave et al.): pseudometric properties with Hypothesis, the sample-based
estimate against the exact tabular value, and the per-frame shortcut against both."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_epic import random_distribution, sample_transitions, small_mdp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from evalkit.errors import DegenerateError
from evalkit.metrics import (
    canonicalize,
    canonicalize_tabular,
    epic,
    epic_goal,
    epic_tabular,
    state_reward,
    tabular_reward,
)
from evalkit.metrics.options import BootstrapOptions

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
positive = st.floats(0.05, 1.0, allow_nan=False)


@st.composite
def mdps(draw, n_rewards=1):
    """Tabular rewards on a random small MDP, with coverage and transition distributions."""
    n_s = draw(st.integers(2, 4))
    n_a = draw(st.integers(1, 3))
    shape = (n_s, n_a, n_s)
    rewards = [draw(arrays(float, shape, elements=finite)) for _ in range(n_rewards)]
    ds = draw(arrays(float, n_s, elements=positive))
    da = draw(arrays(float, n_a, elements=positive))
    dt = draw(arrays(float, shape, elements=positive))
    gamma = draw(st.floats(0.0, 1.0))
    return rewards, dict(gamma=gamma, state_dist=ds, action_dist=da, transition_dist=dt / dt.sum())


def _spread(reward, kw):
    """Standard deviation of the canonical reward under the transition distribution."""
    c = canonicalize_tabular(
        reward, gamma=kw["gamma"], state_dist=kw["state_dist"], action_dist=kw["action_dist"]
    )
    p = kw["transition_dist"]
    mean = (p * c).sum()
    return float(np.sqrt((p * (c - mean) ** 2).sum()))


def _informative(reward, kw):
    assume(_spread(reward, kw) > 1e-2)


@settings(max_examples=150, deadline=None)
@given(mdps(), st.floats(0.1, 10), st.floats(-10, 10), st.data())
def test_invariant_to_positive_scaling_shift_and_potential_shaping(mdp, a, b, data):
    (r,), kw = mdp
    _informative(r, kw)
    n_s = r.shape[0]
    phi = data.draw(arrays(float, n_s, elements=finite))
    shaped = a * r + b + kw["gamma"] * phi[None, None, :] - phi[:, None, None]
    assert epic_tabular(r, shaped, **kw).distance == pytest.approx(0.0, abs=1e-5)


@settings(max_examples=100, deadline=None)
@given(mdps())
def test_negation_is_at_distance_one(mdp):
    (r,), kw = mdp
    _informative(r, kw)
    assert epic_tabular(r, -r, **kw).distance == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(mdps(n_rewards=2))
def test_symmetric_and_in_unit_interval(mdp):
    (r1, r2), kw = mdp
    _informative(r1, kw)
    _informative(r2, kw)
    d12 = epic_tabular(r1, r2, **kw).distance
    d21 = epic_tabular(r2, r1, **kw).distance
    assert d12 == pytest.approx(d21, abs=1e-12)
    assert 0.0 <= d12 <= 1.0


@settings(max_examples=100, deadline=None)
@given(mdps(n_rewards=3))
def test_triangle_inequality(mdp):
    (r1, r2, r3), kw = mdp
    for r in (r1, r2, r3):
        _informative(r, kw)
    d = lambda x, y: epic_tabular(x, y, **kw).distance  # noqa: E731
    assert d(r1, r3) <= d(r1, r2) + d(r2, r3) + 1e-9


@settings(max_examples=100, deadline=None)
@given(mdps())
def test_canonicalisation_is_idempotent(mdp):
    (r,), kw = mdp

    def canon(x):
        return canonicalize_tabular(
            x, gamma=kw["gamma"], state_dist=kw["state_dist"], action_dist=kw["action_dist"]
        )  # noqa: E731

    once = canon(r)
    np.testing.assert_allclose(canon(once), once, atol=1e-9 * max(1.0, np.abs(r).max()))


def test_canonicalisation_matches_the_definition_by_brute_force():
    """Each expectation of C(R) summed term by term over S, A, S′ (no vectorisation)."""
    rng = np.random.default_rng(0)
    r, _, ds, da, _ = small_mdp(rng, 3, 2)
    gamma = 0.7
    c = canonicalize_tabular(r, gamma=gamma, state_dist=ds, action_dist=da)
    n_s, n_a, _ = r.shape
    for s in range(n_s):
        for a in range(n_a):
            for s2 in range(n_s):
                expect = 0.0
                for S in range(n_s):
                    for A in range(n_a):
                        for S2 in range(n_s):
                            p = ds[S] * da[A] * ds[S2]
                            expect += p * (gamma * r[s2, A, S2] - r[s, A, S2] - gamma * r[S, A, S2])
                assert c[s, a, s2] == pytest.approx(r[s, a, s2] + expect, abs=1e-12)


def _brute_force_epic(r1, r2, gamma, ds, da, dt):
    """Gleave et al.'s Definition 4.1 and the Pearson distance, summed term by term in loops."""
    n_s, n_a, _ = r1.shape

    def canonical(r):
        c = np.empty_like(r)
        for s, a, s2 in np.ndindex(r.shape):
            expect = 0.0
            for S, A, S2 in np.ndindex(r.shape):
                expect += (
                    ds[S]
                    * da[A]
                    * ds[S2]
                    * (gamma * r[s2, A, S2] - r[s, A, S2] - gamma * r[S, A, S2])
                )
            c[s, a, s2] = r[s, a, s2] + expect
        return c

    c1, c2 = canonical(r1), canonical(r2)
    m1 = sum(dt[i] * c1[i] for i in np.ndindex(dt.shape))
    m2 = sum(dt[i] * c2[i] for i in np.ndindex(dt.shape))
    cov = sum(dt[i] * (c1[i] - m1) * (c2[i] - m2) for i in np.ndindex(dt.shape))
    v1 = sum(dt[i] * (c1[i] - m1) ** 2 for i in np.ndindex(dt.shape))
    v2 = sum(dt[i] * (c2[i] - m2) ** 2 for i in np.ndindex(dt.shape))
    rho = cov / np.sqrt(v1 * v2)
    return float(np.sqrt(max(0.0, 0.5 * (1.0 - rho))))


@pytest.mark.parametrize("seed", range(6))
def test_distance_matches_the_definition_by_brute_force_with_several_actions(seed):
    """Non-uniform state, action and transition distributions; 2-4 actions."""
    rng = np.random.default_rng(100 + seed)
    n_s, n_a = 3, 2 + seed % 3
    shape = (n_s, n_a, n_s)
    r1, r2 = rng.normal(size=shape), rng.normal(size=shape)
    r2 += (seed % 2) * 2.0 * rng.normal(size=(1, n_a, 1))  # rewards that prefer different actions
    ds, da, dt = (
        random_distribution(rng, n_s),
        random_distribution(rng, n_a),
        random_distribution(rng, shape),
    )
    gamma = float(rng.uniform(0.1, 1.0))
    got = epic_tabular(
        r1, r2, gamma=gamma, state_dist=ds, action_dist=da, transition_dist=dt
    ).distance
    assert got == pytest.approx(_brute_force_epic(r1, r2, gamma, ds, da, dt), abs=1e-12)


def test_rewards_that_prefer_opposite_actions_are_far_apart():
    """The issue's example: with the misprinted middle term R(s, a, S′) both come out at 0."""
    h, f = np.array([0.3, -0.2, 0.5]), np.array([1.0, -1.0])
    r1 = h[None, None, :] + f[None, :, None] + np.zeros((3, 2, 3))
    r2 = h[None, None, :] - f[None, :, None] + np.zeros((3, 2, 3))
    uniform = (np.full(3, 1 / 3), np.full(2, 1 / 2), np.full((3, 2, 3), 1 / 18))
    expected = _brute_force_epic(r1, r2, 0.9, *uniform)
    assert expected == pytest.approx(0.96, abs=0.01)
    assert epic_tabular(r1, r2, gamma=0.9).distance == pytest.approx(expected, abs=1e-12)
    # the sample-based form over every transition and every coverage pair agrees exactly
    grid = np.array(list(np.ndindex(3, 2, 3)))
    s, a, s2 = grid[:, 0], grid[:, 1], grid[:, 2]
    cover = np.array(list(np.ndindex(3, 2, 3)))
    sampled = epic(r1, r2, s, a, s2, cover[:, 0], cover[:, 1], cover[:, 2], gamma=0.9)
    assert sampled.distance == pytest.approx(expected, abs=1e-12)


def test_an_action_only_reward_and_its_negative_are_at_distance_one():
    rng = np.random.default_rng(7)
    r, _, ds, da, dt = small_mdp(rng, 3, 3)
    f = np.array([0.5, -1.0, 2.0])
    action_only = f[None, :, None] + np.zeros_like(r)
    res = epic_tabular(
        action_only, -action_only, gamma=0.9, state_dist=ds, action_dist=da, transition_dist=dt
    )
    assert res.distance == pytest.approx(1.0, abs=1e-12)
    assert epic_tabular(
        action_only, action_only, gamma=0.9, state_dist=ds, action_dist=da
    ).distance == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("gamma", [-0.1, 1.5, float("nan"), "x"])
def test_gamma_outside_the_unit_interval_is_a_clear_error(gamma):
    r = np.random.default_rng(8).normal(size=(2, 2, 2))
    with pytest.raises(DegenerateError, match="discount γ must"):
        epic_tabular(r, -r, gamma=gamma)
    s = np.array([0, 1])
    with pytest.raises(DegenerateError, match="discount γ must"):
        epic(r, -r, s, s, s, s, s, gamma=gamma)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_based_converges_to_exact_tabular(seed):
    rng = np.random.default_rng(seed)
    r1, r2, ds, da, dt = small_mdp(rng, 4, 2)
    gamma = 0.9
    exact = epic_tabular(
        r1, r2, gamma=gamma, state_dist=ds, action_dist=da, transition_dist=dt
    ).distance
    n, m = 20_000, 500  # transitions for ρ, coverage samples for the expectations
    s, a, s2 = sample_transitions(rng, dt, n)
    cs, cs2 = rng.choice(4, size=m, p=ds), rng.choice(4, size=m, p=ds)
    ca = rng.choice(2, size=m, p=da)
    est = epic(tabular_reward(r1), tabular_reward(r2), s, a, s2, cs, ca, cs2, gamma=gamma)
    assert est.distance == pytest.approx(exact, abs=0.015)
    assert (est.n_transitions, est.n_coverage) == (n, m)


def test_sample_based_accepts_tabular_arrays_and_callables_alike():
    rng = np.random.default_rng(3)
    r1, r2, ds, da, dt = small_mdp(rng, 3, 2)
    s, a, s2 = sample_transitions(rng, dt, 500)
    cs, ca = rng.choice(3, size=100, p=ds), rng.choice(2, size=100, p=da)
    from_arrays = epic(r1, r2, s, a, s2, cs, ca, gamma=0.5)
    from_callables = epic(
        lambda x, u, y: r1[x, u, y], tabular_reward(r2), s, a, s2, cs, ca, gamma=0.5
    )
    assert from_arrays.distance == pytest.approx(from_callables.distance, abs=1e-12)
    assert from_arrays.method == "sample" and from_arrays.n_coverage == 100
    c = canonicalize(r1, s, a, s2, cs, ca, gamma=0.5)
    assert c.shape == (500,)


def test_sample_based_is_exactly_invariant_to_shaping_with_vector_states():
    """States can be vectors; shaping γΦ(s′) − Φ(s) leaves only a constant after sample canonicalisation."""
    rng = np.random.default_rng(4)
    w = rng.normal(size=3)
    reward = lambda s, a, s2: np.sin(s @ w) + a * (s2 @ w) ** 2  # noqa: E731
    phi = lambda s: np.cos(s @ w) + s[:, 0]  # noqa: E731
    gamma = 0.95
    shaped = lambda s, a, s2: 3.0 * reward(s, a, s2) - 1.0 + gamma * phi(s2) - phi(s)  # noqa: E731
    s, s2, cs = rng.normal(size=(400, 3)), rng.normal(size=(400, 3)), rng.normal(size=(60, 3))
    a, ca = rng.normal(size=400), rng.normal(size=60)
    res = epic(
        reward, shaped, s, a, s2, cs, ca, gamma=gamma, bootstrap=BootstrapOptions(n_bootstrap=200)
    )
    assert res.distance == pytest.approx(0.0, abs=1e-6)
    assert res.interval[1] == pytest.approx(0.0, abs=1e-6)


def test_state_only_shortcut_agrees_with_general_epic():
    """For R(s′) rewards the general EPIC equals the per-frame Pearson distance (Lemma 1)."""
    rng = np.random.default_rng(5)
    n_s, n_a = 6, 2
    f = rng.normal(size=n_s)
    goal = np.array([1, 0, 0, 1, 0, 0], dtype=bool)
    dt = random_distribution(rng, (n_s, n_a, n_s))
    ds, da = random_distribution(rng, n_s), random_distribution(rng, n_a)
    r_clip = np.broadcast_to(f[None, None, :], (n_s, n_a, n_s)).copy()
    r_goal = np.broadcast_to(goal[None, None, :].astype(float), (n_s, n_a, n_s)).copy()
    general = epic_tabular(
        r_clip, r_goal, gamma=0.8, state_dist=ds, action_dist=da, transition_dist=dt
    )
    next_state_marginal = dt.sum(axis=(0, 1))
    shortcut = epic_goal(
        f, goal, weights=next_state_marginal, bootstrap=BootstrapOptions(n_bootstrap=0)
    )
    assert general.distance == pytest.approx(shortcut.distance, abs=1e-12)
    assert general.rho == pytest.approx(shortcut.rho, abs=1e-12)

    # Sample-based: the canonical reward is R(s′) minus a constant, so the same frames give the same ρ.
    s, a, s2 = sample_transitions(rng, dt, 2000)
    cs, ca = rng.choice(n_s, size=50, p=ds), rng.choice(n_a, size=50, p=da)
    sampled = epic(
        state_reward(lambda x: f[x]),
        state_reward(lambda x: goal[x].astype(float)),
        s,
        a,
        s2,
        cs,
        ca,
        gamma=0.8,
    )
    per_frame = epic_goal(f[s2], goal[s2], bootstrap=BootstrapOptions(n_bootstrap=0))
    assert sampled.distance == pytest.approx(per_frame.distance, abs=1e-12)


def test_pure_shaping_and_constant_rewards_are_degenerate():
    rng = np.random.default_rng(6)
    r, _, ds, da, dt = small_mdp(rng, 3, 2)
    phi = rng.normal(size=3)
    shaping = 0.9 * phi[None, None, :] - phi[:, None, None] + 2.0 + np.zeros_like(r)
    with pytest.raises(DegenerateError, match="first reward is a constant plus potential shaping"):
        epic_tabular(shaping, r, gamma=0.9, state_dist=ds, action_dist=da)
    with pytest.raises(DegenerateError, match="second reward"):
        epic_tabular(r, np.full_like(r, 3.0), gamma=0.9)
    with pytest.raises(DegenerateError, match="different shapes"):
        epic_tabular(r, r[:, :1], gamma=0.9)
    with pytest.raises(DegenerateError, match="shape"):
        epic_tabular(r, r, transition_dist=np.ones(3))


def test_sample_based_input_errors():
    r = np.zeros((2, 1, 2))
    with pytest.raises(DegenerateError, match="one of each per transition"):
        epic(r, r, np.array([0, 1]), np.array([0]), np.array([0, 1]), np.array([0]), np.array([0]))
    bad = lambda s, a, s2: np.zeros(len(s) + 1)  # noqa: E731
    with pytest.raises(DegenerateError, match="one per transition"):
        epic(
            bad,
            r,
            np.array([0, 1]),
            np.array([0, 0]),
            np.array([0, 1]),
            np.array([0]),
            np.array([0]),
        )
