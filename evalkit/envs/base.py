"""What every evalkit environment offers beyond gymnasium: its physical state, readable and settable.

Sweeps (:mod:`evalkit.data.sweeps`) put an environment into arbitrary physical states and
render them, so every environment implements :class:`StateSettable`::

    env = CartPoleEnv(render_mode="rgb_array")
    env.set_state({"angle": 0.3})          # other variables keep their value (0 if never set)
    frame = env.render()
    env.get_state()                        # {'cart_position': 0.0, ..., 'angle': 0.3, ...}

The names in :attr:`StateSettable.state_columns` are the column names of a dataset's state
table, which the task registry's goal rules read (``angle``, ``position``...).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import numpy.typing as npt

StateLike = Mapping[str, float] | npt.ArrayLike
"""A physical state: a mapping from column name to value, or the values in column order."""


class StateSettable:
    """Mixin: read and write an environment's physical state by named columns.

    Subclasses set :attr:`state_columns` and implement :meth:`_get_state_vector` and
    :meth:`_set_state_vector`; this class does the naming and the checking.
    """

    state_columns: tuple[str, ...] = ()
    """Names of the physical state variables, in the order of the state vector."""

    def _get_state_vector(self) -> np.ndarray | None:
        """The current state in column order, or ``None`` before the first reset/set_state."""
        raise NotImplementedError

    def _set_state_vector(self, vector: np.ndarray) -> None:
        """Put the environment in the (already checked, float64) state ``vector``."""
        raise NotImplementedError

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
