"""The model-backend interface: what the engine, the caches, the bench, the figures and training
know of a model, whatever library it comes from.

A backend is one module with two classes:

- a :class:`ResolvedModel`: a checked model name (nothing heavy loaded) with its *identity*
  (what the embedding cache is keyed by: it names the backend's weights, architecture and
  preprocessing, so two backends or two revisions never share a cache), its preprocessing
  geometry and normalisation (the config :class:`~evalkit.vlm.preprocess.BatchPreprocessor`
  reproduces as tensor operations), its embedding dimension and parameter count;
- a :class:`LoadedModel`: the model on a device, with :meth:`~LoadedModel.encode_pixels` on
  preprocessed batches, :meth:`~LoadedModel.encode_texts` on prompts, and optional fast paths.

Backends: :mod:`evalkit.vlm.models` (open_clip: architectures and tags, local checkpoints) and
:mod:`evalkit.vlm.hf_models` (Hugging Face CLIP and SigLIP: ``hf:ORG/NAME[@REVISION]``,
``hf:/local/dir``). :func:`evalkit.vlm.models.resolve` picks the backend from the name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Mapping

import torch

RANDOM = "none"
"""The ``pretrained`` value that asks for random weights."""

RANDOM_SEED = 0
"""Seed of random weights: every load of ``(model, "none")`` gives the same weights."""

RANDOM_WEIGHTS_WARNING = "RANDOM WEIGHTS: {label} has random weights (--pretrained none); its embeddings and rewards mean nothing."
"""What every command says about a model with random weights (``label`` is the model's label)."""

ImageForward = Callable[[torch.Tensor], torch.Tensor]
"""Preprocessed pixels ``(n, 3, h, w)`` → image embeddings ``(n, dim)`` (not normalised)."""


class ResolvedModel(ABC):
    """A checked model: what it is, without loading it."""

    backend: str
    """The backend's name (``open_clip``, ``hf``)."""

    display_name: str
    """The model's short name (progress bars, cache folder names)."""

    spec: Any
    """The :class:`~evalkit.vlm.models.ModelSpec` it was resolved from."""

    tag: str | None
    """open_clip's pretrained tag; ``None`` for weights named otherwise (files, revisions)."""

    weights_path: str | None
    """The weights file or folder on this machine, where known (``None`` otherwise)."""

    preprocess: dict[str, Any]
    """The preprocessing config of :class:`~evalkit.vlm.preprocess.BatchPreprocessor`: the
    geometry (``size``, ``resize_mode``, ``interpolation``...) and normalisation (``mean``, ``std``)."""

    @property
    @abstractmethod
    def label(self) -> str:
        """One line naming the model and its weights (results table, messages)."""

    @property
    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """JSON-able; changes whenever the backend, weights, architecture or preprocessing would
        change the embeddings (the embedding cache's key)."""

    @property
    @abstractmethod
    def random_weights(self) -> bool:
        """Whether the weights are random (``--pretrained none``)."""

    @property
    @abstractmethod
    def embed_dim(self) -> int:
        """Dimension of the image and text embeddings."""

    @property
    @abstractmethod
    def weights_slug(self) -> str:
        """A short name of the weights for the cache folder's name (the key is in it too)."""

    @property
    @abstractmethod
    def parameters(self) -> int | None:
        """Parameters of the whole model (image and text towers), ``None`` if unknown."""

    @property
    def flop_config(self) -> Mapping[str, Any] | None:
        """The image tower's shape in open_clip's config format (``embed_dim``, ``vision_cfg``:
        ``image_size``, ``patch_size``, ``width``, ``mlp_ratio``, ``layers``) when it is a plain
        ViT, for FLOP counts in the bench; ``None`` otherwise."""
        return None

    @property
    def class_token_only_last_block(self) -> bool:
        """Whether the engine runs this model's last block for the class token alone."""
        return False

    @abstractmethod
    def ensure_weights(self) -> None:
        """Make sure the weights are on this machine (or fail now, with one sentence)."""

    @abstractmethod
    def load(self, device: torch.device) -> LoadedModel:
        """The model on ``device`` in eval mode, fp32 weights, no gradients."""


class LoadedModel(ABC):
    """A model on a device: the engine's only view of it."""

    resolved: ResolvedModel
    device: torch.device

    @property
    def preprocess(self) -> dict[str, Any]:
        return self.resolved.preprocess

    @property
    def random_weights(self) -> bool:
        return self.resolved.random_weights

    @property
    def embed_dim(self) -> int:
        return self.resolved.embed_dim

    @property
    def label(self) -> str:
        return self.resolved.label

    @property
    def channels_last(self) -> bool:
        """Whether pixels should reach :meth:`image_forward` in channels-last layout."""
        return False

    def image_forward(self) -> ImageForward:
        """The fastest forward of the image tower with the model's own results (default:
        :meth:`encode_pixels`); a backend may return a fast path here."""
        return self.encode_pixels

    @abstractmethod
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Image embeddings (not normalised) of preprocessed pixels ``(n, 3, h, w)``."""

    @abstractmethod
    def encode_texts(self, prompts: list[str]) -> torch.Tensor:
        """Text embeddings (not normalised) of prompts, with the model's own tokenizer."""

    @abstractmethod
    def naive_pixels(self, images: list[Any]) -> torch.Tensor:
        """The library's own preprocessing of PIL images (the bench's naive reference)."""
