"""Models by name, whatever their backend: the front door of :mod:`evalkit.vlm.registry`.

:func:`resolve` and :func:`load_model` take any model name and hand it to its backend
(:func:`~evalkit.vlm.registry.backend_for`: ``hf:...`` to :mod:`evalkit.vlm.hf_models`, a
plugin's prefix to the plugin's backend, every other name to open_clip,
:mod:`evalkit.vlm.open_clip_backend`). Both give the interface the engine talks to
(:class:`~evalkit.vlm.backend.ResolvedModel`, :class:`~evalkit.vlm.backend.LoadedModel`).
What depends on the backend (parameters, default tags, spelling) is asked of it here.

This module imports no torch; a backend imports what it needs when a name is looked up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalkit.vlm.names import FILE_LABEL
from evalkit.vlm.registry import (
    RANDOM,
    RANDOM_SEED,
    RANDOM_WEIGHTS_WARNING,
    ModelSpec,
    backend_for,
)

if TYPE_CHECKING:
    from evalkit.vlm.backend import LoadedModel, ResolvedModel

__all__ = [
    "FILE_LABEL",
    "RANDOM",
    "RANDOM_SEED",
    "RANDOM_WEIGHTS_WARNING",
    "ModelSpec",
    "canonical_model_name",
    "default_tag",
    "ensure_weights",
    "load_model",
    "model_parameters",
    "resolve",
]


def resolve(spec: ModelSpec | str, pretrained: str | None = None) -> ResolvedModel:
    """Check a model spec with its backend and work out its identity, without loading weights
    or downloading.

    :param spec: a spec or a model name (``ViT-B-32``, ``ViT-B-32:TAG``, ``hf:ORG/NAME``).
    :param pretrained: the weights, overriding the spec's.
    :raises ModelError: unknown model or weights (with the closest valid names), missing files.
    """
    spec = ModelSpec.coerce(spec, pretrained)
    return backend_for(spec.model).resolve(spec)


def load_model(
    spec: ModelSpec | ResolvedModel | str,
    device: Any = "cpu",
    pretrained: str | None = None,
) -> LoadedModel:
    """Build the model of ``spec`` on ``device`` in eval mode (fp32 weights), with its backend.

    :param spec: a spec, a model name, or an already resolved model.
    :param device: a torch device or its name.
    :param pretrained: the weights, overriding the spec's (not for a resolved model).
    :raises ModelError: unknown names, missing weights offline, a corrupt or mismatched checkpoint.
    """
    import torch  # the backends need it anyway; this module stays importable without it

    from evalkit.vlm.backend import ResolvedModel

    resolved = spec if isinstance(spec, ResolvedModel) else resolve(spec, pretrained)
    return resolved.load(torch.device(device))


def ensure_weights(resolved: ResolvedModel) -> None:
    """Make sure a model's weights are on this machine (downloading them if the hub is reachable),
    so that a missing-weights error comes before any work starts or any cache is written.

    :param resolved: the model.
    """
    resolved.ensure_weights()


def model_parameters(model: str) -> int | None:
    """Parameters of a model (image and text towers) by name, from its backend; ``None`` if
    unknown. The count depends on the architecture only, not on the weights.

    :param model: a model name.
    """
    return backend_for(model).parameters(str(model))


def default_tag(model: str) -> str | None:
    """The pretrained tag a model name gets when none is given (``None``: its backend names
    weights otherwise, or it has none).

    :param model: a model name.
    """
    return backend_for(model).default_tag(str(model))


def canonical_model_name(name: str) -> str:
    """A model name in its backend's own spelling (``vit-b-32`` → ``ViT-B-32``); unknown names
    unchanged.

    :param name: a model name.
    """
    return backend_for(name).canonical_name(name)
