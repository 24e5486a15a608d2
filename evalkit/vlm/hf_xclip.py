"""Hugging Face X-CLIP (``XCLIPModel``), a video model: ``hf:microsoft/xclip-base-patch32``,
``hf:/path/to/folder``.

A window of exactly ``vision_config.num_frames`` frames, each preprocessed as the image
processor says (``VideoMAEImageProcessor`` or ``CLIPImageProcessor``, reproduced as tensor
operations by :func:`~evalkit.vlm.hf_processor.processor_to_preprocess`, or refused naming the
setting), gives the model's ``get_video_features`` (its ``video_embeds``).

**Text embeddings are conditioned on the video.** X-CLIP's prompt generator adds to every text
embedding a term computed from the window's frames: the full forward's ``text_embeds`` has one
row per video. So the goal and baseline directions of a reward (Definition 1) are per window:
:meth:`XCLIPLoaded.encode_window_texts` returns the model's own conditioned text embeddings
``(windows, prompts, dim)``; the unconditioned ``get_text_features`` is never used for a reward,
and :meth:`XCLIPLoaded.encode_texts` refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

from evalkit.errors import ModelError
from evalkit.vlm.backend import ImageForward, LoadedModel, windows_only
from evalkit.vlm.hf_loaded import HFModel, _features
from evalkit.vlm.hf_models import HFResolved


@dataclass(frozen=True)
class XCLIPResolved(HFResolved):
    """A checked X-CLIP model: a video model of ``num_frames`` frames per window."""

    embeds_windows = True
    naive_reference = None

    @property
    def embed_dim(self) -> int:
        return int(self.config.get("projection_dim", 512))

    @property
    def frames_per_window(self) -> int:
        return int((self.config.get("vision_config") or {}).get("num_frames", 8))

    @property
    def flop_config(self) -> Mapping[str, Any] | None:
        return None  # message tokens and the multi-frame transformer: not a plain ViT

    @property
    def class_token_only_last_block(self) -> bool:
        return False

    def load(self, device: torch.device) -> LoadedModel:
        return XCLIPLoaded.load(self, device)


class XCLIPLoaded(HFModel):
    """An X-CLIP model on a device: video embeddings of windows, and text embeddings
    conditioned on each window."""

    resolved: XCLIPResolved

    def image_forward(self) -> ImageForward:
        return self.encode_pixels

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        raise ModelError(windows_only(self.resolved))

    def encode_windows(self, pixels: torch.Tensor) -> torch.Tensor:
        """X-CLIP's ``video_embeds`` (before normalisation) of windows ``(n, T, 3, h, w)``."""
        self._check(pixels)
        return _features(self.model.get_video_features(pixel_values=pixels))

    def encode_window_texts(self, pixels: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """The full forward's ``text_embeds``: each prompt conditioned on each window by the
        prompt generator, ``(n, len(prompts), dim)`` (unit norm).

        :param pixels: preprocessed windows ``(n, T, 3, h, w)``.
        :param prompts: the texts.
        """
        self._check(pixels)
        out = self.model(pixel_values=pixels, **self.tokenize(prompts), return_dict=True)
        return out.text_embeds

    def encode_texts(self, prompts: list[str]) -> torch.Tensor:
        raise ModelError(
            f"{self.resolved.label} conditions its text embeddings on the video (X-CLIP's prompt "
            "generator), so a text has no embedding without a window; use the per-window text "
            "embeddings (encode_window_texts)."
        )

    def naive_pixels(self, images: list[Any]) -> torch.Tensor:
        raise ModelError(windows_only(self.resolved))

    def _check(self, pixels: torch.Tensor) -> None:
        need = self.resolved.frames_per_window
        if pixels.ndim != 5 or pixels.shape[1] != need:
            raise ModelError(
                f"{self.resolved.label} embeds windows of {need} frames (n, {need}, 3, h, w), "
                f"not {tuple(pixels.shape)}."
            )
