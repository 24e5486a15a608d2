"""Saved results are never shown as current once their inputs changed (issue 17, row 1): more
human labels imported, the task's prompts edited, or the dataset rebuilt."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.data.store import open_dataset
from evalkit.data.sweeps import collect_sweep
from evalkit.pipeline import evaluate_rewards, function_reward_source
from evalkit.pipeline.results import load_epic_results, saved_results
from evalkit.tasks import TASKS, Task, register_task


def _angle_reward(states):
    return -np.abs(states["angle"].to_numpy())


def _labels_csv(path, frames, goal_below=0.2):
    ds = open_dataset("cartpole-sweep")
    angles = ds.states["angle"].to_numpy()
    lines = ["frame_id,task,label"]
    lines += [
        f"{i},cartpole,{'goal' if abs(angles[i]) <= goal_below else 'not_goal'}" for i in frames
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sweep(datasets_root):
    return collect_sweep("cartpole", 60, 16, root=datasets_root, progress=False).dataset


def test_more_human_labels_make_the_saved_row_stale(cli, sweep, tmp_path):
    first = _labels_csv(tmp_path / "a.csv", range(0, 60, 2))
    assert cli("label", "import", "cartpole-sweep", str(first), "--labeller", "ann").exit_code == 0
    source = function_reward_source(sweep, _angle_reward)
    evaluate_rewards(sweep, "cartpole", source, label_set="human", n_bootstrap=0, save=True)
    assert len(saved_results(sweep).current) == 1

    more = _labels_csv(tmp_path / "b.csv", range(1, 60, 2))
    assert cli("label", "import", "cartpole-sweep", str(more), "--labeller", "ann").exit_code == 0
    checked = saved_results(sweep)
    assert checked.current.empty and len(checked.stale) == 1
    reason = checked.stale["stale_reason"].iloc[0]
    assert "human labels changed" in reason and "now" in reason
    # the stored counts were the 30 labelled frames; now all 60 are labelled
    goal_then, non_then = (
        int(checked.stale["n_goal"].iloc[0]),
        int(checked.stale["n_nongoal"].iloc[0]),
    )
    assert goal_then + non_then == 30 and f"{goal_then} goal / {non_then} non-goal then" in reason

    # evaluating again makes it current
    evaluate_rewards(sweep, "cartpole", source, label_set="human", n_bootstrap=0, save=True)
    assert len(saved_results(sweep).current) == 1 and saved_results(sweep).stale.empty


def test_rule_labels_stay_current_and_a_rebuilt_dataset_is_stale(sweep, datasets_root):
    source = function_reward_source(sweep, _angle_reward)
    evaluate_rewards(sweep, "cartpole", source, n_bootstrap=0, save=True)
    assert len(saved_results(sweep).current) == 1
    table = load_epic_results(sweep.path)
    table["dataset_hash"] = "0" * 16
    checked = saved_results(sweep, table)
    assert (
        checked.current.empty and checked.stale["stale_reason"].iloc[0] == "the dataset was rebuilt"
    )
    assert "1 saved result of dataset cartpole-sweep is stale" in checked.stale_note(
        "cartpole-sweep"
    )


def test_rows_of_an_older_evalkit_and_changed_prompts_are_stale(sweep):
    source = function_reward_source(sweep, _angle_reward)
    evaluate_rewards(sweep, "cartpole", source, n_bootstrap=0, save=True)
    table = load_epic_results(sweep.path)
    old = table.assign(labels_hash=None)
    assert "older evalkit" in saved_results(sweep, old).stale["stale_reason"].iloc[0]

    # a CLIP row whose task prompts changed since
    task = register_task(
        Task("cartpole_edit", "cartpole", "a pole upright", "a pole", rule="cartpole_upright")
    )
    try:
        from evalkit.pipeline.sources import clip_identity

        row = table.assign(
            task="cartpole_edit",
            reward_source="clip",
            model_identity="tiny/RANDOM",
            reward_identity=clip_identity("tiny/RANDOM", ("a pole upright",), ("a pole",)),
        )
        from evalkit.pipeline.labels import dataset_labels

        row["labels_hash"] = dataset_labels(sweep, "cartpole_edit").content_hash
        assert len(saved_results(sweep, row).current) == 1
        register_task(
            Task("cartpole_edit", "cartpole", "a pole standing", "a pole", rule="cartpole_upright"),
            replace=True,
        )
        stale = saved_results(sweep, row).stale
        assert stale["stale_reason"].iloc[0] == "the prompts of task cartpole_edit changed"
    finally:
        TASKS.pop(task.name, None)


@pytest.mark.slow
def test_scaling_and_report_do_not_show_a_distance_of_old_labels(cli, datasets_root, tmp_path):
    """The issue's case: EPIC saved with some human labels, more imported, then figures."""
    collect_sweep("cartpole", 40, 32, root=datasets_root, progress=False)
    model = ("--model", "evalkit-tiny-vit", "--pretrained", "none")
    a = _labels_csv(tmp_path / "a.csv", range(0, 40, 2))
    assert cli("label", "import", "cartpole-sweep", str(a), "--labeller", "ann").exit_code == 0
    r = cli(
        "epic",
        "--task",
        "cartpole",
        *model,
        "--labels",
        "human",
        "--alpha",
        "0",
        "--bootstrap",
        "100",
    )
    assert r.exit_code == 0, r.output
    scaling = (
        "scaling",
        "--task",
        "cartpole",
        "--models",
        "evalkit-tiny-vit",
        "--pretrained",
        "none",
        "--labels",
        "human",
        "--alpha",
        "0",
        "--out",
        str(tmp_path / "s.png"),
    )
    assert cli(*scaling, "--saved-only").exit_code == 0

    b = _labels_csv(tmp_path / "b.csv", range(1, 40, 2))
    assert cli("label", "import", "cartpole-sweep", str(b), "--labeller", "ann").exit_code == 0
    r = cli(*scaling, "--saved-only")
    assert r.exit_code == 2 and "No saved EPIC results" in r.output
    r = cli("report", "--task", "cartpole", "--out", str(tmp_path / "report"))
    assert r.exit_code == 2 and "No saved EPIC results" in r.output
    assert "is stale (the human labels changed" in r.output
    # computing again (the default) refreshes it, and the report shows the new row
    assert cli(*scaling).exit_code == 0
    assert len(saved_results(open_dataset("cartpole-sweep")).current) == 1
