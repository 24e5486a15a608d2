"""The model interface: what the engine, the caches, the bench, the figures and training know
of a model, whatever backend it comes from.

A backend (:class:`evalkit.vlm.registry.Backend`, registered with
:func:`~evalkit.vlm.registry.register_backend`) resolves names into two classes:

- a :class:`ResolvedModel`: a checked model name (nothing heavy loaded) with its *identity*
  (what the embedding cache is keyed by: it names the backend's weights, architecture and
  preprocessing, so two backends or two revisions never share a cache), its preprocessing
  geometry and normalisation (the config :class:`~evalkit.vlm.preprocess.BatchPreprocessor`
  reproduces as tensor operations), its embedding dimension and parameter count;
- a :class:`LoadedModel`: the model on a device, with :meth:`~LoadedModel.encode_pixels` on
  preprocessed batches, :meth:`~LoadedModel.encode_texts` on prompts, and optional fast paths.

Required members are abstract methods, or attributes named in ``REQUIRED_ATTRIBUTES``: a
subclass that neither annotates nor defines one fails when the class is created, naming it.
Optional ones have defaults here.

Backends: :mod:`evalkit.vlm.open_clip_backend` (architectures and tags, local checkpoints) and
:mod:`evalkit.vlm.hf_models` (Hugging Face CLIP and SigLIP: ``hf:ORG/NAME[@REVISION]``,
``hf:/local/dir``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Mapping

import torch

from evalkit.errors import ModelError
from evalkit.vlm.registry import (  # re-exported: backends import them from here
    RANDOM,
    RANDOM_SEED,
    RANDOM_WEIGHTS_WARNING,
    BackendError,
)

__all__ = [
    "RANDOM",
    "RANDOM_SEED",
    "RANDOM_WEIGHTS_WARNING",
    "ImageForward",
    "LoadedModel",
    "ResolvedModel",
]

ImageForward = Callable[[torch.Tensor], torch.Tensor]
"""Preprocessed pixels ``(n, 3, h, w)`` → image embeddings ``(n, dim)`` (not normalised)."""


def _check_required(cls: type, base: type, names: tuple[str, ...]) -> None:
    """Fail when ``cls`` (a subclass of ``base``) neither annotates nor defines a required attribute."""
    provided: set[str] = set()
    for klass in cls.__mro__:
        if klass is base or not issubclass(klass, base):
            continue
        provided |= set(vars(klass).get("__annotations__", {})) | set(vars(klass))
    missing = [n for n in names if n not in provided]
    if missing:
        raise BackendError(
            f"{cls.__name__} lacks {', '.join(missing)}: a {base.__name__} must define "
            f"{', '.join(names)} (see evalkit.vlm.backend.{base.__name__})."
        )


class ResolvedModel(ABC):
    """A checked model: what it is, without loading it."""

    REQUIRED_ATTRIBUTES: ClassVar[tuple[str, ...]] = (
        "backend",
        "display_name",
        "spec",
        "preprocess",
    )

    backend: str
    """Required: the backend's name (``open_clip``, ``hf``)."""

    display_name: str
    """Required: the model's short name (progress bars, cache folder names)."""

    spec: Any
    """Required: the :class:`~evalkit.vlm.registry.ModelSpec` it was resolved from."""

    preprocess: dict[str, Any]
    """Required: the preprocessing config of :class:`~evalkit.vlm.preprocess.BatchPreprocessor`:
    the geometry (``size``, ``resize_mode``, ``interpolation``...) and normalisation
    (``mean``, ``std``)."""

    tag: str | None = None
    """Optional: a pretrained tag naming the weights; ``None`` for weights named otherwise."""

    weights_path: str | None = None
    """Optional: the weights file or folder on this machine, where known."""

    embeds_windows: ClassVar[bool] = False
    """Optional: whether the model embeds windows of frames (a video model, its loaded model's
    :meth:`LoadedModel.encode_windows`) instead of single frames."""

    naive_reference: ClassVar[str | None] = None
    """Optional: what the loaded model's :meth:`LoadedModel.naive_pixels` and forward do, in a
    few words for the bench's table (``PIL, encode_image``); ``None``: the backend has no naive
    reference, and ``evalkit bench embed`` refuses it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_required(cls, ResolvedModel, ResolvedModel.REQUIRED_ATTRIBUTES)

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
    def embed_dim(self) -> int:
        """Dimension of the image and text embeddings."""

    @property
    @abstractmethod
    def weights_slug(self) -> str:
        """A short name of the weights for the cache folder's name (the key is in it too)."""

    @property
    def random_weights(self) -> bool:
        """Whether the weights are random (``--pretrained none``); default ``False``."""
        return False

    @property
    def parameters(self) -> int | None:
        """Parameters of the whole model (image and text towers); default ``None`` (unknown)."""
        return None

    @property
    def flop_config(self) -> Mapping[str, Any] | None:
        """The image tower's shape in open_clip's config format (``embed_dim``, ``vision_cfg``:
        ``image_size``, ``patch_size``, ``width``, ``mlp_ratio``, ``layers``) when it is a plain
        ViT, for FLOP counts in the bench; ``None`` otherwise."""
        return None

    @property
    def frames_per_window(self) -> int | None:
        """The number of frames a window must have for this video model (e.g. X-CLIP's
        ``num_frames``); ``None``: any number (or not a video model)."""
        return None

    @property
    def class_token_only_last_block(self) -> bool:
        """Whether the engine runs this model's last block for the class token alone."""
        return False

    def ensure_weights(self) -> None:
        """Make sure the weights are on this machine (or fail now, with one sentence); default:
        nothing to fetch."""
        return None

    @abstractmethod
    def load(self, device: torch.device) -> LoadedModel:
        """The model on ``device`` in eval mode, fp32 weights, no gradients."""


class LoadedModel(ABC):
    """A model on a device: the engine's only view of it."""

    REQUIRED_ATTRIBUTES: ClassVar[tuple[str, ...]] = ("resolved", "device")

    resolved: ResolvedModel
    """Required: what was loaded."""

    device: torch.device
    """Required: where it runs."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_required(cls, LoadedModel, LoadedModel.REQUIRED_ATTRIBUTES)

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

    def encode_windows(self, pixels: torch.Tensor) -> torch.Tensor:
        """Video embeddings (not normalised) of windows of preprocessed frames
        ``(n, frames, 3, h, w)``; only models whose :attr:`ResolvedModel.embeds_windows` is true.

        :raises ModelError: an image model (it embeds single frames).
        """
        raise ModelError(single_frames_only(self.resolved))

    def encode_window_texts(self, pixels: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """Text embeddings of ``prompts`` for each window ``(n, len(prompts), dim)``, not
        normalised. Default: :meth:`encode_texts`, the same for every window; a model that
        conditions its text embedding on the video (X-CLIP) returns its conditioned ones.

        :param pixels: preprocessed windows ``(n, frames, 3, h, w)``.
        :param prompts: the texts.
        """
        texts = self.encode_texts(prompts)
        return texts.unsqueeze(0).expand(pixels.shape[0], -1, -1)

    def naive_pixels(self, images: list[Any]) -> torch.Tensor:
        """Optional: the library's own preprocessing of PIL images (the bench's naive
        reference); backends with one set :attr:`ResolvedModel.naive_reference` too.

        :param images: PIL images.
        :raises ModelError: the backend has none.
        """
        raise ModelError(
            f"{self.label} has no naive reference preprocessing (its backend defines no "
            "naive_pixels), so 'evalkit bench embed' cannot compare against one."
        )


def single_frames_only(resolved: ResolvedModel) -> str:
    """The sentence refusing windows for an image model."""
    return (
        f"{resolved.label} is an image model: it embeds single frames, not windows; for a "
        f"window reward use frame averaging (avg:{resolved.spec.model if resolved.spec else resolved.display_name}) "
        "or a video model (see evalkit models)."
    )


def windows_only(resolved: ResolvedModel) -> str:
    """The sentence refusing single frames for a video model."""
    n = resolved.frames_per_window
    return (
        f"{resolved.label} embeds windows of {n or 'several'} frames, not single frames; use "
        "it on windows (from Python: embed_dataset(..., window=WindowSpec(frames, stride)))."
    )


def check_window_input(resolved: ResolvedModel, frames: int | None) -> None:
    """Refuse single frames for a video model, windows for an image model, and windows of the
    wrong length for a video model of fixed length, each in one sentence.

    :param resolved: the model.
    :param frames: frames per window, ``None`` for single frames.
    :raises ModelError: the input does not fit the model.
    """
    if frames is None:
        if resolved.embeds_windows:
            raise ModelError(windows_only(resolved))
        return
    if not resolved.embeds_windows:
        raise ModelError(single_frames_only(resolved))
    need = resolved.frames_per_window
    if need is not None and frames != need:
        raise ModelError(
            f"{resolved.label} embeds windows of exactly {need} frames, not {frames}; "
            f"use a window of {need} frames."
        )
