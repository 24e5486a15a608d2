"""``evalkit evaluate``: the training reward of every rollout step and its metric panel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers_train import one_torch_thread, tiny_config

from evalkit.errors import DegenerateError
from evalkit.metrics import METRICS
from evalkit.metrics.metric_result import MetricUnavailable
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.panel import metric_panel
from evalkit.train.rollout_metrics import LEGACY_REWARD_COLUMN, REWARD_COLUMN, stored_rewards
from evalkit.train.runner import train


def _trained(tmp_path, **overrides):
    run = tmp_path / "run"
    with one_torch_thread():
        train(tiny_config("cartpole", steps=240, **overrides), run)
    return run


def test_evaluate_metrics_are_the_panel_of_the_saved_rollouts(cli, tmp_path):
    from evalkit.data.store import Dataset

    run = _trained(tmp_path)
    with one_torch_thread():
        result = cli("evaluate", str(run), "--episodes", "3", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "CLIP reward on these rollouts against the rule labels" in result.output
    report = json.loads(next((run / "eval").glob("*/report.json")).read_text())
    ds = Dataset(report["dataset"])
    states = ds.states
    assert REWARD_COLUMN in states.columns and LEGACY_REWARD_COLUMN not in states.columns
    rewards = states[REWARD_COLUMN].to_numpy(float)
    assert report["clip_returns"] == pytest.approx(
        [rewards[states["episode"] == e].sum() for e in range(3)]
    )
    # Recomputed here from the dataset's own columns: rule labels, -|angle|, episodes, gt_reward.
    expected = []
    for name in METRICS:
        try:
            expected += metric_panel(
                rewards,
                labels=ds.labels("cartpole"),
                progress=-np.abs(states["angle"].to_numpy(float)),
                episodes=states["episode"].to_numpy(),
                gt_rewards=states["gt_reward"].to_numpy(float),
                metrics=[name],
                skip_unavailable=True,
                bootstrap=BootstrapOptions(n_bootstrap=1000, seed=0),
            )
        except DegenerateError as exc:
            expected.append(MetricUnavailable(name, str(exc)))
    got = report["reward_metrics"]
    assert [m["metric"] for m in got] == [m.metric for m in expected]
    assert {"epic", "auc", "ap", "spearman", "voc"} <= {m["metric"] for m in got if "estimate" in m}
    erc = next(m for m in got if m["metric"].startswith("erc"))  # fixed-length episodes: one return
    assert "same in every episode" in erc["reason"] and "erc" in result.output
    for g, e in zip(got, expected):
        assert g == json.loads(json.dumps(e.to_dict()))
        if "estimate" in g:
            assert f"  {g['metric']:<13} " in result.output


def test_a_ground_truth_run_has_no_reward_metrics(cli, tmp_path):
    run = _trained(tmp_path, reward="ground-truth", model=None, pretrained=None)
    with one_torch_thread():
        result = cli("evaluate", str(run), "--episodes", "2", "--device", "cpu")
    assert result.exit_code == 0, result.output
    report = json.loads(next((run / "eval").glob("*/report.json")).read_text())
    assert report["reward_metrics"] == [] and report["clip_returns"] is None
    assert "against the rule labels" not in result.output


def test_old_rollout_datasets_keep_their_clip_reward_readable():
    old = pd.DataFrame({"episode": [0, 0], "gt_reward": [1.0, 1.0], "clip_reward": [0.2, 0.3]})
    np.testing.assert_array_equal(stored_rewards(old), [0.2, 0.3])
    assert stored_rewards(old.drop(columns="clip_reward")) is None
