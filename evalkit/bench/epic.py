"""Timing of :func:`evalkit.metrics.epic_goal_columns` and of the metric panel with bootstrap intervals on synthetic data (``evalkit bench epic``).

The targets: goal EPIC, 2 000 resamples over 100 000 frames in 1 000 episodes in
under 2 s; the panel, all metrics for 5 reward columns at that size in under 2 s,
and the pairwise distance matrix of 50 reward sources over 100 000 frames in under 1 s.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from evalkit.metrics.goal import epic_goal_columns
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.pairwise import epic_pairwise
from evalkit.metrics.panel import metric_panel
from evalkit.metrics.registry import metric_names

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
            rewards, labels, episodes=ep, bootstrap=BootstrapOptions(resamples, seed=seed)
        )  # warm-up, untimed
        for method in methods:
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                epic_goal_columns(
                    rewards,
                    labels,
                    episodes=ep,
                    bootstrap=BootstrapOptions(resamples, method, seed=seed),
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


PANEL_SHAPE = (100_000, 1_000, 5, 2_000)
"""(frames, episodes, reward columns, resamples) of the panel's target: all metrics."""
PANEL_SECONDS = 2.0
PAIRWISE_SHAPE = (100_000, 50)
"""(frames, reward sources) of the pairwise distance matrix target."""
PAIRWISE_SECONDS = 1.0


@dataclass(frozen=True)
class PanelRow:
    """Seconds (best and median of the repeats) of one metric, of all of them, or of the matrix."""

    what: str
    best_s: float
    median_s: float
    target_s: float | None = None


def panel_inputs(frames: int, episodes: int, columns: int, seed: int = 0) -> dict:
    """Synthetic inputs for every metric: rewards, labels, episodes, a progress variable, a
    ground-truth reward (frames of an episode in time order) and an episode quality (three tiers)."""
    rewards, labels, ep = synthetic(frames, episodes, columns, seed)
    labels = labels & (np.asarray(ep) % 5 != 0)  # some episodes never reach the goal
    rng = np.random.default_rng(seed + 1)
    progress = labels + rng.normal(size=frames)
    gt = labels + 0.1 * rng.normal(size=frames)
    return {
        "rewards": rewards,
        "labels": labels,
        "episodes": ep,
        "progress": progress,
        "gt_rewards": gt,
        "quality": np.asarray(ep) % 3 / 2,
    }


def _timed(call, repeats: int) -> tuple[float, float]:
    call()  # warm-up, untimed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def bench_panel(
    shape=PANEL_SHAPE,
    pairwise_shape=PAIRWISE_SHAPE,
    ci_method: str = "bca",
    repeats: int = 3,
    seed: int = 0,
    per_metric: bool = True,
) -> list[PanelRow]:
    """Time :func:`evalkit.metrics.metric_panel` per metric (unless ``per_metric=False``) and for
    all metrics at once (which shares one draw of resamples and the tables of AUC/AP and
    Spearman/Kendall), and the pairwise distance matrix of ``pairwise_shape`` sources (point
    estimates)."""
    frames, episodes, columns, resamples = shape
    inputs = panel_inputs(frames, episodes, columns, seed)
    rewards = inputs.pop("rewards")

    def run(metrics) -> None:
        metric_panel(
            rewards,
            **inputs,
            metrics=metrics,
            bootstrap=BootstrapOptions(resamples, ci_method, seed=seed),
        )

    rows = [
        PanelRow(m, *_timed(lambda m=m: run([m]), repeats)) for m in metric_names() if per_metric
    ]
    rows.append(PanelRow("all", *_timed(lambda: run("all"), repeats), PANEL_SECONDS))
    n, k = pairwise_shape
    rng = np.random.default_rng(seed)
    sources = rng.normal(size=(n, k)) + rng.normal(size=(n, 1))
    rows.append(
        PanelRow(
            f"pairwise {k} sources",
            *_timed(lambda: epic_pairwise(sources), repeats),
            PAIRWISE_SECONDS,
        )
    )
    return rows
