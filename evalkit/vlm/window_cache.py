"""The embedding cache of a dataset's windows: one embedding per frame, of the window of ``k``
frames with stride ``s`` ending at it (:mod:`evalkit.vlm.windows`).

It is an :class:`~evalkit.vlm.cache.EmbeddingCache` (shards, resume, lock, merge) whose key also
holds the window (frames, stride and the version of the first-steps rule), in a folder of its
own (``…-k8s2-<key>``): windows of another length, stride or model never share a cache, nor do
windows and single frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evalkit.data.store import Dataset
from evalkit.vlm.backend import ResolvedModel
from evalkit.vlm.cache import EmbeddingCache
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
