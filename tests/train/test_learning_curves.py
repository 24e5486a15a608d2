"""Learning curves, ``evalkit runs`` and the report's runs section, on real tiny training runs."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import threading

import numpy as np
import pandas as pd
import pytest
from helpers_train import SMALL, Recorder, one_torch_thread, tiny_config

from evalkit.train.metrics_log import MetricsLog


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished CLIP run (tiny random model) of three 200-step episodes made by 'evalkit train'."""
    from typer.testing import CliRunner

    from evalkit.cli import app

    base = tmp_path_factory.mktemp("curves")
    (base / "small.toml").write_text(SMALL)
    run = base / "runs" / "pole"
    with one_torch_thread():
        result = CliRunner().invoke(
            app,
            "train --task cartpole --model evalkit-tiny-vit --pretrained none --steps 600 --envs 1".split()
            + ["--config", str(base / "small.toml"), "--out", str(run), "--no-progress"],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert f"curves:   {run / 'learning_curves.png'}" in result.output
    return run


def _index(run):
    return json.loads((run / "checkpoints.json").read_text())


def _best_step(run) -> int:
    """The checkpoint the paper evaluates: highest training reward, the later one on a tie."""
    scored = [c for c in _index(run) if c["train_reward"] is not None]
    return max(scored, key=lambda c: (c["train_reward"], c["step"]))["step"]


def _lines(fig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every labelled line of a figure: ``label -> (x, y)``."""
    out = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            out[line.get_label()] = (
                np.asarray(line.get_xdata(), float),
                np.asarray(line.get_ydata(), float),
            )
    return out


def _marked_steps(fig) -> set[float]:
    """x of the dashed vertical lines (the marked checkpoint) in every panel."""
    return {
        float(line.get_xdata()[0])
        for ax in fig.axes
        for line in ax.get_lines()
        if line.get_linestyle() == "--"
    }


def test_train_writes_curves_of_its_metrics(finished_run):
    from evalkit.train.learning_curves import learning_curve_figure

    assert (finished_run / "learning_curves.png").stat().st_size > 0
    assert (finished_run / "learning_curves.svg").read_text().lstrip().startswith("<?xml")
    with (finished_run / "metrics.csv").open() as handle:
        raw = list(csv.DictReader(handle))
    # the runner logs a row at every checkpoint
    assert {c["step"] for c in _index(finished_run)} <= {int(r["step"]) for r in raw}
    fig = learning_curve_figure(finished_run)
    lines = _lines(fig)
    for label, column in (("ground truth", "gt_return"), ("training reward", "train_return")):
        rows = [r for r in raw if r[column] != ""]
        np.testing.assert_array_equal(lines[label][0], [float(r["step"]) for r in rows])
        np.testing.assert_allclose(lines[label][1], [float(r[column]) for r in rows])
    assert _marked_steps(fig) == {float(_best_step(finished_run))}


def test_curves_of_an_older_run_come_from_its_checkpoints(finished_run, tmp_path):
    from evalkit.train.learning_curves import learning_curve_figure

    run = tmp_path / "old"
    shutil.copytree(finished_run, run)
    (run / "metrics.csv").unlink()  # a run made before metrics.csv existed
    index = [c for c in _index(run) if c["gt_return"] is not None]
    fig = learning_curve_figure(run)
    lines = _lines(fig)
    np.testing.assert_array_equal(lines["ground truth"][0], [c["step"] for c in index])
    np.testing.assert_allclose(lines["ground truth"][1], [c["gt_return"] for c in index])
    np.testing.assert_allclose(lines["training reward"][1], [c["train_reward"] for c in index])
    assert "success" not in lines and "goal EPIC (lower is better)" not in lines  # not logged
    assert _marked_steps(fig) == {float(_best_step(run))}
    assert len(fig.axes) == 2


def test_curves_follow_metrics_csv_when_the_run_has_one(finished_run, tmp_path):
    from evalkit.train.learning_curves import learning_curve_figure, write_learning_curves

    run = tmp_path / "pole"
    shutil.copytree(finished_run, run)
    (run / "metrics.csv").unlink()  # rows of the test's own
    log = MetricsLog(run)
    for i, step in enumerate((200, 400, 600)):
        log.append(
            {
                "step": step,
                "gt_return": -150.0 + i,
                "train_return": 0.5 * i,
                "success_rate": None if i == 1 else i / 2,  # a gap: not measured at step 400
                "fidelity_epic": 0.6 - 0.1 * i,
                "fidelity_epic_low": 0.5 - 0.1 * i,
                "fidelity_epic_high": 0.7 - 0.1 * i,
                "fidelity_auc": 0.5 + 0.1 * i,
            }
        )
    with (run / "metrics.csv").open() as handle:
        raw = list(csv.DictReader(handle))
    fig = learning_curve_figure(run)
    lines = _lines(fig)
    for label, column in (
        ("ground truth", "gt_return"),
        ("training reward", "train_return"),
        ("success", "success_rate"),
        ("goal EPIC (lower is better)", "fidelity_epic"),
        ("AUC (higher is better)", "fidelity_auc"),
    ):
        rows = [r for r in raw if r[column] != ""]
        np.testing.assert_array_equal(lines[label][0], [float(r["step"]) for r in rows])
        np.testing.assert_allclose(lines[label][1], [float(r[column]) for r in rows])
    assert len(fig.axes) == 4 and _marked_steps(fig) == {float(_best_step(run))}
    band = [c for ax in fig.axes for c in ax.collections]
    assert len(band) == 1  # the EPIC interval
    paths = write_learning_curves(run)
    assert [p.name for p in paths] == ["learning_curves.png", "learning_curves.svg"]


def test_plot_omits_missing_series_and_refuses_an_empty_table():
    from evalkit.plots.learning_curve import plot_learning_curves

    table = pd.DataFrame(
        {"step": [1.0, 2.0], "gt_return": [1.0, 2.0], "fidelity_auc": [None, None]}
    )
    fig = plot_learning_curves(table)
    assert len(fig.axes) == 1 and set(_lines(fig)) == {"ground truth"}
    with pytest.raises(ValueError, match="without any value"):
        plot_learning_curves(pd.DataFrame({"step": [1.0], "gt_return": [None]}))


@pytest.fixture
def runs_folder(finished_run, tmp_path):
    """A runs folder with the finished run, an interrupted one, a corrupt one and a stray folder."""
    folder = tmp_path / "runs"
    shutil.copytree(finished_run, folder / "pole")
    stop = threading.Event()
    recorder = Recorder()

    def reward(frames):
        if len(recorder.batches) >= 8:  # 8 × 64 frames: each environment has ended an episode
            stop.set()  # as Ctrl-C does
        return recorder(frames)

    with one_torch_thread():
        result = train(tiny_config(steps=2000), folder / "stopped", reward_fn=reward, stop=stop)
    assert result.interrupted and result.steps < 2000
    shutil.copytree(finished_run, folder / "broken")
    (folder / "broken" / "config.json").write_text("{not json")
    (folder / "notes").mkdir()
    (folder / "notes" / "todo.txt").write_text("tune alpha")
    return folder


def train(*args, **kwargs):
    from evalkit.train.runner import train as run_training

    return run_training(*args, **kwargs)


def test_runs_lists_finished_interrupted_and_skips_what_is_not_a_run(cli, runs_folder):
    result = cli("runs", str(runs_folder), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output[result.output.index("{") :])
    by_name = {r["name"]: r for r in doc["runs"]}
    assert set(by_name) == {"pole", "stopped"}
    for name, status in (("pole", "finished"), ("stopped", "interrupted")):
        run, index = by_name[name], _index(runs_folder / name)
        config = json.loads((runs_folder / name / "config.json").read_text())["config"]
        assert run["status"] == status and run["task"] == "cartpole"
        assert run["steps_done"] == index[-1]["step"] and run["steps_planned"] == config["steps"]
        gt = [c["gt_return"] for c in index if c["gt_return"] is not None]
        assert run["best_gt_return"] == (max(gt) if gt else None)
        epics = [r["fidelity_epic"] for r in MetricsLog(runs_folder / name).rows()]
        assert run["last_fidelity_epic"] == next(
            (e for e in reversed(epics) if e is not None), None
        )
        assert run["reward"].startswith("CLIP reward of evalkit-tiny-vit (none), α = 0")
    assert _index(runs_folder / "stopped")[-1]["reason"] == "interrupt"
    skipped = {os.path.basename(s["path"]): s["reason"] for s in doc["skipped"]}
    assert set(skipped) == {"broken", "notes"}
    assert "corrupt" in skipped["broken"] and "is not a training run" in skipped["notes"]

    table = cli("runs", str(runs_folder))
    assert table.exit_code == 0
    assert "600 / 600" in table.output and "interrupted" in table.output
    assert "skipped:" in table.output and "notes is not a training run" in table.output
    one = cli("runs", str(runs_folder / "pole"), "--json")  # a run folder itself
    assert [r["name"] for r in json.loads(one.output)["runs"]] == ["pole"]


def test_status_of_a_run_without_lock_is_a_guess_from_fresh_logs(runs_folder):
    from evalkit.train.run_index import summarize_run
    from evalkit.train.runner import LOCK_FILE

    run = runs_folder / "pole"
    (run / LOCK_FILE).unlink()  # a run made before evalkit kept a lock
    config = json.loads((run / "config.json").read_text())
    config["config"]["steps"] = 10_000  # planned further: not finished
    (run / "config.json").write_text(json.dumps(config))
    index = _index(run)
    index[-1]["reason"] = "interval"
    (run / "checkpoints.json").write_text(json.dumps(index))
    MetricsLog(run).append({"step": 620, "gt_return": -100.0, "fidelity_epic": 0.42})
    summary = summarize_run(run)
    assert summary.status == "running?" and summary.steps_done == 620
    assert summary.best_gt_return == -100.0 and summary.last_fidelity_epic == 0.42
    old = os.path.getmtime(run / "metrics.csv") - 3600
    for f in [run / "metrics.csv", *(run / "tb").rglob("events.*")]:
        os.utime(f, (old, old))
    assert summarize_run(run).status == "interrupted"  # killed: its logs went quiet


def test_runs_without_a_runs_folder_says_what_to_do(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_RUNS", str(tmp_path / "nowhere"))
    result = cli("runs")
    assert result.exit_code == 2 and "There is no runs folder at" in result.output


def test_report_shows_the_curves_of_every_run_and_notes_broken_ones(
    runs_folder, datasets_root, tmp_path
):
    from evalkit.report import build_report

    page = build_report(tmp_path / "report", runs_root=runs_folder)
    html = page.read_text()
    section = html[
        html.index('<section id="runs">') : html.index("</section>", html.index('id="runs"'))
    ]
    for name in ("pole", "stopped"):
        figure = next((page.parent / "figures").glob(f"run_*_{name}_learning_curves.png"))
        assert f'src="figures/{figure.name}"' in section
        assert figure.with_suffix(".svg").is_file()
    assert "600 / 600" in section and "finished" in section and "interrupted" in section
    assert f"picks (step {_best_step(runs_folder / 'pole')})" in section
    assert "run folder broken was skipped" in html and "run folder notes was skipped" in html


def test_report_shows_the_evaluation_of_the_picked_checkpoint_and_notes_a_stale_one(
    runs_folder, datasets_root, tmp_path, cli
):
    run = runs_folder / "pole"
    with one_torch_thread():
        assert cli("evaluate", str(run), "--episodes", "2", "--device", "cpu").exit_code == 0
    (evaluated,) = (run / "eval").glob("*/report.json")
    saved = json.loads(evaluated.read_text())
    epic = next(m for m in saved["reward_metrics"] if m["metric"] == "epic")
    result = cli("report", "--out", str(tmp_path / "r"), "--run", str(run))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r" / "index.html").read_text()
    row = re.search(r"<tr><td><code>pole</code>.*?</tr>", html, flags=re.S).group(0)
    assert f"{saved['success_rate']:.0%}" in row and f"{epic['estimate']:.3f}" in row
    assert f"--run {run}" in html  # the command that rebuilds the report

    evaluated.parent.rename(run / "eval" / "step_000000001")  # an evaluation of another checkpoint
    assert cli("report", "--out", str(tmp_path / "r"), "--run", str(run)).exit_code == 0
    html = (tmp_path / "r" / "index.html").read_text()
    assert "run pole: its evaluation (step_000000001) is not of the checkpoint" in html
    assert f"refresh: evalkit evaluate {run}" in html


def test_curves_are_redrawn_at_every_checkpoint(tmp_path):
    from evalkit.cli.train import _curves_at_checkpoints

    seen = []
    hook = _curves_at_checkpoints(tmp_path / "run")

    def on_checkpoint(info):
        hook(info)  # what evalkit train passes: the curves of the rows logged so far
        seen.append((info.step, (tmp_path / "run" / "learning_curves.png").is_file()))

    with one_torch_thread():
        train(
            tiny_config(steps=240),
            tmp_path / "run",
            reward_fn=Recorder(),
            on_checkpoint=on_checkpoint,
        )
    assert [step for step, _ in seen] == [c["step"] for c in _index(tmp_path / "run")]
    assert all(drawn for _, drawn in seen)
    _curves_at_checkpoints(tmp_path / "nothing")(None)  # nothing logged: quietly nothing
    assert not (tmp_path / "nothing").exists()
