"""Resumable stages of a long benchmark: each runs once, its wall time and results recorded.

:class:`StageLog` is a JSON file in the output folder (``stages.json``) that holds the settings
of the run and, for every finished stage, its wall time and what it returned. :func:`run_stages`
runs the stages in order and skips the finished ones, so running a benchmark again with the same
folder resumes it; a stage interrupted (Ctrl-C) is not recorded and runs again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_write_text

STAGES_FILE = "stages.json"


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists; others their ``str``)."""
    return json.loads(json.dumps(value, default=str))


class StageLog:
    """``stages.json`` of an output folder: the finished stages, their wall time and results.

    :param out: the output folder.
    :param settings: what decides the results; a folder holding a run with other settings is
        refused.
    :param what: the benchmark in words, for that error.
    """

    def __init__(self, out: Path, settings: Mapping[str, Any], what: str = "benchmark run") -> None:
        self.path = Path(out) / STAGES_FILE
        self.settings = jsonable(dict(settings))
        self.stages: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            saved = json.loads(self.path.read_text())
            if saved.get("settings") != self.settings:
                raise EvalkitError(
                    f"{out} holds a {what} with other settings; choose another --out or delete it."
                )
            self.stages = dict(saved.get("stages", {}))

    def done(self, name: str) -> dict[str, Any] | None:
        """The record of a finished stage (``None``: not finished)."""
        return self.stages.get(name)

    def finish(self, name: str, seconds: float, **result: Any) -> dict[str, Any]:
        """Record a finished stage (written at once, atomically)."""
        self.stages[name] = {"seconds": seconds, **jsonable(result)}
        body = {"settings": self.settings, "stages": self.stages}
        atomic_write_text(json.dumps(body, indent=2) + "\n", self.path)
        return self.stages[name]


@dataclass(frozen=True)
class Stage:
    """One stage: its name, what it does in words, and the function that does it (returning
    the results to record)."""

    name: str
    what: str
    run: Callable[[], Mapping[str, Any]]


def run_stages(
    stages: list[Stage], log: StageLog, say: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Run each stage not finished yet, in order; say what starts, what is reused, what took."""
    for i, stage in enumerate(stages, 1):
        tag = f"[{i}/{len(stages)}] {stage.name}"
        done = log.done(stage.name)
        if done is not None:
            say(f"{tag}: reused (finished before in {done['seconds']:.1f} s)")
            continue
        say(f"{tag}: {stage.what}...")
        t0 = time.perf_counter()
        result = stage.run()
        seconds = time.perf_counter() - t0
        log.finish(stage.name, seconds, **result)
        say(f"{tag}: done in {seconds:.1f} s")
    return log.stages
