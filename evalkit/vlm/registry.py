"""Model backends by name: the registry every model name goes through (torch-free).

A *backend* turns a model name into a :class:`~evalkit.vlm.backend.ResolvedModel` (and from
there a loaded model). Backends are picked by the name's prefix: ``hf:ORG/NAME`` goes to the
Hugging Face backend, a plugin may add e.g. ``pixels:8``; a name without a registered prefix
goes to the default backend, open_clip. Register one with :func:`register_backend`::

    from evalkit.vlm import Backend, register_backend

    class PixelsBackend(Backend):
        name = "pixels"
        prefix = "pixels:"
        usage = "pixels:N — the frame as N×N grey pixels"

        def resolve(self, spec):
            ...  # a ResolvedModel

    register_backend(PixelsBackend)

Everything that depends on the backend (its parameter count, its default weights, what
``evalkit models`` lists, the bench's naive reference) is asked of the backend, never decided by
the name outside it. This module imports no torch: a built-in backend is imported the first
time one of its names is looked up (or every backend is listed).
"""

from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from evalkit.errors import ModelError

if TYPE_CHECKING:
    from evalkit.vlm.backend import ResolvedModel

RANDOM = "none"
"""The ``pretrained`` value that asks for random weights."""

RANDOM_SEED = 0
"""Seed of random weights: every load of ``(model, "none")`` gives the same weights."""

RANDOM_WEIGHTS_WARNING = "RANDOM WEIGHTS: {label} has random weights (--pretrained none); its embeddings and rewards mean nothing."
"""What every command says about a model with random weights (``label`` is the model's label)."""


@dataclass(frozen=True)
class BuiltinBackend:
    """A built-in backend not imported yet: its name, its prefix, the module holding it as
    ``BACKEND`` (imported the first time one of its names is looked up)."""

    name: str
    prefix: str | None
    module: str

    def load(self) -> Backend:
        """The backend, its module imported now."""
        return importlib.import_module(self.module).BACKEND


BUILTIN_BACKENDS = (
    BuiltinBackend("open_clip", None, "evalkit.vlm.open_clip_backend"),
    BuiltinBackend("hf", "hf:", "evalkit.vlm.hf_models"),
    BuiltinBackend("avg", "avg:", "evalkit.vlm.frame_average"),
)
"""The built-in backends: open_clip for bare names, Hugging Face for ``hf:`` (CLIP, SigLIP, and
the video model X-CLIP), frame averaging of an image model for ``avg:``."""


class BackendError(ModelError):
    """A backend cannot be registered (a missing method or attribute, a name already taken)."""


@dataclass(frozen=True)
class ModelSpec:
    """Which model and which weights, before anything is checked or loaded.

    :param model: the model's name: ``ViT-B-32`` (open_clip, the default backend), a path to an
        open_clip model config, or a name with a backend's prefix (``hf:ORG/NAME``).
    :param pretrained: where the weights come from, in the backend's terms (an open_clip tag or
        checkpoint path), ``"none"`` for random weights, or ``None`` for the backend's default.
    """

    model: str
    pretrained: str | None = None

    def __str__(self) -> str:
        return f"{self.model}:{self.pretrained}" if self.pretrained else self.model

    @property
    def backend(self) -> Backend:
        """The backend this spec's name belongs to."""
        return backend_for(self.model)

    @classmethod
    def coerce(cls, spec: ModelSpec | str, pretrained: str | None = None) -> ModelSpec:
        """A spec from a spec or a string, parsed by the name's backend (open_clip reads
        ``"ViT-B-32:laion2b_s34b_b79k"`` as a name and a tag).

        :param spec: a spec or a model name.
        :param pretrained: overrides the spec's weights when given.
        """
        if isinstance(spec, ModelSpec):
            return spec if pretrained is None else cls(spec.model, pretrained)
        return backend_for(str(spec)).parse(str(spec), pretrained)


@dataclass(frozen=True)
class Catalogue:
    """What a backend lists in ``evalkit models``: a table, and a line on how to use its models.

    :param title: the table's title.
    :param columns: the column headings.
    :param rows: one tuple of cells (rich markup allowed) per model.
    :param cached: per row, whether its weights are on this machine (``--cached`` keeps these).
    :param footer: one line under the table (counts, how to use a model).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    cached: tuple[bool, ...]
    footer: str

    def only_cached(self) -> Catalogue:
        """The rows whose weights are on this machine."""
        keep = [i for i, c in enumerate(self.cached) if c]
        return Catalogue(
            self.title,
            self.columns,
            tuple(self.rows[i] for i in keep),
            tuple(True for _ in keep),
            self.footer,
        )


class Backend(ABC):
    """A family of models named alike (open_clip architectures, ``hf:`` repositories, ...).

    Required: :attr:`name`, :attr:`usage` and :meth:`resolve`. Optional, with defaults:
    :attr:`prefix` (``None`` only for the default backend), :meth:`parse`, :meth:`catalogue`,
    :meth:`parameters`, :meth:`default_tag`, :meth:`canonical_name`.
    """

    name: ClassVar[str] = ""
    """The backend's short name (``open_clip``, ``hf``); :attr:`ResolvedModel.backend` too."""

    prefix: ClassVar[str | None] = None
    """What starts its model names (``hf:``); ``None`` for the default backend of bare names."""

    usage: ClassVar[str] = ""
    """How its models are named, one line (``evalkit models`` and error messages show it)."""

    def matches(self, model: str) -> bool:
        """Whether a model name carries this backend's prefix.

        :param model: a model name.
        """
        return self.prefix is not None and str(model).strip().lower().startswith(self.prefix)

    def parse(self, text: str, pretrained: str | None = None) -> ModelSpec:
        """The spec of a model name as typed (default: the name, stripped).

        :param text: the name.
        :param pretrained: the weights asked for, if any.
        """
        return ModelSpec(text.strip(), pretrained)

    @abstractmethod
    def resolve(self, spec: ModelSpec) -> ResolvedModel:
        """Check a spec of this backend without loading anything heavy.

        :param spec: the model and its weights.
        :raises ModelError: an unknown model or weights, in one sentence.
        """

    def catalogue(self, include_all: bool = False) -> Catalogue | None:
        """The models this backend can list (``None``: it lists none; ``evalkit models`` then
        shows :attr:`usage`).

        :param include_all: also models without pretrained weights.
        """
        return None

    def parameters(self, model: str) -> int | None:
        """Parameters of a model by name (both towers), ``None`` if unknown. Default: the
        resolved model's count with random weights.

        :param model: a model name of this backend.
        """
        try:
            return self.resolve(ModelSpec(model, RANDOM)).parameters
        except ModelError:
            return None

    def default_tag(self, model: str) -> str | None:
        """The weights used when none are named, as a tag (``None``: not named by a tag).

        :param model: a model name of this backend.
        """
        return None

    def canonical_name(self, model: str) -> str:
        """The backend's own spelling of a model name (default: stripped).

        :param model: a model name of this backend.
        """
        return str(model).strip()


_BACKENDS: dict[str, Backend | BuiltinBackend] = {b.name: b for b in BUILTIN_BACKENDS}


def register_backend(backend: Backend | type[Backend], replace: bool = False) -> Backend:
    """Register a model backend; its names are those starting with its :attr:`~Backend.prefix`.

    :param backend: a :class:`Backend` subclass or instance.
    :param replace: replace a backend of the same name or prefix instead of refusing.
    :returns: the registered instance.
    :raises BackendError: not a complete backend (a missing method or attribute, named), or
        its name or prefix taken.
    """
    return _add(_instance(backend), replace)


def unregister_backend(name: str) -> Backend:
    """Remove a registered backend by name (e.g. after a test), returning it.

    :param name: the backend's :attr:`~Backend.name`.
    :raises BackendError: no backend of that name.
    """
    if name not in _BACKENDS:
        raise BackendError(f"No model backend named {name!r}; registered: {', '.join(_BACKENDS)}.")
    return _loaded(_BACKENDS.pop(name))


def registered_backends() -> list[Backend]:
    """Every registered backend: the default one first, then by registration order."""
    entries = sorted(_BACKENDS.values(), key=lambda b: b.prefix is not None)
    return [_loaded(e) for e in entries]


def backend_for(model: str) -> Backend:
    """The backend of a model name: the one whose prefix starts it, else the default backend.
    Only that backend is imported (a plugin's names never import open_clip).

    :param model: a model name.
    """
    entries = sorted(_BACKENDS.values(), key=lambda b: b.prefix is not None)
    for entry in entries:
        if entry.prefix is None:
            continue
        if isinstance(entry, BuiltinBackend):
            if str(model).strip().lower().startswith(entry.prefix):
                return _loaded(entry)
        elif entry.matches(model):
            return entry
    default = next((e for e in entries if e.prefix is None), None)
    if default is None:  # pragma: no cover - only if the default backend was unregistered
        raise BackendError(f"No model backend takes {model!r}; registered: {_prefixes()}.")
    return _loaded(default)


def _loaded(entry: Backend | BuiltinBackend) -> Backend:
    """A registry entry as a backend, a built-in one imported (and kept) now."""
    if not isinstance(entry, BuiltinBackend):
        return entry
    backend = _instance(entry.load())
    if (backend.name, backend.prefix) != (entry.name, entry.prefix):  # pragma: no cover
        raise BackendError(f"Built-in backend {entry.module} is not {entry.name} ({entry.prefix}).")
    if _BACKENDS.get(entry.name) is entry:
        _BACKENDS[entry.name] = backend
    return backend


def _prefixes() -> str:
    return ", ".join(b.prefix or f"{b.name} (bare names)" for b in _BACKENDS.values())


def _instance(backend: Backend | type[Backend]) -> Backend:
    if inspect.isclass(backend) and issubclass(backend, Backend):
        missing = sorted(getattr(backend, "__abstractmethods__", ()))
        if missing:
            raise BackendError(
                f"Model backend {backend.__name__} lacks {', '.join(missing)}; a Backend must define them."
            )
        backend = backend()
    if not isinstance(backend, Backend):
        raise BackendError(
            f"register_backend takes a subclass of evalkit.vlm.Backend or an instance, not {backend!r}."
        )
    cls = type(backend).__name__
    if not isinstance(backend.name, str) or not backend.name.isidentifier():
        raise BackendError(
            f"Model backend {cls} needs a name (an identifier), not {backend.name!r}."
        )
    if not isinstance(backend.usage, str) or not backend.usage.strip():
        raise BackendError(f"Model backend {cls} needs a usage line (how its models are named).")
    prefix = backend.prefix
    if prefix is not None and (
        not isinstance(prefix, str)
        or not prefix.endswith(":")
        or prefix != prefix.lower()
        or len(prefix) < 2
    ):
        raise BackendError(
            f"Model backend {cls}'s prefix must be lower case and end with ':' (like 'hf:'), not {prefix!r}."
        )
    return backend


def _add(backend: Backend, replace: bool) -> Backend:
    clashes = [
        b.name for b in _BACKENDS.values() if b.name != backend.name and b.prefix == backend.prefix
    ]
    if backend.name in _BACKENDS and not replace:
        raise BackendError(
            f"A model backend named {backend.name!r} is registered already; pass replace=True to replace it."
        )
    if clashes and not replace:
        what = f"prefix {backend.prefix!r}" if backend.prefix else "the default backend (no prefix)"
        raise BackendError(
            f"Model backend {backend.name!r} takes {what}, which {clashes[0]!r} has; pass replace=True to replace it."
        )
    for name in clashes:
        del _BACKENDS[name]
    _BACKENDS[backend.name] = backend
    return backend
