"""The grid executor: ordinary folders, reuse, failures that stop nothing, interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import helpers_grid
import pytest

from evalkit.validate.grid import GridError, Trial, run_grid


def _squares(n, fn=helpers_grid.square, **extra):
    return [Trial(f"x={x}", fn, {"x": x, **extra}) for x in range(n)]


def test_a_grid_runs_every_trial_into_its_folder_and_a_rerun_reuses_them(tmp_path):
    lines = []
    result = run_grid(_squares(3), tmp_path, workers=2, progress=lambda p: lines.append(p))
    assert sorted(result.finished) == ["x=0", "x=1", "x=2"] and not result.failed
    for x in range(3):
        folder = tmp_path / f"x={x}"
        assert (folder / "y.txt").read_text() == str(x * x)
        assert json.loads((folder / "trial.json").read_text())["settings"] == {"x": x}
    assert [p.done for p in lines] == sorted(p.done for p in lines)
    assert lines[-1].done == 3 and lines[-1].running == 0 and "3/3 done" in lines[-1].line()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    again = run_grid(_squares(3), tmp_path, workers=2)
    assert sorted(again.reused) == ["x=0", "x=1", "x=2"] and not again.finished


def test_a_failing_or_crashing_trial_is_reported_and_the_others_finish(tmp_path):
    trials = [
        *_squares(2),
        Trial("bad", helpers_grid.fail, {"message": "no such reward"}),
        Trial("dies", helpers_grid.crash, {}),
    ]
    result = run_grid(trials, tmp_path, workers=2, start_method="fork")
    assert sorted(result.finished) == ["x=0", "x=1"]
    assert result.failed["bad"].startswith("ValueError: no such reward")
    assert "exit code 3" in result.failed["dies"]
    assert not (tmp_path / "bad").exists() and not (tmp_path / "dies").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    rerun = run_grid(trials, tmp_path, workers=2, start_method="fork")
    assert sorted(rerun.reused) == ["x=0", "x=1"] and set(rerun.failed) == {"bad", "dies"}


def test_a_folder_with_a_trial_of_other_settings_is_refused(tmp_path):
    run_grid(_squares(1), tmp_path, workers=1, start_method="fork")
    with pytest.raises(GridError, match="other settings"):
        run_grid([Trial("x=0", helpers_grid.square, {"x": 5})], tmp_path, workers=1)


@pytest.mark.parametrize(
    "trials, message",
    [
        ([Trial("a", helpers_grid.square, {"x": 1})] * 2, "same name"),
        ([Trial("../up", helpers_grid.square, {"x": 1})], "not a usable trial name"),
        ([Trial("a", helpers_grid.square, {"x": object()})], "JSON"),
    ],
)
def test_bad_grids_are_one_sentence(tmp_path, trials, message):
    with pytest.raises(GridError, match=message):
        run_grid(trials, tmp_path, workers=1)


def test_sigterm_keeps_finished_trials_and_a_rerun_resumes(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(helpers_grid.__file__).parent)!r})
        import helpers_grid
        from evalkit.fileio import terminate_as_interrupt
        from evalkit.validate.grid import Trial, run_grid
        terminate_as_interrupt()
        trials = [Trial(f"x={{x}}", helpers_grid.slow_square, {{"x": x, "seconds": 0.3 if x < 2 else 60}}) for x in range(4)]
        run_grid(trials, {str(tmp_path)!r}, workers=1, start_method="fork")
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while not (tmp_path / ".x=2.tmp").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / ".x=2.tmp").exists(), "the third trial never started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x=0", "x=1"]
    finished = [
        Trial(f"x={x}", helpers_grid.slow_square, {"x": x, "seconds": 0.3}) for x in range(2)
    ]
    resumed = run_grid(finished + _squares(4)[2:], tmp_path, workers=2, start_method="fork")
    assert sorted(resumed.reused) == ["x=0", "x=1"] and sorted(resumed.finished) == ["x=2", "x=3"]
