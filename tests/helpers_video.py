"""A tiny random-weight Hugging Face X-CLIP saved the way users save it (the video tests)."""

from __future__ import annotations

from pathlib import Path

import torch
from helpers_hf import TOWER, _tokenizer, transformers

NUM_FRAMES = 4
"""Frames per window of the tiny X-CLIP."""


def save_tiny_xclip(
    folder: Path, image_size: int = 32, shortest_edge: int = 32, layout: str = "processor"
) -> Path:
    """An XCLIPModel (4 frames a window, dim 24) saved with ``model.save_pretrained``, and its
    processor: ``XCLIPProcessor(VideoMAEImageProcessor, CLIPTokenizer).save_pretrained``
    (``layout="processor"``, the hub's image processor class) or a ``CLIPImageProcessor`` and
    the tokenizer saved each on its own (``layout="separate"``, transformers 5's default class
    for X-CLIP)."""
    config = transformers.XCLIPConfig(
        text_config=dict(
            TOWER, vocab_size=160, max_position_embeddings=77, bos_token_id=2, eos_token_id=3
        ),
        vision_config=dict(
            TOWER,
            image_size=image_size,
            patch_size=8,
            num_frames=NUM_FRAMES,
            mit_hidden_size=24,
            mit_intermediate_size=48,
            mit_num_attention_heads=2,
        ),
        projection_dim=24,
        prompt_num_attention_heads=2,
    )
    torch.manual_seed(0)
    transformers.XCLIPModel(config).save_pretrained(folder)
    tokenizer = _tokenizer(transformers.CLIPTokenizer)
    sizes = dict(
        size={"shortest_edge": shortest_edge},
        crop_size={"height": image_size, "width": image_size},
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    if layout == "processor":
        image_processor = transformers.VideoMAEImageProcessor(**sizes)
        transformers.XCLIPProcessor(
            image_processor=image_processor, tokenizer=tokenizer
        ).save_pretrained(folder)
    else:
        transformers.CLIPImageProcessor(**sizes).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return Path(folder)
