"""A MuJoCo model's joint state (``qpos``, ``qvel``) as named state-table columns."""

from __future__ import annotations

from typing import Any

import numpy as np


def joint_columns(model: Any) -> tuple[str, ...]:
    """``qpos_0 … qpos_{nq-1}, qvel_0 … qvel_{nv-1}``: the columns of a model's joint state."""
    return tuple(f"qpos_{i}" for i in range(model.nq)) + tuple(f"qvel_{i}" for i in range(model.nv))


def joint_state(model: Any, data: Any) -> dict[str, float]:
    """The joint state as ``{qpos_i: …, qvel_j: …}`` (Python floats)."""
    vector = np.concatenate([data.qpos, data.qvel])
    return {name: float(v) for name, v in zip(joint_columns(model), vector)}


class JointStateMixin:
    """An environment wrapping a MuJoCo environment (``self._inner``, whose ``model`` and
    ``data`` it exposes) and rendering with its own renderer (``self._renderer``, made by its
    ``render_frame()``): its state columns and state are the joint state, ``render()`` follows
    ``render_mode``, and ``close()`` frees the renderer and the wrapped environment."""

    _inner: Any
    _renderer: Any
    render_mode: str | None

    def render(self) -> np.ndarray | None:
        """:meth:`render_frame` with ``render_mode="rgb_array"``; ``None`` (and a warning) without."""
        if self.render_mode is None:
            import gymnasium as gym

            gym.logger.warn("render() called without render_mode='rgb_array'; returning None.")
            return None
        return self.render_frame()  # type: ignore[attr-defined]

    @property
    def model(self) -> Any:
        return self._inner.model

    @property
    def data(self) -> Any:
        return self._inner.data

    @property
    def state_columns(self) -> tuple[str, ...]:
        """``qpos_i`` and ``qvel_j``: the simulator's joint state, as state-table columns."""
        return joint_columns(self.model)

    def get_state(self) -> dict[str, float]:
        """The joint state as ``{qpos_i: …, qvel_j: …}``."""
        return joint_state(self.model, self.data)

    def close(self) -> None:
        """Free the rendering context (an unclosed one makes EGL complain at exit) and the
        wrapped environment."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._inner.close()
