"""``evalkit train`` / ``evalkit evaluate`` from the command line: bad input, Ctrl-C, evaluation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers_train import SMALL, one_torch_thread

from evalkit.train.runner import load_model, read_checkpoints


@pytest.fixture
def small_toml(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.mark.parametrize(
    "args,message",
    [
        (["--task", "cartpole", "--envs", "0"], "--envs must be at least 1, not 0"),
        (["--task", "cartpole", "--algo", "sac", "--model", "ViT-B-32"], "use --algo dqn"),
        (["--task", "kneeling", "--reward", "ground-truth", "--algo", "dqn"], "use --algo sac"),
        (["--task", "cartpole"], "needs a model: pass --model"),
        (["--task", "cartwheel", "--reward", "ground-truth"], "Unknown task 'cartwheel'"),
        (["--resume"], "--resume needs the run folder"),
        (
            [
                "--task",
                "cartpole",
                "--model",
                "evalkit-tiny-vit",
                "--pretrained",
                "none",
                "--render-size",
                "16",
            ],
            "--render-size 16 is smaller than the 32×32 input of evalkit-tiny-vit",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(cli, tmp_path, args, message):
    result = (
        cli("train", *args, "--out", str(tmp_path / "run"))
        if "--resume" not in args
        else cli("train", *args)
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "run").exists()


def test_train_then_evaluate_writes_report_videos_and_a_dataset(cli, tmp_path, small_toml):
    run = tmp_path / "runs" / "car"
    with one_torch_thread():
        result = cli(
            "train",
            "--task",
            "mountaincar",
            "--model",
            "evalkit-tiny-vit",
            "--pretrained",
            "none",
            "--alpha",
            "0.5",
            "--steps",
            "160",
            "--envs",
            "2",
            "--config",
            str(small_toml),
            "--out",
            str(run),
            "--no-progress",
        )
        assert result.exit_code == 0, result.output
        assert "CLIP reward of evalkit-tiny-vit (none), α = 0.5 — RANDOM WEIGHTS" in result.output
        assert (
            "WARNING: RANDOM WEIGHTS" in result.output
            and f"evalkit evaluate {run}" in result.output
        )
        again = cli("train", "--task", "mountaincar", "--reward", "ground-truth", "--out", str(run))
        assert again.exit_code == 2 and "already exists; pass --resume" in again.output
        other = cli("train", "--task", "cartpole", "--out", str(run), "--resume")
        assert (
            other.exit_code == 2 and "task = 'cartpole' (the run has 'mountaincar')" in other.output
        )

        result = cli("evaluate", str(run), "--episodes", "2", "--video")
    assert result.exit_code == 0, result.output
    best = max(read_checkpoints(run), key=lambda c: (c.train_reward, c.step))
    assert f"step {best.step}" in result.output and "success rate:" in result.output
    assert "RANDOM-WEIGHT CLIP reward" in result.output and "CLIP return:" in result.output
    report = json.loads((run / "eval" / f"step_{best.step:09d}" / "report.json").read_text())
    assert report["episodes"] == 2 and report["selection"] == "best" and len(report["videos"]) == 2
    assert report["gt_return_mean"] == pytest.approx(sum(report["gt_returns"]) / 2)
    assert len(report["clip_returns"]) == 2 and report["reward_is_random"] is True

    from evalkit.labels.rating import open_rollouts

    assert report["dataset"].startswith(str(run / "rollouts"))
    ds = open_rollouts(str(run))  # what 'evalkit label rate RUN' opens
    assert (
        len(ds) == 400
        and ds.manifest.generator == "rollouts"
        and ds.frames.shape[1:] == (32, 32, 3)
    )
    assert {"episode", "step", "position", "velocity", "gt_reward", "train_reward"} <= set(
        ds.states.columns
    )
    goal = ds.labels("mountaincar")  # rule labels, as evalkit epic reads them
    success = [bool(goal[ds.episodes == e].any()) for e in (0, 1)]
    assert success == report["success"]

    # The same evaluation again keeps its dataset, labels (here a marker file) included...
    marker = ds.path / "labels" / "ratings-marker"
    marker.write_text("a rater's work")
    with one_torch_thread():
        assert cli("evaluate", str(run), "--episodes", "2").exit_code == 0
    assert marker.read_text() == "a rater's work"
    # ...another one never replaces a dataset without --overwrite, whatever it holds.
    root = tmp_path / "datasets"
    assert (
        cli(
            "collect",
            "cartpole",
            "--n",
            "20",
            "--size",
            "64",
            "--name",
            "mine",
            "--root",
            str(root),
        ).exit_code
        == 0
    )
    with one_torch_thread():
        refused = cli(
            "evaluate", str(run), "--episodes", "1", "--dataset", "mine", "--root", str(root)
        )
        assert refused.exit_code == 2 and "exists with different parameters" in refused.output
        assert (
            cli("evaluate", str(run), "--episodes", "3").exit_code == 2
        )  # 3 episodes: not the same rollouts
        assert marker.exists()
        replaced = cli(
            "evaluate",
            str(run),
            "--episodes",
            "1",
            "--dataset",
            "mine",
            "--root",
            str(root),
            "--overwrite",
        )
    assert replaced.exit_code == 0, replaced.output
    from evalkit.data.store import open_dataset

    assert open_dataset("mine", root).manifest.generator == "rollouts"


@pytest.mark.slow  # a real process: imports torch and SB3, trains, then takes a SIGINT
def test_ctrl_c_saves_a_loadable_checkpoint(tmp_path, small_toml):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from evalkit.cli import main; main()",
            "train",
            "--task",
            "mountaincar",
            "--reward",
            "ground-truth",
            "--steps",
            "100000000",
            "--config",
            str(small_toml),
            "--out",
            str(run),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while not (run / "config.json").exists():  # written just before learning starts
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Interrupted at step" in err and "--resume" in err
    last = read_checkpoints(run)[-1]
    assert last.reason == "interrupt" and last.step > 0
    assert load_model(run / last.path, "sac").num_timesteps == last.step


def test_bench_train_times_every_labelling_against_per_frame_rewards():
    from evalkit.bench.train import bench_train

    with one_torch_thread():
        result = bench_train(n_envs=2, clip_steps=48, gt_steps=16, render_size=32)
    names = [r.name.split(" (")[0] for r in result.rows]
    assert names == [
        "CLIP, batch labelling",
        "CLIP, rollout labelling",
        "CLIP, step labelling",
        "CLIP, per-frame reward",
        "ground truth, evalkit train",
        "ground truth, plain SB3",
        "without fidelity: CLIP, batch labelling",
    ]
    per_frame, batch = result.row("CLIP, per-frame"), result.row("CLIP, batch")
    assert (
        per_frame.steps == batch.steps == 48 and per_frame.reward_calls == 48
    )  # one call per frame
    assert (
        batch.reward_calls < result.row("CLIP, step").reward_calls == 24
    )  # fewer, larger batches than one per step
    assert result.default_labelling == "batch" and result.batched_speedup > 0
    assert len(result.verdicts()) == 4 and "batch labelling, the default" in result.verdicts()[0]
    assert result.row("without fidelity").steps == 48 and result.fidelity_overhead < 1
    assert "reward fidelity on the visited states" in result.verdicts()[3]
    doc = json.loads(json.dumps(result.to_json()))  # what --json prints
    assert doc["model_to_gt_speed"] == pytest.approx(
        batch.steps_per_second / result.row("ground truth, evalkit").steps_per_second
    )
    assert doc["time_over_limit"] == pytest.approx(batch.seconds / doc["limit"]["seconds"])
    assert len(doc["rows"]) == 7 and len(doc["load_start"]) == 3
