"""Shared helpers for the humanoid tests: keyframe states, tiny environments, a tiny policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SMALL = 64
"""Frame size the humanoid tests render at."""


def keyframe_states(names: list[str] | None = None) -> pd.DataFrame:
    """The state table (``body_state`` columns + ``pose``) of keyframes placed on the floor, unvaried."""
    from evalkit.envs.humanoid import body_state
    from evalkit.envs.humanoid_poses import KEYFRAMES, keyframe_qpos, settle
    from evalkit.envs.humanoid_scene import (
        load_model,
        mujoco,  # sets MUJOCO_GL=egl before MuJoCo loads
    )

    model = load_model(textured=False)
    data = mujoco.MjData(model)
    rows = []
    for name in names or list(KEYFRAMES):
        settle(model, data, keyframe_qpos(name), KEYFRAMES[name].supports)
        rows.append({"pose": name, **body_state(model, data)})
    return pd.DataFrame(rows)


def make_env(**kwargs: Any):
    """An ``evalkit/Humanoid-v0`` instance rendering at :data:`SMALL` pixels."""
    from evalkit.envs.humanoid import HumanoidEnv

    kwargs.setdefault("width", SMALL)
    kwargs.setdefault("height", SMALL)
    return HumanoidEnv(**kwargs)


def save_tiny_policy(path: Path, algo: str = "PPO", env: Any = None) -> Path:
    """An untrained SB3 policy on the humanoid (or ``env``), saved to ``path`` (.zip)."""
    import stable_baselines3 as sb3

    env = env if env is not None else make_env()
    kwargs: dict[str, Any] = {"policy_kwargs": {"net_arch": [8]}, "device": "cpu", "seed": 0}
    if algo == "PPO":
        kwargs.update(n_steps=8, batch_size=8, n_epochs=1)
    else:
        kwargs.update(learning_starts=100, buffer_size=200)
    model = getattr(sb3, algo)("MlpPolicy", env, **kwargs)
    model.save(path)
    env.close()
    return path.with_suffix(".zip") if path.suffix != ".zip" else path


def frame_spread(frame: np.ndarray) -> float:
    """Standard deviation of a frame's pixel values (0 for a blank frame)."""
    return float(np.asarray(frame, dtype=float).std())
