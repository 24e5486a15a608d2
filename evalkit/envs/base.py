"""The contract every evalkit environment meets: renderable, with a readable, settable state.

:func:`evalkit.envs.family.register_family` checks a family's environment class against
:class:`RenderableEnv` and refuses one that falls short with one sentence naming what is missing.
An environment class must:

- be a ``gymnasium.Env`` that implements ``step()`` and ``render()``;
- take the keyword arguments ``render_mode``, ``width`` and ``height`` in its constructor;
- draw ``uint8 (height, width, 3)`` frames with ``render()`` when ``render_mode="rgb_array"``;
- say what decides how its frames look with ``render_settings()`` (stored in dataset manifests);
- name its physical state variables in ``state_columns`` and read and write them with
  ``get_state()`` and ``set_state(state)``.

Sweeps (:mod:`evalkit.data.sweeps`) put an environment into arbitrary physical states and
render them. :class:`StateSettable` implements ``get_state``/``set_state`` from two small
vector methods::

    env = CartPoleEnv(render_mode="rgb_array")
    env.set_state({"angle": 0.3})          # other variables keep their value (0 if never set)
    frame = env.render()
    env.get_state()                        # {'cart_position': 0.0, ..., 'angle': 0.3, ...}

The names in ``state_columns`` are the column names of a dataset's state table, which the task
registry's goal rules read (``angle``, ``position``...).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from abc import ABC, abstractmethod
from typing import Any, Mapping

import numpy as np
import numpy.typing as npt

from evalkit.errors import EvalkitError

StateLike = Mapping[str, float] | npt.ArrayLike
"""A physical state: a mapping from column name to value, or the values in column order."""

CONSTRUCTOR_KEYWORDS = ("render_mode", "width", "height")
"""Keyword arguments every environment's constructor takes (sweeps and training pass them)."""

METHODS = ("render_settings", "get_state", "set_state")
"""Methods of :class:`RenderableEnv` that every environment has."""

GYM_METHODS = ("step", "render")
"""``gymnasium.Env`` methods every environment implements itself."""


class RenderableEnv(ABC):
    """What evalkit needs of an environment beyond gymnasium (see the module docstring).

    Subclass it beside ``gymnasium.Env`` (``class MyEnv(RenderableEnv, gym.Env)``) and implement
    every abstract method; :func:`contract_problems` says what a class still lacks.
    """

    state_columns: tuple[str, ...] = ()
    """Names of the physical state variables (a dataset's state-table columns)."""

    @abstractmethod
    def render_settings(self) -> dict[str, Any]:
        """What decides how frames look (size, renderer and its version...), stored in manifests."""

    @abstractmethod
    def get_state(self) -> dict[str, float]:
        """The physical state as ``{column: value}``."""

    @abstractmethod
    def set_state(self, state: StateLike) -> None:
        """Put the environment in a physical state (a mapping of columns, or values in order)."""


def contract_problems(cls: Any) -> list[str]:
    """What ``cls`` lacks to be an evalkit environment, one phrase each (empty: nothing).

    :param cls: an environment class.
    """
    if not inspect.isclass(cls):
        return [f"{cls!r} is not a class"]
    problems = []
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a class without a readable signature
        params = []
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        missing = [k for k in CONSTRUCTOR_KEYWORDS if k not in names]
        if missing:
            problems.append(
                f"its constructor takes no {', '.join(missing)} keyword argument"
                + ("s" if len(missing) > 1 else "")
            )
    import gymnasium as gym  # here: checking a class that already imported it costs nothing

    if not issubclass(cls, gym.Env):
        problems.append("it is not a gymnasium.Env subclass")
    absent = [m for m in METHODS if not callable(getattr(cls, m, None))]
    absent += [m for m in GYM_METHODS if getattr(cls, m, None) in (None, getattr(gym.Env, m))]
    if absent:
        problems.append(
            f"it has no {', '.join(f'{m}()' for m in absent)} method"
            + ("s" if len(absent) > 1 else "")
        )
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if abstract:
        problems.append(f"it leaves {', '.join(f'{m}()' for m in abstract)} unimplemented")
    if not hasattr(cls, "state_columns"):
        problems.append("it names no state_columns")
    return problems


def check_env_class(family: str, cls: Any) -> None:
    """Refuse an environment class that does not meet the contract of
    :class:`evalkit.envs.base.RenderableEnv`, in one sentence naming what it lacks.

    :param family: the family's name, for the message.
    :param cls: the environment class.
    :raises EvalkitError: it lacks something (:func:`contract_problems`).
    """
    problems = contract_problems(cls)
    if problems:
        name = getattr(cls, "__name__", repr(cls))
        raise EvalkitError(
            f"Family {family!r}: its environment {name} is not an evalkit environment "
            f"(evalkit.envs.base.RenderableEnv): {'; '.join(problems)}."
        )


def resolve_entry_point(family: str, entry_point: Any) -> Any:
    """The object an entry point names (``"module:Class"``), or the entry point itself.

    :raises EvalkitError: the module or the name in it cannot be loaded.
    """
    if not isinstance(entry_point, str):
        return entry_point
    module, _, attr = entry_point.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise EvalkitError(
            f"Family {family!r}: cannot load its environment {entry_point!r} ({exc})."
        ) from None


def check_entry_point(family: str, entry: Any) -> None:
    """The environment contract, checked now for a class (or a ``"module:Class"`` whose module is
    already imported); other strings only for their form, and fully when first made.

    :param family: the family's name, for the message.
    :param entry: its entry point.
    """
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        if not (module and attr.isidentifier()):
            raise EvalkitError(
                f"Family {family!r}: entry_point must be the environment class or "
                f"'module:Class', not {entry!r}."
            )
        if module not in sys.modules:
            return
    check_env_class(family, resolve_entry_point(family, entry))


class StateSettable(RenderableEnv):
    """:class:`RenderableEnv` whose state is a vector: read and write it by named columns.

    Subclasses set :attr:`state_columns` and implement :meth:`_get_state_vector`,
    :meth:`_set_state_vector` and ``render_settings()``; this class does the naming and the
    checking.
    """

    state_columns: tuple[str, ...] = ()
    """Names of the physical state variables, in the order of the state vector."""

    @abstractmethod
    def _get_state_vector(self) -> np.ndarray | None:
        """The current state in column order, or ``None`` before the first reset/set_state."""

    @abstractmethod
    def _set_state_vector(self, vector: np.ndarray) -> None:
        """Put the environment in the (already checked, float64) state ``vector``."""

    def get_state(self) -> dict[str, float]:
        """The physical state as ``{column: value}`` (Python floats, column order).

        :raises RuntimeError: before the first ``reset()`` or ``set_state()``.
        """
        vector = self._get_state_vector()
        if vector is None:
            raise RuntimeError(
                f"{type(self).__name__} has no state yet; call reset() or set_state() first."
            )
        return {
            name: float(v)
            for name, v in zip(self.state_columns, np.asarray(vector, dtype=np.float64))
        }

    def set_state(self, state: StateLike) -> None:
        """Put the environment in a physical state.

        :param state: a mapping from column name to value (columns it leaves out keep their
            current value, or 0 if the environment has no state yet), or a sequence/array of
            ``len(state_columns)`` values in column order.
        :raises ValueError: for unknown column names, a wrong length or non-finite values.
        """
        n = len(self.state_columns)
        if isinstance(state, Mapping):
            unknown = set(state) - set(self.state_columns)
            if unknown:
                raise ValueError(
                    f"Unknown state column(s) {', '.join(sorted(map(str, unknown)))} for "
                    f"{type(self).__name__}; valid: {', '.join(self.state_columns)}."
                )
            current = self._get_state_vector()
            vector = np.zeros(n) if current is None else np.array(current, dtype=np.float64)
            for i, name in enumerate(self.state_columns):
                if name in state:
                    vector[i] = float(state[name])
        else:
            vector = np.asarray(state, dtype=np.float64).reshape(-1)
            if vector.shape != (n,):
                raise ValueError(
                    f"{type(self).__name__} needs {n} state values ({', '.join(self.state_columns)}), "
                    f"got {vector.size}."
                )
        if not np.all(np.isfinite(vector)):
            raise ValueError(f"State values must be finite, got {vector.tolist()}.")
        self._set_state_vector(vector.copy())
