"""Timing of :func:`evalkit.epic.epic_goal_columns` with bootstrap intervals on synthetic data (``evalkit bench epic``).

The target (issue 4): 2 000 resamples over 100 000 frames in 1 000 episodes in under 2 s.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from evalkit.epic.goal import epic_goal_columns

TARGET_SHAPE = (100_000, 1_000, 1, 2_000)
"""(frames, episodes, reward columns, resamples) of the speed target."""
TARGET_SECONDS = 2.0

DEFAULT_SHAPES = (
    (10_000, 100, 1, 2_000),
    TARGET_SHAPE,
    (100_000, 1_000, 5, 2_000),
    (100_000, 10_000, 5, 2_000),
    (1_000_000, 10_000, 5, 2_000),
)


@dataclass(frozen=True)
class BenchRow:
    """Timing of one shape and interval method (seconds: best and median of the repeats)."""

    frames: int
    episodes: int
    columns: int
    resamples: int
    method: str
    best_s: float
    median_s: float

    @property
    def is_target(self) -> bool:
        return (self.frames, self.episodes, self.columns, self.resamples) == TARGET_SHAPE


def synthetic(
    frames: int, episodes: int, columns: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rewards ``(frames, columns)``, labels and episode ids with a per-episode random effect."""
    rng = np.random.default_rng(seed)
    ep = np.sort(rng.integers(0, episodes, frames))
    ep[:episodes] = np.arange(episodes)  # every episode present
    ep.sort()
    labels = rng.random(frames) < 0.2
    effect = rng.normal(size=episodes)[ep]
    rewards = 0.2 + 0.01 * (labels[:, None] + effect[:, None] + rng.normal(size=(frames, columns)))
    return rewards, labels, ep


def bench_epic(
    shapes=DEFAULT_SHAPES, methods=("percentile", "bca"), repeats: int = 3, seed: int = 0
) -> list[BenchRow]:
    """Time ``epic_goal_columns`` (checks, point estimate and bootstrap) for each shape and method, after
    one untimed call per shape (first-touch costs would otherwise land on the first method)."""
    rows = []
    for frames, episodes, columns, resamples in shapes:
        rewards, labels, ep = synthetic(frames, episodes, columns, seed)
        epic_goal_columns(
            rewards, labels, episodes=ep, n_bootstrap=resamples, seed=seed
        )  # warm-up, untimed
        for method in methods:
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                epic_goal_columns(
                    rewards, labels, episodes=ep, n_bootstrap=resamples, ci_method=method, seed=seed
                )
                times.append(time.perf_counter() - start)
            rows.append(
                BenchRow(
                    frames,
                    episodes,
                    columns,
                    resamples,
                    method,
                    min(times),
                    statistics.median(times),
                )
            )
    return rows
