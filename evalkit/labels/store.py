"""Human goal labels of a dataset's frames, kept in an append-only journal.

::

    from evalkit.data.store import open_dataset
    from evalkit.labels.store import LabelStore

    store = LabelStore(open_dataset("humanoid-poses"))
    e = store.add(12, "kneeling", "goal", labeller="alice")
    store.undo("alice", "kneeling")              # undoes e (the latest live label of alice)
    store.current()                              # tidy table of the live labels

A label is ``goal``, ``not_goal`` or ``skip`` (the labeller looked and could not decide; skips
are kept but never enter a label set). The journal is ``<dataset>/labels/human.journal.jsonl``
(:mod:`evalkit.labels.journal` explains its guarantees); the live label of a
``(frame_id, task, labeller)`` is its latest event that was not undone.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from evalkit.data.store import LABELS_DIR, Dataset
from evalkit.errors import EvalkitError
from evalkit.labels.journal import (
    JOURNAL_VERSION,
    EventLog,
    Journal,
    check_labeller,
    new_event_id,
    utc_now,
)
from evalkit.tasks import get_task

LABELS = ("goal", "not_goal", "skip")
"""The values a human label can take."""

LABEL_KIND = "label"
HUMAN_JOURNAL = "human.journal.jsonl"
CURRENT_COLUMNS = ["frame_id", "task", "labeller", "label", "time", "event_id", "source"]


def check_task_for_dataset(dataset: Dataset, task: str):
    """The registered task ``task``, which must run on the dataset's environment family."""
    t = get_task(task)
    if t.family != dataset.family:
        raise EvalkitError(
            f"Task {task!r} is a {t.family} task but dataset {dataset.name!r} holds {dataset.family} "
            f"frames; pick a {dataset.family} task (see 'evalkit tasks')."
        )
    return t


def check_label(label: Any) -> str:
    if label not in LABELS:
        raise EvalkitError(f"{label!r} is not a label; use one of {', '.join(LABELS)}.")
    return label


def check_frame_id(dataset: Dataset, frame_id: Any) -> int:
    """A frame id of ``dataset`` as an int (booleans, floats and out-of-range ids are refused)."""
    if isinstance(frame_id, (bool, np.bool_)) or not isinstance(frame_id, (int, np.integer)):
        raise EvalkitError(f"Frame id {frame_id!r} is not an integer.")
    if not 0 <= int(frame_id) < len(dataset):
        raise EvalkitError(
            f"Frame {frame_id} does not exist: dataset {dataset.name!r} has frames 0..{len(dataset) - 1}."
        )
    return int(frame_id)


class JournalStore:
    """Shared machinery of the label and rating stores: a journal, its derived log, a lock.

    :param dataset: the dataset the events belong to.
    :param journal_name: file name under ``<dataset>/labels/``.
    :param kind: event type holding values (``label`` / ``rating``).
    :param key_fields: the fields that identify what an event is about (plus ``labeller``).
    """

    def __init__(
        self, dataset: Dataset, journal_name: str, kind: str, key_fields: tuple[str, ...]
    ) -> None:
        self.dataset = dataset
        self.journal = Journal(dataset.path / LABELS_DIR / journal_name)
        self.kind = kind
        self.key_fields = key_fields
        self.log = EventLog(self.journal, kind, key=lambda e: tuple(e.get(f) for f in key_fields))
        self._lock = threading.RLock()
        self.log.load_all()

    @property
    def path(self):
        return self.journal.path

    def refresh(self) -> None:
        """Pick up events appended by other processes (or tabs served by another server)."""
        with self._lock:
            self.log.refresh()

    def _event(
        self, fields: Mapping[str, Any], labeller: str, source: str, time: str | None
    ) -> dict[str, Any]:
        return {
            "v": JOURNAL_VERSION,
            "id": new_event_id(),
            "type": self.kind,
            **fields,
            "labeller": check_labeller(labeller),
            "time": time or utc_now(),
            "source": source,
        }

    def _append(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            self.journal.append(events)
            self.log.refresh()
        return events

    def undo(
        self, labeller: str, event_id: str | None = None, source: str = "api", **match: Any
    ) -> dict[str, Any] | None:
        """Undo ``event_id``, or the latest live event of ``labeller`` whose fields equal ``match``.

        Returns the undone event (``None`` if there was nothing to undo). The undo is an event of
        its own; the key falls back to its previous live value.
        """
        check_labeller(labeller)
        with self._lock:
            self.log.refresh()
            if event_id is not None:
                target = self.log.by_id.get(event_id)
                if target is None or target["type"] != self.kind:
                    raise EvalkitError(f"No {self.kind} event with id {event_id!r} in {self.path}.")
                if event_id in self.log.undone:
                    return None
            else:
                target = self.log.last_undoable(
                    lambda e: (
                        e.get("labeller") == labeller
                        and all(e.get(k) == v for k, v in match.items())
                    )
                )
                if target is None:
                    return None
            self._append([self.log.undo_event(target, labeller, source)])
            return target

    def live(self) -> list[dict[str, Any]]:
        """The live event of every key, refreshed from the journal."""
        with self._lock:
            self.log.refresh()
            return self.log.live()


class LabelStore(JournalStore):
    """The human goal labels of one dataset (see the module docstring).

    :param dataset: an opened dataset.
    :param journal_name: the journal file under ``labels/`` (default ``human.journal.jsonl``).
    """

    def __init__(self, dataset: Dataset, journal_name: str = HUMAN_JOURNAL) -> None:
        super().__init__(dataset, journal_name, LABEL_KIND, ("frame_id", "task", "labeller"))
        self._checked_tasks: set[str] = set()

    def _check_task(self, task: str) -> str:
        if task not in self._checked_tasks:
            check_task_for_dataset(self.dataset, task)
            self._checked_tasks.add(task)
        return task

    def make_event(
        self,
        frame_id: int,
        task: str,
        label: str,
        labeller: str,
        *,
        source: str = "api",
        time: str | None = None,
    ) -> dict[str, Any]:
        """A validated label event, not yet appended."""
        fields = {
            "frame_id": check_frame_id(self.dataset, frame_id),
            "task": self._check_task(task),
            "label": check_label(label),
        }
        return self._event(fields, labeller, source, time)

    def add(
        self,
        frame_id: int,
        task: str,
        label: str,
        labeller: str,
        *,
        source: str = "api",
        time: str | None = None,
    ) -> dict[str, Any]:
        """Record one label durably (fsync'd before this returns) and return its event."""
        return self._append(
            [self.make_event(frame_id, task, label, labeller, source=source, time=time)]
        )[0]

    def add_many(
        self, items: Iterable[Mapping[str, Any]], *, source: str = "api"
    ) -> list[dict[str, Any]]:
        """Record many labels with one write and one fsync; all are validated first.

        Each item has ``frame_id``, ``task``, ``label``, ``labeller`` and optionally ``time``.
        """
        events = [
            self.make_event(
                i["frame_id"],
                i["task"],
                i["label"],
                i["labeller"],
                source=source,
                time=i.get("time"),
            )
            for i in items
        ]
        return self._append(events)

    def undo_last(self, labeller: str, task: str, source: str = "api") -> dict[str, Any] | None:
        """Undo the latest live label of ``labeller`` on ``task``; returns it (or ``None``)."""
        return self.undo(labeller, source=source, task=task)

    def current(self, task: str | None = None, labeller: str | None = None) -> pd.DataFrame:
        """The live labels, one row per ``(frame_id, task, labeller)`` (skips included)."""
        rows = [
            e
            for e in self.live()
            if (task is None or e.get("task") == task)
            and (labeller is None or e.get("labeller") == labeller)
        ]
        return current_table(rows)

    def labels_of(self, task: str, labeller: str) -> dict[int, str]:
        """``{frame_id: label}`` of one labeller on one task (what the web page shows)."""
        with self._lock:
            self.log.refresh()
            out = {}
            for frame_id, t, who in self.log.history:
                if t == task and who == labeller:
                    e = self.log.current((frame_id, t, who))
                    if e is not None:
                        out[frame_id] = e["label"]
            return out


def current_table(events: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy table (:data:`CURRENT_COLUMNS`) of label events."""
    table = pd.DataFrame(
        {
            "frame_id": pd.Series([e["frame_id"] for e in events], dtype=np.int64),
            "task": pd.Series([e["task"] for e in events], dtype=object),
            "labeller": pd.Series([e["labeller"] for e in events], dtype=object),
            "label": pd.Series([e["label"] for e in events], dtype=object),
            "time": pd.Series([e.get("time", "") for e in events], dtype=object),
            "event_id": pd.Series([e["id"] for e in events], dtype=object),
            "source": pd.Series([e.get("source", "") for e in events], dtype=object),
        }
    )
    return table.sort_values(["task", "labeller", "frame_id"], kind="stable").reset_index(drop=True)
