"""The episode bootstrap: coverage on data with a known ρ, against a naive per-resample loop,
against scipy.stats.bootstrap, the BCa jackknife, and seeding."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_epic import clustered_goal_data
from scipy import stats

from evalkit.metrics import bootstrap_pearson, epic_goal
from evalkit.metrics.bootstrap import episode_index, resample_counts
from evalkit.metrics.options import BootstrapOptions


def _coverage(
    method: str, use_episodes: bool, n_datasets: int = 200, n_resamples: int = 200
) -> float:
    rng = np.random.default_rng(2)
    hits = 0
    for i in range(n_datasets):
        x, y, ep, rho = clustered_goal_data(
            rng,
            n_episodes=80,
            frames_per_episode=10,
            p=0.3,
            delta=1.0,
            sd_episode=1.0,
            persistence=0.8,
        )
        res = epic_goal(
            x,
            y,
            episodes=ep if use_episodes else None,
            bootstrap=BootstrapOptions(n_bootstrap=n_resamples, ci_method=method, seed=i),
        )
        hits += res.rho_interval[0] <= rho <= res.rho_interval[1]
    return hits / n_datasets


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_episode_bootstrap_covers_the_true_rho_at_about_the_nominal_rate(method):
    """200 simulated datasets with a known ρ; frames of an episode share label and reward noise."""
    coverage = _coverage(method, use_episodes=True)
    assert 0.88 <= coverage <= 0.99


def test_frame_bootstrap_under_covers_correlated_episodes():
    """Why whole episodes are resampled: treating correlated frames as independent is overconfident."""
    assert _coverage("percentile", use_episodes=False) < 0.85


def test_vectorised_resamples_equal_a_naive_loop():
    """Every bootstrap ρ equals scipy's Pearson r of the resampled frames, built episode by episode."""
    rng = np.random.default_rng(0)
    x, y, ep, _ = clustered_goal_data(rng, 25, 6, 0.3, 1.0, 0.5, 0.5)
    x = np.c_[x, x**3 + rng.normal(size=len(x))]
    w = rng.integers(1, 3, size=len(x)).astype(float)
    res = bootstrap_pearson(
        x,
        y,
        w,
        ep,
        binary_y=True,
        bootstrap=BootstrapOptions(n_bootstrap=60, ci_method="percentile", seed=11),
    )
    inverse, n_ep = episode_index(ep, len(x))
    counts = resample_counts(np.random.default_rng(11), 60, n_ep)
    frames_of = [np.flatnonzero(inverse == e) for e in range(n_ep)]
    for b in range(60):
        idx = np.concatenate([np.tile(frames_of[e], int(c)) for e, c in enumerate(counts[b]) if c])
        rep = np.repeat(idx, w[idx].astype(int))  # integer weights = repeated frames
        if y[rep].all() or not y[rep].any():
            assert np.isnan(res.resamples[b]).all()
            continue
        for j in range(2):
            assert res.resamples[b, j] == pytest.approx(
                stats.pearsonr(x[rep, j], y[rep]).statistic, abs=1e-10
            )


def test_bca_acceleration_equals_a_leave_one_episode_out_loop():
    rng = np.random.default_rng(1)
    x, y, ep, _ = clustered_goal_data(rng, 30, 5, 0.3, 1.0, 0.5, 0.5)
    res = bootstrap_pearson(
        x,
        y,
        episodes=ep,
        binary_y=True,
        bootstrap=BootstrapOptions(n_bootstrap=100, ci_method="bca"),
    )
    jack = np.array([stats.pearsonr(x[ep != e], y[ep != e]).statistic for e in np.unique(ep)])
    d = jack.mean() - jack
    a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
    assert res.acceleration[0] == pytest.approx(a, rel=1e-8)


@pytest.mark.parametrize("method, scipy_method", [("bca", "BCa"), ("percentile", "percentile")])
def test_matches_scipy_bootstrap_for_independent_frames(method, scipy_method):
    """With every frame its own episode this is the ordinary paired bootstrap scipy implements."""
    rng = np.random.default_rng(3)
    n = 300
    y = rng.random(n) < 0.3
    x = 0.7 * y + rng.normal(size=n) + 0.3 * rng.normal(size=n) ** 2
    ours = bootstrap_pearson(
        x,
        y,
        binary_y=True,
        bootstrap=BootstrapOptions(n_bootstrap=20_000, ci_method=method, seed=1),
    )
    theirs = stats.bootstrap(
        (x, y.astype(float)),
        lambda a, b, axis=-1: _pearson(a, b, axis),
        paired=True,
        vectorized=True,
        n_resamples=20_000,
        method=scipy_method,
        random_state=np.random.default_rng(2),
    ).confidence_interval
    assert ours.low[0] == pytest.approx(theirs.low, abs=0.01)
    assert ours.high[0] == pytest.approx(theirs.high, abs=0.01)


def _pearson(a, b, axis):
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    return (a * b).sum(axis) / np.sqrt((a * a).sum(axis) * (b * b).sum(axis))


def test_seeded():
    rng = np.random.default_rng(4)
    x, y, ep, _ = clustered_goal_data(rng, 40, 5, 0.3, 1.0, 0.5, 0.5)
    a = epic_goal(x, y, episodes=ep, bootstrap=BootstrapOptions(n_bootstrap=300, seed=5))
    b = epic_goal(x, y, episodes=ep, bootstrap=BootstrapOptions(n_bootstrap=300, seed=5))
    c = epic_goal(x, y, episodes=ep, bootstrap=BootstrapOptions(n_bootstrap=300, seed=6))
    assert a == b
    assert a.interval != c.interval
    assert a.distance == c.distance


def test_episode_ids_can_be_any_labels():
    rng = np.random.default_rng(5)
    x, y, ep, _ = clustered_goal_data(rng, 20, 5, 0.4, 1.0, 0.5, 0.5)
    names = np.array([f"run-{e:03d}" for e in ep])
    assert epic_goal(x, y, episodes=ep, bootstrap=BootstrapOptions(n_bootstrap=100)) == epic_goal(
        x, y, episodes=names, bootstrap=BootstrapOptions(n_bootstrap=100)
    )


def test_blocks_of_resamples_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(6)
    x, y, ep, _ = clustered_goal_data(rng, 50, 4, 0.3, 1.0, 0.5, 0.5)
    whole = bootstrap_pearson(
        x, y, episodes=ep, binary_y=True, bootstrap=BootstrapOptions(n_bootstrap=100)
    )
    import evalkit.metrics.bootstrap as bootstrap

    monkeypatch.setattr(bootstrap, "_BLOCK_ENTRIES", 50 * 7)  # 7 resamples per block
    blocked = bootstrap_pearson(
        x, y, episodes=ep, binary_y=True, bootstrap=BootstrapOptions(n_bootstrap=100)
    )
    np.testing.assert_allclose(blocked.resamples, whole.resamples, atol=1e-12)
