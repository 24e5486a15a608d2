"""Where an open_clip pretrained tag's weights are: the usual caches (Hugging Face hub cache,
``~/.cache/clip``), or downloaded — failing at once, with advice, when the hub is offline
(``HF_HUB_OFFLINE=1``) or unreachable instead of waiting for its retries."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import open_clip

from evalkit.errors import ModelError
from evalkit.vlm.hub import hub_offline as _hub_offline
from evalkit.vlm.hub import reachable as _reachable

if TYPE_CHECKING:
    from evalkit.vlm.open_clip_backend import ResolvedSpec

_log = logging.getLogger(__name__)

WEIGHTS_HINT = (
    "pass --pretrained PATH to a local checkpoint (.safetensors or a torch state dict), "
    "or run once with network access (HF_HUB_OFFLINE unset) to download them into the cache"
)


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


def weights_file_for_tag(resolved: ResolvedSpec) -> str:
    """The local file holding a tag's weights: from the cache, or downloaded (fails fast offline).

    :param resolved: an open_clip model with a pretrained tag.
    :raises ModelError: not cached and the hub offline or unreachable, or the download failed.
    """
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
