"""The pipeline's library API: one call for labels, nothing written unless asked, one result type."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_labels import make_dataset

from evalkit.errors import DegenerateError
from evalkit.labels.store import LabelStore
from evalkit.metrics import GoalEpicResult, epic_goal, epic_goal_columns
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline import (
    dataset_labels,
    evaluate_rewards,
    function_reward_source,
    load_epic_results,
)


def _label(ds, labeller: str, labels: dict[int, str]) -> None:
    LabelStore(ds).add_many(
        [
            {"frame_id": f, "task": "cartpole", "label": lab, "labeller": labeller}
            for f, lab in labels.items()
        ]
    )


def test_dataset_labels_rule_and_human_fresh_from_the_journal(tmp_path):
    ds = make_dataset(tmp_path, n_frames=12, n_episodes=3)
    rule = dataset_labels(ds, "cartpole")
    assert rule.mask.all() and np.array_equal(rule.labels, ds.labels("cartpole"))
    _label(ds, "alice", {0: "goal", 3: "not_goal", 5: "goal"})
    human = dataset_labels(ds, "cartpole", labels="human")  # no sync: read from the journal
    assert human.frame_ids.tolist() == [0, 3, 5] and human.labels[human.mask].tolist() == [
        True,
        False,
        True,
    ]
    assert not human.labels[~human.mask].any()
    _label(ds, "bob", {3: "goal", 7: "goal"})
    again = dataset_labels(ds, "cartpole", labels="human")  # frame 3 now tied: left out
    assert again.frame_ids.tolist() == [0, 5, 7]


def test_evaluate_rewards_writes_only_when_asked(tmp_path):
    ds = make_dataset(tmp_path, n_frames=40, n_episodes=8)
    source = function_reward_source(ds, lambda states: -np.abs(states["angle"].to_numpy()))
    run = evaluate_rewards(ds, "cartpole", source, n_bootstrap=50)
    assert run.saved_to is None and load_epic_results(ds.path).empty
    saved = evaluate_rewards(ds, "cartpole", source, n_bootstrap=50, save=True)
    assert saved.saved_to is not None and len(load_epic_results(ds.path)) == 1
    assert saved.results == run.results


def test_epic_goal_returns_one_result_and_columns_a_list():
    rng = np.random.default_rng(0)
    y = rng.random(80) < 0.3
    x = np.stack([y + rng.normal(size=80), rng.normal(size=80)], axis=1)
    single = epic_goal(x[:, 0], y, name="a", bootstrap=BootstrapOptions(n_bootstrap=0))
    assert isinstance(single, GoalEpicResult) and single.name == "a"
    many = epic_goal_columns(x, y, bootstrap=BootstrapOptions(n_bootstrap=0))
    assert isinstance(many, list) and len(many) == 2 and many[0].rho == pytest.approx(single.rho)
    assert len(epic_goal_columns(x[:, 0], y, bootstrap=BootstrapOptions(n_bootstrap=0))) == 1
    with pytest.raises(DegenerateError, match="epic_goal_columns"):
        epic_goal(x, y, bootstrap=BootstrapOptions(n_bootstrap=0))


def test_evaluate_rewards_with_the_metric_panel(datasets_root):
    """Every metric on the same frames, rows in the results table keyed by metric; a metric not
    defined on a sweep (VOC: one frame per episode) is skipped with its reason."""
    from scipy.stats import kendalltau, mannwhitneyu, spearmanr

    from evalkit.data.sweeps import collect_sweep
    from evalkit.pipeline import evaluate_rewards, function_reward_source, load_epic_results

    ds = collect_sweep("cartpole", 61, 16, root=datasets_root, progress=False).dataset
    rng = np.random.default_rng(0)
    noisy = -np.abs(ds.states["angle"].to_numpy()) + rng.normal(0, 0.3, len(ds))
    source = function_reward_source(ds, lambda states: noisy)
    run = evaluate_rewards(ds, "cartpole", source, metrics="all", n_bootstrap=200, save=True)
    by = {r.metric: r for r in run.panel if hasattr(r, "estimate")}
    labels = ds.labels("cartpole")
    u = mannwhitneyu(noisy[labels], noisy[~labels]).statistic
    assert by["auc"].estimate == pytest.approx(u / (labels.sum() * (~labels).sum()), abs=1e-12)
    progress = -np.abs(ds.states["angle"].to_numpy())
    assert by["spearman"].estimate == pytest.approx(spearmanr(noisy, progress).statistic, abs=1e-12)
    assert by["kendall"].estimate == pytest.approx(
        kendalltau(noisy, progress, variant="b").statistic, abs=1e-12
    )
    assert {s.metric for s in run.skipped()} == {"voc", "erc", "rank_quality", "rank_success"}
    saved = load_epic_results(ds.path)
    assert sorted(saved["metric"]) == ["ap", "auc", "epic", "kendall", "spearman"]
    assert saved.set_index("metric").loc["auc", "estimate"] == pytest.approx(by["auc"].estimate)
    only = evaluate_rewards(ds, "cartpole", source, metrics="auc", n_bootstrap=0)
    assert only.results == [] and [r.metric for r in only.panel] == ["auc"]
