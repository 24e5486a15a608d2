"""The Hugging Face models ``evalkit models`` lists: well-known CLIP, SigLIP and X-CLIP repositories
(approximate parameter counts) and every such repository in the local Hugging Face cache
(exact counts from its config)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants

from evalkit.vlm.hf_loaded import count_parameters
from evalkit.vlm.hf_models import MODEL_CLASSES

KNOWN_REPOS: dict[str, float] = {
    "openai/clip-vit-base-patch32": 151.3e6,
    "openai/clip-vit-base-patch16": 149.6e6,
    "openai/clip-vit-large-patch14": 427.6e6,
    "openai/clip-vit-large-patch14-336": 427.9e6,
    "laion/CLIP-ViT-B-32-laion2B-s34B-b79K": 151.3e6,
    "laion/CLIP-ViT-L-14-laion2B-s32B-b82K": 427.6e6,
    "laion/CLIP-ViT-H-14-laion2B-s32B-b79K": 986.1e6,
    "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k": 2539.6e6,
    "google/siglip-base-patch16-224": 203.2e6,
    "google/siglip-large-patch16-384": 652.5e6,
    "google/siglip-so400m-patch14-384": 878.0e6,
    "google/siglip2-base-patch16-224": 375.2e6,
    "google/siglip2-large-patch16-384": 881.5e6,
    "google/siglip2-so400m-patch14-384": 1136.0e6,
    "microsoft/xclip-base-patch32": 196.6e6,
    "microsoft/xclip-base-patch16": 194.9e6,
}
"""Well-known CLIP, SigLIP and X-CLIP repositories with their approximate parameter counts
(image or video and text towers; the exact count is computed from the config once it is cached;
X-CLIP's from transformers' default ``XCLIPConfig`` at patch 32 and 16)."""


@dataclass(frozen=True)
class KnownHFModel:
    """A row of ``evalkit models`` for Hugging Face: a repository, its parameters, whether cached."""

    repo: str
    parameters: int | None
    cached: bool


def known_hf_models() -> list[KnownHFModel]:
    """The well-known CLIP/SigLIP repositories, and any other CLIP/SigLIP repository in the local
    Hugging Face cache; exact parameter counts for cached ones."""
    rows = {repo: KnownHFModel(repo, int(n), False) for repo, n in KNOWN_REPOS.items()}
    for repo, folder, model_type in _cached_repos():
        n = count_parameters(model_type, folder) if model_type else None
        rows[repo] = KnownHFModel(
            repo, n or (rows[repo].parameters if repo in rows else None), True
        )
    return sorted(rows.values(), key=lambda r: (r.repo.split("/")[0], r.parameters or 0, r.repo))


def _cached_repos() -> list[tuple[str, Path, str]]:
    """(repo, snapshot folder, model_type) of the CLIP/SigLIP models in the Hugging Face cache
    (the snapshot ``main`` points to, else the newest)."""
    found = []
    for base in sorted(Path(constants.HF_HUB_CACHE).expanduser().glob("models--*--*")):
        snapshots = [p for p in (base / "snapshots").glob("*") if (p / "config.json").is_file()]
        if not snapshots:
            continue
        main = base / "refs" / "main"
        commit = main.read_text().strip() if main.is_file() else ""
        chosen = next((p for p in snapshots if p.name == commit), None) or max(
            snapshots, key=lambda p: p.stat().st_mtime
        )
        try:
            kind = json.loads((chosen / "config.json").read_text()).get("model_type")
        except (OSError, ValueError):
            continue
        if kind in MODEL_CLASSES:
            found.append((base.name[len("models--") :].replace("--", "/", 1), chosen, kind))
    return found
