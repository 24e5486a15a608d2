"""The embedding engine: every frame of a dataset through the image tower once, on every device.

:func:`embed_dataset` reads frames in big batches straight from the dataset's memory-mapped
``frames.npy``, preprocesses each batch as tensors
(:class:`~evalkit.vlm.preprocess.BatchPreprocessor`: open_clip's PIL transform within one grey
level, resized in ``uint8`` on the host and normalised on the model's device), runs the image tower under ``torch.inference_mode`` in the chosen precision
(``fp32``, or ``bf16`` / ``fp16`` autocast) and stores float32, L2-normalised embeddings in the
dataset's cache (:mod:`evalkit.vlm.cache`), one shard at a time.

Devices (``devices=``):

- ``"auto"``: every CUDA GPU, else the CPU;
- ``"cpu"``, ``"cuda:0"``, ``"cuda:0,cuda:1"``: one worker per listed device; a device may be
  listed twice, e.g. ``"cpu,cpu"`` runs two CPU workers that share the cores.

With more than one device, one process per device is spawned (``torch.multiprocessing``); each
embeds a contiguous run of the missing shards; the parent merges. Under ``torchrun`` (``RANK``
and ``WORLD_SIZE`` in the environment) the same happens across processes and machines: each rank
takes its run of shards on ``cuda:LOCAL_RANK`` (or the CPU), and rank 0 merges, receiving over
``torch.distributed`` any shard it cannot see on its own disk::

    torchrun --nproc-per-node 8 --no-python evalkit embed humanoid-poses --model ViT-bigG-14

:class:`~evalkit.vlm.embedder.ImageEmbedder` is the same engine without a dataset: load a model
once, embed batches of ``uint8 (n, H, W, 3)`` frames (e.g. inside RL training), embed prompts.

This module composes the parts: :mod:`~evalkit.vlm.job` (what a run does, and one process's
share of it), :mod:`~evalkit.vlm.workers` (one process per device),
:mod:`~evalkit.vlm.torchrun` (ranks), :mod:`~evalkit.vlm.embedder`, :mod:`~evalkit.vlm.devices`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from evalkit.data.store import Dataset, open_dataset
from evalkit.vlm.backend import ResolvedModel, check_window_input
from evalkit.vlm.cache import EmbeddingCache, default_shard_frames
from evalkit.vlm.devices import parse_devices
from evalkit.vlm.embedder import ImageEmbedder, Message, check_batch_size, say_on_stderr
from evalkit.vlm.job import Embedded, EmbedJob, embed_here, progress_bar
from evalkit.vlm.models import ModelSpec, ensure_weights, resolve
from evalkit.vlm.precision import check_precision
from evalkit.vlm.preprocess import BatchPreprocessor, plan_resize
from evalkit.vlm.torchrun import TorchrunEnv, embed_with_torchrun
from evalkit.vlm.window_cache import dataset_windows, embedding_cache
from evalkit.vlm.windows import WindowSpec
from evalkit.vlm.workers import embed_with_workers


@dataclass
class Embeddings:
    """Image embeddings of a dataset (the result of :func:`embed_dataset`).

    ``values`` is float32 ``(frames, dim)``, unit norm, memory-mapped from the cache. Under
    ``torchrun`` only rank 0 gets them; other ranks get an empty array.
    """

    values: np.ndarray
    path: Path
    model: str
    random_weights: bool
    precision: str
    computed: int
    seconds: float
    seconds_embedding: float
    devices: tuple[str, ...]
    batch_size: int | None
    identity: dict[str, Any] = field(repr=False)

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    @property
    def dim(self) -> int:
        return int(self.values.shape[1]) if self.values.ndim == 2 else 0

    @property
    def images_per_second(self) -> float | None:
        """Frames embedded per second of embedding work (model loading excluded); ``None`` on a cache hit."""
        return (
            self.computed / self.seconds_embedding
            if self.computed and self.seconds_embedding > 0
            else None
        )


def embed_dataset(
    dataset: Dataset | str | os.PathLike[str],
    spec: ModelSpec | ResolvedModel | str,
    devices: str | Sequence[str] | None = "auto",
    batch_size: int | None = None,
    precision: str = "fp32",
    progress: bool = True,
    allow_upscale: bool = False,
    shard_frames: int | None = None,
    embedder: ImageEmbedder | None = None,
    root: str | os.PathLike[str] | None = None,
    on_message: Message | None = None,
    window: WindowSpec | None = None,
) -> Embeddings:
    """Embed every frame of ``dataset`` with ``spec`` once; later calls read the cache. With
    ``window``, embed the window ending at every frame instead (a video model's, e.g. X-CLIP or
    ``avg:<image model>``; :mod:`evalkit.vlm.windows`), in a cache of its own.

    :param dataset: a :class:`~evalkit.data.store.Dataset`, or its name (under ``root``) or path.
    :param spec: the model, e.g. ``ModelSpec("ViT-B-32")`` or ``"ViT-B-32"``.
    :param devices: ``"auto"``, ``"cpu"``, ``"cuda:0,cuda:1"``, ``"cpu,cpu"``... (module docs).
    :param batch_size: frames per forward pass (default 32 on CPU, 256 on GPU; halved on OOM).
    :param precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (part of the cache key).
    :param progress: show a progress bar on standard error.
    :param allow_upscale: accept frames smaller than the model's input.
    :param shard_frames: frames per cache shard (default: up to 2048).
    :param embedder: an already loaded :class:`ImageEmbedder` of the same model to use
        (single device only), instead of loading the model again.
    :param window: frames and stride of the windows; ``None``: single frames.
    :raises EvalkitError: bad model, weights, device, frames too small, NaN embeddings; single
        frames for a video model or windows for an image model; a window longer than every
        episode.
    """
    t0 = time.perf_counter()
    say = on_message or say_on_stderr
    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset, root)
    check_precision(precision)
    check_batch_size(batch_size)
    resolved = (
        embedder.resolved
        if embedder is not None
        else (spec if isinstance(spec, ResolvedModel) else resolve(spec))
    )
    check_window_input(resolved, None if window is None else window.frames)
    if window is not None:
        dataset_windows(ds, window)  # a window longer than every episode is said now
    cache = embedding_cache(ds, resolved, precision, window)
    env = TorchrunEnv.from_environ()
    if env is None and embedder is None:
        parse_devices(devices)  # a device that does not exist is said first, before anything else

    def result(run: Embedded) -> Embeddings:
        return Embeddings(
            values=run.values,
            path=cache.dir,
            model=resolved.label,
            random_weights=resolved.random_weights,
            precision=precision,
            computed=run.computed,
            seconds=time.perf_counter() - t0,
            seconds_embedding=run.seconds,
            devices=run.devices,
            batch_size=run.batch_size,
            identity=cache.key_fields,
        )

    cached = cache.load()
    if cached is not None:
        return result(Embedded(cached, 0, 0.0, (), None))
    plan = plan_resize(ds.manifest.frame_shape[:2], resolved.preprocess)
    if plan.upscales and not allow_upscale:
        BatchPreprocessor(
            resolved.preprocess, ds.manifest.frame_shape[:2]
        )  # raises the explained error
    job = EmbedJob(
        ds.path,
        resolved,
        precision,
        batch_size,
        allow_upscale,
        len(ds),
        shard_frames=shard_frames,
        window=window,
    )
    if env is not None:
        with cache.locked(say) if env.rank == 0 else contextlib.nullcontext():
            return result(embed_with_torchrun(job, ds, cache, env, progress, say))
    with cache.locked(say):
        cached = cache.load()  # another process may have finished it while we waited
        if cached is not None:
            return result(Embedded(cached, 0, 0.0, (), None))
        devices_used = [embedder.device] if embedder is not None else parse_devices(devices)
        return result(
            _embed_on_this_machine(job.on(devices_used), ds, cache, embedder, progress, say)
        )


def _embed_on_this_machine(
    job: EmbedJob,
    ds: Dataset,
    cache: EmbeddingCache,
    embedder: ImageEmbedder | None,
    progress: bool,
    say: Message,
) -> Embedded:
    """The job's missing shards in this process (one device) or in one worker process per device, merged."""
    ensure_weights(job.model)  # fail on missing weights before writing a cache or showing progress
    meta = cache.prepare(
        job.model.embed_dim,
        job.shard_frames or default_shard_frames(job.n_frames, len(job.devices)),
        warn=say,
    )
    job = job.planned(int(meta["shard_frames"]), cache.missing_shards(meta))
    job = job.on(job.devices[: max(1, len(job.shards))])
    bar = progress_bar(progress, job, job.n_frames, job.n_frames - job.frames)
    try:
        if len(job.devices) == 1:
            seconds, batch_size = embed_here(job, ds, cache, embedder, say, bar)
        else:
            seconds, batch_size = embed_with_workers(job, say, bar)
    finally:
        if bar is not None:
            bar.close()
    return Embedded(cache.merge(meta), job.frames, seconds, job.devices, batch_size)
