"""Several devices on one machine: one spawned worker process per device, each embedding a
contiguous run of the missing shards into the cache and reporting to the parent over a queue
in typed messages (:mod:`evalkit.vlm.messages`); a worker's user error is raised again in the
parent as the same class with the same sentence."""

from __future__ import annotations

import queue as queue_module
import time
import traceback
from typing import Any

import torch
import torch.multiprocessing as mp

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.vlm.devices import cpu_count
from evalkit.vlm.embedder import Message
from evalkit.vlm.job import EmbedJob, embed_shards
from evalkit.vlm.messages import (
    Crashed,
    Failed,
    Note,
    Progress,
    Ready,
    ShardsDone,
    UserError,
    WorkerMessage,
)


def worker_main(worker: int, job: EmbedJob, threads: int, messages: Any) -> None:
    """Entry point of a spawned worker: load the model, embed the job's shards, report through ``messages``."""
    try:
        torch.set_num_threads(max(1, threads))
        ds = Dataset(job.dataset)
        cache = job.cache(ds)
        embedder = job.embedder(lambda text: messages.put(Note(worker, text)))
        messages.put(Ready(worker, time.time()))
        embed_shards(job, embedder, ds, cache, lambda n: messages.put(Progress(worker, n)))
        messages.put(ShardsDone(worker, embedder.batch_size))
    except EvalkitError as exc:
        messages.put(Failed(worker, UserError.of(exc)))
    except BaseException:  # an internal bug: hand the traceback to the parent
        messages.put(Crashed(worker, traceback.format_exc()))


def _threads(job: EmbedJob, device: str) -> int:
    """Torch threads of the worker on ``device``: CPU workers share the cores, GPU workers take a few."""
    if device == "cpu":
        return max(1, cpu_count() // max(1, job.devices.count("cpu")))
    return max(1, min(4, cpu_count() // len(job.devices)))


def embed_with_workers(job: EmbedJob, say: Message, bar: Any) -> tuple[float, int | None]:
    """Embed the job's shards with one worker process per device.

    Returns the seconds from the last worker ready to the last done, and the smallest batch
    size the workers ended with.
    """
    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    devices = job.devices
    procs = []
    for w, part in enumerate(job.per_device()):
        p = ctx.Process(
            target=worker_main, daemon=True, args=(w, part, _threads(job, devices[w]), messages)
        )
        p.start()
        procs.append(p)
    pending = set(range(len(procs)))
    ready: dict[int, float] = {}
    sizes: list[int] = []
    try:
        while pending:
            try:
                message: WorkerMessage = messages.get(timeout=0.5)
            except queue_module.Empty:
                for w in list(pending):
                    code = procs[w].exitcode
                    if code is not None:
                        raise EvalkitError(
                            f"The worker on {devices[w]} died (exit code {code}), perhaps out of memory; finished "
                            "shards are kept: run again to resume (with a smaller --batch-size or fewer workers)."
                        ) from None
                continue
            match message:
                case Progress(frames=n):
                    if bar is not None:
                        bar.update(n)
                case Ready(worker=w, time=t):
                    ready[w] = t
                case Note(worker=w, text=text):
                    say(f"[{devices[w]}] {text}")
                case ShardsDone(worker=w, batch_size=size):
                    sizes.append(size)
                    pending.discard(w)
                case Failed(error=error):
                    raise error.exception()
                case Crashed(worker=w, traceback=trace):
                    raise RuntimeError(f"The worker on {devices[w]} failed:\n{trace}")
        finished = time.time()
    finally:
        for p in procs:
            if p.is_alive() and p.exitcode is None and pending:
                p.terminate()
        for p in procs:
            p.join(timeout=30)
    start = max(ready.values()) if ready else finished
    return max(0.0, finished - start), (min(sizes) if sizes else None)
