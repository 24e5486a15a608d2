"""SIGTERM and SIGKILL in the middle of ``align``, ``select`` and ``evaluate``: SIGTERM ends in
one line and exit 143, and neither signal leaves a half-written head, selection, evaluation or
temporary file behind (real processes, real signals)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from helpers_cli import start_evalkit
from helpers_heads import embedded_sweep
from helpers_train import one_torch_thread, tiny_config

TINY = ["-m", "evalkit-tiny-vit", "--pretrained", "none"]

pytestmark = pytest.mark.slow


def _signal_midway(args: list[str], tmp_path: Path, sig: int, after: float) -> tuple[int, str]:
    """Run ``evalkit ARGS``, send ``sig`` ``after`` seconds in, return (exit status, stderr)."""
    proc = start_evalkit(args, tmp_path)
    time.sleep(after)
    if proc.poll() is not None:
        pytest.fail(f"the command ended before the signal: {proc.communicate()}")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _hidden(folder: Path) -> list[Path]:
    """Temporaries left in ``folder`` (lock files are kept by design)."""
    return [p for p in folder.rglob(".*") if not p.name.endswith(".lock")]


def _check(rc: int, err: str, sig: int) -> None:
    if sig == signal.SIGTERM:
        assert rc == 143, err
        assert "Terminated (SIGTERM)" in err and "Traceback" not in err
    else:
        assert rc == -signal.SIGKILL


@pytest.fixture
def sweep(datasets_root):
    return embedded_sweep(datasets_root, n=1500)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_signal_during_align_leaves_no_head(sweep, tmp_path, sig):
    head = tmp_path / "h.json"
    args = [
        "align",
        sweep.name,
        "-t",
        "cartpole",
        *TINY,
        "--bootstrap",
        "50000",
        "--out",
        str(head),
    ]
    rc, err = _signal_midway(args, tmp_path, sig, after=6.0)
    _check(rc, err, sig)
    assert not head.exists() and not head.with_suffix(".safetensors").exists()
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_signal_during_select_leaves_no_selection(sweep, tmp_path, sig):
    out = tmp_path / "sel.json"
    args = ["select", sweep.name, "-t", "cartpole", *TINY, "--heads", "--bootstrap", "50000"]
    rc, err = _signal_midway([*args, "--out", str(out)], tmp_path, sig, after=6.0)
    _check(rc, err, sig)
    assert not out.exists() and _hidden(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_signal_during_evaluate_leaves_no_evaluation(tmp_path, sig):
    from evalkit.train.runner import train

    run = tmp_path / "runs" / "run"
    with one_torch_thread():
        train(tiny_config("cartpole", reward="ground-truth", steps=160), run)
    before = sorted(p.relative_to(run) for p in run.rglob("*") if "tb" not in p.parts)
    rc, err = _signal_midway(["evaluate", str(run), "--episodes", "5000"], tmp_path, sig, 8.0)
    _check(rc, err, sig)
    after = sorted(p.relative_to(run) for p in run.rglob("*") if "tb" not in p.parts)
    new = [p for p in after if p not in before]
    assert not [p for p in new if p.parts[0] in ("eval", "rollouts")], new
    assert _hidden(run) == []
