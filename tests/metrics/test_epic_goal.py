"""The closed form of Lemma 1 against independent oracles (scipy), weights, stability, degenerate cases."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats

import evalkit.metrics.bootstrap
import evalkit.metrics.general
import evalkit.metrics.goal
from evalkit.errors import DegenerateError, EvalkitError
from evalkit.metrics import epic_goal, epic_goal_columns, lemma1_rho
from evalkit.metrics.options import BootstrapOptions


def _data(n=300, p=0.3, seed=0, k=1):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < p
    x = 0.8 * y[:, None] + rng.normal(size=(n, k))
    return (x[:, 0] if k == 1 else x), y


@pytest.mark.parametrize("seed, n, p", [(0, 50, 0.5), (1, 300, 0.1), (2, 2000, 0.03), (3, 17, 0.4)])
def test_closed_form_equals_scipy_pointbiserialr_and_pearsonr(seed, n, p):
    x, y = _data(n, p, seed)
    if y.sum() < 2 or (~y).sum() < 2:
        y[:2], y[2:4] = True, False
    res = epic_goal(x, y, bootstrap=BootstrapOptions(n_bootstrap=0))
    # scipy.stats.pointbiserialr(x=binary, y=continuous) is Pearson's r of the two.
    r_pb = stats.pointbiserialr(y, x).statistic
    r_p = stats.pearsonr(x, y.astype(float)).statistic
    assert res.rho == pytest.approx(r_pb, abs=1e-12)
    assert res.rho == pytest.approx(r_p, abs=1e-12)
    assert res.distance == pytest.approx(math.sqrt(0.5 * (1 - r_p)), abs=1e-12)
    assert res.interval is None and res.ci_method is None and res.n_bootstrap == 0
    assert (res.n_goal, res.n_nongoal, res.n_frames) == (int(y.sum()), int((~y).sum()), n)


def test_lemma1_form_uses_population_std():
    """The paper's form sqrt(p(1-p))/std(R)·(mean gap) equals ρ only with ddof = 0."""
    x, y = _data(40, 0.3, seed=5)
    rho = epic_goal(x, y, bootstrap=BootstrapOptions(n_bootstrap=0)).rho
    assert lemma1_rho(x, y) == pytest.approx(rho, abs=1e-12)
    p = y.mean()
    sample_std_version = math.sqrt(p * (1 - p)) / x.std(ddof=1) * (x[y].mean() - x[~y].mean())
    assert abs(sample_std_version - rho) > 1e-3  # the wrong convention is measurably off


def test_labels_as_bool_or_01_numbers_agree():
    x, y = _data()
    a = epic_goal(x, y, bootstrap=BootstrapOptions(n_bootstrap=50))
    b = epic_goal(x, y.astype(int), bootstrap=BootstrapOptions(n_bootstrap=50))
    c = epic_goal(x, y.astype(float), bootstrap=BootstrapOptions(n_bootstrap=50))
    assert a == b == c


def test_weights_equal_repeated_rows():
    rng = np.random.default_rng(3)
    x, y = _data(120, 0.3, seed=3)
    episodes = np.arange(120) // 4
    w = rng.integers(0, 4, size=120)
    w[:8] = 1  # keep some of each class
    rep = np.repeat(np.arange(120), w)
    weighted = epic_goal(
        x, y, weights=w, episodes=episodes, bootstrap=BootstrapOptions(n_bootstrap=300, seed=7)
    )
    repeated = epic_goal(
        x[rep], y[rep], episodes=episodes[rep], bootstrap=BootstrapOptions(n_bootstrap=300, seed=7)
    )
    assert weighted.rho == pytest.approx(repeated.rho, abs=1e-12)
    assert weighted.distance == pytest.approx(repeated.distance, abs=1e-12)
    # Same episodes in the same order: the same resamples, so the same interval.
    if weighted.n_episodes == repeated.n_episodes:
        np.testing.assert_allclose(weighted.interval, repeated.interval, atol=1e-10)
    assert weighted.weighted and not repeated.weighted
    assert weighted.n_frames == int((w > 0).sum())


def test_weighted_equals_scipy_on_expanded_rows():
    rng = np.random.default_rng(4)
    x, y = _data(60, 0.4, seed=4)
    w = rng.integers(1, 5, size=60)
    rep = np.repeat(np.arange(60), w)
    res = epic_goal(x, y, weights=w.astype(float), bootstrap=BootstrapOptions(n_bootstrap=0))
    assert res.rho == pytest.approx(
        stats.pearsonr(x[rep], y[rep].astype(float)).statistic, abs=1e-12
    )


def test_zero_weight_frames_are_dropped():
    x, y = _data(100, 0.3, seed=6)
    w = np.ones(100)
    w[::3] = 0
    a = epic_goal(x, y, weights=w, bootstrap=BootstrapOptions(n_bootstrap=100, seed=1))
    b = epic_goal(x[w > 0], y[w > 0], bootstrap=BootstrapOptions(n_bootstrap=100, seed=1))
    assert a.rho == pytest.approx(b.rho, abs=1e-12)
    np.testing.assert_allclose(a.interval, b.interval, atol=1e-12)
    assert not a.weighted  # all used weights are equal


def test_columns_share_resamples_and_match_single_column_calls():
    x, y = _data(200, 0.3, seed=8, k=3)
    episodes = np.arange(200) // 5
    many = epic_goal_columns(
        x,
        y,
        episodes=episodes,
        names=["a", "b", "c"],
        bootstrap=BootstrapOptions(n_bootstrap=400, seed=3),
    )
    assert [r.name for r in many] == ["a", "b", "c"]
    for j, r in enumerate(many):
        single = epic_goal(
            x[:, j], y, episodes=episodes, bootstrap=BootstrapOptions(n_bootstrap=400, seed=3)
        )
        assert r.rho == pytest.approx(single.rho, abs=1e-12)
        np.testing.assert_allclose(r.interval, single.interval, atol=1e-12)
        assert r.n_degenerate == single.n_degenerate


def test_centred_computation_is_stable_under_offset_and_scale():
    x, y = _data(500, 0.2, seed=9)
    episodes = np.arange(500) // 10
    base = epic_goal(x, y, episodes=episodes, bootstrap=BootstrapOptions(n_bootstrap=300, seed=2))
    for shifted in (1e6 + 1e-2 * x, 0.2 + 1e-6 * x, 1e8 + x):
        res = epic_goal(
            shifted, y, episodes=episodes, bootstrap=BootstrapOptions(n_bootstrap=300, seed=2)
        )
        assert res.rho == pytest.approx(base.rho, abs=1e-7)
        np.testing.assert_allclose(res.interval, base.interval, atol=1e-6)


def test_perfect_and_inverted_separation():
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0, 0, 1], dtype=bool)
    perfect = epic_goal(y * 2.0 + 1.0, y, bootstrap=BootstrapOptions(n_bootstrap=200))
    assert perfect.rho == pytest.approx(1.0, abs=1e-14) and perfect.rho <= 1.0
    np.testing.assert_allclose([perfect.distance, *perfect.interval], 0.0, atol=1e-7)
    inverted = epic_goal(-(y * 1.0), y, bootstrap=BootstrapOptions(n_bootstrap=200))
    assert inverted.rho == pytest.approx(-1.0, abs=1e-14) and inverted.rho >= -1.0
    np.testing.assert_allclose([inverted.distance, *inverted.interval], 1.0, atol=1e-12)
    assert inverted.n_degenerate > 0  # resamples without a goal (or non-goal) frame were left out


def test_distance_in_unit_interval_and_interval_contains_estimate():
    x, y = _data(400, 0.3, seed=11)
    for method in ("bca", "percentile"):
        r = epic_goal(
            x,
            y,
            episodes=np.arange(400) // 8,
            bootstrap=BootstrapOptions(ci_method=method, n_bootstrap=500),
        )
        assert 0 <= r.interval[0] <= r.distance <= r.interval[1] <= 1
        assert r.rho_interval[0] <= r.rho <= r.rho_interval[1]
        # The distance interval is the ρ interval mapped through sqrt(½(1 − ρ)) (decreasing).
        assert r.interval[0] == pytest.approx(math.sqrt(0.5 * (1 - r.rho_interval[1])))
        assert "nan" not in str(r).lower()


def _degenerate_cases():
    x, y = _data(50, 0.3, seed=12)
    one_goal = np.zeros(50, bool)
    one_goal[7] = True
    nan_x = x.copy()
    nan_x[4] = np.nan
    inf_x = x.copy()
    inf_x[9] = -np.inf
    w_neg = np.ones(50)
    w_neg[3] = -1
    return [
        ("all goal", dict(rewards=x, labels=np.ones(50, bool)), "All 50 frames are labelled goal"),
        (
            "all non-goal",
            dict(rewards=x, labels=np.zeros(50, bool)),
            "All 50 frames are labelled non-goal",
        ),
        (
            "one goal frame",
            dict(rewards=x, labels=one_goal),
            "Only 1 of the 50 frames is labelled goal",
        ),
        ("constant reward", dict(rewards=np.full(50, 0.3), labels=y), "constant"),
        ("nan reward", dict(rewards=nan_x, labels=y), "NaN or infinite .*frame 4"),
        ("inf reward", dict(rewards=inf_x, labels=y), "NaN or infinite .*frame 9"),
        ("length mismatch", dict(rewards=x, labels=y[:-1]), "50 rewards but 49 labels"),
        ("labels not 0/1", dict(rewards=x, labels=np.where(y, 2, 0)), "must be 0 or 1"),
        ("negative weight", dict(rewards=x, labels=y, weights=w_neg), "negative"),
        (
            "weights length",
            dict(rewards=x, labels=y, weights=np.ones(10)),
            "50 frames but 10 weights",
        ),
        (
            "all weights zero",
            dict(rewards=x, labels=y, weights=np.zeros(50)),
            "All weights are zero",
        ),
        (
            "episodes length",
            dict(rewards=x, labels=y, episodes=np.arange(3)),
            "50 frames but 3 episode ids",
        ),
        ("no frames", dict(rewards=np.array([]), labels=np.array([], bool)), "no frames"),
        (
            "one goal episode",
            dict(rewards=x, labels=y, episodes=np.where(y, 0, 1 + np.arange(50))),
            "Only 1 episode contains goal frames",
        ),
        ("bad method", dict(rewards=x, labels=y, ci_method="normal"), "Unknown interval method"),
        ("bad confidence", dict(rewards=x, labels=y, confidence=1.5), "between 0 and 1"),
        ("3-d rewards", dict(rewards=np.zeros((50, 2, 2)), labels=y), "one value per frame"),
    ]


@pytest.mark.parametrize(
    "name, kwargs, message", _degenerate_cases(), ids=[c[0] for c in _degenerate_cases()]
)
def test_degenerate_cases_raise_a_clear_error(name, kwargs, message):
    with pytest.raises(DegenerateError, match=message) as info:
        options = {"n_bootstrap": 100}
        options.update(
            {k: kwargs.pop(k) for k in ("n_bootstrap", "ci_method", "confidence") if k in kwargs}
        )
        epic_goal(**kwargs, bootstrap=BootstrapOptions(**options))
    assert isinstance(info.value, EvalkitError)
    assert str(info.value).endswith(".") or str(info.value).endswith(")")


def test_one_goal_episode_is_fine_without_bootstrap():
    x, y = _data(50, 0.3, seed=12)
    res = epic_goal(
        x, y, episodes=np.where(y, 0, 1 + np.arange(50)), bootstrap=BootstrapOptions(n_bootstrap=0)
    )
    assert res.n_goal_episodes == 1 and res.interval is None


def test_too_many_degenerate_resamples_refused():
    # The reward varies in one episode only: about e^-1 of the resamples miss it (constant reward).
    y = np.zeros(400, bool)
    y[[3, 200]] = True
    x = np.zeros(400)
    x[3] = 1.0
    with pytest.raises(DegenerateError, match="bootstrap resamples are degenerate"):
        epic_goal(x, y, bootstrap=BootstrapOptions(n_bootstrap=200))
    assert epic_goal(x, y, bootstrap=BootstrapOptions(n_bootstrap=0)).rho > 0.5


def test_degenerate_resamples_are_counted_and_left_out():
    # 3 goal episodes of 30: a resample misses all three with probability (27/30)^30 ≈ 4.2 %.
    rng = np.random.default_rng(1)
    episodes = np.repeat(np.arange(30), 5)
    y = np.isin(episodes, [2, 11, 25]) & (rng.random(150) < 0.8)
    x = y + rng.normal(size=150)
    res = evalkit.metrics.bootstrap.bootstrap_pearson(
        x, y, episodes=episodes, binary_y=True, bootstrap=BootstrapOptions(n_bootstrap=4000)
    )
    expected = 4000 * (27 / 30) ** 30
    assert abs(res.n_degenerate[0] - expected) < 4 * math.sqrt(expected)
    assert np.isnan(res.resamples).sum() == res.n_degenerate[0]
    assert (
        epic_goal(
            x, y, episodes=episodes, bootstrap=BootstrapOptions(n_bootstrap=4000)
        ).n_degenerate
        == res.n_degenerate[0]
    )


def test_constant_column_named_in_multi_column_error():
    x, y = _data(60, 0.3, seed=13, k=2)
    x[:, 1] = 7.0
    with pytest.raises(DegenerateError, match=r"\(alpha=1\) is constant"):
        epic_goal_columns(
            x, y, names=["alpha=0", "alpha=1"], bootstrap=BootstrapOptions(n_bootstrap=0)
        )


@pytest.mark.parametrize(
    "module", [evalkit.metrics.goal, evalkit.metrics.general, evalkit.metrics.bootstrap]
)
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
