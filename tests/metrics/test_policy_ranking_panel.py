"""Policy ranking as panel metrics (rank_quality, rank_success) and VOC's left-out note, against
scipy and naive loops on hand-made episodes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from evalkit.metrics import MetricResult, MetricUnavailable, check_available, metric_panel
from evalkit.metrics.options import BootstrapOptions

NO_CI = BootstrapOptions(n_bootstrap=0)


def naive_returns(rewards, episodes):
    ids = sorted(set(episodes))
    return np.array([sum(r for r, e in zip(rewards, episodes) if e == i) for i in ids])


@pytest.fixture
def episodes():
    """Six episodes of three frames: two expert (1), two noisy (0.5, tied), two random (0)."""
    ep = np.repeat(np.arange(6), 3)
    quality = np.repeat([1.0, 1.0, 0.5, 0.5, 0.0, 0.0], 3)
    rewards = np.array(
        [3, 2, 1, 1, 1, 1, 2, 2, 0, 0, 4, 0, 0, 0, 1, 1, 0, 0], dtype=float
    )  # returns 6, 3, 4, 4, 1, 1: ties in the returns as well
    labels = np.zeros(18, dtype=bool)
    labels[[2, 5, 10]] = True  # episodes 0, 1 and 3 reach the goal
    return {"rewards": rewards, "episodes": ep, "quality": quality, "labels": labels}


def test_rank_quality_and_success_equal_scipy_tau_b_of_the_returns(episodes):
    res = metric_panel(
        episodes["rewards"],
        episodes=episodes["episodes"],
        quality=episodes["quality"],
        labels=episodes["labels"],
        metrics="rank_quality,rank_success",
        bootstrap=NO_CI,
    )
    by = {r.metric: r for r in res}
    returns = naive_returns(episodes["rewards"], episodes["episodes"])
    np.testing.assert_array_equal(returns, [6, 3, 4, 4, 1, 1])
    tiers = [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    success = [1, 1, 0, 1, 0, 0]
    assert by["rank_quality"].estimate == pytest.approx(kendalltau(returns, tiers).statistic)
    assert by["rank_success"].estimate == pytest.approx(kendalltau(returns, success).statistic)
    assert by["rank_quality"].interval is None and by["rank_quality"].n_episodes == 6


def test_the_interval_is_a_percentile_bootstrap_over_episodes(episodes):
    boot = BootstrapOptions(n_bootstrap=300, ci_method="percentile", seed=3)
    (res,) = metric_panel(
        episodes["rewards"],
        episodes=episodes["episodes"],
        quality=episodes["quality"],
        metrics="rank_quality",
        bootstrap=boot,
    )
    returns = naive_returns(episodes["rewards"], episodes["episodes"])
    tiers = np.array([1.0, 1.0, 0.5, 0.5, 0.0, 0.0])
    rng = np.random.default_rng(3)
    taus = []
    for idx in rng.integers(0, 6, size=(300, 6)):
        x, y = returns[idx], tiers[idx]
        taus.append(np.nan if np.ptp(x) == 0 or np.ptp(y) == 0 else kendalltau(x, y).statistic)
    taus = np.array(taus)
    ok = taus[np.isfinite(taus)]
    assert res.interval == pytest.approx((np.quantile(ok, 0.025), np.quantile(ok, 0.975)))
    assert res.n_degenerate == int(np.sum(~np.isfinite(taus)))


def test_zero_weight_frames_are_dropped_and_integer_weights_repeat_rows(episodes):
    w = np.ones(18)
    w[0] = 0  # episode 0 loses its 3: return 3
    w[3] = 2  # episode 1 counts its first frame twice: return 4
    (res,) = metric_panel(
        episodes["rewards"],
        episodes=episodes["episodes"],
        quality=episodes["quality"],
        weights=w,
        metrics="rank_quality",
        bootstrap=NO_CI,
    )
    tiers = [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    assert res.estimate == pytest.approx(kendalltau([3, 4, 4, 4, 1, 1], tiers).statistic)


def test_one_tier_one_outcome_one_frame_episodes_and_constant_rewards_are_skipped(episodes):
    ep = episodes["episodes"]
    one_tier = check_available(
        "rank_quality", episodes["rewards"], episodes=ep, quality=np.ones(18)
    )
    assert (
        one_tier == "The metric rank_quality is undefined: every episode has the same quality (1)."
    )
    none_succeed = check_available(
        "rank_success", episodes["rewards"], episodes=ep, labels=np.zeros(18, dtype=bool)
    )
    assert "every episode has the same success (0)" in none_succeed
    sweep = check_available(
        "rank_quality", np.arange(4.0), episodes=np.arange(4), quality=np.arange(4.0)
    )
    assert "every episode has one frame" in sweep
    assert "needs an episode quality" in check_available(
        "rank_quality", episodes["rewards"], episodes=ep
    )
    res = metric_panel(
        np.stack([episodes["rewards"], np.ones(18)], axis=1),
        episodes=ep,
        quality=episodes["quality"],
        metrics="rank_quality",
        bootstrap=NO_CI,
        names=["model", "flat"],
    )
    assert isinstance(res[0], MetricResult) and isinstance(res[1], MetricUnavailable)
    assert res[1].name == "flat" and "same return" in res[1].reason


def test_voc_says_how_many_episodes_it_left_out_and_why():
    ep = np.array([0, 0, 0, 1, 1, 1, 2, 3, 3])
    r = np.array([0, 1, 2, 5, 5, 5, 7, 2, 1], dtype=float)  # 1: constant, 2: one frame
    (res,) = metric_panel(r, episodes=ep, metrics="voc", bootstrap=NO_CI)
    assert res.estimate == pytest.approx((1.0 + -1.0) / 2)  # the two defined episodes only
    assert res.note == (
        "VOC left out 2 of 4 episodes (1 with a constant reward and 1 of one frame: no defined "
        "correlation with time), where OpenGVL would count them as 0."
    )
    (full,) = metric_panel(
        np.arange(6.0), episodes=np.repeat([0, 1], 3), metrics="voc", bootstrap=NO_CI
    )
    assert full.note == "VOC used all 2 episodes (none left out)."
