"""Import and export human labels as CSV: ``frame_id, task, label, labeller, time``.

Export writes the live labels (one row per frame, task and labeller; skips included). Import
appends one journal event per row, all in one durable write, after checking every row first —
a file with a bad row imports nothing:

- ``frame_id`` and ``label`` columns are required; ``task`` and ``labeller`` may come from the
  command line instead (``--task``, ``--labeller``: they fill missing columns or empty cells);
  ``time`` (ISO 8601) is optional and defaults to now.
- labels are ``goal`` / ``not_goal`` / ``skip``; ``1/0``, ``true/false``, ``yes/no`` and
  ``not goal`` are accepted too.
- unknown frame ids, unknown tasks and unreadable values are errors naming their lines.
- rows that give one frame two different labels (same task and labeller) are **conflicts**:
  both events are kept, in file order (so the later row is the live label), and reported.
- a row identical to an event already in the journal (same frame, task, labeller, label and
  time) is skipped, so re-importing an exported file changes nothing.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_write_text
from evalkit.labels.journal import check_labeller
from evalkit.labels.store import LabelStore, check_task_for_dataset

EXPORT_COLUMNS = ["frame_id", "task", "label", "labeller", "time"]
REQUIRED_COLUMNS = ("frame_id", "label")

_LABEL_ALIASES = {
    "goal": "goal",
    "1": "goal",
    "true": "goal",
    "yes": "goal",
    "y": "goal",
    "not_goal": "not_goal",
    "not goal": "not_goal",
    "not-goal": "not_goal",
    "notgoal": "not_goal",
    "0": "not_goal",
    "false": "not_goal",
    "no": "not_goal",
    "n": "not_goal",
    "skip": "skip",
    "skipped": "skip",
}
_MAX_LISTED = 8


@dataclass
class ImportReport:
    """What :func:`import_csv` did."""

    rows: int
    """Data rows in the file."""
    imported: int
    """Events appended to the journal."""
    already: int = 0
    """Rows skipped because the journal already had the identical event."""
    duplicates: int = 0
    """Rows repeating an earlier row of the file exactly (kept as events, harmless)."""
    conflicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per ``(frame_id, task, labeller)`` the file labels differently on different lines:
    ``frame_id, task, labeller, labels, lines`` (``labels`` in file order; the last is live)."""


def _fail(path: Path, problems: list[str], what: str) -> EvalkitError:
    """One sentence for ``"line N: message"`` problems, lines with the same message said once."""
    lines_by_message: dict[str, list[str]] = {}
    for problem in problems:
        where, _, message = problem.partition(": ")
        lines_by_message.setdefault(message.rstrip("."), []).append(where.removeprefix("line "))
    parts = []
    for message, lines in lines_by_message.items():
        shown = ", ".join(lines[:3]) + (f" and {len(lines) - 3} more" if len(lines) > 3 else "")
        parts.append(f"line{'s' if len(lines) > 1 else ''} {shown}: {message}")
    more = f" (and {len(parts) - _MAX_LISTED} other problems)" if len(parts) > _MAX_LISTED else ""
    return EvalkitError(
        f"{path}: {what}: {'; '.join(parts[:_MAX_LISTED])}{more}. Nothing was imported; fix the file "
        "and run again."
    )


def _parse_time(text: str) -> str:
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def import_csv(
    dataset: Dataset,
    path: str | os.PathLike[str],
    task: str | None = None,
    labeller: str | None = None,
    store: LabelStore | None = None,
) -> ImportReport:
    """Append the labels of a CSV file to the dataset's journal (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise EvalkitError(f"CSV file {path} does not exist.")
    store = store or LabelStore(dataset)
    if task is not None:
        check_task_for_dataset(dataset, task)
    if labeller is not None:
        check_labeller(labeller)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise EvalkitError(f"{path} is not UTF-8 text; save it as UTF-8 CSV.") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if "task" not in header and task is None:
        missing.append("task (or pass --task)")
    if "labeller" not in header and labeller is None:
        missing.append("labeller (or pass --labeller)")
    if missing:
        raise EvalkitError(
            f"{path} lacks the column(s) {', '.join(missing)}; its header is {','.join(header) or '(empty)'} "
            f"and evalkit expects {','.join(EXPORT_COLUMNS)}."
        )
    reader.fieldnames = header

    items: list[dict[str, Any]] = []
    problems: list[str] = []
    checked_tasks: dict[str, str | None] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"line {line}"
        try:
            frame_id = int(row["frame_id"])
        except ValueError:
            problems.append(f"{where}: frame_id {row['frame_id']!r} is not an integer")
            continue
        if not 0 <= frame_id < len(dataset):
            problems.append(
                f"{where}: frame {frame_id} does not exist (frames are 0..{len(dataset) - 1})"
            )
            continue
        label = _LABEL_ALIASES.get(row["label"].lower())
        if label is None:
            problems.append(
                f"{where}: label {row['label']!r} is not goal, not_goal or skip (also accepted: 1/0, true/false, yes/no)"
            )
            continue
        row_task = row.get("task") or task
        if task is not None and row_task != task:
            problems.append(f"{where}: task {row_task!r} but --task {task}")
            continue
        if row_task not in checked_tasks:
            try:
                check_task_for_dataset(dataset, row_task)
                checked_tasks[row_task] = None
            except EvalkitError as exc:
                checked_tasks[row_task] = str(exc)
        if checked_tasks[row_task]:
            problems.append(f"{where}: {checked_tasks[row_task]}")
            continue
        who = row.get("labeller") or labeller
        try:
            check_labeller(who or "")
        except EvalkitError:
            problems.append(f"{where}: labeller {who!r} is not a valid name")
            continue
        time = None
        if row.get("time"):
            try:
                time = _parse_time(row["time"])
            except ValueError:
                problems.append(
                    f"{where}: time {row['time']!r} is not ISO 8601 (e.g. 2026-11-23T19:40:01Z)"
                )
                continue
        items.append(
            {
                "frame_id": frame_id,
                "task": row_task,
                "label": label,
                "labeller": who,
                "time": time,
                "line": line,
            }
        )
    if problems:
        raise _fail(path, problems, f"{len(problems)} bad row(s)")

    conflicts, duplicates = _conflicts(items)
    existing = {
        (e["frame_id"], e["task"], e["labeller"], e["label"], e.get("time"))
        for e in store.log.events
        if e["type"] == "label"
    }
    fresh = [
        i
        for i in items
        if (i["frame_id"], i["task"], i["labeller"], i["label"], i["time"]) not in existing
    ]
    store.add_many(fresh, source=f"import:{path.name}")
    return ImportReport(
        rows=len(items),
        imported=len(fresh),
        already=len(items) - len(fresh),
        duplicates=duplicates,
        conflicts=conflicts,
    )


def _conflicts(items: list[dict[str, Any]]) -> tuple[pd.DataFrame, int]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for i in items:
        groups.setdefault((i["frame_id"], i["task"], i["labeller"]), []).append(i)
    rows, duplicates = [], 0
    for (frame_id, task, who), g in groups.items():
        seen = set()
        for i in g:
            key = (i["label"], i["time"])
            duplicates += key in seen
            seen.add(key)
        if len({i["label"] for i in g}) > 1:
            rows.append(
                {
                    "frame_id": frame_id,
                    "task": task,
                    "labeller": who,
                    "labels": " → ".join(i["label"] for i in g),
                    "lines": ",".join(str(i["line"]) for i in g),
                }
            )
    return pd.DataFrame(
        rows, columns=["frame_id", "task", "labeller", "labels", "lines"]
    ), duplicates


def export_table(
    dataset: Dataset, task: str | None = None, store: LabelStore | None = None
) -> pd.DataFrame:
    """The live labels as the export table (:data:`EXPORT_COLUMNS`)."""
    store = store or LabelStore(dataset)
    if task is not None:
        check_task_for_dataset(dataset, task)
    return store.current(task=task)[EXPORT_COLUMNS]


def export_csv(
    dataset: Dataset,
    out: str | os.PathLike[str] | TextIO,
    task: str | None = None,
    store: LabelStore | None = None,
) -> int:
    """Write the live labels as CSV to a path (atomically) or an open text stream; returns rows."""
    table = export_table(dataset, task, store)
    if isinstance(out, (str, os.PathLike)):
        target = Path(out)
        if target.parent and not target.parent.is_dir():
            what = (
                "is a file, not a folder" if target.parent.exists() else "(a folder) does not exist"
            )
            raise EvalkitError(f"{target.parent} {what}; create it or choose another --out.")
        atomic_write_text(table.to_csv(index=False), target)
    else:
        table.to_csv(out, index=False)
    return len(table)
