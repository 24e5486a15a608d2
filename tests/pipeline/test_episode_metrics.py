"""Episode-level metrics of episode rewards: success AUC over episodes against scipy's Mann–Whitney
U on the per-episode values (and a naive pair loop with resample counts as weights), ERC of a sparse episode reward
against scipy on the episode rewards, and both in ``evalkit epic``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers_vlm import make_dataset
from scipy.stats import mannwhitneyu, pearsonr

from evalkit.errors import DegenerateError
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline import parse_reward
from evalkit.pipeline.episode_metrics import episode_panel, success_auc, success_statistic
from evalkit.rewards import DEFAULT_ALPHAS


def roc_auc_score(success, scores) -> float:
    """ROC-AUC by scipy's Mann–Whitney U (ties count ½): U / (n₊ n₋)."""
    success, scores = np.asarray(success, bool), np.asarray(scores, float)
    u = mannwhitneyu(scores[success], scores[~success]).statistic
    return float(u) / (success.sum() * (~success).sum())


def weighted_auc_naive(success, scores, weights) -> float:
    """ROC-AUC with episode weights by a naive double loop over successful × failed pairs."""
    num = den = 0.0
    for i in np.flatnonzero(success):
        for j in np.flatnonzero(~np.asarray(success)):
            w = weights[i] * weights[j]
            num += w * (1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0.0)
            den += w
    return num / den


def _episodes(seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 9, size=12)
    episodes = np.repeat(np.arange(12) * 7 + 2, lengths)  # ids need not be 0..E-1
    labels = np.zeros(len(episodes), int)
    for e in (2, 16, 30, 58, 79):  # successful episodes: one goal frame somewhere
        labels[np.flatnonzero(episodes == e)[-1]] = 1
    rewards = np.round(rng.normal(size=(len(episodes), 2)), 1)  # ties on purpose
    perm = rng.permutation(len(episodes))
    return rewards[perm], labels[perm], episodes[perm]


def test_success_auc_equals_mann_whitney_on_per_episode_returns():
    rewards, labels, episodes = _episodes()
    res = success_auc(rewards, labels, episodes, bootstrap=BootstrapOptions(200))
    table = pd.DataFrame({"e": episodes, "y": labels, "r0": rewards[:, 0], "r1": rewards[:, 1]})
    per = table.groupby("e").agg(y=("y", "max"), r0=("r0", "sum"), r1=("r1", "sum"))
    for j, r in enumerate(res):
        assert r.metric == "success_auc"
        assert r.estimate == pytest.approx(roc_auc_score(per["y"], per[f"r{j}"]), abs=1e-12)
        assert r.interval is not None and r.interval[0] <= r.estimate <= r.interval[1]
        assert r.details["n_successful_episodes"] == 5 and r.details["n_failed_episodes"] == 7


def test_resample_counts_weight_episode_pairs_as_a_naive_loop():
    rng = np.random.default_rng(3)
    returns = np.round(rng.normal(size=(10, 2)), 1)
    success = np.arange(10) % 3 == 0
    counts = rng.integers(0, 4, size=(6, 10)).astype(float)
    counts[:, 0] = 1  # every resample keeps a successful and a failed episode
    counts[:, 1] = 1
    ours = success_statistic(returns, success)(counts)
    for b in range(6):
        for j in range(2):
            expected = weighted_auc_naive(success, returns[:, j], counts[b])
            assert ours[b, j] == pytest.approx(expected, abs=1e-12)


def test_every_or_no_episode_succeeding_is_one_sentence():
    rewards, _, episodes = _episodes()
    for labels in (np.zeros(len(episodes)), np.ones(len(episodes))):
        with pytest.raises(DegenerateError, match="success AUC over episodes is undefined"):
            success_auc(rewards, labels, episodes)
    skipped = episode_panel(
        rewards, np.zeros(len(episodes)), episodes, None, None, bootstrap=BootstrapOptions(0)
    )
    assert [s.metric for s in skipped] == ["success_auc"] and not skipped[0].available
    assert "No episode reaches the goal" in skipped[0].reason


def test_erc_of_a_sparse_episode_reward_is_the_correlation_of_its_episode_rewards():
    rng = np.random.default_rng(5)
    episodes = np.repeat(np.arange(8), 6)
    last = np.arange(5, 48, 6)
    values = np.zeros((48, 1))
    values[last, 0] = rng.normal(size=8)
    gt = rng.normal(size=48)
    labels = np.zeros(48)
    labels[last[:3]] = 1
    res = episode_panel(values, labels, episodes, None, gt, bootstrap=BootstrapOptions(100))
    by = {r.metric: r.estimate for r in res}
    gt_returns = gt.reshape(8, 6).sum(axis=1)
    assert by["erc_pearson"] == pytest.approx(pearsonr(values[last, 0], gt_returns)[0], abs=1e-9)
    success = np.arange(8) < 3
    assert by["success_auc"] == pytest.approx(roc_auc_score(success, values[last, 0]))


def test_epic_adds_the_success_auc_of_an_episode_reward(datasets_root, cli):
    ds = make_dataset(datasets_root, name="toy", n=40)  # 4 episodes of 10 steps
    r = cli(
        "epic",
        "--dataset",
        "toy",
        "--task",
        "cartpole",
        "--reward",
        "episode:avg:evalkit-tiny-vit:none",
        "--devices",
        "cpu",
        "--bootstrap",
        "100",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("[") :])
    auc = [row for row in rows if row.get("metric") == "success_auc"]
    assert len(auc) == len(DEFAULT_ALPHAS), rows
    assert all(row["reward_source"] == "episode:avg:evalkit-tiny-vit:none" for row in rows)
    # by hand: the episode reward of each episode (at its last step) and its success
    source = parse_reward("episode:avg:evalkit-tiny-vit:none").dataset_rewards(
        ds, "cartpole", devices="cpu"
    )
    success = ds.labels("cartpole").reshape(4, 10).any(axis=1)
    assert 0 < success.sum() < 4
    for j, row in enumerate(auc):
        expected = roc_auc_score(success, source.values[9::10, j])
        assert row["estimate"] == pytest.approx(expected, abs=1e-9)


def test_a_frame_reward_gets_no_episode_metrics(datasets_root):
    from evalkit.pipeline import evaluate_rewards, function_reward_source

    ds = make_dataset(datasets_root, name="toy", n=40)
    source = function_reward_source(ds, lambda states: -np.abs(states["angle"].to_numpy()))
    run = evaluate_rewards(ds, "cartpole", source, n_bootstrap=0)
    assert not run.panel


def test_an_episode_reward_ranks_episodes_by_its_returns_as_scipy_does(datasets_root):
    """Policy ranking joins the episode-level metrics of an episode reward: Kendall τ-b of the
    per-episode returns (the last step's reward) with success, as scipy computes it; the
    quality ranking is skipped with its reason on a dataset without tiers."""
    from scipy.stats import kendalltau

    from evalkit.pipeline.evaluate import evaluate_rewards

    ds = make_dataset(datasets_root, n=80)  # 8 episodes; the middle ones reach the goal
    kind = parse_reward("episode:avg:evalkit-tiny-vit:none")
    source = kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False)
    run = evaluate_rewards(ds, "cartpole", source, n_bootstrap=0)
    labels = ds.labels("cartpole")
    success = np.array([labels[ds.episodes == e].any() for e in range(8)], dtype=float)
    assert 0 < success.sum() < 8
    by_name = {(m.metric, getattr(m, "name", None)): m for m in run.panel}
    for j, name in enumerate(source.column_names()):
        returns = np.array([source.values[ds.episodes == e, j].sum() for e in range(8)])
        got = by_name[("rank_success", name)]
        assert got.estimate == pytest.approx(kendalltau(returns, success).statistic, abs=1e-12)
    assert "quality" in by_name[("rank_quality", None)].reason
