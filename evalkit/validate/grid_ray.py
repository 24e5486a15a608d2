"""The grid on Ray: each trial a Ray task that publishes its own folder.

:func:`run_on_ray` is the Ray backend of :func:`evalkit.validate.grid.run_grid`: planning,
reuse, the folder layout and the progress line are the grid's own (:class:`GridBook`); here
only where the trials run. A task runs :func:`~evalkit.validate.grid.attempt_trial`, which
writes the trial into its temporary folder and publishes it atomically, so the driver needs no
copy: the grid's folder must be storage every node sees at the same path (for ``"local"``, this
machine's disk). A task asks for its trial's ``num_cpus`` / ``num_gpus``; it is not retried
(a crashed trial is reported like on the pool, and a rerun of the grid resumes).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from evalkit.validate.grid import GridBook, GridError, Outcome, Trial, attempt_trial, crashed

CONNECT_TIMEOUT_S = 5.0
"""How long an address may take to answer before the grid gives up on it."""

POLL_S = 0.5
"""How often the driver looks for trials that started (for the progress line)."""

STOP_TIMEOUT_S = 10.0
"""How long cancelled tasks get to end before their temporary folders are removed."""

INSTALL_HINT = "pip install 'evalkit[ray]'"


def import_ray() -> ModuleType:
    """The ``ray`` module.

    :raises GridError: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise GridError(f"Running the grid on Ray needs Ray installed: {INSTALL_HINT}.") from None
    return ray


def check_address(address: str, workers: int | None) -> None:
    """Check that ``address`` is a Ray address that answers now (within seconds).

    ``"local"`` and ``"auto"`` need no check; ``host:port`` and ``ray://host:port`` must
    accept a TCP connection within :data:`CONNECT_TIMEOUT_S`.

    :raises GridError: not an address, nothing answers there, or ``workers`` with a cluster.
    """
    if address == "local":
        return
    if workers is not None:
        raise GridError(
            "--workers sets the local pool or a local Ray instance; a Ray cluster's own resources set how many trials run at once."
        )
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise GridError(
            f"{address!r} is not a Ray address; use host:port (the head's GCS port, 6379 by default), ray://host:port (Ray Client), auto or local."
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise GridError(
            f"No Ray cluster answers at {address} ({exc.strerror or exc}); start one there (ray start --head) or check the address."
        ) from None


@contextmanager
def ray_session(ray: ModuleType, address: str, workers: int | None) -> Iterator[None]:
    """Connect to Ray at ``address`` (or start a local instance) for the body; afterwards shut
    down what this started. A connection this process already has is used and left open.

    :raises GridError: Ray could not start or connect.
    """
    if ray.is_initialized():
        yield
        return
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    try:
        if address == "local":
            ray.init(
                address="local",
                num_cpus=workers,
                include_dashboard=False,
                logging_level=logging.WARNING,
                # the trials import what this process imports, as on the pool
                runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}},
            )
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
        ray.shutdown()
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
        raise GridError(
            f"Ray could not start or connect at {address}: {reason}{_auth_hint(address)}."
        ) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)  # ray.init replaces it with sys.exit
    try:
        yield
    finally:
        ray.shutdown()


def _auth_hint(address: str) -> str:
    """Why a cluster that answers may still refuse us: Ray turns token authentication on for a
    cluster whose head found a token, but a driver given an address uses one only with
    ``RAY_AUTH_MODE=token``."""
    if address == "local" or os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return ""
    return " (if the cluster uses token authentication, set RAY_AUTH_MODE=token and its token in RAY_AUTH_TOKEN or ~/.ray/auth_token)"


def run_on_ray(todo: list[Trial], book: GridBook, address: str, workers: int | None) -> None:
    """Run ``todo`` as Ray tasks at ``address``, recording each end in ``book``.

    :raises GridError: Ray missing or not answering, a negative CPU/GPU request.
    :raises KeyboardInterrupt: on Ctrl-C / SIGTERM, after cancelling the running tasks.
    """
    for trial in todo:
        if trial.num_cpus < 0 or trial.num_gpus < 0:
            raise GridError(
                f"Trial {trial.key!r} asks for {trial.num_cpus} CPUs and {trial.num_gpus} GPUs; a request cannot be negative."
            )
    ray = import_ray()
    check_address(address, workers)
    if address == "local":
        _check_fits(todo, "CPU", {"CPU": workers or os.cpu_count() or 1})
    with ray_session(ray, address, workers):
        if address == "local":  # a cluster may add nodes to fit a request; this one will not
            _check_fits(todo, "GPU", ray.cluster_resources())
        _run_tasks(ray, todo, book)


def _check_fits(todo: list[Trial], resource: str, have: dict[str, float]) -> None:
    """Refuse a trial that asks for more of ``resource`` than the local Ray instance has (its
    task would wait forever).

    :raises GridError: such a trial.
    """
    for trial in todo:
        ask = trial.num_cpus if resource == "CPU" else trial.num_gpus
        if ask > have.get(resource, 0):
            raise GridError(
                f"Trial {trial.key!r} asks for {ask:g} {resource}s but the local Ray instance has {have.get(resource, 0):g}; ask for fewer or give it more (--workers sets its CPUs)."
            )


def _run_tasks(ray: ModuleType, todo: list[Trial], book: GridBook) -> None:
    """Submit every trial, then record each end as it comes and report who started."""
    task = ray.remote(attempt_trial)
    root = str(book.root.resolve())
    pending: dict[Any, Trial] = {}
    try:
        for trial in todo:
            options = task.options(
                num_cpus=trial.num_cpus,
                num_gpus=trial.num_gpus,
                max_retries=0,
                name=f"evalkit-trial-{trial.key}",
            )
            pending[options.remote(root, trial.key, trial.fn, trial.kwargs)] = trial
        running = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            for ref in ready:
                book.record(pending.pop(ref).key, _outcome(ray, ref))
            now = sum(book.started(t.key) for t in pending.values())
            book.parallel = max(book.parallel, now)
            if ready or now != running:
                running = now
                book.report(running)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        if pending:
            ray.wait(list(pending), num_returns=len(pending), timeout=STOP_TIMEOUT_S)
        for trial in pending.values():
            book.discard(trial.key)
        raise


def _outcome(ray: ModuleType, ref: Any) -> Outcome:
    """The finished task's :data:`Outcome`, or a crash where its worker died."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        reason = (str(exc).strip().splitlines() or [""])[0]
        return crashed(f"{type(exc).__name__}: {reason}")
