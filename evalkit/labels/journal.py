"""Append-only, fsync'd JSON-lines journals: the label store that never loses a label.

Every human judgement is one *event*, one JSON object on one line of a journal file inside the
dataset (``<dataset>/labels/human.journal.jsonl`` for goal labels,
``<dataset>/labels/ratings.journal.jsonl`` for episode ratings)::

    {"v": 1, "id": "5f0c…", "type": "label", "frame_id": 12, "task": "kneeling",
     "label": "goal", "labeller": "alice", "time": "2026-11-23T19:40:01.123Z", "source": "web"}
    {"v": 1, "id": "77ab…", "type": "undo", "undoes": "5f0c…", "frame_id": 12, "task": "kneeling",
     "labeller": "alice", "time": "2026-11-23T19:40:03.020Z", "source": "web"}

Guarantees:

- **Durable**: :meth:`Journal.append` writes whole lines with one ``write`` on a file opened with
  ``O_APPEND`` and calls ``os.fsync`` before it returns; the web server answers a label only
  after that, so a ``kill -9`` (or a power cut) loses at most the label being sent.
- **Concurrent writers**: appends hold an exclusive ``fcntl.flock`` on the journal, readers a
  shared one, so two browser tabs, two servers or an import running beside a server interleave
  whole lines and never corrupt each other.
- **Torn lines**: a line cut short by a crash (no newline, not JSON) is skipped with a warning
  (:attr:`JournalRead.problems`); the next append first ends it with a newline so that the new
  event is never glued to the fragment.
- **Nothing is rewritten**: undo is an event that references the undone one; the journal is
  never truncated or compacted in place. Label sets in parquet (:mod:`evalkit.labels.sets`) are
  derived snapshots that can be rebuilt from it at any time.

The current value of a key (e.g. ``(frame_id, task, labeller)``) is the value of its latest
event, in journal order, that has not been undone (:class:`EventLog`).
"""

from __future__ import annotations

import json
import os
import re
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Sequence

from evalkit.errors import EvalkitError
from evalkit.fileio import file_lock

JOURNAL_VERSION = 1
UNDO = "undo"

_LABELLER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class JournalWarning(UserWarning):
    """A journal line was unreadable (torn by a crash, or edited by hand) and was skipped."""


def utc_now() -> str:
    """The current time as a UTC ISO-8601 string with milliseconds (``2026-11-23T19:40:01.123Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id() -> str:
    """A fresh, unique event id (32 hex digits)."""
    return uuid.uuid4().hex


def check_labeller(name: str) -> str:
    """Validate a labeller name: 1–64 letters, digits, ``_ . -``, not starting with a symbol.

    Names become part of label-set file names (``human-<labeller>``), hence the restriction.
    """
    if not isinstance(name, str) or not _LABELLER_RE.match(name):
        raise EvalkitError(
            f"{name!r} is not a valid labeller name: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. --labeller alice)."
        )
    return name


def default_labeller() -> str:
    """The labeller name to use when none is given: the login name, sanitised, or ``anonymous``."""
    import getpass

    try:
        raw = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        raw = ""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", raw).lstrip("_.-")[:64]
    return name or "anonymous"


@dataclass
class JournalRead:
    """What reading a journal gave: the valid events in order, and the lines that were skipped."""

    events: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    end: int = 0
    """Byte offset just after the last complete (newline-ended) line that was read."""


class Journal:
    """One append-only JSON-lines file of events (see the module docstring).

    :param path: the journal file; its folder is created on the first append.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.is_file()

    def append(self, events: Sequence[dict[str, Any]]) -> None:
        """Append whole events durably: one ``write`` under an exclusive lock, then ``fsync``."""
        if not events:
            return
        payload = "".join(
            json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in events
        )
        data = payload.encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            with file_lock(fd):
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # end a torn last line so the new events stand alone
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)

    def read(self, warn: bool = True) -> JournalRead:
        """Every valid event in journal order; unreadable lines are skipped (and warned about)."""
        result = JournalRead(events=[])
        if not self.path.exists():
            return result
        data = self._read_bytes(0)
        result.end = data.rfind(b"\n") + 1
        lines = data.split(b"\n")
        for i, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            last = i == len(lines)  # no newline after it: the last line, possibly torn
            event = _parse_line(raw)
            if event is None:
                what = "torn last line (a crash while writing)" if last else "unreadable line"
                result.problems.append(f"{self.path}: skipped {what} {i}: {raw[:80]!r}")
            else:
                result.events.append(event)
        if warn:
            for p in result.problems:
                warnings.warn(p, JournalWarning, stacklevel=2)
        return result

    def read_from(self, offset: int) -> tuple[list[dict[str, Any]], int, list[str]]:
        """Complete lines after byte ``offset``: ``(events, new_offset, problems)``.

        A trailing line without its newline is left for a later call (it may still be being
        written by another process; if it was torn, the next append ends it and it is reported
        then). Used by long-running readers such as the web server to follow the journal.
        """
        if not self.path.exists():
            return [], offset, []
        data = self._read_bytes(offset)
        end = data.rfind(b"\n")
        if end < 0:
            return [], offset, []
        events, problems = [], []
        for raw in data[:end].split(b"\n"):
            if not raw.strip():
                continue
            event = _parse_line(raw)
            if event is None:
                problems.append(f"{self.path}: skipped unreadable line: {raw[:80]!r}")
            else:
                events.append(event)
        return events, offset + end + 1, problems

    def _read_bytes(self, offset: int) -> bytes:
        with open(self.path, "rb") as f, file_lock(f.fileno(), shared=True):
            f.seek(offset)
            return f.read()


def _parse_line(raw: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
    ):
        return None
    return event


def _fsync_dir(path: Path) -> None:
    """Make a new file's directory entry durable too."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


KeyFn = Callable[[dict[str, Any]], Hashable]


class EventLog:
    """Follows a :class:`Journal` and keeps the current, non-undone event of every key.

    :param journal: the journal to follow.
    :param kind: the event type this log derives values from (``label``, ``rating``).
    :param key: the key of an event of that type, e.g. ``(frame_id, task, labeller)``.

    Call :meth:`refresh` to pick up events appended since (by this or another process). An undo
    event (``type == "undo"``, ``undoes == <id>``) removes the referenced event; the key then
    falls back to its previous non-undone event, if any. Not thread-safe: callers lock.
    """

    def __init__(self, journal: Journal, kind: str, key: KeyFn) -> None:
        self.journal = journal
        self.kind = kind
        self.key = key
        self.events: list[dict[str, Any]] = []
        self.by_id: dict[str, dict[str, Any]] = {}
        self.undone: set[str] = set()
        self.history: dict[Hashable, list[dict[str, Any]]] = {}
        self.problems: list[str] = []
        self._offset = 0

    def refresh(self) -> list[dict[str, Any]]:
        """Read the events appended since the last call; returns them."""
        events, self._offset, problems = self.journal.read_from(self._offset)
        for p in problems:
            warnings.warn(p, JournalWarning, stacklevel=2)
        self.problems.extend(problems)
        self.ingest(events)
        return events

    def load_all(self) -> "EventLog":
        """Read the whole journal, a torn last line included (skipped with a warning)."""
        read = self.journal.read()
        self.problems.extend(read.problems)
        self.ingest(read.events)
        # Follow on from the last complete line: a line still being written by another process
        # is read by the next refresh (events already seen are recognised by their id).
        self._offset = read.end
        return self

    def ingest(self, events: Iterable[dict[str, Any]]) -> None:
        for e in events:
            if e["id"] in self.by_id:
                continue  # the same event twice (e.g. a journal concatenated by hand)
            self.events.append(e)
            self.by_id[e["id"]] = e
            if e["type"] == self.kind:
                self.history.setdefault(self.key(e), []).append(e)
            elif e["type"] == UNDO and isinstance(e.get("undoes"), str):
                self.undone.add(e["undoes"])

    def current(self, key: Hashable) -> dict[str, Any] | None:
        """The live event of ``key`` (latest not undone), or ``None``."""
        for e in reversed(self.history.get(key, ())):
            if e["id"] not in self.undone:
                return e
        return None

    def live(self) -> list[dict[str, Any]]:
        """The live event of every key that has one, in journal order of those events."""
        out = [c for c in (self.current(k) for k in self.history) if c is not None]
        order = {e["id"]: i for i, e in enumerate(self.events)}
        out.sort(key=lambda e: order[e["id"]])
        return out

    def last_undoable(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The latest live event of this log's kind that ``match`` accepts (what ``u`` undoes)."""
        for e in reversed(self.events):
            if e["type"] == self.kind and e["id"] not in self.undone and match(e):
                return e
        return None

    def undo_event(self, target: dict[str, Any], labeller: str, source: str) -> dict[str, Any]:
        """Build (not append) the undo event of ``target``; it copies the target's key fields."""
        copy = {
            k: v
            for k, v in target.items()
            if k not in {"v", "id", "type", "time", "labeller", "source"}
        }
        copy.pop(self.kind, None)
        return {
            "v": JOURNAL_VERSION,
            "id": new_event_id(),
            "type": UNDO,
            "undoes": target["id"],
            **copy,
            "labeller": labeller,
            "time": utc_now(),
            "source": source,
        }
