"""Run a grid of trials on a local process pool; each trial is an ordinary folder.

A trial is a picklable function ``fn(folder, **kwargs)`` that writes its results into
``folder``. The grid runs each one in a hidden temporary folder and publishes it as
``root/<key>`` only when it finishes (with ``trial.json``: its settings and wall time), so:

- a finished trial is reused by a rerun (with the same settings; other settings are refused —
  results of two designs are never mixed);
- Ctrl-C or SIGTERM stops the grid and keeps every finished trial; unfinished ones leave
  nothing behind, and a rerun resumes;
- a trial that raises is reported with its error and does not stop the others.

Example::

    def square(folder, x):
        (folder / "y.txt").write_text(str(x * x))

    result = run_grid([Trial(f"x{x}", square, {"x": x}) for x in range(4)], "runs/grid")
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Callable

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_folder, atomic_write_text

TRIAL_FILE = "trial.json"


class GridError(EvalkitError):
    """A grid cannot run as asked (a folder holds a trial of other settings, bad options)."""


@dataclass(frozen=True)
class Trial:
    """One trial of a grid.

    :ivar key: its folder name under the grid's root (letters, digits, ``-_.=``).
    :ivar fn: ``fn(folder, **kwargs)``, a module-level function (it is pickled to a worker).
    :ivar kwargs: its arguments; they are also the settings recorded in ``trial.json`` and
        compared on reuse, so they must be JSON-serialisable.
    """

    key: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GridProgress:
    """Where a grid stands: trials done (including reused), running, failed, of ``total``, and
    the estimated seconds left (``None`` until a trial has finished here)."""

    done: int
    running: int
    failed: int
    total: int
    eta_s: float | None

    def line(self) -> str:
        """``12/40 done, 2 running, 1 failed, ETA 3 min`` (one line for a terminal)."""
        eta = "ETA ?" if self.eta_s is None else f"ETA {_duration(self.eta_s)}"
        return f"{self.done}/{self.total} done, {self.running} running, {self.failed} failed, {eta}"


@dataclass
class GridResult:
    """What a grid run did.

    :ivar root: the grid's folder.
    :ivar finished: keys of the trials finished in this run.
    :ivar reused: keys of the trials found finished and reused.
    :ivar failed: key → the error (type, message and the worker's traceback) of each trial that raised.
    :ivar seconds: wall time of each trial finished in this run.
    """

    root: Path
    finished: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def folder(self, key: str) -> Path:
        """The folder of trial ``key``."""
        return self.root / key


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _check_key(key: str) -> None:
    ok = key and key[0] not in "._" and all(c.isalnum() or c in "-_.=" for c in key)
    if not ok:
        raise GridError(
            f"{key!r} is not a usable trial name; use letters, digits and -_.= (not starting with . or _)."
        )


def _settings(trial: Trial) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(trial.kwargs))
    except (TypeError, ValueError):
        raise GridError(
            f"The settings of trial {trial.key!r} cannot be written as JSON; pass numbers, strings, lists and dicts."
        ) from None


def finished_settings(folder: Path) -> dict[str, Any] | None:
    """The settings of the finished trial in ``folder``, or ``None`` where none finished."""
    try:
        return json.loads((folder / TRIAL_FILE).read_text())["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_trial(root: str, key: str, fn: Callable[..., Any], kwargs: dict[str, Any]) -> float:
    """Run one trial into a temporary folder and publish it as ``root/key``; its wall time.

    (What a worker runs; a trial may also be run in-process with it.)
    """
    target = Path(root) / key
    start = time.monotonic()
    with atomic_folder(target, temporary=Path(root) / f".{key}.tmp") as tmp:
        fn(tmp, **kwargs)
        seconds = time.monotonic() - start
        record = {"key": key, "settings": kwargs, "seconds": seconds, "pid": os.getpid()}
        atomic_write_text(json.dumps(record, indent=2) + "\n", tmp / TRIAL_FILE)
    return seconds


def _worker(conn: Connection, root: str, key: str, fn: Callable[..., Any], kwargs: dict) -> None:
    """A trial's process: run it and send ``("ok", seconds)`` or ``("error", text)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grid stops its trials itself
    try:
        conn.send(("ok", run_trial(root, key, fn, kwargs)))
    except BaseException as exc:  # every failure is the trial's result
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


@dataclass
class _Running:
    trial: Trial
    process: BaseProcess
    conn: Connection


def run_grid(
    trials: list[Trial],
    root: str | os.PathLike[str],
    *,
    workers: int | None = None,
    progress: Callable[[GridProgress], None] | None = None,
    start_method: str = "spawn",
) -> GridResult:
    """Run every trial not finished yet under ``root`` on a pool of ``workers`` processes.

    :param workers: processes (default: the CPU count).
    :param progress: called with a :class:`GridProgress` whenever a trial starts or ends.
    :param start_method: how trial processes start (``"spawn"``: fresh interpreters, safe with
        threads and torch; ``"fork"``: faster). Each trial gets its own process, so a trial
        that crashes its interpreter fails alone.
    :raises GridError: a folder holds a trial with other settings, duplicate keys, bad workers.
    :raises KeyboardInterrupt: on Ctrl-C / SIGTERM, after stopping the workers; finished trials
        are kept.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise GridError(f"--workers must be at least 1, not {workers}.")
    keys = [t.key for t in trials]
    for key in keys:
        _check_key(key)
    if len(set(keys)) != len(keys):
        raise GridError("Two trials of the grid have the same name; give each its own.")
    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    result = GridResult(out)
    todo = []
    for trial in trials:
        settings, earlier = _settings(trial), finished_settings(out / trial.key)
        if earlier is None:
            todo.append(trial)
        elif earlier == settings:
            result.reused.append(trial.key)
        else:
            raise GridError(
                f"{out / trial.key} holds a finished trial with other settings; use a new folder "
                "for this grid (results of two designs are never mixed) or delete that trial."
            )
    report = progress or (lambda p: None)
    total = len(trials)

    def status(running: int) -> GridProgress:
        done = len(result.reused) + len(result.finished)
        left = total - done - len(result.failed)
        eta = None
        if result.seconds:
            mean = sum(result.seconds.values()) / len(result.seconds)
            eta = mean * left / min(workers, max(left, 1))
        return GridProgress(done, running, len(result.failed), total, eta)

    report(status(0))
    if not todo:
        return result
    context = multiprocessing.get_context(start_method)
    queue = list(todo)
    running: list[_Running] = []
    try:
        while queue or running:
            while queue and len(running) < workers:
                trial = queue.pop(0)
                parent, child = context.Pipe(duplex=False)
                process = context.Process(
                    target=_worker,
                    args=(child, str(out), trial.key, trial.fn, trial.kwargs),
                    name=f"evalkit-trial-{trial.key}",
                )
                process.start()
                child.close()
                running.append(_Running(trial, process, parent))
                report(status(len(running)))
            ready = set(mp_wait([r.process.sentinel for r in running] + [r.conn for r in running]))
            for r in [r for r in running if r.process.sentinel in ready or r.conn in ready]:
                message = _receive(r.conn)
                r.process.join()
                if message is not None and message[0] == "ok":
                    result.finished.append(r.trial.key)
                    result.seconds[r.trial.key] = message[1]
                elif message is not None:
                    result.failed[r.trial.key] = message[1]
                else:
                    result.failed[r.trial.key] = (
                        f"its process ended with exit code {r.process.exitcode} before finishing "
                        "(killed or crashed)"
                    )
                r.conn.close()
                shutil.rmtree(out / f".{r.trial.key}.tmp", ignore_errors=True)  # after a crash
                running.remove(r)
                report(status(len(running)))
    except BaseException:
        for r in running:
            r.process.terminate()  # an unfinished trial is a temporary folder, removed below
        for r in running:
            r.process.join(timeout=10)
            shutil.rmtree(out / f".{r.trial.key}.tmp", ignore_errors=True)
        raise
    return result


def _receive(conn: Connection) -> tuple[str, Any] | None:
    """The trial's message, or ``None`` where its process ended without one."""
    try:
        return conn.recv() if conn.poll() else None
    except (EOFError, OSError):
        return None
