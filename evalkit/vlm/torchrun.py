"""Under ``torchrun``: every rank embeds a contiguous run of the missing shards (on
``cuda:LOCAL_RANK``, or the CPU), and rank 0 merges, receiving over ``torch.distributed`` the
shards it cannot see on its own disk. A user error on any rank is raised on every rank as the
same class with the same sentence."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.vlm.cache import EmbeddingCache, default_shard_frames
from evalkit.vlm.devices import cpu_count
from evalkit.vlm.embedder import Message
from evalkit.vlm.job import Embedded, EmbedJob, embed_here, progress_bar
from evalkit.vlm.messages import UserError


@dataclass(frozen=True)
class TorchrunEnv:
    """This process's place among torchrun's: its rank, the world size, its local rank and local world size."""

    rank: int
    world: int
    local_rank: int
    local_world: int

    @classmethod
    def from_environ(cls) -> TorchrunEnv | None:
        """The place from ``RANK``, ``WORLD_SIZE``... under torchrun, else ``None``."""
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if world <= 1 or "RANK" not in os.environ:
            return None
        rank = int(os.environ["RANK"])
        local = int(os.environ.get("LOCAL_RANK", rank))
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        return cls(rank, world, local, local_world)


def _broadcast(value: Any) -> Any:
    """Rank 0's ``value`` on every rank."""
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def embed_with_torchrun(
    job: EmbedJob,
    ds: Dataset,
    cache: EmbeddingCache,
    env: TorchrunEnv,
    progress: bool,
    say: Message,
) -> Embedded:
    """This rank's share of the job, then rank 0's merge: the embeddings and the frames computed
    on rank 0 (none elsewhere), the seconds of the slowest rank, the smallest batch size."""
    rank, world = env.rank, env.world
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    device = (
        torch.device(f"cuda:{env.local_rank % torch.cuda.device_count()}")
        if torch.cuda.is_available()
        else torch.device("cpu")
    )
    if device.type == "cpu":
        torch.set_num_threads(max(1, cpu_count() // max(1, env.local_world)))
    dim = job.model.embed_dim
    # Rank 0 prepares the cache first (on a shared disk the others then find it ready).
    meta = _broadcast(
        cache.prepare(dim, job.shard_frames or default_shard_frames(len(ds), world), warn=say)
        if rank == 0
        else None
    )
    if rank != 0:
        local = cache.prepare(dim, int(meta["shard_frames"]))
        if int(local["shard_frames"]) != int(
            meta["shard_frames"]
        ):  # a stale local copy: start it again
            cache.meta_path.unlink()
            cache.prepare(dim, int(meta["shard_frames"]))
    missing: list[int] = _broadcast(cache.missing_shards(meta) if rank == 0 else None)
    whole = job.planned(int(meta["shard_frames"]), missing).on([device])
    mine = whole.split(world)[rank]
    t_embed, bs, failure = 0.0, None, None
    bar = progress_bar(progress and rank == 0 and bool(mine.shards), mine, mine.frames, 0)
    try:
        t_embed, bs = embed_here(mine, ds, cache, None, say, bar)
    except EvalkitError as exc:
        failure = UserError.of(exc)
    finally:
        if bar is not None:
            bar.close()
    failures: list[Any] = [None] * world
    dist.all_gather_object(failures, failure)  # also waits for every rank's shards
    first = next((f for f in failures if f is not None), None)
    if first is not None:
        raise first.exception()
    # Shards rank 0 cannot see (no shared disk) travel over torch.distributed.
    unseen = set(
        _broadcast([i for i in missing if not cache.shard_path(i).is_file()] if rank == 0 else None)
    )
    if unseen:
        parcel = {i: np.load(cache.shard_path(i)) for i in mine.shards if i in unseen}
        gathered: list[Any] = [None] * world if rank == 0 else None  # type: ignore[assignment]
        dist.gather_object(parcel, gathered, dst=0)
        if rank == 0:
            for part in gathered:
                for i, values in part.items():
                    cache.write_shard(i, values)
    stats: list[Any] = [None] * world
    dist.all_gather_object(stats, (t_embed, bs))
    values = cache.merge(meta) if rank == 0 else np.zeros((0, dim), np.float32)
    dist.barrier()
    sizes = [b for _, b in stats if b is not None]
    return Embedded(
        values,
        whole.frames if rank == 0 else 0,
        max(t for t, _ in stats),
        (f"{world} ranks",),
        min(sizes) if sizes else None,
    )
