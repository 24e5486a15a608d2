"""open_clip's catalogue: every architecture with pretrained tags (and evalkit's tiny ones),
its parameters, evalkit's default tag and which tags' weights are on this machine — the rows
of ``evalkit models``."""

from __future__ import annotations

from dataclasses import dataclass

import open_clip

from evalkit.vlm.open_clip_backend import TINY_MODELS, default_tag, is_custom_arch
from evalkit.vlm.open_clip_params import count_parameters
from evalkit.vlm.open_clip_weights import cached_weights
from evalkit.vlm.registry import Catalogue


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
        names += [m for m in open_clip.list_models() if m not in by_model and not is_custom_arch(m)]
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


def open_clip_catalogue(include_untagged: bool = False) -> Catalogue:
    """The ``evalkit models`` table of open_clip.

    :param include_untagged: also architectures without pretrained weights.
    """
    rows, cached = [], []
    known = known_models(include_untagged)
    for r in known:
        params = f"{r.parameters / 1e6:,.1f} M" if r.parameters else "?"
        tags = (
            ", ".join(f"[green]{t} ✓[/]" if t in r.cached_tags else t for t in r.tags)
            or "(random weights only: --pretrained none)"
        )
        default = r.default_tag or "-"
        if r.default_tag in r.cached_tags:
            default = f"[green]{default} ✓[/]"
        rows.append((r.model, params, default, tags))
        cached.append(bool(r.cached_tags))
    return Catalogue(
        title="open_clip models (a tag marked ✓ has its weights on this machine; default = evalkit's tag)",
        columns=("model", "parameters", "default tag", "pretrained tags"),
        rows=tuple(rows),
        cached=tuple(cached),
        footer=(
            f"{len(known)} models, {sum(len(r.cached_tags) for r in known)} with weights cached here. "
            "Use one with: evalkit embed DATASET --model NAME [--pretrained TAG|PATH|none]."
        ),
    )
