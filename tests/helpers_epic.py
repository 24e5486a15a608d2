"""Data for the EPIC tests: synthetic correlated data with a known ρ, small random MDPs, and a
cartpole-family dataset built directly with :class:`evalkit.data.store.DatasetWriter`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.store import Dataset, DatasetWriter


def clustered_goal_data(
    rng: np.random.Generator,
    n_episodes: int,
    frames_per_episode: int,
    p: float,
    delta: float,
    sd_episode: float,
    persistence: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Rewards, 0/1 labels, episode ids and the true (population) ρ of a clustered model.

    Each episode has a goal status ``z_e ~ Bernoulli(p)``; a frame's label is ``z_e`` with
    probability ``persistence`` and a fresh ``Bernoulli(p)`` draw otherwise (so ``P(y = 1) = p``
    either way). The reward is ``x = δ·y + u_e + ε`` with an episode effect
    ``u_e ~ N(0, sd_episode²)`` and ``ε ~ N(0, 1)``: frames of one episode are correlated in
    both label and reward. The true point-biserial correlation is
    ``δ p(1−p) / sqrt((δ² p(1−p) + sd_episode² + 1) · p(1−p))``.
    """
    n = n_episodes * frames_per_episode
    episodes = np.repeat(np.arange(n_episodes), frames_per_episode)
    status = (rng.random(n_episodes) < p)[episodes]
    y = np.where(rng.random(n) < persistence, status, rng.random(n) < p)
    x = delta * y + sd_episode * rng.normal(size=n_episodes)[episodes] + rng.normal(size=n)
    var_y = p * (1 - p)
    rho = delta * var_y / math.sqrt((delta**2 * var_y + sd_episode**2 + 1.0) * var_y)
    return x, y, episodes, rho


def random_distribution(rng: np.random.Generator, shape) -> np.ndarray:
    """A random probability array with full support."""
    q = rng.uniform(0.2, 1.0, size=shape)
    return q / q.sum()


def small_mdp(rng: np.random.Generator, n_states: int = 4, n_actions: int = 2):
    """Two random tabular rewards, coverage distributions and a transition distribution."""
    r1 = rng.normal(size=(n_states, n_actions, n_states))
    r2 = 0.6 * r1 + rng.normal(size=(n_states, n_actions, n_states))
    return (
        r1,
        r2,
        random_distribution(rng, n_states),
        random_distribution(rng, n_actions),
        random_distribution(rng, (n_states, n_actions, n_states)),
    )


def sample_transitions(
    rng: np.random.Generator, dt: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` transitions ``(s, a, s′)`` drawn from the tabular distribution ``dt``."""
    flat = rng.choice(dt.size, size=n, p=dt.ravel())
    return np.unravel_index(flat, dt.shape)


def build_cartpole_dataset(
    root: Path,
    name: str = "cartpole-sweep",
    n: int = 400,
    size: int = 8,
    seed: int = 0,
    frames_per_episode: int = 1,
) -> Dataset:
    """A cartpole-family dataset: pole angles uniform in [−π/2, π/2], random frames.

    Rule labels (|angle| ≤ 12°) are stored by the writer. With ``frames_per_episode = 1`` every
    frame is its own episode, as in a uniform state sweep.
    """
    rng = np.random.default_rng(seed)
    angles = rng.uniform(-math.pi / 2, math.pi / 2, size=n)
    rows = pd.DataFrame(
        {
            "episode": np.arange(n) // frames_per_episode,
            "step": np.arange(n) % frames_per_episode,
            "x": rng.uniform(-2.4, 2.4, size=n),
            "x_dot": 0.0,
            "angle": angles,
            "angle_dot": 0.0,
        }
    )
    frames = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    with DatasetWriter(
        root,
        name,
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="test-sweep",
        params={"n": n, "seed": seed},
        render={"size": size},
        n_frames=n,
        frame_shape=(size, size, 3),
    ) as w:
        w.add(frames, rows)
    assert w.dataset is not None
    return w.dataset


REWARD_MODULE = """
import numpy as np

def neg_abs_angle(states, frames):
    return -np.abs(states["angle"].to_numpy())

def random_reward(states, frames):
    return np.random.default_rng(12345).normal(size=len(states))

def states_only(states):
    return -states["angle"].abs()

def constant(states, frames):
    return np.full(len(states), 0.25)

def with_nan(states, frames):
    r = -np.abs(states["angle"].to_numpy())
    r[3] = np.nan
    return r

def too_short(states, frames):
    return np.zeros(len(states) - 1)

def broken(states, frames):
    raise RuntimeError("boom")
"""


def write_reward_module(directory: Path, name: str = "epic_test_rewards") -> str:
    """Write a module of hand-written rewards into ``directory``; returns its module name."""
    (directory / f"{name}.py").write_text(REWARD_MODULE)
    return name
