"""SIGTERM (``timeout``, SLURM preemption, ``docker stop``) stops evalkit as Ctrl-C does:
``train`` saves a checkpoint, ``collect`` leaves no temporary folder (real processes, real signals)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers_cli import start_evalkit


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen:
    return start_evalkit(args, tmp_path)


def _wait_for(condition, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the command ended before the signal: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the command never reached the point to signal")
        time.sleep(0.05)


def test_sigterm_during_collect_leaves_no_temporary_folder(tmp_path):
    root = tmp_path / "datasets"
    proc = _start(["collect", "cartpole", "--n", "200000", "--size", "32"], tmp_path)
    _wait_for(lambda: root.is_dir() and any(root.iterdir()), proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Terminated (SIGTERM)" in err and "Traceback" not in err
    assert list(root.iterdir()) == []


def test_sigterm_during_train_saves_a_checkpoint(tmp_path):
    run = tmp_path / "run"
    args = "train --task cartpole --reward ground-truth --steps 10000000 --no-progress --out"
    proc = _start([*args.split(), str(run)], tmp_path)
    _wait_for(lambda: (run / "config.json").is_file(), proc)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "SIGTERM: stopping" in err and "Traceback" not in err
    index = json.loads((run / "checkpoints.json").read_text())
    assert index[-1]["reason"] == "interrupt"
    assert (run / index[-1]["path"]).is_file()
