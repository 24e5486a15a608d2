"""Tiny random-weight Hugging Face CLIP and SigLIP models saved the way users save them
(``model.save_pretrained``, ``processor.save_pretrained``), with tokenizers trained here on a
few prompts (nothing can be downloaded in the tests).

``layout="processor"`` saves a ``CLIPProcessor`` / ``SiglipProcessor`` (in transformers 5:
``processor_config.json`` with the image processor nested, no ``preprocessor_config.json``);
``layout="separate"`` saves the image processor and the tokenizer each on its own
(``preprocessor_config.json``, the layout of transformers 4 and of hub repositories).
"""

from __future__ import annotations

from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")
import json  # noqa: E402

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


LAYOUTS = ("processor", "separate")


def _save_processor(
    folder: Path, processor_cls: type, image_processor: object, tokenizer: object, layout: str
) -> None:
    if layout == "processor":
        processor_cls(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    elif layout == "separate":
        image_processor.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    else:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")


def save_tiny_clip(
    folder: Path,
    image_size: int = 32,
    shortest_edge: int | None = None,
    seed: int = 0,
    layout: str = "processor",
) -> Path:
    """A CLIPModel (ViT 8-pixel patches, dim 24) with its CLIPProcessor (image processor and a
    CLIPTokenizer), saved in ``layout``."""
    config = transformers.CLIPConfig(
        text_config=dict(
            TOWER, vocab_size=160, max_position_embeddings=77, bos_token_id=2, eos_token_id=3
        ),
        vision_config=dict(TOWER, image_size=image_size, patch_size=8),
        projection_dim=24,
    )
    torch.manual_seed(seed)
    transformers.CLIPModel(config).save_pretrained(folder)
    image_processor = transformers.CLIPImageProcessor(
        size={"shortest_edge": shortest_edge or image_size},
        crop_size={"height": image_size, "width": image_size},
    )
    tokenizer = _tokenizer(transformers.CLIPTokenizer)
    _save_processor(folder, transformers.CLIPProcessor, image_processor, tokenizer, layout)
    return Path(folder)


def save_tiny_siglip(
    folder: Path, image_size: int = 32, seed: int = 0, layout: str = "processor"
) -> Path:
    """A SiglipModel (SigLIP 2 style: Gemma-like tokenizer, 16-token texts) with its
    SiglipProcessor, saved in ``layout``."""
    config = transformers.SiglipConfig(
        text_config=dict(TOWER, vocab_size=160, max_position_embeddings=16, pad_token_id=0),
        vision_config=dict(TOWER, image_size=image_size, patch_size=8),
    )
    torch.manual_seed(seed)
    transformers.SiglipModel(config).save_pretrained(folder)
    image_processor = transformers.SiglipImageProcessor(
        size={"height": image_size, "width": image_size}
    )
    tokenizer = _tokenizer(transformers.Siglip2Tokenizer)
    _save_processor(folder, transformers.SiglipProcessor, image_processor, tokenizer, layout)
    return Path(folder)


def edit_image_processor(folder: Path, change: dict) -> None:
    """Change settings of the image processor saved in ``folder``, in whichever layout it is."""
    separate = folder / "preprocessor_config.json"
    if separate.is_file():
        separate.write_text(json.dumps({**json.loads(separate.read_text()), **change}))
        return
    path = folder / "processor_config.json"
    data = json.loads(path.read_text())
    data["image_processor"] = {**data["image_processor"], **change}
    path.write_text(json.dumps(data))
