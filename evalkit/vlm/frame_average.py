"""Frame averaging: any image model as a video model, ``avg:<image model>``.

A window's embedding is the mean of the L2-normalised embeddings of its frames by the image
model (then normalised, as every embedding is): the baseline every video-reward paper compares
with. Texts are the image model's own text embeddings (not conditioned on the window).
Names: ``avg:ViT-B-32``, ``avg:ViT-B-32:laion2b_s34b_b79k``, ``avg:hf:/path/to/folder``;
``--pretrained`` goes to the image model. Windows may have any number of frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
import torch.nn.functional as F

from evalkit.errors import ModelError
from evalkit.vlm.backend import LoadedModel, ResolvedModel, windows_only
from evalkit.vlm.registry import Backend, ModelSpec, backend_for

PREFIX = "avg:"


@dataclass(frozen=True)
class AveragedResolved(ResolvedModel):
    """An image model whose window embedding is the mean of its normalised frame embeddings."""

    frames_model: ResolvedModel
    spec: Any = field(default=None, compare=False)

    backend = "avg"
    embeds_windows = True

    @property
    def display_name(self) -> str:  # type: ignore[override]
        return f"avg-{self.frames_model.display_name}"

    @property
    def preprocess(self) -> dict[str, Any]:  # type: ignore[override]
        return self.frames_model.preprocess

    @property
    def tag(self) -> str | None:  # type: ignore[override]
        return self.frames_model.tag

    @property
    def weights_path(self) -> str | None:  # type: ignore[override]
        return self.frames_model.weights_path

    @property
    def label(self) -> str:
        return f"{PREFIX}{self.frames_model.label}"

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "backend": "avg",
            "reduction": "mean of unit frame embeddings",
            "frames_model": self.frames_model.identity,
        }

    @property
    def embed_dim(self) -> int:
        return self.frames_model.embed_dim

    @property
    def weights_slug(self) -> str:
        return self.frames_model.weights_slug

    @property
    def random_weights(self) -> bool:
        return self.frames_model.random_weights

    @property
    def parameters(self) -> int | None:
        return self.frames_model.parameters

    @property
    def flop_config(self) -> Mapping[str, Any] | None:
        return self.frames_model.flop_config

    def ensure_weights(self) -> None:
        self.frames_model.ensure_weights()

    def load(self, device: torch.device) -> LoadedModel:
        return AveragedModel(self, self.frames_model.load(device))


class AveragedModel(LoadedModel):
    """The loaded image model, its frame embeddings averaged over each window."""

    resolved: AveragedResolved
    device: torch.device

    def __init__(self, resolved: AveragedResolved, frames: LoadedModel) -> None:
        self.resolved = resolved
        self.frames = frames
        self.device = frames.device
        self._forward = frames.image_forward()

    @property
    def channels_last(self) -> bool:
        return self.frames.channels_last

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        raise ModelError(windows_only(self.resolved))

    def encode_windows(self, pixels: torch.Tensor) -> torch.Tensor:
        if pixels.ndim != 5:
            raise ModelError(
                f"{self.resolved.label} embeds windows (n, frames, 3, h, w), not {tuple(pixels.shape)}."
            )
        n, k = pixels.shape[:2]
        flat = pixels.reshape(n * k, *pixels.shape[2:])
        if self.frames.channels_last:
            flat = flat.contiguous(memory_format=torch.channels_last)
        emb = F.normalize(self._forward(flat).float(), dim=-1)
        return emb.view(n, k, -1).mean(dim=1)

    def encode_texts(self, prompts: list[str]) -> torch.Tensor:
        return self.frames.encode_texts(prompts)


class AveragedBackend(Backend):
    """``avg:<image model>``: frame averaging of any registered image backend's model."""

    name = "avg"
    prefix = PREFIX
    usage = (
        "avg:<image model> — frame averaging: a window's embedding is the mean of the image "
        "model's normalised frame embeddings (e.g. avg:ViT-B-32, avg:hf:/path/to/folder)"
    )

    def parse(self, text: str, pretrained: str | None = None) -> ModelSpec:
        inner = self._inner(text)
        spec = backend_for(inner).parse(inner, pretrained)
        return ModelSpec(f"{PREFIX}{spec.model}", spec.pretrained)

    def resolve(self, spec: ModelSpec) -> AveragedResolved:
        inner = ModelSpec.coerce(self._inner(spec.model), spec.pretrained)
        frames_model = inner.backend.resolve(inner)
        if frames_model.embeds_windows:
            raise ModelError(
                f"{spec.model} averages frame embeddings, but {inner.model} embeds windows "
                "already; average an image model."
            )
        return AveragedResolved(frames_model, spec=spec)

    def parameters(self, model: str) -> int | None:
        inner = self._inner(model)
        return backend_for(inner).parameters(inner)

    def canonical_name(self, model: str) -> str:
        inner = self._inner(model)
        return f"{PREFIX}{backend_for(inner).canonical_name(inner)}"

    @staticmethod
    def _inner(model: str) -> str:
        inner = str(model).strip()[len(PREFIX) :].strip()
        if not inner:
            raise ModelError("Frame averaging is named avg:<image model>, e.g. avg:ViT-B-32.")
        return inner


BACKEND = AveragedBackend()
"""The instance :mod:`evalkit.vlm.registry` registers."""
