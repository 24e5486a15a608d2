"""What another process tells this one: the typed messages of a worker process to its parent,
and :class:`UserError`, a user error that crosses processes and is raised again as the same
class with the same sentence (by the parent of a worker, by every torchrun rank)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class UserError:
    """An :class:`~evalkit.errors.EvalkitError` as picklable data: its class and its sentence."""

    module: str
    name: str
    message: str

    @classmethod
    def of(cls, exc: EvalkitError) -> UserError:
        return cls(type(exc).__module__, type(exc).__qualname__, str(exc))

    def exception(self) -> EvalkitError:
        """The error again: the same class (:class:`EvalkitError` if it cannot be found), the same sentence."""
        try:
            found = getattr(importlib.import_module(self.module), self.name, None)
        except ImportError:
            found = None
        cls = found if isinstance(found, type) and issubclass(found, EvalkitError) else EvalkitError
        return cls(self.message)


@dataclass(frozen=True)
class _FromWorker:
    worker: int
    """The worker's index (its device is the parent's ``devices[worker]``)."""


@dataclass(frozen=True)
class Ready(_FromWorker):
    """The worker loaded its model and starts embedding (``time``: ``time.time()``)."""

    time: float


@dataclass(frozen=True)
class Progress(_FromWorker):
    """The worker embedded ``frames`` more frames."""

    frames: int


@dataclass(frozen=True)
class Note(_FromWorker):
    """A warning or note of the worker, for the user."""

    text: str


@dataclass(frozen=True)
class ShardsDone(_FromWorker):
    """The worker stored all its shards; ``batch_size`` is the one it ended with."""

    batch_size: int


@dataclass(frozen=True)
class Failed(_FromWorker):
    """The worker stopped on a user error."""

    error: UserError


@dataclass(frozen=True)
class Crashed(_FromWorker):
    """The worker stopped on an internal bug; ``traceback`` is its formatted traceback."""

    traceback: str


WorkerMessage = Ready | Progress | Note | ShardsDone | Failed | Crashed
"""Any message of a worker to its parent."""
