"""Run a grid of trials on a local process pool or on Ray; each trial is an ordinary folder.

A trial is a picklable function ``fn(folder, **kwargs)`` that writes its results into
``folder``. The grid runs each one in a hidden temporary folder and publishes it as
``root/<key>`` only when it finishes (with ``trial.json``: its settings and wall time), so:

- a finished trial is reused by a rerun (with the same settings; other settings are refused —
  results of two designs are never mixed);
- Ctrl-C or SIGTERM stops the grid and keeps every finished trial; unfinished ones leave
  nothing behind, and a rerun resumes;
- a trial that raises is reported with its error and does not stop the others.

The same holds on Ray (``ray_address``; :mod:`evalkit.validate.grid_ray`): each trial is a Ray
task that publishes its own folder, so ``root`` must be storage every node sees at that path.

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
from dataclasses import dataclass, field, replace
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
    :ivar num_cpus: CPUs its Ray task asks for (the local pool runs one trial per worker).
    :ivar num_gpus: GPUs its Ray task asks for (fractions share a GPU; ignored by the local pool).
    """

    key: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    num_cpus: float = 1.0
    num_gpus: float = 0.0


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


def _temporary(root: str | Path, key: str) -> Path:
    """Where trial ``key`` is written until it finishes (it exists while the trial runs)."""
    return Path(root) / f".{key}.tmp"


def run_trial(root: str, key: str, fn: Callable[..., Any], kwargs: dict[str, Any]) -> float:
    """Run one trial into a temporary folder and publish it as ``root/key``; its wall time.

    (What a worker runs; a trial may also be run in-process with it.)
    """
    target = Path(root) / key
    start = time.monotonic()
    with atomic_folder(target, temporary=_temporary(root, key)) as tmp:
        fn(tmp, **kwargs)
        seconds = time.monotonic() - start
        record = {"key": key, "settings": kwargs, "seconds": seconds, "pid": os.getpid()}
        atomic_write_text(json.dumps(record, indent=2) + "\n", tmp / TRIAL_FILE)
    return seconds


Outcome = tuple[str, Any]
"""A trial's end: ``("ok", seconds)`` or ``("error", text)``."""


def attempt_trial(root: str, key: str, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Outcome:
    """Run one trial (:func:`run_trial`) and return its :data:`Outcome`; it never raises.

    (What a pool worker and a Ray task run.)
    """
    try:
        return ("ok", run_trial(root, key, fn, kwargs))
    except BaseException as exc:  # every failure is the trial's result
        return ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")


def crashed(detail: str) -> Outcome:
    """The :data:`Outcome` of a trial whose process ended without sending one (``detail``: how)."""
    return ("error", f"its process ended before finishing (killed or crashed): {detail}")


class GridBook:
    """The bookkeeping of a running grid, shared by its backends: each trial's end, the
    cleanup after it, and the progress line.

    :param result: the result the ends are recorded in (with the reused trials already).
    :param total: trials in the grid.
    :param progress: called with a :class:`GridProgress`.
    :param parallel: trials that run at once, for the ETA (a backend may raise it).
    """

    def __init__(
        self,
        result: GridResult,
        total: int,
        progress: Callable[[GridProgress], None] | None,
        parallel: int,
    ) -> None:
        self.result, self.total, self.parallel = result, total, parallel
        self._progress = progress or (lambda p: None)

    @property
    def root(self) -> Path:
        """The grid's folder."""
        return self.result.root

    def status(self, running: int) -> GridProgress:
        """Where the grid stands with ``running`` trials running."""
        result = self.result
        done = len(result.reused) + len(result.finished)
        left = self.total - done - len(result.failed)
        eta = None
        if result.seconds:
            mean = sum(result.seconds.values()) / len(result.seconds)
            eta = mean * left / min(self.parallel, max(left, 1))
        return GridProgress(done, running, len(result.failed), self.total, eta)

    def report(self, running: int) -> None:
        """Send the progress with ``running`` trials running."""
        self._progress(self.status(running))

    def started(self, key: str) -> bool:
        """Whether trial ``key`` is running (its temporary folder exists)."""
        return _temporary(self.root, key).exists()

    def record(self, key: str, outcome: Outcome) -> None:
        """Record how trial ``key`` ended and remove what an unfinished one left."""
        if outcome[0] == "ok":
            self.result.finished.append(key)
            self.result.seconds[key] = outcome[1]
        else:
            self.result.failed[key] = outcome[1]
        self.discard(key)

    def discard(self, key: str) -> None:
        """Remove the temporary folder of trial ``key`` (left by a crash or an interruption)."""
        shutil.rmtree(_temporary(self.root, key), ignore_errors=True)


def _plan(trials: list[Trial], out: Path) -> tuple[GridResult, list[Trial]]:
    """Check the grid, reuse the finished trials of the same settings; the result and the rest.

    :raises GridError: bad or duplicate names, settings that are not JSON, a folder holding a
        trial with other settings.
    """
    keys = [t.key for t in trials]
    for key in keys:
        _check_key(key)
    if len(set(keys)) != len(keys):
        raise GridError("Two trials of the grid have the same name; give each its own.")
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
    return result, todo


def run_grid(
    trials: list[Trial],
    root: str | os.PathLike[str],
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Callable[[GridProgress], None] | None = None,
    start_method: str = "spawn",
) -> GridResult:
    """Run every trial not finished yet under ``root``, on a local pool or on Ray.

    :param workers: local processes (default: the CPU count); with ``ray_address="local"`` the
        CPUs of the Ray instance it starts; not allowed with a cluster's address.
    :param ray_address: ``None``: the local process pool; ``"local"``: start a Ray instance on
        this machine for the grid (its tasks import what this process imports, as the pool's
        do); ``"auto"``: the Ray cluster this machine is part of (or ``$RAY_ADDRESS``);
        ``"host:port"`` (the head's GCS port) or ``"ray://host:port"`` (Ray Client): connect to
        that cluster, whose nodes must see ``root`` at the same path and import ``fn``.
    :param progress: called with a :class:`GridProgress` whenever a trial starts or ends.
    :param start_method: how the pool's trial processes start (``"spawn"``: fresh interpreters,
        safe with threads and torch; ``"fork"``: faster). Each trial gets its own process, so a
        trial that crashes its interpreter fails alone.
    :raises GridError: a folder holds a trial with other settings, duplicate keys, bad workers,
        Ray not installed or not answering at ``ray_address``.
    :raises KeyboardInterrupt: on Ctrl-C / SIGTERM, after stopping the running trials; finished
        trials are kept.
    """
    if workers is not None and workers < 1:
        raise GridError(f"--workers must be at least 1, not {workers}.")
    result, todo = _plan(trials, Path(root))
    if ray_address is None:
        workers = workers or os.cpu_count() or 1
        book = GridBook(result, len(trials), progress, parallel=workers)
    else:
        book = GridBook(result, len(trials), progress, parallel=1)
    book.report(0)
    if not todo:
        return result
    if ray_address is None:
        _run_pool(todo, book, workers, start_method)
    else:
        from evalkit.validate.grid_ray import run_on_ray

        run_on_ray(todo, book, ray_address, workers)
    return result


@dataclass(frozen=True)
class GridOptions:
    """Where a grid runs, as a command's options give it (see :func:`run_grid`).

    :ivar workers: local processes (``--workers``; with a local Ray, its CPUs).
    :ivar ray_address: ``None`` for the local pool, else where Ray runs (``--ray``).
    :ivar gpus_per_trial: each trial's GPU request on Ray (``None``: the trial's own).
    """

    workers: int | None = None
    ray_address: str | None = None
    gpus_per_trial: float | None = None

    def check(self) -> None:
        """Fail now, before any work, where the grid could not run: Ray missing, or an address
        that does not answer (:func:`evalkit.validate.grid_ray.check_address`).

        :raises GridError: in one sentence.
        """
        if self.workers is not None and self.workers < 1:
            raise GridError(f"--workers must be at least 1, not {self.workers}.")
        if self.ray_address is not None:
            from evalkit.validate.grid_ray import check_address, import_ray

            import_ray()
            check_address(self.ray_address, self.workers)

    def run(
        self,
        trials: list[Trial],
        root: str | os.PathLike[str],
        progress: Callable[[GridProgress], None] | None = None,
    ) -> GridResult:
        """Run ``trials`` under ``root`` with these options (:func:`run_grid`)."""
        if self.gpus_per_trial is not None:
            trials = [replace(t, num_gpus=self.gpus_per_trial) for t in trials]
        return run_grid(
            trials, root, workers=self.workers, ray_address=self.ray_address, progress=progress
        )


def _worker(conn: Connection, root: str, key: str, fn: Callable[..., Any], kwargs: dict) -> None:
    """A trial's process: run it and send its :data:`Outcome`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grid stops its trials itself
    try:
        conn.send(attempt_trial(root, key, fn, kwargs))
    finally:
        conn.close()


@dataclass
class _Running:
    trial: Trial
    process: BaseProcess
    conn: Connection


def _run_pool(todo: list[Trial], book: GridBook, workers: int, start_method: str) -> None:
    """Run ``todo`` on ``workers`` processes at a time, one process per trial."""
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
                    args=(child, str(book.root), trial.key, trial.fn, trial.kwargs),
                    name=f"evalkit-trial-{trial.key}",
                )
                process.start()
                child.close()
                running.append(_Running(trial, process, parent))
                book.report(len(running))
            ready = set(mp_wait([r.process.sentinel for r in running] + [r.conn for r in running]))
            for r in [r for r in running if r.process.sentinel in ready or r.conn in ready]:
                message = _receive(r.conn)
                r.process.join()
                book.record(r.trial.key, message or crashed(f"exit code {r.process.exitcode}"))
                r.conn.close()
                running.remove(r)
                book.report(len(running))
    except BaseException:
        for r in running:
            r.process.terminate()  # an unfinished trial is a temporary folder, removed below
        for r in running:
            r.process.join(timeout=10)
            book.discard(r.trial.key)
        raise


def _receive(conn: Connection) -> Outcome | None:
    """The trial's message, or ``None`` where its process ended without one."""
    try:
        return conn.recv() if conn.poll() else None
    except (EOFError, OSError):
        return None
