"""Models by name (the front door of every backend) and the open_clip backend: by name and
pretrained tag, from a local checkpoint, or random.

:func:`resolve` and :func:`load_model` take any model name: ``hf:ORG/NAME[@REVISION]`` and
``hf:/local/dir`` go to the Hugging Face backend (:mod:`evalkit.vlm.hf_models`), every other
name to open_clip (this module). Both give a :class:`~evalkit.vlm.backend.ResolvedModel` and a
:class:`~evalkit.vlm.backend.LoadedModel`, the interface the engine talks to.

A model is named by a :class:`ModelSpec`: an open_clip architecture (``ViT-B-32``, ``RN50``,
evalkit's tiny test models ``evalkit-tiny-vit`` / ``evalkit-tiny-rn``, or a path to a model
config JSON) and where its weights come from::

    ModelSpec("ViT-H-14")                               # evalkit's default tag (laion2b_s32b_b79k)
    ModelSpec("ViT-H-14", "laion2b_s32b_b79k")          # an open_clip pretrained tag
    ModelSpec("ViT-B-32", "weights/vit-b-32.safetensors")   # a local checkpoint
    ModelSpec("evalkit-tiny-vit", "none")               # random weights (tests, smoke runs)
    ModelSpec("hf:openai/clip-vit-base-patch32")       # Hugging Face (evalkit.vlm.hf_models)

:func:`resolve` checks a spec without loading anything heavy (unknown names and tags fail
here, with the closest valid names) and gives its *identity*: what the embedding cache is keyed
by. :func:`load_model` builds the model with open_clip, on a device, with the model's own
preprocessing configuration and tokenizer.

Weights for a tag come from the usual caches (Hugging Face hub cache, ``~/.cache/clip``); if
they are not there and the hub is offline (``HF_HUB_OFFLINE=1``) or unreachable, loading fails
at once with advice instead of waiting for the hub's retries. Checkpoints are read with
``safetensors`` or ``torch.load(weights_only=True)``: no arbitrary pickle is executed.
Random weights are drawn from a fixed seed, so that two loads give the same model.
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
from urllib.parse import urlparse

import open_clip
import torch
from open_clip.transform import PreprocessCfg, merge_preprocess_dict

from evalkit.errors import ModelError
from evalkit.vlm import hf_models
from evalkit.vlm.backend import (  # RANDOM... are re-exported: this module named them first
    RANDOM,
    RANDOM_SEED,
    RANDOM_WEIGHTS_WARNING,
    ImageForward,
    LoadedModel,
    ResolvedModel,
)
from evalkit.vlm.fast_forward import cls_only_image_forward, is_convolutional
from evalkit.vlm.hub import file_sha256
from evalkit.vlm.hub import hub_offline as _hub_offline
from evalkit.vlm.hub import reachable as _reachable
from evalkit.vlm.hub import sha256_json as _sha256_json
from evalkit.vlm.names import FILE_LABEL

__all__ = [
    "RANDOM",
    "RANDOM_SEED",
    "RANDOM_WEIGHTS_WARNING",
    "TINY_MODELS",
    "KnownModel",
    "LoadedModel",
    "ModelSpec",
    "OpenClipModel",
    "ResolvedModel",
    "ResolvedSpec",
    "cached_weights",
    "canonical_model_name",
    "count_parameters",
    "default_tag",
    "FILE_LABEL",
    "ensure_weights",
    "file_sha256",
    "known_models",
    "load_model",
    "model_parameters",
    "resolve",
]

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

WEIGHTS_HINT = (
    "pass --pretrained PATH to a local checkpoint (.safetensors or a torch state dict), "
    "or run once with network access (HF_HUB_OFFLINE unset) to download them into the cache"
)

_log = logging.getLogger(__name__)


def _register_builtin_configs() -> None:
    if not all(name in open_clip.list_models() for name in TINY_MODELS):
        open_clip.add_model_config(CONFIG_DIR)


_register_builtin_configs()


# -- specs and their identity ------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """Which model and which weights.

    :param model: an open_clip architecture name (``open_clip.list_models()``) or a path to a
        model config JSON (open_clip's format, or a hub ``open_clip_config.json``).
    :param pretrained: an open_clip pretrained tag, a path to a checkpoint file, ``"none"`` for
        random weights, or ``None`` for evalkit's default tag of the architecture.
    """

    model: str
    pretrained: str | None = None

    def __str__(self) -> str:
        return f"{self.model}:{self.pretrained}" if self.pretrained else self.model

    @classmethod
    def coerce(cls, spec: "ModelSpec | str", pretrained: str | None = None) -> "ModelSpec":
        """A spec from a spec or a string (``"ViT-B-32"`` or ``"ViT-B-32:laion2b_s34b_b79k"``)."""
        if isinstance(spec, ModelSpec):
            return spec if pretrained is None else cls(spec.model, pretrained)
        text = str(spec)
        if hf_models.is_hf_name(text):
            return cls(text.strip(), pretrained)
        if pretrained is None and ":" in text and not Path(text).exists():
            name, _, tag = text.partition(":")
            if name in open_clip.list_models():
                return cls(name, tag)
        return cls(text, pretrained)


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
    tag: str | None
    weights_path: str | None  # checkpoint file (for "file"); cached file for "tag" if known
    weights_sha256: str | None
    quick_gelu: bool
    preprocess: dict[str, Any]
    tag_cfg: dict[str, Any] = field(default_factory=dict, compare=False)

    backend = "open_clip"

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
            _weights_file_for_tag(self)

    def load(self, device: torch.device) -> OpenClipModel:
        return _load_open_clip(self, device)


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
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"Model config {path} is not readable JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise ModelError(f"Model config {path} is not a JSON object.")
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
    if hf_models.is_hf_name(model):
        return None  # a Hugging Face model's weights are named by its revision
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


def _hf_candidates(hf_hub: str) -> tuple[str, list[str]]:
    """(repo id, file names open_clip would try in order) for a pretrained cfg's ``hf_hub``."""
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    repo, filename = os.path.split(hf_hub)  # as open_clip.pretrained.download_pretrained does
    filename = filename or HF_WEIGHTS_NAME
    names = []
    if filename == HF_WEIGHTS_NAME:
        names.append(HF_SAFE_WEIGHTS_NAME)
    elif filename.endswith((".bin", ".pth")):
        names.append(filename[:-4] + ".safetensors")
    names.append(filename)
    return repo, names


def cached_weights(model: str, tag: str) -> str | None:
    """Path of the weights for ``(model, tag)`` if they are already on this machine."""
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        return None
    if cfg.get("file"):
        return cfg["file"] if os.path.isfile(cfg["file"]) else None
    if cfg.get("hf_hub"):
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            repo, names = _hf_candidates(cfg["hf_hub"])
            for name in names:
                hit = try_to_load_from_cache(repo, name)
                if isinstance(hit, str) and os.path.isfile(hit):
                    return hit
    if cfg.get("url"):
        local = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(cfg["url"])
        if local.is_file():
            return str(local)
    return None


def canonical_model_name(name: str) -> str:
    """open_clip's spelling of a model name typed in any case (``vit-b-32`` → ``ViT-B-32``);
    other names (unknown ones, config files) unchanged."""
    arch = name.strip().replace("/", "-")
    return {m.lower(): m for m in open_clip.list_models()}.get(arch.lower(), name.strip())


def resolve(spec: ModelSpec | str, pretrained: str | None = None) -> ResolvedModel:
    """Check a model spec and work out its identity, without loading weights or downloading.

    ``hf:`` names go to the Hugging Face backend (:func:`evalkit.vlm.hf_models.resolve_hf`).

    :raises ModelError: unknown architecture or tag (with the closest valid names), a missing
        checkpoint file, a config file that is not an open_clip config.
    """
    spec = ModelSpec.coerce(spec, pretrained)
    if hf_models.is_hf_name(spec.model):
        return hf_models.resolve_hf(spec.model, spec.pretrained, spec)
    return _resolve_open_clip(spec)


def _resolve_open_clip(spec: ModelSpec) -> ResolvedSpec:
    name = spec.model.strip()
    preprocess_extra: dict[str, Any] = {}
    if name.endswith(".json") or Path(name).is_file():
        path = Path(name).expanduser()
        if not path.is_file():
            raise ModelError(f"Model config file {path} does not exist.")
        config, preprocess_extra = _load_config_file(path)
        config_sha = _sha256_json(config)
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
        config_sha = _sha256_json(config)
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
        _check_checkpoint_file(path)
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


def _check_checkpoint_file(where: "Path | str | None") -> None:
    """Refuse a ``--pretrained`` path that is not a file, naming what it is instead."""
    path = Path(where) if where else None
    if path is not None and path.is_dir():
        raise ModelError(
            f"Checkpoint {path} is a folder; --pretrained expects a checkpoint file "
            "(.safetensors, .pt, .bin) inside it."
        )
    if path is None or not path.is_file():
        raise ModelError(f"Checkpoint file {where} does not exist.")


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


def ensure_weights(resolved: ResolvedModel) -> None:
    """Make sure a model's weights are on this machine (downloading them if the hub is reachable),
    so that a missing-weights error comes before any work starts or any cache is written."""
    resolved.ensure_weights()


def _weights_file_for_tag(resolved: ResolvedSpec) -> str:
    """The local file holding a tag's weights: from the cache, or downloaded (fails fast offline)."""
    cached = cached_weights(resolved.arch, resolved.tag or "")
    if cached:
        return cached
    what = f"The weights of {resolved.display_name} ({resolved.tag})"
    if _hub_offline():
        raise ModelError(
            f"{what} are not on this machine and the Hugging Face hub is offline (HF_HUB_OFFLINE); {WEIGHTS_HINT}."
        )
    cfg = resolved.tag_cfg
    if cfg.get("hf_hub"):
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    else:
        endpoint = cfg.get("url", "")
    if not _reachable(endpoint):
        raise ModelError(
            f"{what} are not on this machine and {urlparse(endpoint).hostname} cannot be reached; {WEIGHTS_HINT}."
        )
    _log.warning("Downloading %s (%s) with open_clip...", resolved.display_name, resolved.tag)
    try:
        path = open_clip.download_pretrained(cfg)
    except Exception as exc:  # network errors come in many types
        raise ModelError(
            f"Downloading {what.lower()[4:]} failed ({exc}); {WEIGHTS_HINT}."
        ) from None
    if not path or not os.path.isfile(path):
        raise ModelError(f"Downloading {what.lower()[4:]} gave no file; {WEIGHTS_HINT}.")
    return path


def _explain_load_error(exc: BaseException, path: str, resolved: ResolvedSpec) -> ModelError:
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
    with torch.device("meta"), _quiet_open_clip():  # the names and shapes, no memory
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


def load_model(
    spec: ModelSpec | ResolvedModel | str,
    device: str | torch.device = "cpu",
    pretrained: str | None = None,
) -> LoadedModel:
    """Build the model of ``spec`` on ``device`` in eval mode (fp32 weights), with its backend.

    :raises ModelError: unknown names, missing weights offline, a corrupt or mismatched checkpoint.
    """
    resolved = spec if isinstance(spec, ResolvedModel) else resolve(spec, pretrained)
    return resolved.load(torch.device(device))


def _load_open_clip(resolved: ResolvedSpec, device: torch.device) -> OpenClipModel:
    if resolved.arch not in open_clip.list_models():  # custom config in a fresh process
        open_clip.add_model_config(_write_temp_config(resolved))
    device = torch.device(device)
    weights = None
    if resolved.weights == "tag":
        weights = _weights_file_for_tag(resolved)
    elif resolved.weights == "file":
        weights = resolved.weights_path
        _check_checkpoint_file(weights)
    pp = resolved.preprocess
    kwargs: dict[str, Any] = dict(
        force_quick_gelu=resolved.quick_gelu and not resolved.config.get("quick_gelu", False),
        image_mean=tuple(pp["mean"]),
        image_std=tuple(pp["std"]),
        image_interpolation=pp["interpolation"],
        image_resize_mode=pp["resize_mode"],
        weights_only=True,
    )
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings(), _quiet_open_clip():
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
            raise _explain_load_error(exc, weights, resolved) from None
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


class _quiet_open_clip:
    """Silence open_clip's 'initialized randomly' log lines (evalkit reports random weights itself)."""

    def __enter__(self) -> None:
        self._level = logging.root.manager.disable
        logging.disable(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        logging.disable(self._level)


# -- model catalogue ------------------------------------------------------------------------------


def count_parameters(config: Mapping[str, Any]) -> int | None:
    """Parameter count of a standard open_clip CLIP config, from the config alone.

    Covers ViT and ModifiedResNet image towers with the standard text transformer (the paper's
    models and most others); ``None`` for timm / Hugging Face towers and exotic options.
    """
    try:
        vision = _vision_params(config["vision_cfg"], int(config["embed_dim"]))
        text = _text_params(config["text_cfg"], int(config["embed_dim"]))
    except (KeyError, TypeError, ValueError):
        return None
    if vision is None or text is None or config.get("custom_text") or "multimodal_cfg" in config:
        return None
    return vision + text + 1 + (1 if config.get("init_logit_bias") is not None else 0)


def _block_params(width: int, mlp_ratio: float) -> int:
    hidden = int(width * mlp_ratio)
    return 4 * width * width + 4 * width + 2 * width * hidden + hidden + width + 4 * width


_PLAIN_VIT = {
    "image_size",
    "layers",
    "width",
    "head_width",
    "mlp_ratio",
    "patch_size",
    "patch_dropout",
    "pool_type",
    "output_tokens",
}
_PLAIN_TEXT = {
    "context_length",
    "vocab_size",
    "width",
    "heads",
    "layers",
    "mlp_ratio",
    "output_tokens",
    "pool_type",
    "proj_bias",
}


def _vision_params(cfg: Mapping[str, Any], embed_dim: int) -> int | None:
    layers = cfg.get("layers", 12)
    width = int(cfg.get("width", 768))
    size = cfg.get("image_size", 224)
    size = size if isinstance(size, (list, tuple)) else (size, size)
    if isinstance(layers, (list, tuple)):
        if set(cfg) - {"image_size", "layers", "width", "head_width", "patch_size"}:
            return None
        return _resnet_params(list(layers), width, int(size[0]), embed_dim)
    if set(cfg) - _PLAIN_VIT or cfg.get("pool_type", "tok") != "tok":
        return None
    patch = int(cfg.get("patch_size", 16))
    grid = (int(size[0]) // patch) * (int(size[1]) // patch)
    n = 3 * patch * patch * width + width + (grid + 1) * width + 2 * width
    n += int(layers) * _block_params(width, float(cfg.get("mlp_ratio", 4.0)))
    return n + 2 * width + width * embed_dim


def _text_params(cfg: Mapping[str, Any], embed_dim: int) -> int | None:
    if set(cfg) - _PLAIN_TEXT:
        return None
    width = int(cfg.get("width", 512))
    n = int(cfg.get("vocab_size", 49408)) * width + int(cfg.get("context_length", 77)) * width
    n += int(cfg.get("layers", 12)) * _block_params(width, float(cfg.get("mlp_ratio", 4.0)))
    n += 2 * width + width * embed_dim + (embed_dim if cfg.get("proj_bias") else 0)
    return n


def _resnet_params(layers: list[int], width: int, image_size: int, embed_dim: int) -> int:
    def conv(cin: int, cout: int, k: int) -> int:
        return cin * cout * k * k

    def bn(c: int) -> int:
        return 2 * c

    half = width // 2
    n = (
        conv(3, half, 3)
        + bn(half)
        + conv(half, half, 3)
        + bn(half)
        + conv(half, width, 3)
        + bn(width)
    )
    inplanes = width
    for i, blocks in enumerate(layers):
        planes = width * 2**i
        for b in range(blocks):
            stride = 1 if (i == 0 or b > 0) else 2
            n += conv(inplanes, planes, 1) + bn(planes) + conv(planes, planes, 3) + bn(planes)
            n += conv(planes, planes * 4, 1) + bn(planes * 4)
            if stride > 1 or inplanes != planes * 4:
                n += conv(inplanes, planes * 4, 1) + bn(planes * 4)
            inplanes = planes * 4
    dim = width * 32
    spatial = image_size // 32
    n += (spatial * spatial + 1) * dim + 3 * (dim * dim + dim) + dim * embed_dim + embed_dim
    return n


@dataclass(frozen=True)
class KnownModel:
    """One architecture with pretrained weights in open_clip (a row of ``evalkit models``)."""

    model: str
    tags: tuple[str, ...]
    default_tag: str | None
    parameters: int | None
    cached_tags: tuple[str, ...]


def known_models(include_untagged: bool = False) -> list[KnownModel]:
    """Every open_clip architecture with pretrained tags (and evalkit's tiny ones), with what is cached."""
    by_model: dict[str, list[str]] = {}
    for model, tag in open_clip.list_pretrained():
        by_model.setdefault(model, []).append(tag)
    names = list(by_model)
    if include_untagged:
        names += [
            m for m in open_clip.list_models() if m not in by_model and not _is_custom_arch(m)
        ]
    else:
        names += [m for m in TINY_MODELS if m not in by_model]
    rows = []
    for model in names:
        tags = tuple(by_model.get(model, ()))
        config = open_clip.get_model_config(model) or {}
        rows.append(
            KnownModel(
                model=model,
                tags=tags,
                default_tag=default_tag(model),
                parameters=count_parameters(config) if config else None,
                cached_tags=tuple(t for t in tags if cached_weights(model, t)),
            )
        )
    return rows


def model_parameters(model: str) -> int | None:
    """Parameters of a model (image and text towers) by name, from its config; for a Hugging Face
    repository that is not cached, its approximate count if it is a well-known one; ``None`` if
    unknown. The count depends on the architecture only, not on the weights."""
    try:
        return resolve(model, RANDOM).parameters
    except ModelError:
        if hf_models.is_hf_name(model):
            repo, _, _ = str(model).strip()[len(hf_models.PREFIX) :].partition("@")
            known = hf_models.KNOWN_REPOS.get(repo)
            return int(known) if known else None
        return None


def _is_custom_arch(name: str) -> bool:
    return _CUSTOM_DIR is not None and (_CUSTOM_DIR / f"{name}.json").exists()
