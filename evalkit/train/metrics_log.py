"""A run's ``metrics.csv``: one row per logging point (the end of a rollout), read by the learning
curves, ``evalkit runs`` and the report.

The file is appended to as training goes and stays one continuous table across ``--resume``:
:meth:`MetricsLog.truncate_after` drops the rows past the step a run resumes from (they belong to
training that was not saved), so a resumed run never shows a step twice.

Columns (:data:`COLUMNS`; an empty cell is "not measured"):

``step``            environment steps trained
``time``            UTC time of the row (ISO 8601)
``gt_return``       mean ground-truth return of the recent training episodes
``train_return``    mean return of the same episodes under the reward the agent trains on
``success_rate``    share of the recent training episodes that meet the family's success criterion
``fidelity_epic``   goal EPIC between the training reward and the goal rule on recently visited
                    states (``fidelity_epic_low`` / ``fidelity_epic_high``: its interval)
``fidelity_auc``    AUC of the training reward for the rule's goal states on the same frames
``fidelity_progress_rank``  Spearman rank correlation of the reward with the family's progress
``goal_share``      share of the recently visited states that are goal states
``fidelity_frames`` number of visited frames the fidelity columns were computed on
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Mapping

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_write_text

METRICS_FILE = "metrics.csv"
COLUMNS = (
    "step",
    "time",
    "gt_return",
    "train_return",
    "success_rate",
    "fidelity_epic",
    "fidelity_epic_low",
    "fidelity_epic_high",
    "fidelity_auc",
    "fidelity_progress_rank",
    "goal_share",
    "fidelity_frames",
)
FIDELITY_COLUMNS = tuple(c for c in COLUMNS if c.startswith("fidelity_") or c == "goal_share")
"""The columns that exist only for runs whose reward is not the ground truth."""

Row = dict[str, "float | str | None"]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return str(value)


def _parse(column: str, text: str) -> float | str | None:
    if text == "":
        return None
    if column == "time":
        return text
    return float(text)


class MetricsLog:
    """The ``metrics.csv`` of one run folder."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / METRICS_FILE

    def append(self, row: Mapping[str, object]) -> None:
        """Add one row (unknown keys are an error; missing ones are written empty)."""
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown metrics columns: {sorted(unknown)}")
        new = not self.path.is_file() or self.path.stat().st_size == 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = not new and not self.path.read_bytes().endswith(b"\n")
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(COLUMNS)
            elif torn:  # a line cut by a killed process: end it, so that it stays one bad row
                handle.write("\r\n")
            writer.writerow([_cell(row.get(c)) for c in COLUMNS])
            handle.flush()

    def rows(self) -> list[Row]:
        """Every row, oldest first (empty when the run has logged nothing yet). A row cut short
        by a killed process (the last line) is skipped."""
        if not self.path.is_file():
            return []
        try:
            reader = csv.reader(io.StringIO(self.path.read_text()))
            header = next(reader, None)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise EvalkitError(f"{self.path} cannot be read ({exc}).") from None
        if header is None:
            return []
        missing = [c for c in ("step",) if c not in header]
        if missing:
            raise EvalkitError(f"{self.path} is not an evalkit metrics file (no 'step' column).")
        out = []
        for cells in reader:
            if len(cells) != len(header):
                continue
            try:
                row = {c: _parse(c, v) for c, v in zip(header, cells) if c in COLUMNS}
            except ValueError:
                continue
            if row.get("step") is not None:
                out.append(row)
        return out

    def truncate_after(self, step: int) -> None:
        """Drop the rows past ``step`` (training after the checkpoint a run resumes from)."""
        rows = self.rows()
        kept = [r for r in rows if float(r["step"]) <= step]  # type: ignore[arg-type]
        clean = self.path.is_file() and self.path.read_bytes().endswith(b"\n")
        if len(kept) == len(rows) and clean:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        for r in kept:
            writer.writerow([_cell(_as_int_step(c, r.get(c))) for c in COLUMNS])
        atomic_write_text(buffer.getvalue(), self.path)


def _as_int_step(column: str, value: object) -> object:
    counts = column in ("step", "fidelity_frames")
    return int(value) if counts and isinstance(value, float) else value
