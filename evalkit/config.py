"""Where evalkit keeps its files. Every location can be overridden by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path


def datasets_root() -> Path:
    """Folder holding datasets: ``$EVALKIT_DATASETS`` or ``./datasets``."""
    return Path(os.environ.get("EVALKIT_DATASETS", "datasets"))


def reports_root() -> Path:
    """Folder holding generated reports: ``$EVALKIT_REPORTS`` or ``./reports``."""
    return Path(os.environ.get("EVALKIT_REPORTS", "reports"))


def runs_root() -> Path:
    """Folder holding training runs: ``$EVALKIT_RUNS`` or ``./runs``."""
    return Path(os.environ.get("EVALKIT_RUNS", "runs"))
