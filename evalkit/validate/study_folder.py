"""The check every study makes before writing into a folder: never mix two studies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError


def check_study_folder(out: Path, record: str, settings: Any, kind: str) -> None:
    """Refuse a folder that holds something else or a study with other settings (one sentence).

    :param record: the file (in ``out``) whose ``settings`` field records the study's settings.
    :param settings: this study's settings, as JSON values.
    :param kind: the study's kind in words (``tabular``), for the error.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise EvalkitError(f"{out} is a file; choose a folder for --out.")
    path = out / record
    if not path.exists():
        if any(out.iterdir()):
            raise EvalkitError(
                f"{out} is not empty and holds no {kind} study; choose a new folder for --out."
            )
        return
    try:
        earlier = json.loads(path.read_text()).get("settings")
    except (OSError, ValueError, AttributeError):
        earlier = None
    if earlier != settings:
        raise EvalkitError(
            f"{out} holds a study with other settings; choose a new folder for --out (studies "
            "are never mixed) or delete that one."
        )
