"""The lock of a run folder: one process trains a run at a time, and others can tell."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.fileio import file_lock
from evalkit.train.config import CONFIG_FILE

LOCK_FILE = "train.lock"
"""Held (``flock``) by the process training the run; the kernel drops it when that process dies."""


class RunLock:
    """The lock of a run folder, held while a process trains it: two processes never train one
    run at once, and ``evalkit runs`` knows a run is training (not a guess from file times).

    Entering takes the lock of an existing run; :meth:`take` takes it once a new run's folder
    exists. Leaving releases it; a killed process releases it with its file descriptors.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._held = contextlib.ExitStack()
        self._taken = False

    def take(self) -> None:
        """Hold the lock now (nothing if already held).

        :raises EvalkitError: another process is training the run.
        """
        if self._taken:
            return
        try:
            self._held.enter_context(file_lock(self.run_dir / LOCK_FILE, wait=False))
        except BlockingIOError:
            raise EvalkitError(
                f"{self.run_dir} is being trained by another process right now; wait for it to "
                "finish, or stop it (Ctrl-C) before resuming it here."
            ) from None
        except OSError as exc:
            raise EvalkitError(
                f"Cannot lock {self.run_dir / LOCK_FILE} ({exc.strerror or exc}); train into a "
                "folder you can write to."
            ) from None
        self._taken = True

    def __enter__(self) -> "RunLock":
        if (self.run_dir / CONFIG_FILE).is_file() or (self.run_dir / LOCK_FILE).is_file():
            self.take()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._held.close()
        self._taken = False


def run_is_training(run_dir: Path) -> bool | None:
    """Whether a process holds the run's lock now (``None``: the run has no lock file, as runs
    made before evalkit kept one)."""
    path = Path(run_dir) / LOCK_FILE
    if not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)  # read-only: a runs folder of another user works too
    except OSError:
        return None
    try:
        with file_lock(fd, shared=True, wait=False):
            return False
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)
