"""The Hugging Face backend: CLIP and SigLIP (SigLIP 2 fixed-resolution) checkpoints.

Names::

    hf:openai/clip-vit-base-patch32                 # a hub repository, its main revision
    hf:google/siglip2-base-patch16-224@<commit>     # a branch, tag or commit of it
    hf:/path/to/folder                              # a save_pretrained folder

Model classes: ``CLIPModel`` and ``SiglipModel`` (config ``model_type`` ``clip`` / ``siglip``;
SigLIP 2's fixed-resolution checkpoints are ``SiglipModel``s); embeddings come from their
``get_image_features`` / ``get_text_features`` (a tensor in transformers 4, an output object
whose ``pooler_output`` is the embedding in transformers 5).

Files are read offline-first: from the folder, or from the Hugging Face cache (a revision must be
cached, or the hub reachable to download it; with ``HF_HUB_OFFLINE`` nothing is tried). The
image processor is read by transformers' own loader (``AutoImageProcessor.from_pretrained``),
so every layout it accepts loads: ``preprocessor_config.json``, or ``processor_config.json``
with the image processor nested inside, as ``CLIPProcessor(...).save_pretrained`` writes it in
transformers 5. Its settings are translated into the engine's batched tensor preprocessing
(:func:`~evalkit.vlm.hf_processor.processor_to_preprocess`: resize of the short side or squash
resize, centre crop, rescale, mean/std); a processor the engine cannot reproduce is refused,
never approximated. Texts go through the model's own tokenizer with the model's padding rule (SigLIP
pads to its maximum length: its text embedding is read at the last position).

The loaded model is :mod:`evalkit.vlm.hf_loaded`, the models ``evalkit models`` lists
:mod:`evalkit.vlm.hf_catalogue`.

``transformers`` is the optional extra ``evalkit[hf]``; this module imports it when a model is
resolved (its image processor), loaded or counted, not before (it is slow to import).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from huggingface_hub import snapshot_download

from evalkit.errors import ModelError
from evalkit.vlm.backend import RANDOM, RANDOM_SEED, LoadedModel, ResolvedModel
from evalkit.vlm.hf_processor import processor_to_preprocess
from evalkit.vlm.hub import file_sha256, hub_offline, reachable, read_json_object, sha256_json
from evalkit.vlm.registry import Backend, Catalogue, ModelSpec

PREFIX = "hf:"
"""What starts the name of a Hugging Face model."""

TRANSFORMERS_MODULE = "transformers"
"""The library this backend needs (a name, so that tests can simulate it missing)."""

INSTALL_HINT = "install it with: pip install 'evalkit[hf]' (or pip install transformers)"

MODEL_CLASSES: dict[str, str] = {
    "clip": "CLIPModel",
    "siglip": "SiglipModel",
    "xclip": "XCLIPModel",
}
"""transformers class of each supported config ``model_type``."""

RESOLVED_CLASSES: dict[str, str] = {"xclip": "evalkit.vlm.hf_xclip.XCLIPResolved"}
"""The resolved-model class of a ``model_type`` other than :class:`HFResolved` (module and
class, imported when such a model is resolved)."""

SUPPORTED = (
    "CLIPModel (CLIP), SiglipModel (SigLIP, SigLIP 2 fixed-resolution) and XCLIPModel (X-CLIP, "
    "a video model)"
)

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "spiece.model")
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
"""Where transformers saves an image processor: alone (``ImageProcessor.save_pretrained``, and
every processor in transformers 4), or nested in the processor's config (transformers 5)."""


_log = logging.getLogger(__name__)


def transformers_module() -> Any:
    """The ``transformers`` module, imported now.

    :raises ModelError: it is not installed (one sentence saying how to install it).
    """
    try:
        # Imported here, not at the top: an optional extra, and slow to import.
        return importlib.import_module(TRANSFORMERS_MODULE)
    except ImportError:
        raise ModelError(
            f"Hugging Face models need the transformers library, which is not installed; {INSTALL_HINT}."
        ) from None


def _check_transformers() -> None:
    if importlib.util.find_spec(TRANSFORMERS_MODULE) is None:
        transformers_module()  # raises the explained error


# -- names and files ----------------------------------------------------------------------------


def parse_name(name: str) -> tuple[str | None, Path | None, str | None]:
    """``(repo, folder, revision)`` of ``hf:ORG/NAME[@REVISION]`` or ``hf:/local/dir``."""
    body = str(name).strip()[len(PREFIX) :].strip()
    if not body:
        raise ModelError(
            "A Hugging Face model is named hf:ORG/NAME[@REVISION] or hf:/path/to/folder."
        )
    local = Path(body).expanduser()
    if body.startswith(("/", ".", "~")) or local.exists():
        return None, local, None
    repo, _, revision = body.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ModelError(
            f"{name!r} is not a Hugging Face repository name (hf:ORG/NAME[@REVISION]) nor an existing folder."
        )
    return repo, None, revision or None


def _hub_snapshot(repo: str, revision: str | None) -> Path:
    """The cached snapshot folder of ``repo`` at ``revision``; downloaded only when the hub is on."""
    rev = revision or "main"
    what = f"{repo}@{rev}" if revision else repo
    try:
        return Path(snapshot_download(repo, revision=revision, local_files_only=True))
    except Exception:  # not cached: LocalEntryNotFoundError, or a revision not in the cache
        pass
    hint = (
        "run once with network access (HF_HUB_OFFLINE unset) to download it, "
        "or pass hf:/path/to/a/save_pretrained/folder"
    )
    if hub_offline():
        raise ModelError(
            f"Hugging Face model {what} (revision {rev}) is not in the local Hugging Face cache and the hub "
            f"is offline (HF_HUB_OFFLINE); {hint}."
        )
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if not reachable(endpoint):
        raise ModelError(
            f"Hugging Face model {what} is not in the local cache and {endpoint} cannot be reached; {hint}."
        )
    _log.warning("Downloading %s from the Hugging Face hub...", what)
    try:
        path = snapshot_download(
            repo,
            revision=revision,
            allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.bin"],
        )
    except Exception as exc:  # network and hub errors come in many types
        raise ModelError(
            f"Downloading Hugging Face model {what} failed ({type(exc).__name__}); {hint}."
        ) from None
    return Path(path)


REFUSED_MODEL_TYPES: dict[str, str] = {
    "siglip2": (
        "Siglip2Model (NaFlex: variable resolution and patch count), whose image processor "
        "evalkit cannot reproduce (SigLIP 2's fixed-resolution checkpoints, e.g. "
        "google/siglip2-base-patch16-224, are SigLIP models and load)"
    ),
}
"""Image-text model types evalkit knows and refuses, with why (shown in the error)."""


def _model_type(config: Mapping[str, Any], where: str) -> str:
    kind = str(config.get("model_type", ""))
    arch = ", ".join(config.get("architectures") or []) or kind or "unknown"
    if kind in REFUSED_MODEL_TYPES:
        raise ModelError(f"{where} is a {REFUSED_MODEL_TYPES[kind]}; supported are {SUPPORTED}.")
    if kind not in MODEL_CLASSES:
        raise ModelError(
            f"{where} is a {arch} model, not an image-text model evalkit supports; supported are {SUPPORTED}."
        )
    return kind


def _parent_hint(path: Path) -> str:
    parent = path.expanduser().resolve().parent
    return f" (here: hf:{parent})" if (parent / "config.json").is_file() else ""


def _check_weights(folder: Path, where: str) -> None:
    """Refuse a truncated or corrupt ``model.safetensors`` now, in one sentence (its header names
    every tensor's byte range: the file must be at least that long)."""
    path = folder / "model.safetensors"
    if not path.is_file():
        return
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n)) if 8 + n <= size else None
        end = max(
            (int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"),
            default=0,
        )
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        header, end = None, 0
    if header is None or 8 + n + end > size:
        raise ModelError(
            f"The weights of Hugging Face model {where} (model.safetensors, {size} bytes) are "
            "truncated or corrupt; save or download the model again."
        )


def image_processor_config(folder: Path, where: str) -> dict[str, Any]:
    """The image processor's settings, read by transformers' ``AutoImageProcessor`` from any
    layout it accepts (``preprocessor_config.json``, or ``processor_config.json`` with the image
    processor nested, as transformers 5 saves a processor).

    :param folder: a save_pretrained folder or hub snapshot.
    :param where: how messages name the model.
    :raises ModelError: no image processor there, or one transformers cannot read.
    """
    if not any((folder / f).is_file() for f in PROCESSOR_FILES):
        raise ModelError(
            f"Hugging Face model {where} has no image processor ({' or '.join(PROCESSOR_FILES)}); "
            "save it with the model (processor.save_pretrained(folder))."
        )
    stamp = tuple(
        (f, (folder / f).stat().st_mtime_ns, (folder / f).stat().st_size)
        for f in PROCESSOR_FILES
        if (folder / f).is_file()
    )
    return dict(_read_image_processor(str(folder), stamp, where))


@functools.lru_cache(maxsize=64)
def _read_image_processor(folder: str, stamp: tuple, where: str) -> dict[str, Any]:
    """``AutoImageProcessor.from_pretrained(folder).to_dict()``, once per folder and file state."""
    tf = transformers_module()
    with _quiet_transformers(tf):
        try:
            processor = tf.AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ModelError(
                f"The image processor of Hugging Face model {where} cannot be read by transformers "
                f"({type(exc).__name__}: {first})."
            ) from None
    return processor.to_dict()


class _quiet_transformers:
    """transformers' own warnings, logs and progress bars off while a model loads (evalkit says
    what matters)."""

    def __init__(self, tf: Any) -> None:
        self._bars = tf.utils.logging

    def __enter__(self) -> None:
        self._level = logging.root.manager.disable
        logging.disable(logging.WARNING)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._bars_on = self._bars.is_progress_bar_enabled()
        self._bars.disable_progress_bar()

    def __exit__(self, *exc: object) -> None:
        if self._bars_on:
            self._bars.enable_progress_bar()
        self._warnings.__exit__(*exc)
        logging.disable(self._level)


# -- the resolved model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HFResolved(ResolvedModel):
    """A checked Hugging Face model: its folder, revision, config and preprocessing."""

    name: str  # as typed, e.g. "hf:openai/clip-vit-base-patch32"
    display_name: str
    repo: str | None
    folder: str
    commit: str | None  # of a hub snapshot; None for a local folder
    model_type: str
    config: dict[str, Any]
    preprocess: dict[str, Any]
    files_sha256: tuple[tuple[str, str], ...]  # a local folder's files (hub snapshots: the commit)
    random: bool
    spec: Any = field(default=None, compare=False)  # the ModelSpec it was resolved from

    backend = "hf"
    naive_reference = "processor, get_image_features"

    @property
    def tag(self) -> str | None:  # type: ignore[override]
        return None  # weights are named by the revision, not by a tag

    @property
    def weights_path(self) -> str | None:  # type: ignore[override]
        return None if self.random else self.folder

    @property
    def random_weights(self) -> bool:
        return self.random

    @property
    def embed_dim(self) -> int:
        if self.model_type == "clip":
            return int(self.config.get("projection_dim", 512))
        return int(self.config.get("vision_config", {}).get("hidden_size", 768))

    @property
    def text_padding(self) -> tuple[str | bool, int]:
        """``(padding, max_length)`` of the tokenizer call: SigLIP pads to its maximum length
        (its text embedding is read at the last position), CLIP to the longest prompt."""
        text = self.config.get("text_config", {}) or {}
        if self.model_type == "siglip":
            return "max_length", int(text.get("max_position_embeddings", 64))
        return True, int(text.get("max_position_embeddings", 77))

    @property
    def source_hash(self) -> str:
        """The commit of a hub snapshot, or a hash of a local folder's files."""
        return self.commit or sha256_json(list(self.files_sha256))

    @property
    def identity(self) -> dict[str, Any]:
        padding, max_length = self.text_padding
        return {
            "backend": "hf",
            "model": self.repo or self.display_name,
            "source": {"commit": self.commit}
            if self.commit
            else {"files": dict(self.files_sha256)},
            "config_sha256": sha256_json(self.config),
            "weights": {"random_seed": RANDOM_SEED} if self.random else "pretrained",
            "preprocess": self.preprocess,
            "text": {"padding": padding, "max_length": max_length},
        }

    @property
    def label(self) -> str:
        if self.random:
            return f"{self.name}/RANDOM-WEIGHTS"
        return f"{self.name}@{self.source_hash[:12]}" if "@" not in self.name else self.name

    @property
    def weights_slug(self) -> str:
        return "random" if self.random else self.source_hash[:12]

    @property
    def parameters(self) -> int | None:
        from evalkit.vlm.hf_loaded import count_parameters  # imports this module

        return count_parameters(self.model_type, self.folder)

    @property
    def flop_config(self) -> Mapping[str, Any] | None:
        v = self.config.get("vision_config", {}) or {}
        if self.model_type == "siglip" and v.get("vision_use_head", True):
            return None  # attention-pooling head: not the plain class-token ViT the count knows
        width = int(v.get("hidden_size", 768))
        return {
            "embed_dim": self.embed_dim,
            "vision_cfg": {
                "image_size": int(v.get("image_size", 224)),
                "patch_size": int(v.get("patch_size", 32)),
                "width": width,
                "mlp_ratio": int(v.get("intermediate_size", 4 * width)) / width,
                "layers": int(v.get("num_hidden_layers", 12)),
            },
        }

    @property
    def class_token_only_last_block(self) -> bool:
        return self.model_type == "clip"  # evalkit.vlm.hf_fast_forward

    def ensure_weights(self) -> None:
        pass  # resolving found (or downloaded) every file

    def load(self, device: torch.device) -> LoadedModel:
        from evalkit.vlm.hf_loaded import HFModel  # imports this module

        return HFModel.load(self, device)


def resolve_hf(name: str, pretrained: str | None = None, spec: Any = None) -> HFResolved:
    """Check a Hugging Face model name and its files (offline-first), without loading weights.

    :param pretrained: ``None`` (the checkpoint's weights) or ``"none"`` (random weights from
        its config).
    :param spec: the :class:`~evalkit.vlm.registry.ModelSpec` asked for (kept with the result).
    :raises ModelError: transformers missing, files missing, an unsupported model class or
        image processor.
    """
    _check_transformers()
    random = False
    if pretrained is not None:
        if str(pretrained).strip().lower() != RANDOM:
            raise ModelError(
                f"A Hugging Face model takes --pretrained none (random weights) or nothing, not {pretrained!r}; "
                "name a revision as hf:ORG/NAME@REVISION or a folder as hf:/path."
            )
        random = True
    repo, local, revision = parse_name(name)
    if local is not None:
        if local.is_file():
            raise ModelError(
                f"Hugging Face model {local} is a file; hf: takes the save_pretrained folder holding "
                f"config.json{_parent_hint(local)}."
            )
        if not local.is_dir():
            raise ModelError(f"Hugging Face model folder {local} does not exist.")
        folder, commit, where = local.resolve(), None, f"folder {local}"
        display = local.resolve().name
    else:
        assert repo is not None
        folder = _hub_snapshot(repo, revision)
        commit, where, display = folder.name, f"hf:{repo}", repo
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelError(
            f"Hugging Face model {where} has no config.json; it must be a save_pretrained folder or hub repository."
        )
    config = read_json_object(config_path, "Model config")
    model_type = _model_type(config, where)
    if not random and not any((folder / f).is_file() for f in WEIGHT_FILES):
        raise ModelError(
            f"Hugging Face model {where} has no weights ({' or '.join(WEIGHT_FILES[::2])}); "
            "pass --pretrained none for random weights from its config."
        )
    if not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise ModelError(
            f"Hugging Face model {where} has no tokenizer files ({', '.join(TOKENIZER_FILES)})."
        )
    if not random:
        _check_weights(folder, where)
    processor = image_processor_config(folder, where)
    preprocess = processor_to_preprocess(processor, model_type, where)
    files: tuple[tuple[str, str], ...] = ()
    if commit is None:
        files = tuple(
            (f.name, file_sha256(f))
            for f in sorted(folder.iterdir())
            if f.is_file() and not (random and f.name.startswith(("model.", "pytorch_model")))
        )
    return _resolved_class(model_type)(
        name=f"{PREFIX}{repo}" + (f"@{revision}" if revision else "")
        if repo
        else f"{PREFIX}{folder}",
        display_name=display,
        repo=repo,
        folder=str(folder),
        commit=commit,
        model_type=model_type,
        config=config,
        preprocess=preprocess,
        files_sha256=files,
        random=random,
        spec=spec,
    )


def _resolved_class(model_type: str) -> type[HFResolved]:
    """:class:`HFResolved`, or the class :data:`RESOLVED_CLASSES` names for ``model_type``."""
    path = RESOLVED_CLASSES.get(model_type)
    if path is None:
        return HFResolved
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


# -- the backend ----------------------------------------------------------------------------------


class HFBackend(Backend):
    """Hugging Face CLIP, SigLIP and X-CLIP models: ``hf:ORG/NAME[@REVISION]`` or
    ``hf:/path/to/folder``."""

    name = "hf"
    prefix = PREFIX
    usage = (
        "hf:ORG/NAME[@REVISION] or hf:/path/to/save_pretrained/folder (Hugging Face CLIPModel, "
        "SiglipModel or the video model XCLIPModel; --pretrained none for random weights; needs pip install 'evalkit[hf]')"
    )

    def resolve(self, spec: ModelSpec) -> HFResolved:
        return resolve_hf(spec.model, spec.pretrained, spec)

    def parameters(self, model: str) -> int | None:
        """The count from the config when the model resolves; else a well-known repository's
        approximate count; else ``None``."""
        counted = super().parameters(model)
        if counted is not None:
            return counted
        from evalkit.vlm.hf_catalogue import KNOWN_REPOS  # imports this module

        repo, _, _ = str(model).strip()[len(PREFIX) :].partition("@")
        known = KNOWN_REPOS.get(repo)
        return int(known) if known else None

    def catalogue(self, include_all: bool = False) -> Catalogue:
        from evalkit.vlm.hf_catalogue import known_hf_models  # imports this module

        rows = known_hf_models()
        return Catalogue(
            title="Hugging Face CLIP, SigLIP and X-CLIP models (✓: in the local Hugging Face cache)",
            columns=("model", "parameters", "cached"),
            rows=tuple(
                (
                    f"{PREFIX}{r.repo}",
                    f"{r.parameters / 1e6:,.1f} M" if r.parameters else "?",
                    "[green]✓[/]" if r.cached else "",
                )
                for r in rows
            ),
            cached=tuple(r.cached for r in rows),
            footer=(
                f"{len(rows)} Hugging Face models, {sum(r.cached for r in rows)} cached here. Any "
                "CLIPModel or SiglipModel works (and XCLIPModel, a video model, for windows): evalkit embed DATASET --model hf:ORG/NAME[@REVISION] "
                "or hf:/path/to/folder (needs pip install 'evalkit[hf]')."
            ),
        )


BACKEND = HFBackend()
"""The instance :mod:`evalkit.vlm.registry` registers."""
