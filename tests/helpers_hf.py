"""Tiny random-weight Hugging Face CLIP and SigLIP models saved with ``save_pretrained``, with
tokenizers trained here on a few prompts (nothing can be downloaded in the tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")
import torch  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers  # noqa: E402

PROMPTS = [
    "pole vertically upright on top of the cart",
    "pole on a cart",
    "a humanoid robot kneeling",
    "a humanoid robot standing up",
    "a photo of a pendulum",
    "the arm reaches the target",
]
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]  # ids 0..3: CLIP's end-of-text is not id 2 (legacy)


def _bpe() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        PROMPTS * 4, trainers.BpeTrainer(vocab_size=160, special_tokens=SPECIALS)
    )
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 2), ("</s>", 3)]
    )
    return tok


def _tokenizer(cls: type) -> object:
    return cls(
        tokenizer_object=_bpe(),
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )


TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)


def save_tiny_clip(
    folder: Path, image_size: int = 32, shortest_edge: int | None = None, seed: int = 0
) -> Path:
    """A CLIPModel (ViT 8-pixel patches, dim 24) with its CLIPImageProcessor and a CLIPTokenizer."""
    config = transformers.CLIPConfig(
        text_config=dict(
            TOWER, vocab_size=160, max_position_embeddings=77, bos_token_id=2, eos_token_id=3
        ),
        vision_config=dict(TOWER, image_size=image_size, patch_size=8),
        projection_dim=24,
    )
    torch.manual_seed(seed)
    transformers.CLIPModel(config).save_pretrained(folder)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": shortest_edge or image_size},
        crop_size={"height": image_size, "width": image_size},
    ).save_pretrained(folder)
    _tokenizer(transformers.CLIPTokenizer).save_pretrained(folder)
    return Path(folder)


def save_tiny_siglip(folder: Path, image_size: int = 32, seed: int = 0) -> Path:
    """A SiglipModel (SigLIP 2 style: Gemma-like tokenizer, 16-token texts) with its processor."""
    config = transformers.SiglipConfig(
        text_config=dict(TOWER, vocab_size=160, max_position_embeddings=16, pad_token_id=0),
        vision_config=dict(TOWER, image_size=image_size, patch_size=8),
    )
    torch.manual_seed(seed)
    transformers.SiglipModel(config).save_pretrained(folder)
    transformers.SiglipImageProcessor(
        size={"height": image_size, "width": image_size}
    ).save_pretrained(folder)
    _tokenizer(transformers.Siglip2Tokenizer).save_pretrained(folder)
    return Path(folder)
