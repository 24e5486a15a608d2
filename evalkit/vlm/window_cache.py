"""The embedding cache of a dataset's windows: one embedding per frame, of the window of ``k``
frames with stride ``s`` ending at it (:mod:`evalkit.vlm.windows`).

It is an :class:`~evalkit.vlm.cache.EmbeddingCache` (shards, resume, lock, merge) whose key also
holds the window (frames, stride and the version of the first-steps rule), in a folder of its
own (``…-k8s2-<key>``): windows of another length, stride or model never share a cache, nor do
windows and single frames.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.vlm.backend import ResolvedModel
from evalkit.vlm.cache import EmbeddingCache, _atomic_save
from evalkit.vlm.windows import WindowSpec, window_rows

WINDOW_RULE = "first-frame-padding-1"
"""The first-steps rule of :mod:`evalkit.vlm.windows` (part of the key: a new rule is a new cache)."""


@dataclass
class WindowEmbeddingCache(EmbeddingCache):
    """The cache folder of one (dataset, model identity, precision, window)."""

    window: WindowSpec

    def extra_key(self) -> dict[str, Any]:
        return {
            "window": {
                "frames": int(self.window.frames),
                "stride": int(self.window.stride),
                "rule": WINDOW_RULE,
            }
        }

    def folder_tag(self) -> str:
        return f"-{self.window.slug}"

    def window_texts(
        self, prompts: Sequence[str], compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """Text embeddings of ``prompts`` for the window ending at every frame, float32
        ``(frames, len(prompts), dim)``: a model that conditions its texts on the video
        (X-CLIP) has one per window. Each prompt's are stored once (``texts-<hash>.npy``,
        written atomically); the ones missing come from ``compute`` (prompts → ``(frames,
        len(prompts), dim)``, e.g. :meth:`~evalkit.vlm.embedder.ImageEmbedder.embed_window_texts`
        on :func:`dataset_windows`).

        :raises EvalkitError: the windows are not embedded yet (their cache holds the texts),
            or ``compute`` gave NaN, infinite or misshapen embeddings.
        """
        if self.load() is None:
            raise EvalkitError(
                f"The windows of {self.dataset.name} ({self.window}) are not embedded yet with "
                f"{self.resolved.label}; embed them first (embed_dataset with this window)."
            )
        n = len(self.dataset)
        known: dict[str, np.ndarray] = {}
        for prompt in dict.fromkeys(prompts):
            try:
                values = np.load(self._texts_path(prompt), mmap_mode="r")
            except (OSError, ValueError):
                continue
            if values.ndim == 2 and len(values) == n and np.isfinite(values).all():
                known[prompt] = values
        todo = [p for p in dict.fromkeys(prompts) if p not in known]
        if todo:
            new = np.asarray(compute(todo), dtype=np.float32)
            if new.shape[:2] != (n, len(todo)) or not np.isfinite(new).all():
                raise EvalkitError(
                    "The window text embeddings are NaN, infinite or not one per window and "
                    "prompt; they were not cached."
                )
            self.dir.mkdir(parents=True, exist_ok=True)
            for j, prompt in enumerate(todo):
                known[prompt] = np.ascontiguousarray(new[:, j])
                _atomic_save(self._texts_path(prompt), known[prompt])
        if not prompts:
            return np.zeros((n, 0, 0), np.float32)
        return np.stack([known[p] for p in prompts], axis=1).astype(np.float32)

    def _texts_path(self, prompt: str) -> Path:
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
        return self.dir / f"texts-{digest}.npy"


def embedding_cache(
    dataset: Dataset, resolved: ResolvedModel, precision: str, window: WindowSpec | None = None
) -> EmbeddingCache:
    """The cache of a dataset's frames (``window`` ``None``) or of its windows.

    :param dataset: the dataset.
    :param resolved: the model.
    :param precision: ``fp32``, ``bf16`` or ``fp16``.
    :param window: frames and stride of the windows, ``None`` for single frames.
    """
    if window is None:
        return EmbeddingCache(dataset, resolved, precision)
    return WindowEmbeddingCache(dataset, resolved, precision, window)


def dataset_windows(dataset: Dataset, window: WindowSpec) -> np.ndarray:
    """The rows of the window ending at every frame of ``dataset`` ``(frames, k)``
    (:func:`~evalkit.vlm.windows.window_rows` on its episodes and steps)."""
    states = dataset.states
    return window_rows(states["episode"].to_numpy(), states["step"].to_numpy(), window)
