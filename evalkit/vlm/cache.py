"""The embedding cache of a dataset: image embeddings in shards, merged once complete; text too.

Layout, under the dataset's ``embeddings/`` folder, one folder per key::

    embeddings/<model>-<weights>-<precision>-<key>/
        meta.json          the key (below), shard size, embedding dimension, completion
        shard-00000.npy    float32 (shard_size, dim), written while embedding (tmp + rename)
        embeddings.npy     float32 (n_frames, dim), L2-normalised, once every shard is done
        text.npz           text embeddings of prompts seen so far (prompt -> vector)

The key is a hash of: the dataset's content hash and frame shape, the model's identity
(:attr:`~evalkit.vlm.backend.ResolvedModel.identity`: for open_clip the architecture config
hash, weights: tag / checkpoint SHA-256 / random seed, QuickGELU, preprocessing config; for
Hugging Face the backend, the repository and its commit or the folder's file hashes, the
preprocessing config), the preprocessing implementation's version, and the precision. ``meta.json`` holds the full key; a folder whose meta does
not match what is asked for (edited, copied from elsewhere, made by another evalkit) is never
reused: it is wiped and recomputed, with a warning.

Every file is written next to its target and renamed into place, so a killed run leaves only
whole shards; the next run computes the missing shards only. One process writes a cache at a
time (a lock file beside the folder); a second one waits, then finds the work done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_path, atomic_write_text, file_lock
from evalkit.vlm.backend import ResolvedModel
from evalkit.vlm.preprocess import PREPROCESS_VERSION

CACHE_FORMAT = 1
META_FILE = "meta.json"
MERGED_FILE = "embeddings.npy"
TEXT_FILE = "text.npz"
DEFAULT_SHARD_FRAMES = 2048
MIN_SHARD_FRAMES = 256


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:48] or "x"


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=list)


def default_shard_frames(n_frames: int, n_workers: int = 1) -> int:
    """Frames per shard: about 4 shards per worker, but at least 256 (a big batch) and at most 2048."""
    per = -(-n_frames // max(1, 4 * n_workers))
    return int(max(1, min(n_frames, max(MIN_SHARD_FRAMES, min(DEFAULT_SHARD_FRAMES, per)))))


@dataclass
class EmbeddingCache:
    """The cache folder of one (dataset, model identity, precision)."""

    dataset: Dataset
    resolved: ResolvedModel
    precision: str

    def __post_init__(self) -> None:
        m = self.dataset.manifest
        self.key_fields = json.loads(
            _canonical(
                {
                    "format": CACHE_FORMAT,
                    "dataset": {
                        "content_hash": m.content_hash,
                        "n_frames": m.n_frames,
                        "frame_shape": list(m.frame_shape),
                    },
                    "model": self.resolved.identity,
                    "preprocess_version": PREPROCESS_VERSION,
                    "precision": self.precision,
                    **self.extra_key(),
                }
            )
        )
        self.key = hashlib.sha256(_canonical(self.key_fields).encode()).hexdigest()[:16]
        r = self.resolved
        self.dir = (
            self.dataset.path
            / "embeddings"
            / f"{_slug(r.display_name)}-{_slug(r.weights_slug)}-{self.precision}{self.folder_tag()}-{self.key}"
        )

    def extra_key(self) -> dict[str, Any]:
        """Key fields a kind of cache adds (a window cache: its window); none here."""
        return {}

    def folder_tag(self) -> str:
        """What a kind of cache adds to its folder's name (a window cache: ``-k8s2``)."""
        return ""

    # -- meta ---------------------------------------------------------------------------------

    @property
    def meta_path(self) -> Path:
        return self.dir / META_FILE

    def read_meta(self) -> dict[str, Any] | None:
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return meta if isinstance(meta, dict) else None

    def _meta_matches(self, meta: dict[str, Any] | None) -> bool:
        return meta is not None and _canonical(meta.get("key")) == _canonical(self.key_fields)

    def prepare(
        self, dim: int, shard_frames: int | None = None, warn: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Make the folder ready to receive shards; returns its meta.

        An existing folder with the same key keeps its shards (and shard size: resume). A folder
        whose meta is missing or different is wiped first.
        """
        meta = self.read_meta()
        if self.dir.exists() and not self._meta_matches(meta):
            if warn is not None:
                why = (
                    "has no readable meta.json"
                    if meta is None
                    else "was made for another dataset, model or precision"
                )
                warn(
                    f"The embedding cache {self.dir} {why}; it is not reused and is being recomputed."
                )
            shutil.rmtree(self.dir)
            meta = None
        if meta is not None and meta.get("dim") == dim and int(meta.get("shard_frames", 0)) > 0:
            return meta
        self.dataset.subdir("embeddings")
        self.dir.mkdir(exist_ok=True)
        r = self.resolved
        meta = {
            "key": self.key_fields,
            "model": r.label,
            "random_weights": r.random_weights,
            "dim": int(dim),
            "n_frames": len(self.dataset),
            "shard_frames": int(shard_frames or default_shard_frames(len(self.dataset))),
            "complete": False,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write_text(json.dumps(meta, indent=2, sort_keys=True), self.meta_path)
        return meta

    @contextlib.contextmanager
    def locked(self, say: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the cache's lock (one writer at a time); waits, saying so, while another has it.

        Under the lock, temporary files left by a killed writer are removed.
        """
        lock = self.dataset.subdir("embeddings") / f".{self.dir.name}.lock"
        message = f"Another evalkit process is writing {self.dir.name}; waiting for it to finish..."
        fresh = not self.dir.exists() and not lock.exists()
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                with file_lock(fd, on_wait=None if say is None else lambda: say(message)):
                    if not _is_same_file(fd, lock):
                        continue  # a failed writer removed this lock file: take the current one
                    if self.dir.is_dir():
                        for tmp in self.dir.glob(".*.tmp"):
                            tmp.unlink(missing_ok=True)
                    try:
                        yield
                    except BaseException:
                        if fresh:  # e.g. the model failed to load: leave nothing behind
                            self._discard_if_unused(lock)
                        raise
                    return
            finally:
                os.close(fd)

    def _discard_if_unused(self, lock: Path) -> None:
        """Remove the cache folder if it holds no more than its meta, then its lock file."""
        if self.dir.is_dir() and {p.name for p in self.dir.iterdir()} <= {META_FILE}:
            shutil.rmtree(self.dir, ignore_errors=True)
        if not self.dir.exists():
            lock.unlink(missing_ok=True)

    # -- shards ---------------------------------------------------------------------------------

    @staticmethod
    def shard_ranges(n_frames: int, shard_frames: int) -> list[tuple[int, int]]:
        return [(a, min(n_frames, a + shard_frames)) for a in range(0, n_frames, shard_frames)]

    def shard_path(self, index: int) -> Path:
        return self.dir / f"shard-{index:05d}.npy"

    def _shard_ok(self, index: int, rows: int, dim: int) -> bool:
        path = self.shard_path(index)
        if not path.is_file():
            return False
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            return False
        return arr.shape == (rows, dim) and arr.dtype == np.float32 and bool(np.isfinite(arr).all())

    def missing_shards(self, meta: dict[str, Any]) -> list[int]:
        """Indices of the shards that still have to be computed."""
        ranges = self.shard_ranges(int(meta["n_frames"]), int(meta["shard_frames"]))
        return [
            i for i, (a, b) in enumerate(ranges) if not self._shard_ok(i, b - a, int(meta["dim"]))
        ]

    def write_shard(self, index: int, values: np.ndarray) -> None:
        """Store one shard atomically; refuses NaN or infinite values."""
        values = np.ascontiguousarray(values, dtype=np.float32)
        if not np.isfinite(values).all():
            raise EvalkitError(
                f"Shard {index} of {self.dir.name} has NaN or infinite embeddings; it was not cached."
            )
        _atomic_save(self.shard_path(index), values)

    def merge(self, meta: dict[str, Any]) -> np.ndarray:
        """Join the shards into ``embeddings.npy`` (atomically), mark the cache complete, drop shards."""
        n, dim = int(meta["n_frames"]), int(meta["dim"])
        ranges = self.shard_ranges(n, int(meta["shard_frames"]))
        with atomic_path(self.dir / MERGED_FILE) as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
            for i, (a, b) in enumerate(ranges):
                out[a:b] = np.load(self.shard_path(i))
            out.flush()
            del out
        meta = {**meta, "complete": True}
        atomic_write_text(json.dumps(meta, indent=2, sort_keys=True), self.meta_path)
        for i in range(len(ranges)):
            self.shard_path(i).unlink(missing_ok=True)
        return self.load()  # type: ignore[return-value]

    def load(self) -> np.ndarray | None:
        """The cached embeddings (memory-mapped) if this cache is complete and valid, else ``None``."""
        meta = self.read_meta()
        if not self._meta_matches(meta) or not meta or not meta.get("complete"):
            return None
        try:
            values = np.load(self.dir / MERGED_FILE, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if values.shape != (len(self.dataset), int(meta["dim"])) or values.dtype != np.float32:
            return None
        bad = first_non_finite_row(values)
        if bad is not None:
            warnings.warn(
                f"The embedding cache {self.dir} is corrupt (the embedding of frame {bad} is not a "
                "finite number); it is not used, and is computed again where embeddings are made "
                "(evalkit embed, epic, landscape, ...).",
                CorruptCacheWarning,
                stacklevel=1,  # one place: said once per process, however many loads
            )
            return None
        return values

    # -- text ---------------------------------------------------------------------------------

    def text_embeddings(
        self, prompts: Sequence[str], compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """Embeddings of ``prompts`` (in order); the ones not cached yet come from ``compute``."""
        path = self.dir / TEXT_FILE
        known: dict[str, np.ndarray] = {}
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    known = dict(zip(data["prompts"].tolist(), data["embeddings"]))
            except (OSError, ValueError, KeyError):
                known = {}
        todo = list(dict.fromkeys(p for p in prompts if p not in known))
        if todo:
            new = np.asarray(compute(todo), dtype=np.float32)
            if new.shape[0] != len(todo) or not np.isfinite(new).all():
                raise EvalkitError(
                    "The text encoder returned NaN or infinite embeddings; they were not cached."
                )
            known.update(zip(todo, new))
            self.dir.mkdir(parents=True, exist_ok=True)
            names = list(known)
            _atomic_save(
                path,
                {
                    "prompts": np.asarray(names, dtype=np.str_),
                    "embeddings": np.stack([known[p] for p in names]),
                },
            )
        return np.stack([known[p] for p in prompts]).astype(np.float32)


class CorruptCacheWarning(UserWarning):
    """A cached embedding file holds NaN or infinite values (it is not used)."""


def first_non_finite_row(values: np.ndarray, chunk: int = 1 << 15) -> int | None:
    """The index of the first row of ``values`` with a NaN or infinite entry (``None``: all
    finite), read ``chunk`` rows at a time (a memory-mapped cache is not loaded whole)."""
    for i0 in range(0, len(values), chunk):
        ok = np.isfinite(values[i0 : i0 + chunk]).all(axis=1)
        if not ok.all():
            return i0 + int(np.argmin(ok))
    return None


def _is_same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not removed or replaced)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _atomic_save(target: Path, data: np.ndarray | dict[str, np.ndarray]) -> None:
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        if isinstance(data, dict):
            np.savez(f, **data)
        else:
            np.save(f, data)
