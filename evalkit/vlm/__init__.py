"""Image-text models (open_clip, Hugging Face) and the cached, multi-device image-embedding engine.

- :mod:`evalkit.vlm.registry` — model backends by name prefix (torch-free):
  :func:`register_backend` (a plugin adds a backend), :class:`Backend`, :class:`ModelSpec`;
- :mod:`evalkit.vlm.models` — :func:`resolve`, :func:`load_model` and what else is asked of a
  name's backend (parameters, default tag);
- :mod:`evalkit.vlm.backend` — the interface a backend's models implement
  (:class:`ResolvedModel`, :class:`LoadedModel`); the engine, caches, bench, figures and
  training see models through it only;
- :mod:`evalkit.vlm.open_clip_backend` — the default backend, open_clip (tiny random-weight
  test models ``evalkit-tiny-vit`` and ``evalkit-tiny-rn`` are registered with open_clip on
  import), with its tags' weights (:mod:`~evalkit.vlm.open_clip_weights`), checkpoint errors
  (:mod:`~evalkit.vlm.open_clip_checkpoints`), parameter counts
  (:mod:`~evalkit.vlm.open_clip_params`) and catalogue (:mod:`~evalkit.vlm.open_clip_catalogue`);
- :mod:`evalkit.vlm.hf_models` — the Hugging Face backend (``hf:ORG/NAME[@REVISION]``,
  ``hf:/local/dir``): CLIP and SigLIP, transformers as the optional extra ``evalkit[hf]``;
  its image processor as the engine's preprocessing is :mod:`evalkit.vlm.hf_processor`, the
  loaded model :mod:`evalkit.vlm.hf_loaded`, its fast CLIP image forward
  :mod:`evalkit.vlm.hf_fast_forward`, its catalogue :mod:`evalkit.vlm.hf_catalogue`;
- video models, which embed windows of frames: :mod:`evalkit.vlm.frame_average` (``avg:<image
  model>``, the mean of normalised frame embeddings) and :mod:`evalkit.vlm.hf_xclip` (Hugging
  Face X-CLIP under ``hf:``, text embeddings conditioned on each window); the windows
  themselves (k frames, stride s, the first-steps rule; online for vector envs) are
  :mod:`evalkit.vlm.windows`, their embedding cache :mod:`evalkit.vlm.window_cache`;
- :mod:`evalkit.vlm.hub` — file hashes, whether the hub is offline or reachable.
- :mod:`evalkit.vlm.preprocess` — batched tensor preprocessing identical to open_clip's PIL one.
- :mod:`evalkit.vlm.engine` — :func:`embed_dataset` (cached, resumable, one worker per device,
  torchrun), composed of:

  - :mod:`evalkit.vlm.job` — :class:`EmbedJob`, what a run does, and one process's share of it;
  - :mod:`evalkit.vlm.workers` — one worker process per device, typed messages
    (:mod:`evalkit.vlm.messages`) to the parent;
  - :mod:`evalkit.vlm.torchrun` — every rank a share, rank 0 merges;
  - :mod:`evalkit.vlm.embedder` — :class:`ImageEmbedder` (in-memory, e.g. for RL training);
  - :mod:`evalkit.vlm.fast_forward` — the class-token-only ViT forward;
  - :mod:`evalkit.vlm.devices` — devices, precisions' dtypes and autocast, allocator tuning;
  - :mod:`evalkit.vlm.precision` — the precisions by name (no torch).
- :mod:`evalkit.vlm.cache` — the on-disk embedding cache of a dataset.
- ``evalkit bench embed`` is :mod:`evalkit.bench.embed`.

Rewards computed from the embeddings live in :mod:`evalkit.rewards`.

The names below are imported on first use, so that importing a torch-free module of this
package (:mod:`evalkit.vlm.precision`, :mod:`evalkit.vlm.registry`) does not import torch and
open_clip: ``from evalkit.vlm import register_backend`` imports no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalkit.vlm.backend import LoadedModel, ResolvedModel
    from evalkit.vlm.devices import PRECISION_DTYPES, autocast_for, parse_devices
    from evalkit.vlm.embedder import ImageEmbedder
    from evalkit.vlm.engine import Embeddings, embed_dataset
    from evalkit.vlm.models import default_tag, load_model, resolve
    from evalkit.vlm.open_clip_backend import TINY_MODELS, ResolvedSpec
    from evalkit.vlm.open_clip_catalogue import known_models
    from evalkit.vlm.precision import PRECISIONS
    from evalkit.vlm.preprocess import BatchPreprocessor
    from evalkit.vlm.registry import (
        RANDOM,
        Backend,
        Catalogue,
        ModelSpec,
        backend_for,
        register_backend,
        registered_backends,
        unregister_backend,
    )
    from evalkit.vlm.window_cache import dataset_windows
    from evalkit.vlm.windows import OnlineWindows, WindowSpec, episode_sample, window_rows

_HOMES = {
    "PRECISIONS": "precision",
    "PRECISION_DTYPES": "devices",
    "autocast_for": "devices",
    "parse_devices": "devices",
    "ImageEmbedder": "embedder",
    "Embeddings": "engine",
    "embed_dataset": "engine",
    "RANDOM": "registry",
    "Backend": "registry",
    "Catalogue": "registry",
    "ModelSpec": "registry",
    "backend_for": "registry",
    "register_backend": "registry",
    "registered_backends": "registry",
    "unregister_backend": "registry",
    "TINY_MODELS": "open_clip_backend",
    "ResolvedSpec": "open_clip_backend",
    "known_models": "open_clip_catalogue",
    "LoadedModel": "backend",
    "ResolvedModel": "backend",
    "default_tag": "models",
    "load_model": "models",
    "resolve": "models",
    "BatchPreprocessor": "preprocess",
    "WindowSpec": "windows",
    "OnlineWindows": "windows",
    "window_rows": "windows",
    "episode_sample": "windows",
    "dataset_windows": "window_cache",
}
"""The module of each name this package exports."""

__all__ = [
    "PRECISIONS",
    "PRECISION_DTYPES",
    "RANDOM",
    "TINY_MODELS",
    "Backend",
    "BatchPreprocessor",
    "Catalogue",
    "Embeddings",
    "ImageEmbedder",
    "LoadedModel",
    "ModelSpec",
    "OnlineWindows",
    "ResolvedModel",
    "ResolvedSpec",
    "autocast_for",
    "backend_for",
    "default_tag",
    "embed_dataset",
    "known_models",
    "load_model",
    "parse_devices",
    "register_backend",
    "registered_backends",
    "resolve",
    "WindowSpec",
    "dataset_windows",
    "episode_sample",
    "unregister_backend",
    "window_rows",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
