"""open_clip checkpoints that do not load, explained in one sentence: a folder or a missing
file, pickled objects, another architecture's weights (which weights differ), a truncated file."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import open_clip
import torch

from evalkit.errors import ModelError

if TYPE_CHECKING:
    from evalkit.vlm.open_clip_backend import ResolvedSpec


def check_checkpoint_file(where: "Path | str | None") -> None:
    """Refuse a ``--pretrained`` path that is not a file, naming what it is instead."""
    path = Path(where) if where else None
    if path is not None and path.is_dir():
        raise ModelError(
            f"Checkpoint {path} is a folder; --pretrained expects a checkpoint file "
            "(.safetensors, .pt, .bin) inside it."
        )
    if path is None or not path.is_file():
        raise ModelError(f"Checkpoint file {where} does not exist.")


def explain_load_error(exc: BaseException, path: str, resolved: ResolvedSpec) -> ModelError:
    """The one sentence for a checkpoint open_clip could not load.

    :param exc: what open_clip raised.
    :param path: the checkpoint file.
    :param resolved: the model it was loaded into.
    """
    text = str(exc)
    name = Path(path).name
    if "Error(s) in loading state_dict" in text:
        missing = re.search(
            r"Missing key\(s\) in state_dict: (.*?)(?:\.\s*$|\.\s*\n|\n\t)", text, re.S
        )
        unexpected = re.search(
            r"Unexpected key\(s\) in state_dict: (.*?)(?:\.\s*$|\.\s*\n|\n\t)", text, re.S
        )
        shapes = re.findall(
            r"size mismatch for ([^:]+): copying a param with shape torch\.Size\((\[[^\]]*\])\) from "
            r"checkpoint, the shape in current model is torch\.Size\((\[[^\]]*\])\)",
            text,
        )
        detail = _difference_text(
            [k.strip().strip('"') for k in missing.group(1).split(",")] if missing else [],
            [k.strip().strip('"') for k in unexpected.group(1).split(",")] if unexpected else [],
            shapes,
        )
        return _mismatch_error(name, resolved, detail or text.splitlines()[0])
    if "Unsupported global" in text:
        return ModelError(
            f"Checkpoint {name} holds pickled Python objects, which evalkit does not execute "
            "(torch.load weights_only). Save a plain state dict (torch.save(model.state_dict(), ...)) "
            "or a .safetensors file."
        )
    mismatch = _architecture_mismatch(path, resolved)
    if mismatch:  # a readable state dict that open_clip's own adapters choked on
        return _mismatch_error(name, resolved, mismatch)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if "Weights only load failed" in text:
        first = "not a torch state dict"
    return ModelError(
        f"Checkpoint {name} is not a readable weights file ({type(exc).__name__}: {first[:200]}); "
        "it may be truncated or corrupt — download or save it again."
    )


def _mismatch_error(name: str, resolved: ResolvedSpec, detail: str) -> ModelError:
    return ModelError(
        f"Checkpoint {name} belongs to another architecture; it does not match the architecture "
        f"{resolved.display_name}: {detail}. Pass the --model the checkpoint was trained with."
    )


def _architecture_mismatch(path: str, resolved: ResolvedSpec) -> str | None:
    """How a readable checkpoint's weights differ from the architecture's (``None``: unreadable,
    or no difference in names and shapes)."""
    try:
        state = open_clip.factory.load_state_dict(path, weights_only=True)
        shapes = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    except Exception:  # not a state dict at all: the caller says corrupt
        return None
    if not shapes:
        return None
    with torch.device("meta"), quiet_open_clip():  # the names and shapes, no memory
        expected = {
            k: tuple(v.shape)
            for k, v in open_clip.create_model(resolved.arch, device="meta").state_dict().items()
        }
    return (
        _difference_text(
            [k for k in expected if k not in shapes],
            [k for k in shapes if k not in expected],
            [
                (k, str(list(shapes[k])), str(list(expected[k])))
                for k in expected
                if k in shapes and shapes[k] != expected[k]
            ],
        )
        or None
    )


def _difference_text(
    missing: list[str], unexpected: list[str], shapes: list[tuple[str, str, str]]
) -> str:
    """A checkpoint's weights against the model's, briefly: (name, file shape, model shape)."""
    parts = []
    if missing:
        parts.append(f"{len(missing)} weights missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected weights (e.g. {', '.join(unexpected[:3])})")
    if shapes:
        k, a, b = shapes[0]
        parts.append(
            f"{len(shapes)} shape mismatches (e.g. {k}: {a} in the file, {b} in the model)"
        )
    return "; ".join(parts)


class quiet_open_clip:
    """Silence open_clip's 'initialized randomly' log lines (evalkit reports random weights itself)."""

    def __enter__(self) -> None:
        self._level = logging.root.manager.disable
        logging.disable(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        logging.disable(self._level)
