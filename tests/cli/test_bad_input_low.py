"""The small ones: each bad input a new user tried is one sentence, each script-facing output
is machine-readable, each suggestion is a command that can be pasted."""

from __future__ import annotations

import csv
import io
import json
import shlex
import warnings

import pytest

from evalkit.errors import EvalkitError


def test_an_empty_dataset_name_is_refused(cli, datasets_root):
    result = cli("collect", "cartpole", "--n", "10", "--size", "16", "--name", "")
    assert result.exit_code == 2 and "'' is not a valid dataset name" in result.output
    assert not datasets_root.exists() or list(datasets_root.iterdir()) == []


@pytest.mark.parametrize(
    "flag", [["--model", "ViT-B-32"], ["--alpha", "0.5"], ["--pretrained", "x"]]
)
def test_clip_options_with_a_ground_truth_reward_are_refused(cli, tmp_path, flag):
    out = tmp_path / "run"
    result = cli(
        "train", "--task", "cartpole", "--reward", "ground-truth", *flag, "--out", str(out)
    )
    assert result.exit_code == 2 and f"{flag[0]} only applies to the CLIP reward" in result.output
    assert not out.exists()


def test_a_gpu_that_is_not_there_is_refused(monkeypatch):
    import torch

    from evalkit.train.config import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(EvalkitError, match="asks for a GPU but torch sees none"):
        resolve_device("cuda")
    with pytest.raises(EvalkitError, match="is not a device"):
        resolve_device("gpu0")
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") == "cpu"


def test_evaluate_with_a_missing_gpu_is_one_sentence(cli, tmp_path, monkeypatch):
    import torch
    from helpers_train import one_torch_thread, tiny_config

    from evalkit.train.runner import train

    run = tmp_path / "run"
    with one_torch_thread():
        train(tiny_config("cartpole", reward="ground-truth", steps=80), run)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = cli("evaluate", str(run), "--device", "cuda", "--episodes", "1")
    assert result.exit_code == 2 and "torch sees none" in result.output
    assert "cannot be loaded" not in result.output


def test_resume_without_out_goes_on_with_the_run_the_command_would_create(
    cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("EVALKIT_RUNS", str(tmp_path / "runs"))
    args = "train --task cartpole --reward ground-truth --steps 64 --no-progress".split()
    first = cli(*args)
    assert first.exit_code == 0, first.output
    (run,) = (tmp_path / "runs").iterdir()
    again = cli(*args[:-3], "--steps", "400", "--no-progress", "--resume")
    assert again.exit_code == 0, again.output
    assert f"run:      {run}" in again.output
    assert list((tmp_path / "runs").iterdir()) == [run]
    assert "needs the run folder" in cli("train", "--resume").output


def test_suggested_commands_are_shell_quoted(cli, tmp_path, monkeypatch):
    run = tmp_path / "my run"
    result = cli("train", "--task", "cartpole", "--reward", "ground-truth", "--steps", "64",
                 "--out", str(run), "--no-progress")  # fmt: skip
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("next:"))
    assert shlex.split(line.split(":", 1)[1]) == ["evalkit", "evaluate", str(run)]


def test_evalkit_warnings_print_as_one_line_without_a_source_location(cli, monkeypatch):
    from evalkit.labels.journal import JournalWarning

    def warn_then_list(root, verify):
        warnings.warn("torn line 3 of the journal was skipped", JournalWarning, stacklevel=2)
        return []

    monkeypatch.setattr("evalkit.data.store.list_datasets", warn_then_list)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        result = cli("datasets")
    assert result.exit_code == 0
    assert "warning: torn line 3 of the journal was skipped" in result.output
    assert ".py:" not in result.output


def test_tasks_as_csv_and_json(cli):
    rows = list(csv.DictReader(io.StringIO(cli("tasks", "--format", "csv").output)))
    parsed = json.loads(cli("tasks", "--format", "json").output)
    assert [r["task"] for r in rows] == [r["task"] for r in parsed]
    cartpole = next(r for r in parsed if r["task"] == "cartpole")
    assert cartpole["goal_prompt"] == "pole vertically upright on top of the cart"
    assert "human_success_criterion" in rows[0]
    assert cli("tasks", "--format", "xml").exit_code == 2


def test_a_reward_module_with_a_syntax_error_is_one_sentence(
    cli, datasets_root, tmp_path, monkeypatch
):
    from evalkit.data.sweeps import collect_sweep

    collect_sweep("cartpole", n=20, size=16, progress=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken_rewards.py").write_text("def reward(states):\n    return states[\n")
    result = cli(
        "epic", "--task", "cartpole", "--reward", "broken_rewards:reward", "--bootstrap", "0"
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "broken_rewards.py, line " in result.output and "fix that Python file" in result.output


def test_an_invalid_mujoco_gl_is_one_sentence(cli, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "vulkan")
    result = cli("collect", "humanoid", "--per-task", "1")
    assert (
        result.exit_code == 2
        and "MUJOCO_GL='vulkan' is not a MuJoCo rendering backend" in result.output
    )
    assert cli("tasks", "--format", "json").exit_code == 0  # commands without MuJoCo do not care


def test_a_figure_in_a_format_it_is_not_written_in_is_refused(cli, datasets_root, tmp_path):
    from evalkit.data.sweeps import collect_sweep

    collect_sweep("cartpole", n=20, size=16, progress=False)
    result = cli("landscape", "cartpole", "--model", "evalkit-tiny-vit", "--pretrained", "none",
                 "--out", str(tmp_path / "l.gif"))  # fmt: skip
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "not .gif" in text
    assert not (tmp_path / "l.gif.png").exists()


def test_datasets_with_a_file_as_root(cli, tmp_path):
    (tmp_path / "afile").write_text("x")
    result = cli("datasets", "--root", str(tmp_path / "afile"))
    assert result.exit_code == 2 and "is a file, not a folder" in result.output


@pytest.mark.parametrize("command", [["collect", "mountaincar"], ["train"], ["datasets"]])
def test_flags_show_no_value_type_in_help(cli, command):
    text = cli(*command, "--help").output
    assert "<bool>" not in text
    assert "<int>" in text or "<path>" in text  # options that take a value still show its type


def test_label_rate_prints_a_summary_when_stopped_before_any_rating(monkeypatch):
    from types import SimpleNamespace

    import pandas as pd
    from rich.console import Console

    import evalkit.labels.rating as rating
    from evalkit.cli.label import _after_serving

    monkeypatch.setattr(rating, "success_rates", lambda ratings, task: pd.DataFrame())
    console = Console(record=True, width=200)
    app = SimpleNamespace(task="kneeling", ratings=SimpleNamespace(path="runs/r/ratings.jsonl"))
    _after_serving(None, app, "rate", console)
    text = console.export_text()
    assert (
        "Stopped. Ratings of kneeling are in runs/r/ratings.jsonl; no episode was rated yet."
        in text
    )
