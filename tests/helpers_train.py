"""Small, fast training settings and reward functions for the evalkit.train tests."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Iterator

import numpy as np

from evalkit.train.config import TrainConfig

RENDER = 64
"""Frame side in the tests (the paper renders 224; tiny models take 32)."""

SMALL_DQN = {
    "learning_starts": 60,
    "train_freq": 40,
    "gradient_steps": 4,
    "buffer_size": 4000,
    "batch_size": 16,
    "policy_kwargs": {"net_arch": [16, 16]},
}
SMALL_SAC = {
    "learning_starts": 60,
    "train_freq": 20,
    "gradient_steps": 2,
    "buffer_size": 4000,
    "batch_size": 16,
    "policy_kwargs": {"net_arch": [16, 16]},
}


def tiny_config(task: str = "cartpole", **overrides: Any) -> TrainConfig:
    """A run of a few hundred steps: tiny random CLIP model, 64×64 frames, small networks."""
    algo = overrides.get("algo") or ("dqn" if task == "cartpole" else "sac")
    values: dict[str, Any] = dict(
        task=task,
        model="evalkit-tiny-vit",
        pretrained="none",
        steps=240,
        n_envs=2,
        device="cpu",
        render_size=RENDER,
        checkpoint_every=120,
        reward_batch_size=64,
        # a deep copy: stable-baselines3 writes into policy_kwargs (SAC adds use_sde)
        algo_kwargs=copy.deepcopy(SMALL_DQN if algo == "dqn" else SMALL_SAC),
    )
    values.update(overrides)
    return TrainConfig(**values)


def shape_reward(frames: np.ndarray) -> np.ndarray:
    """A cheap, exact reward of frames that moves with what is drawn where: the darkness of the
    red channel weighted by the column, in [0, 1]."""
    frames = np.asarray(frames)
    columns = np.arange(frames.shape[2]) / frames.shape[2]
    return ((255 - frames[..., 0].astype(np.float64)) * columns).mean(axis=(1, 2)) / 255.0


class Recorder:
    """Wrap a reward function; keep every batch it was called with."""

    def __init__(self, fn=shape_reward) -> None:
        self.fn = fn
        self.batches: list[np.ndarray] = []
        self.random_weights = False

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.batches.append(np.array(frames))
        return self.fn(frames)


def render_states(
    env_id: str, states: np.ndarray, size: int = RENDER, **env_kwargs: Any
) -> np.ndarray:
    """Frames of physical state vectors, rendered by a fresh environment (``(n, size, size, 3)``)."""
    import gymnasium as gym

    import evalkit.envs  # noqa: F401

    env = gym.make(env_id, render_mode="rgb_array", width=size, height=size, **env_kwargs)
    env.reset(seed=0)
    frames = []
    for state in states:
        env.unwrapped.set_state(np.asarray(state, dtype=np.float64))
        frames.append(env.render())
    env.close()
    return np.stack(frames)


SMALL = """render_size = 32
checkpoint_every = 80
[algo_kwargs]
learning_starts = 60
train_freq = 20
gradient_steps = 2
buffer_size = 4000
batch_size = 16
policy_kwargs = { net_arch = [16, 16] }
"""
"""A small training config for quick runs (DQN/SAC settings, 32-pixel renders)."""


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny networks train fastest (and steadiest on a busy machine) on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
