"""A Hugging Face CLIP or SigLIP model loaded with transformers (:class:`HFModel`), and the
parameter count of a model from its config (built on the meta device)."""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch
from safetensors import SafetensorError

from evalkit.errors import ModelError
from evalkit.vlm.backend import RANDOM_SEED, ImageForward, LoadedModel
from evalkit.vlm.hf_fast_forward import clip_image_forward
from evalkit.vlm.hf_models import (
    MODEL_CLASSES,
    HFResolved,
    _quiet_transformers,
    transformers_module,
)


def _features(out: Any) -> torch.Tensor:
    """The embedding from ``get_*_features``: a tensor (transformers 4) or its ``pooler_output``
    (transformers 5's output object)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


class HFModel(LoadedModel):
    """A Hugging Face CLIP or SigLIP model on a device, with its tokenizer."""

    resolved: HFResolved
    device: torch.device

    def __init__(
        self, resolved: HFResolved, model: torch.nn.Module, tokenizer: Any, device: torch.device
    ) -> None:
        self.resolved = resolved
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self._processor: Any = None

    @classmethod
    def load(cls, resolved: HFResolved, device: torch.device) -> HFModel:
        """The model of ``resolved`` on ``device`` (eval mode, fp32, no gradients)."""
        tf = transformers_module()
        model_class = getattr(tf, MODEL_CLASSES[resolved.model_type])
        folder = resolved.folder
        with _quiet_transformers(tf), torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED)
            try:
                if resolved.random:
                    model = model_class(model_class.config_class.from_pretrained(folder))
                else:
                    model = model_class.from_pretrained(folder, local_files_only=True)
                tokenizer = tf.AutoTokenizer.from_pretrained(folder, local_files_only=True)
            except (
                OSError,
                ValueError,
                RuntimeError,
                KeyError,
                EOFError,
                pickle.UnpicklingError,
            ) as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                raise ModelError(
                    f"Loading {resolved.name} with transformers failed ({type(exc).__name__}: {first})."
                ) from None
            except SafetensorError as exc:
                raise ModelError(
                    f"The weights of {resolved.name} are truncated or corrupt ({exc}); save or "
                    "download the model again."
                ) from None
        model = model.float().to(device).eval()
        model.requires_grad_(False)
        return cls(resolved, model, tokenizer, device)

    def image_forward(self) -> ImageForward:
        return clip_image_forward(self.model) or self.encode_pixels

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        return _features(self.model.get_image_features(pixel_values=pixels))

    def tokenize(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        """The model's tokenizer on ``prompts`` with its padding rule (:attr:`HFResolved.text_padding`)."""
        padding, max_length = self.resolved.text_padding
        tokens = self.tokenizer(
            prompts, padding=padding, max_length=max_length, truncation=True, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in tokens.items() if k != "token_type_ids"}

    def encode_texts(self, prompts: list[str]) -> torch.Tensor:
        return _features(self.model.get_text_features(**self.tokenize(prompts)))

    def naive_pixels(self, images: list[Any]) -> torch.Tensor:
        if self._processor is None:
            tf = transformers_module()
            with _quiet_transformers(tf):
                self._processor = tf.AutoImageProcessor.from_pretrained(
                    self.resolved.folder, local_files_only=True
                )
        return self._processor(images=images, return_tensors="pt")["pixel_values"]


# -- parameters -----------------------------------------------------------------------------------


def count_parameters(model_type: str, folder: str | os.PathLike[str]) -> int | None:
    """Parameters of the model whose config is in ``folder`` (built on the meta device, no memory);
    ``None`` when transformers is missing."""
    try:
        tf = transformers_module()
    except ModelError:
        return None
    model_class = getattr(tf, MODEL_CLASSES[model_type])
    with _quiet_transformers(tf), torch.device("meta"):
        model = model_class(model_class.config_class.from_pretrained(str(folder)))
    return int(sum(p.numel() for p in model.parameters()))
