"""``evalkit bench e2e --quick``: every stage runs, the summary's figures are the artefacts'."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from safetensors.torch import load_file

from evalkit.bench import e2e
from evalkit.bench.stages import STAGES_FILE
from evalkit.data.store import open_dataset
from evalkit.errors import EvalkitError
from evalkit.heads import load_head
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.rewards import RewardModel
from evalkit.tasks import get_task
from evalkit.train.config import read_run_config
from evalkit.train.runner import read_checkpoints

STAGES = [
    "collect",
    "model",
    "embed",
    "align",
    "train-head",
    "evaluate-head",
    "train-text",
    "evaluate-text",
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick bench e2e, stopped by Ctrl-C in its last stage, then finished by a rerun."""
    out = tmp_path_factory.mktemp("e2e") / "out"
    messages: list[str] = []
    real = e2e.evaluate_stage

    def interrupted(settings, reward, layout):
        if reward == "text":
            raise KeyboardInterrupt
        return real(settings, reward, layout)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(e2e, "evaluate_stage", interrupted)
        with pytest.raises(KeyboardInterrupt):
            e2e.bench_e2e(out, e2e.QUICK, say=messages.append)
    first = json.loads((out / STAGES_FILE).read_text())["stages"]
    again: list[str] = []
    summary = e2e.bench_e2e(out, e2e.QUICK, say=again.append)
    return out, summary, messages, first, again


def test_every_stage_runs_once_and_a_rerun_reuses_them(quick_run):
    out, summary, messages, first, again = quick_run
    assert list(first) == STAGES[:-1]  # Ctrl-C in the last stage keeps the finished ones
    for i, name in enumerate(STAGES[:-1], 1):
        assert f"[{i}/8] {name}: reused" in "\n".join(again)
    assert any(m.startswith("[8/8] evaluate-text: done in") for m in again)
    assert list(summary["stages"]) == STAGES
    assert all(seconds >= 0 for seconds in summary["stages"].values())
    for name in ("summary.json", "summary.md", "learning_curve.png"):
        assert (out / name).is_file()
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "summary.json").read_text()) == summary
    # a third run has nothing left to do and the same summary
    third: list[str] = []
    assert e2e.bench_e2e(out, e2e.QUICK, say=third.append)["runs"] == summary["runs"]
    assert sum("reused" in m for m in third) == 8


def test_other_settings_in_the_same_folder_are_refused(quick_run):
    out = quick_run[0]
    with pytest.raises(EvalkitError, match="bench e2e run with other settings"):
        e2e.bench_e2e(out, replace(e2e.QUICK, steps=700), say=lambda m: None)


def test_heldout_epic_is_the_head_files(quick_run):
    out, summary, *_ = quick_run
    head = load_head(out / "head" / "cartpole-e2e-vit.json")
    assert summary["head"]["heldout_epic"] == head.meta["heldout_epic"]["distance"]
    assert summary["head"]["n_goal"] == head.meta["n_goal"]
    ds = open_dataset("cartpole-box", out / "datasets")
    assert head.meta["dataset_hash"] == ds.content_hash
    assert summary["dataset"]["goal_frames"] == int(ds.labels("cartpole").sum())


def test_text_epic_is_definition_1_of_the_saved_model(quick_run):
    out, summary, *_ = quick_run
    ds = open_dataset("cartpole-box", out / "datasets")
    task = get_task("cartpole")
    model = RewardModel(
        str(out / "model" / "e2e-vit.json"),
        goal=task.goal_prompt,
        baseline=task.baseline_prompt,
        alpha=0.0,
        pretrained=str(out / "model" / "e2e-vit.safetensors"),
        device="cpu",
    )
    independent = epic_goal(
        model(ds.frames), ds.labels("cartpole"), bootstrap=BootstrapOptions(n_bootstrap=0)
    ).distance
    assert summary["text"]["distance"] == pytest.approx(independent, abs=1e-5)


def test_success_and_returns_are_the_evaluation_reports(quick_run):
    out, summary, *_ = quick_run
    for name in ("head", "text"):
        run = summary["runs"][name]
        [report_path] = (out / "runs" / name / "eval").glob("*/report.json")
        report = json.loads(report_path.read_text())
        assert run["success_rate"] == report["success_rate"]
        assert run["gt_return_mean"] == report["gt_return_mean"]
        assert run["episodes"] == report["episodes"] == e2e.QUICK.episodes
        assert run["upright_half_rate"] == np.mean(np.array(report["goal_fraction"]) >= 0.5)
        index = read_checkpoints(out / "runs" / name)
        assert [p["step"] for p in run["curve"]] == [c.step for c in index]
        assert [p["gt_return"] for p in run["curve"]] == [c.gt_return for c in index]
        assert run["steps"] == max(c.step for c in index) >= e2e.QUICK.steps
    md = (out / "summary.md").read_text()
    assert f"{summary['head']['heldout_epic']:.3f} held-out" in md
    assert f"{summary['text']['distance']:.3f}" in md


def test_the_runs_train_on_the_head_and_on_the_text_prompts(quick_run):
    out, *_ = quick_run
    head_run = read_run_config(out / "runs" / "head")
    text_run = read_run_config(out / "runs" / "text")
    assert head_run.reward == f"head:{out / 'head' / 'cartpole-e2e-vit.json'}"
    assert head_run.model == str((out / "model" / "e2e-vit.json").resolve())
    assert text_run.reward == "clip" and text_run.alpha == 0.0
    assert text_run.pretrained == str(out / "model" / "e2e-vit.safetensors")
    assert head_run.labelling == text_run.labelling == "batch"  # Algorithm 1
    assert head_run.algo_kwargs["learning_starts"] == e2e.QUICK.dqn["learning_starts"]


def test_the_random_tower_has_zero_biases_and_position_embeddings(quick_run):
    out, summary, *_ = quick_run
    weights = load_file(str(out / "model" / "e2e-vit.safetensors"))
    zeroed = [k for k in weights if e2e._zeroed(k)]
    assert "visual.positional_embedding" in zeroed and "visual.class_embedding" in zeroed
    assert all(float(weights[k].abs().max()) == 0.0 for k in zeroed)
    assert float(weights["visual.conv1.weight"].abs().max()) > 0  # the rest stays random
    assert float(weights["visual.ln_post.weight"].abs().min()) == 1.0  # LayerNorm untouched
    assert "e2e-vit.safetensors" in summary["model"]["label"]


def test_cli_quick(cli, tmp_path):
    out = tmp_path / "cli"
    result = cli("bench", "e2e", "--quick", "--out", str(out), "--steps", "300")
    assert result.exit_code == 0, result.output
    assert (
        "head: held-out EPIC" in result.stdout and "text reward (control): success" in result.stdout
    )
    assert "[8/8] evaluate-text: done" in result.stderr
    assert json.loads((out / "summary.json").read_text())["settings"]["steps"] == 300


def test_cli_full_track_renders_the_whole_track_in_every_stage(cli, tmp_path):
    out = tmp_path / "track"
    result = cli("bench", "e2e", "--quick", "--full-track", "--out", str(out), "--steps", "300")
    assert result.exit_code == 0, result.output
    ds = open_dataset(out / "datasets" / "cartpole-track-box")
    assert ds.manifest.render["full_track"] is True  # collect (and so embed and align)
    assert np.abs(ds.states["cart_position"]).max() > 2.4  # past the track's end
    for name in ("head", "text"):
        assert read_run_config(out / "runs" / name).env_kwargs == {"full_track": True}  # train
        (rollouts,) = (out / "runs" / name / "rollouts").iterdir()  # evaluate
        assert open_dataset(rollouts).manifest.render["full_track"] is True
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["full_track"] is True


def test_without_full_track_the_bench_is_as_before(tmp_path):
    layout = e2e.Layout(tmp_path)
    assert e2e.train_config(e2e.FULL, "head", layout).env_kwargs is None  # the family's
    assert "full_track" not in e2e._identity(e2e.FULL)  # earlier stage logs still resume
    assert e2e.dataset_name(e2e.FULL) == "cartpole-box"
    assert e2e.dataset_name(replace(e2e.FULL, full_track=True)) == "cartpole-track-box"
