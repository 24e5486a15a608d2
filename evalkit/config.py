"""Where evalkit keeps its files (every location can be overridden by an environment variable),
and defaults that the command line shows without importing numpy."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""α values evaluated when none are given (goal-baseline regularisation strength, paper Def. 1);
:data:`evalkit.rewards.DEFAULT_ALPHAS` is this tuple."""


def datasets_root() -> Path:
    """Folder holding datasets: ``$EVALKIT_DATASETS`` or ``./datasets``."""
    return Path(os.environ.get("EVALKIT_DATASETS", "datasets"))


def reports_root() -> Path:
    """Folder holding generated reports: ``$EVALKIT_REPORTS`` or ``./reports``."""
    return Path(os.environ.get("EVALKIT_REPORTS", "reports"))


def runs_root() -> Path:
    """Folder holding training runs: ``$EVALKIT_RUNS`` or ``./runs``."""
    return Path(os.environ.get("EVALKIT_RUNS", "runs"))
