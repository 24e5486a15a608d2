"""The open_clip backend, evalkit's default: models by architecture and pretrained tag, from a
local checkpoint, or random.

A model is named by a :class:`~evalkit.vlm.registry.ModelSpec`: an open_clip architecture
(``ViT-B-32``, ``RN50``, evalkit's tiny test models ``evalkit-tiny-vit`` / ``evalkit-tiny-rn``,
or a path to a model config JSON) and where its weights come from::

    ModelSpec("ViT-H-14")                               # evalkit's default tag (laion2b_s32b_b79k)
    ModelSpec("ViT-H-14", "laion2b_s32b_b79k")          # an open_clip pretrained tag
    ModelSpec("ViT-B-32", "weights/vit-b-32.safetensors")   # a local checkpoint
    ModelSpec("evalkit-tiny-vit", "none")               # random weights (tests, smoke runs)

Resolving checks a spec without loading anything heavy (unknown names and tags fail here, with
the closest valid names) and gives its *identity*: what the embedding cache is keyed by.
Loading builds the model with open_clip, on a device, with the model's own preprocessing
configuration and tokenizer. Weights for a tag come from :mod:`evalkit.vlm.open_clip_weights`;
checkpoints are read with ``safetensors`` or ``torch.load(weights_only=True)`` (no arbitrary
pickle is executed), and those that do not load are explained by
:mod:`evalkit.vlm.open_clip_checkpoints`. Random weights are drawn from a fixed seed, so that
two loads give the same model.
"""

from __future__ import annotations

import atexit
import difflib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import open_clip
import torch
from open_clip.transform import PreprocessCfg, merge_preprocess_dict

from evalkit.errors import ModelError
from evalkit.vlm.backend import RANDOM, RANDOM_SEED, ImageForward, LoadedModel, ResolvedModel
from evalkit.vlm.fast_forward import cls_only_image_forward, is_convolutional
from evalkit.vlm.hub import file_sha256, read_json_object, sha256_json
from evalkit.vlm.names import FILE_LABEL
from evalkit.vlm.open_clip_checkpoints import (
    check_checkpoint_file,
    explain_load_error,
    quiet_open_clip,
)
from evalkit.vlm.open_clip_params import count_parameters
from evalkit.vlm.open_clip_weights import cached_weights, weights_file_for_tag
from evalkit.vlm.registry import Backend, Catalogue, ModelSpec

CONFIG_DIR = Path(__file__).parent / "configs"
"""Model configs shipped with evalkit (``evalkit-tiny-vit``, ``evalkit-tiny-rn``)."""

TINY_MODELS = ("evalkit-tiny-vit", "evalkit-tiny-rn")
"""Tiny random-weight architectures for tests: 32×32 input, embedding dimension 32."""

DEFAULT_TAGS: dict[str, str] = {
    # The paper's models (Section 4.4).
    "RN50": "openai",
    "ViT-L-14": "laion2b_s32b_b82k",
    "ViT-H-14": "laion2b_s32b_b79k",
    "ViT-bigG-14": "laion2b_s39b_b160k",
    # Common others: the strongest LAION-2B training run.
    "ViT-B-32": "laion2b_s34b_b79k",
    "ViT-B-16": "laion2b_s34b_b88k",
    "ViT-g-14": "laion2b_s34b_b88k",
}
"""evalkit's pretrained tag per architecture; others use :func:`default_tag`'s rule."""

_log = logging.getLogger(__name__)


def _register_builtin_configs() -> None:
    if not all(name in open_clip.list_models() for name in TINY_MODELS):
        open_clip.add_model_config(CONFIG_DIR)


_register_builtin_configs()


@dataclass(frozen=True)
class ResolvedSpec(ResolvedModel):
    """A checked open_clip :class:`ModelSpec`: the architecture config, the weights' source and identity.

    Nothing heavy has been loaded. ``identity`` is a JSON-able dict that changes whenever the
    weights, architecture or preprocessing would change the embeddings.
    """

    spec: ModelSpec
    arch: str  # open_clip name the config is registered under
    display_name: str
    config: dict[str, Any]
    config_sha256: str
    weights: str  # "tag", "file" or "random"
    weights_sha256: str | None
    quick_gelu: bool
    preprocess: dict[str, Any]
    tag: str | None = None
    weights_path: str | None = None  # checkpoint file (for "file"); cached file for "tag" if known
    tag_cfg: dict[str, Any] = field(default_factory=dict, compare=False)

    backend = "open_clip"
    naive_reference = "PIL, encode_image"

    @property
    def random_weights(self) -> bool:
        return self.weights == "random"

    @property
    def embed_dim(self) -> int:
        return int(self.config["embed_dim"])

    @property
    def identity(self) -> dict[str, Any]:
        if self.weights == "tag":
            weights: Any = {
                "tag": self.tag,
                "source": self.tag_cfg.get("hf_hub") or self.tag_cfg.get("url", ""),
            }
        elif self.weights == "file":
            weights = {"file_sha256": self.weights_sha256}
        else:
            weights = {"random_seed": RANDOM_SEED}
        return {
            "model": self.display_name,
            "config_sha256": self.config_sha256,
            "weights": weights,
            "quick_gelu": self.quick_gelu,
            "preprocess": self.preprocess,
        }

    @property
    def label(self) -> str:
        """One line naming the model and its weights, e.g. ``ViT-B-32/laion2b_s34b_b79k``."""
        if self.weights == "tag":
            return f"{self.display_name}/{self.tag}"
        if self.weights == "file":
            return f"{self.display_name}{FILE_LABEL}{Path(self.weights_path or '').name}@{(self.weights_sha256 or '')[:12]}"
        return f"{self.display_name}/RANDOM-WEIGHTS"

    @property
    def weights_slug(self) -> str:
        if self.weights == "tag":
            return self.tag or ""
        return "random" if self.weights == "random" else f"file-{(self.weights_sha256 or '')[:8]}"

    @property
    def parameters(self) -> int | None:
        return count_parameters(self.config)

    @property
    def flop_config(self) -> Mapping[str, Any] | None:
        return self.config

    @property
    def class_token_only_last_block(self) -> bool:
        return True  # where the tower is a plain ViT (the only case flop_config is counted)

    def ensure_weights(self) -> None:
        if self.tag and not self.random_weights:
            weights_file_for_tag(self)

    def load(self, device: torch.device) -> OpenClipModel:
        return load_open_clip(self, device)


def _closest(name: str, valid: list[str], n: int = 3) -> str:
    close = difflib.get_close_matches(name, valid, n=n, cutoff=0.5)
    if not close:
        lowered = {v.lower(): v for v in valid}
        close = [
            lowered[c]
            for c in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
        ]
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _load_config_file(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model config, preprocess overrides) from an open_clip config JSON."""
    data = read_json_object(path, "Model config")
    preprocess = {}
    if "model_cfg" in data:  # a hub-style open_clip_config.json
        preprocess = data.get("preprocess_cfg", {}) or {}
        data = data["model_cfg"]
    missing = [k for k in ("embed_dim", "vision_cfg", "text_cfg") if k not in data]
    if missing:
        raise ModelError(
            f"Model config {path} lacks {', '.join(missing)}; it must be an open_clip model config "
            "(like open_clip/model_configs/ViT-B-32.json)."
        )
    return data, preprocess


_CUSTOM_DIR: Path | None = None


def _config_dir() -> Path:
    """This process's folder of model configs written for open_clip (removed when it exits)."""
    global _CUSTOM_DIR
    if _CUSTOM_DIR is None:
        _CUSTOM_DIR = Path(tempfile.mkdtemp(prefix="evalkit-model-configs-"))
        atexit.register(shutil.rmtree, _CUSTOM_DIR, ignore_errors=True)
    return _CUSTOM_DIR


def _register_custom_config(path: Path, config: dict[str, Any], sha: str) -> str:
    """Register a user config with open_clip under a name unique to its content."""
    arch = f"{path.stem}-{sha[:10]}"
    if arch not in open_clip.list_models():
        target = _config_dir() / f"{arch}.json"
        target.write_text(json.dumps(config))
        open_clip.add_model_config(target)
    return arch


def default_tag(model: str) -> str | None:
    """evalkit's default pretrained tag for an architecture (``None`` if it has none).

    The paper's tags for its models (:data:`DEFAULT_TAGS`); ``openai`` for other ResNets; else
    the LAION/DataComp run with the most samples seen (``..._s34b_...``); else the first tag.
    """
    tags = open_clip.list_pretrained_tags_by_model(model)
    if not tags:
        return None
    if model in DEFAULT_TAGS and DEFAULT_TAGS[model] in tags:
        return DEFAULT_TAGS[model]
    if model.startswith("RN") and "openai" in tags:
        return "openai"

    def seen(tag: str) -> float:
        m = re.search(r"_s(\d+(?:\.\d+)?)([bm])", tag)
        if not m:
            return -1.0
        return float(m.group(1)) * (1e9 if m.group(2) == "b" else 1e6)

    best = max(tags, key=seen)
    return best if seen(best) > 0 else tags[0]


def canonical_model_name(name: str) -> str:
    """open_clip's spelling of a model name typed in any case (``vit-b-32`` → ``ViT-B-32``);
    other names (unknown ones, config files) unchanged."""
    arch = name.strip().replace("/", "-")
    return {m.lower(): m for m in open_clip.list_models()}.get(arch.lower(), name.strip())


def resolve_open_clip(spec: ModelSpec) -> ResolvedSpec:
    """Check an open_clip spec and work out its identity, without loading weights or downloading.

    :param spec: the architecture (or config file) and weights.
    :raises ModelError: unknown architecture or tag (with the closest valid names), a missing
        checkpoint file, a config file that is not an open_clip config.
    """
    name = spec.model.strip()
    preprocess_extra: dict[str, Any] = {}
    if name.endswith(".json") or Path(name).is_file():
        path = Path(name).expanduser()
        if not path.is_file():
            raise ModelError(f"Model config file {path} does not exist.")
        config, preprocess_extra = _load_config_file(path)
        config_sha = sha256_json(config)
        arch = _register_custom_config(path, config, config_sha)
        display = path.stem
    else:
        arch = canonical_model_name(name)
        if arch not in open_clip.list_models():
            raise ModelError(
                f"Unknown model {name!r}.{_closest(arch, open_clip.list_models())} "
                "List the known models with 'evalkit models'."
            )
        config = open_clip.get_model_config(arch)
        config_sha = sha256_json(config)
        display = arch

    tag_value = spec.pretrained
    if tag_value is None:
        tag_value = default_tag(arch) if display == arch else None
        if tag_value is None:
            raise ModelError(
                f"Model {display!r} has no default pretrained weights; pass --pretrained TAG|PATH, "
                "or --pretrained none for random weights."
            )
    tag_value = str(tag_value).strip()

    tag_cfg: dict[str, Any] = {}
    weights_path = None
    weights_sha = None
    quick_gelu = bool(config.get("quick_gelu", False))
    if tag_value.lower() == RANDOM:
        kind, tag = "random", None
    elif display == arch and open_clip.get_pretrained_cfg(arch, tag_value):
        kind, tag = "tag", tag_value
        tag_cfg = dict(open_clip.get_pretrained_cfg(arch, tag_value))
        quick_gelu = quick_gelu or bool(tag_cfg.get("quick_gelu", False))
        weights_path = cached_weights(arch, tag_value)
    elif (
        Path(tag_value).expanduser().exists()
        or os.sep in tag_value
        or Path(tag_value).suffix in {".safetensors", ".pt", ".pth", ".bin", ".ckpt"}
    ):
        path = Path(tag_value).expanduser()
        check_checkpoint_file(path)
        kind, tag = "file", None
        weights_path = str(path.resolve())
        weights_sha = file_sha256(path)
    else:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        known = (
            f"Its tags: {', '.join(tags)}." if tags else "It has no pretrained tags in open_clip."
        )
        raise ModelError(
            f"Unknown pretrained tag {tag_value!r} for model {display!r}.{_closest(tag_value, tags)} {known} "
            "Or pass a checkpoint path, or 'none' for random weights."
        )

    preprocess = asdict(PreprocessCfg())
    preprocess = merge_preprocess_dict(preprocess, tag_cfg)
    preprocess = merge_preprocess_dict(preprocess, preprocess_extra)
    preprocess["size"] = config["vision_cfg"].get("image_size", preprocess["size"])
    preprocess = _canonical_preprocess(preprocess)
    return ResolvedSpec(
        spec=spec,
        arch=arch,
        display_name=display,
        config=config,
        config_sha256=config_sha,
        weights=kind,
        tag=tag,
        weights_path=weights_path,
        weights_sha256=weights_sha,
        quick_gelu=quick_gelu,
        preprocess=preprocess,
        tag_cfg=tag_cfg,
    )


def _canonical_preprocess(cfg: Mapping[str, Any]) -> dict[str, Any]:
    size = cfg["size"]
    size = [int(size), int(size)] if isinstance(size, (int, float)) else [int(s) for s in size][-2:]
    return {
        "size": size,
        "mean": [float(v) for v in cfg["mean"]],
        "std": [float(v) for v in cfg["std"]],
        "interpolation": str(cfg.get("interpolation") or "bicubic"),
        "resize_mode": str(cfg.get("resize_mode") or "shortest"),
        "fill_color": int(cfg.get("fill_color", 0) or 0),
    }


# -- loading ------------------------------------------------------------------------------------


@dataclass
class OpenClipModel(LoadedModel):
    """An open_clip model in eval mode on a device, with its preprocessing and tokenizer.

    Convolutional image towers (ResNets, ConvNeXts) are converted to channels-last (faster with
    oneDNN on the CPU and cuDNN on a GPU); a plain ViT runs its last block for the class token
    alone (:func:`~evalkit.vlm.fast_forward.cls_only_image_forward`).
    """

    resolved: ResolvedSpec
    model: torch.nn.Module
    tokenizer: Callable[..., torch.Tensor]
    pil_transform: Callable[[Any], torch.Tensor]
    device: torch.device

    def __post_init__(self) -> None:
        self._channels_last = is_convolutional(self.model.visual)
        if self._channels_last:
            self.model.visual.to(memory_format=torch.channels_last)

    @property
    def channels_last(self) -> bool:
        return self._channels_last

    def image_forward(self) -> ImageForward:
        return cls_only_image_forward(self.model) or self.model.encode_image

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)

    def encode_texts(self, prompts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer(prompts).to(self.device))

    def naive_pixels(self, images: list[Any]) -> torch.Tensor:
        return torch.stack([self.pil_transform(im) for im in images])


def load_open_clip(resolved: ResolvedSpec, device: torch.device) -> OpenClipModel:
    """Build a resolved open_clip model on ``device`` (eval mode, fp32, no gradients).

    :raises ModelError: missing weights offline, a corrupt or mismatched checkpoint.
    """
    if resolved.arch not in open_clip.list_models():  # custom config in a fresh process
        open_clip.add_model_config(_write_temp_config(resolved))
    device = torch.device(device)
    weights = None
    if resolved.weights == "tag":
        weights = weights_file_for_tag(resolved)
    elif resolved.weights == "file":
        weights = resolved.weights_path
        check_checkpoint_file(weights)
    pp = resolved.preprocess
    kwargs: dict[str, Any] = dict(
        force_quick_gelu=resolved.quick_gelu and not resolved.config.get("quick_gelu", False),
        image_mean=tuple(pp["mean"]),
        image_std=tuple(pp["std"]),
        image_interpolation=pp["interpolation"],
        image_resize_mode=pp["resize_mode"],
        weights_only=True,
    )
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings(), quiet_open_clip():
        warnings.simplefilter("ignore", UserWarning)
        torch.manual_seed(RANDOM_SEED)
        try:
            model, _, pil_transform = open_clip.create_model_and_transforms(
                resolved.arch, pretrained=weights, **kwargs
            )
        except ModelError:
            raise
        except Exception as exc:
            if weights is None:
                raise
            raise explain_load_error(exc, weights, resolved) from None
    model = model.to(device).eval()
    model.requires_grad_(False)
    actual = _canonical_preprocess(model.visual.preprocess_cfg)
    if actual != resolved.preprocess:  # pragma: no cover - would mean our resolution is out of date
        raise ModelError(
            f"open_clip's preprocessing for {resolved.label} ({actual}) differs from evalkit's ({resolved.preprocess})."
        )
    tokenizer = open_clip.get_tokenizer(resolved.arch)
    return OpenClipModel(
        resolved=resolved,
        model=model,
        tokenizer=tokenizer,
        pil_transform=pil_transform,
        device=device,
    )


def _write_temp_config(resolved: ResolvedSpec) -> Path:
    target = _config_dir() / f"{resolved.arch}.json"
    target.write_text(json.dumps(resolved.config))
    return target


def is_custom_arch(name: str) -> bool:
    """Whether an open_clip name is a config evalkit registered for a user's config file."""
    return _CUSTOM_DIR is not None and (_CUSTOM_DIR / f"{name}.json").exists()


class OpenClipBackend(Backend):
    """open_clip: the default backend, for every name without a registered prefix."""

    name = "open_clip"
    prefix = None
    usage = (
        "ARCH [--pretrained TAG|PATH|none] (open_clip: e.g. ViT-B-32, or ViT-B-32:TAG), "
        "or a path to an open_clip model config JSON"
    )

    def parse(self, text: str, pretrained: str | None = None) -> ModelSpec:
        """``ViT-B-32:laion2b_s34b_b79k`` is an architecture and a tag; other names as typed."""
        if pretrained is None and ":" in text and not Path(text).exists():
            name, _, tag = text.partition(":")
            if name in open_clip.list_models():
                return ModelSpec(name, tag)
        return ModelSpec(text, pretrained)

    def resolve(self, spec: ModelSpec) -> ResolvedSpec:
        return resolve_open_clip(spec)

    def catalogue(self, include_all: bool = False) -> Catalogue:
        from evalkit.vlm.open_clip_catalogue import open_clip_catalogue  # imports this module

        return open_clip_catalogue(include_untagged=include_all)

    def default_tag(self, model: str) -> str | None:
        return default_tag(model)

    def canonical_name(self, model: str) -> str:
        return canonical_model_name(model)


BACKEND = OpenClipBackend()
"""The instance :mod:`evalkit.vlm.registry` registers."""
