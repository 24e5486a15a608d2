"""Shared helper of the CLI tests that run evalkit as a real process (for real signals)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_evalkit(args: list[str], tmp_path: Path) -> subprocess.Popen:
    """Start ``python -m evalkit ARGS`` in ``tmp_path`` (datasets and runs under it), with
    standard output and error piped as text."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "EVALKIT_DATASETS": str(tmp_path / "datasets"),
        "EVALKIT_RUNS": str(tmp_path / "runs"),
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "evalkit", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
