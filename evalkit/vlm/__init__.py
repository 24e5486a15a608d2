"""open_clip models and the cached, multi-device image-embedding engine.

- :mod:`evalkit.vlm.models` — :class:`ModelSpec`, :func:`resolve`, :func:`load_model`, the
  model catalogue (``evalkit models``); tiny random-weight test models ``evalkit-tiny-vit`` and
  ``evalkit-tiny-rn`` are registered with open_clip on import.
- :mod:`evalkit.vlm.preprocess` — batched tensor preprocessing identical to open_clip's PIL one.
- :mod:`evalkit.vlm.engine` — :func:`embed_dataset` (cached, resumable, one worker per device,
  torchrun) and :class:`ImageEmbedder` (in-memory, e.g. for RL training).
- :mod:`evalkit.vlm.cache` — the on-disk embedding cache of a dataset.
- ``evalkit bench embed`` is :mod:`evalkit.bench.embed`.

Rewards computed from the embeddings live in :mod:`evalkit.rewards`.
"""

from evalkit.vlm.engine import (
    PRECISIONS,
    Embeddings,
    ImageEmbedder,
    embed_dataset,
    parse_devices,
)
from evalkit.vlm.models import (
    RANDOM,
    TINY_MODELS,
    LoadedModel,
    ModelSpec,
    ResolvedSpec,
    default_tag,
    known_models,
    load_model,
    resolve,
)
from evalkit.vlm.preprocess import BatchPreprocessor

__all__ = [
    "PRECISIONS", "RANDOM", "TINY_MODELS", "BatchPreprocessor", "Embeddings", "ImageEmbedder", "LoadedModel",
    "ModelSpec", "ResolvedSpec", "default_tag", "embed_dataset", "known_models", "load_model", "parse_devices",
    "resolve",
]
