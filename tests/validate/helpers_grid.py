"""Trial functions for the grid tests (module-level, so spawned workers can import them)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def square(folder: Path, x: int) -> None:
    (folder / "y.txt").write_text(str(x * x))


def fail(folder: Path, message: str) -> None:
    (folder / "partial.txt").write_text("half")
    raise ValueError(message)


def crash(folder: Path) -> None:
    os._exit(3)


def slow_square(folder: Path, x: int, seconds: float) -> None:
    time.sleep(seconds)
    (folder / "y.txt").write_text(str(x * x))
