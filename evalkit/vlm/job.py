"""One embedding run as data, and how one process does its share of it.

:class:`EmbedJob` says everything a process needs: the dataset, the model, the precision,
the batch size, the devices and the shard plan (frames per shard, the shards to embed). It is
frozen and picklable: a worker process or a torchrun rank gets its own part
(:meth:`EmbedJob.split`). :func:`embed_here` embeds a job's shards in this process and stores
each shard in the cache as it is finished.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.progress import progress_bar as _bar
from evalkit.vlm.backend import ResolvedModel
from evalkit.vlm.cache import EmbeddingCache
from evalkit.vlm.embedder import ImageEmbedder, Message
from evalkit.vlm.window_cache import dataset_windows, embedding_cache
from evalkit.vlm.windows import WindowSpec


@dataclass(frozen=True)
class Embedded:
    """What a run computed: the merged embeddings (empty on torchrun ranks other than 0), the
    frames embedded, the seconds of embedding, the devices and the batch size it ended with."""

    values: np.ndarray
    computed: int
    seconds: float
    devices: tuple[str, ...]
    batch_size: int | None


def split_contiguous(items: Sequence[int], parts: int) -> list[list[int]]:
    """``items`` cut into ``parts`` contiguous runs of (almost) equal length."""
    n = len(items)
    bounds = [i * n // parts for i in range(parts + 1)]
    return [list(items[bounds[i] : bounds[i + 1]]) for i in range(parts)]


@dataclass(frozen=True)
class EmbedJob:
    """What to embed and how.

    :param dataset: the dataset folder.
    :param model: the resolved model.
    :param precision: ``"fp32"``, ``"bf16"`` or ``"fp16"``.
    :param batch_size: frames per forward pass (``None``: the device's default).
    :param allow_upscale: accept frames smaller than the model's input.
    :param n_frames: frames in the dataset.
    :param devices: where to run, one process per device when there are several.
    :param shard_frames: frames per cache shard: the one asked for (``None``: the default) until
        :meth:`planned`, then the cache's.
    :param shards: the shards to embed (set by :meth:`planned`).
    :param window: embed the window of these frames and stride ending at every frame (a video
        model's), instead of every frame; ``None``: single frames.
    """

    dataset: Path
    model: ResolvedModel
    precision: str
    batch_size: int | None
    allow_upscale: bool
    n_frames: int
    devices: tuple[str, ...] = ()
    shard_frames: int | None = None
    shards: tuple[int, ...] = ()
    window: WindowSpec | None = None

    def cache(self, ds: Dataset) -> EmbeddingCache:
        """The cache this job fills (of frames, or of windows)."""
        return embedding_cache(ds, self.model, self.precision, self.window)

    def planned(self, shard_frames: int, shards: Sequence[int]) -> EmbedJob:
        """This job with the cache's shard size and the shards it still lacks."""
        return dataclasses.replace(self, shard_frames=int(shard_frames), shards=tuple(shards))

    def on(self, devices: Sequence[Any]) -> EmbedJob:
        """This job on other devices."""
        return dataclasses.replace(self, devices=tuple(str(d) for d in devices))

    def split(self, parts: int) -> list[EmbedJob]:
        """The job cut into ``parts`` jobs, each with a contiguous run of the shards."""
        return [
            dataclasses.replace(self, shards=tuple(run))
            for run in split_contiguous(self.shards, parts)
        ]

    def per_device(self) -> list[EmbedJob]:
        """One job per device, each on its device with its contiguous run of the shards."""
        return [
            part.on([device])
            for device, part in zip(self.devices, self.split(len(self.devices)), strict=True)
        ]

    @property
    def ranges(self) -> list[tuple[int, int]]:
        """``(first, end)`` frame of every shard of the dataset."""
        assert self.shard_frames is not None, "the job is not planned"
        return EmbeddingCache.shard_ranges(self.n_frames, self.shard_frames)

    @property
    def frames(self) -> int:
        """Frames in the job's shards."""
        ranges = self.ranges
        return sum(ranges[i][1] - ranges[i][0] for i in self.shards)

    def embedder(self, on_message: Message) -> ImageEmbedder:
        """The model loaded on the job's (first) device with the job's settings."""
        return ImageEmbedder(
            self.model,
            self.devices[0],
            self.precision,
            self.batch_size,
            self.allow_upscale,
            on_message=on_message,
        )


def embed_shards(
    job: EmbedJob,
    embedder: ImageEmbedder,
    ds: Dataset,
    cache: EmbeddingCache,
    on_frames: Callable[[int], None],
) -> None:
    """Embed the job's shards with a loaded embedder and store each one as it is finished."""
    frames = ds.frames
    ranges = job.ranges
    windows = None if job.window is None else dataset_windows(ds, job.window)
    for index in job.shards:
        a, b = ranges[index]
        out = np.empty((b - a, embedder.embed_dim), dtype=np.float32)
        for i, j, emb in embedder.iter_batches(frames, a, b, windows):
            out[i - a : j - a] = emb.cpu().numpy()
            on_frames(j - i)
        cache.write_shard(index, out)


def embed_here(
    job: EmbedJob,
    ds: Dataset,
    cache: EmbeddingCache,
    embedder: ImageEmbedder | None,
    say: Message,
    bar: Any,
) -> tuple[float, int | None]:
    """Embed the job's shards in this process, with ``embedder`` if given (else the job's own,
    released at the end). Returns the seconds of embedding and the batch size it ended with."""
    if not job.shards:
        return 0.0, None
    if embedder is not None:
        embedder.allow_upscale = embedder.allow_upscale or job.allow_upscale
        if job.batch_size:
            embedder.batch_size = job.batch_size
        if embedder.precision != job.precision:
            raise EvalkitError(
                f"The embedder runs in {embedder.precision}, not the {job.precision} asked for."
            )
        return _timed(job, embedder, ds, cache, bar)
    with job.embedder(say) as own:
        return _timed(job, own, ds, cache, bar)


def _timed(
    job: EmbedJob, embedder: ImageEmbedder, ds: Dataset, cache: EmbeddingCache, bar: Any
) -> tuple[float, int]:
    t = time.perf_counter()
    embed_shards(job, embedder, ds, cache, (bar.update if bar is not None else (lambda n: None)))
    return time.perf_counter() - t, embedder.batch_size


def progress_bar(enabled: bool, job: EmbedJob, total: int, done: int) -> Any:
    """A progress bar on standard error over ``total`` frames, ``done`` of them already done; ``None`` if disabled."""
    if not enabled:
        return None
    where = ",".join(job.devices)
    return _bar(
        total, f"embed {job.model.display_name} on {where}", "img", initial=done, smoothing=0.1
    )
