"""How close a model-reward run comes to its speed limit: ``model_to_gt_speed`` and
``time_over_limit`` of ``evalkit bench train``.

A run whose reward is a model's must embed every frame it steps through and train the learner;
with the reward computed beside the learner it cannot beat the larger of the two::

    limit = max(learner time, tower time over the run's frames / reward cores)

*learner time* is the ground-truth run's ``learn()`` time (the same algorithm, settings and
steps, without rendering or a reward model), scaled to the model run's steps; *tower time* is
the reward function timed alone on frames of the run's size, in the worker's batches, on one
thread, scaled to the run's frames; *reward cores* are the torch threads the reward worker gets
(:func:`evalkit.train.reward_worker.thread_split`). ``time_over_limit`` is the model run's
``learn()`` time over that limit (1 would be perfect overlap), ``model_to_gt_speed`` its steps/s
over the ground truth's.

:func:`bench_e2e_speed` measures the case the study trains: CartPole's whole track at 80 pixels
and the e2e bench's random ViT (:data:`evalkit.bench.e2e.VISION`), saved as a local checkpoint,
DQN with :data:`evalkit.bench.e2e.DQN_KWARGS`.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evalkit.train.clip_reward import BatchRewardFn, load_clip_reward
from evalkit.train.config import TrainConfig
from evalkit.train.reward_worker import available_cores, thread_split
from evalkit.train.runner import train

TOWER_SAMPLE_FRAMES = 4096
"""Frames the tower is timed on (at most; its time is scaled to the run's frames)."""


def load_average() -> list[float]:
    """The machine's 1, 5 and 15-minute load averages (other users' work slows every figure)."""
    return [round(x, 2) for x in os.getloadavg()]


def tower_seconds_per_frame(
    reward_fn: BatchRewardFn, size: int, batch: int, frames: int = TOWER_SAMPLE_FRAMES
) -> float:
    """Seconds per frame of ``reward_fn`` alone on one torch thread, in batches of ``batch``
    frames of ``size`` × ``size`` (random pixels: the forward's cost does not depend on them),
    after one untimed warm-up batch."""
    batch = max(1, min(batch, frames))
    pixels = np.random.default_rng(0).integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reward_fn(pixels)
        n = max(1, frames // batch)
        t0 = time.perf_counter()
        for _ in range(n):
            reward_fn(pixels)
        return (time.perf_counter() - t0) / (n * batch)
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class SpeedLimit:
    """The terms of the limit of a model-reward run and how close the run came.

    :param model_steps: environment steps of the model-reward run.
    :param model_seconds: its ``learn()`` time.
    :param gt_steps: steps of the ground-truth run.
    :param gt_seconds: its ``learn()`` time.
    :param tower_seconds_per_frame: the reward function alone, one thread.
    :param frames: frames the model run scored.
    :param reward_cores: torch threads of its reward worker.
    """

    model_steps: int
    model_seconds: float
    gt_steps: int
    gt_seconds: float
    tower_seconds_per_frame: float
    frames: int
    reward_cores: int

    @property
    def learner_seconds(self) -> float:
        """The ground-truth run's time scaled to the model run's steps."""
        return self.gt_seconds * self.model_steps / self.gt_steps

    @property
    def tower_seconds(self) -> float:
        """The tower's forward over the model run's frames on one thread."""
        return self.tower_seconds_per_frame * self.frames

    @property
    def limit_seconds(self) -> float:
        return max(self.learner_seconds, self.tower_seconds / self.reward_cores)

    @property
    def dominant(self) -> str:
        """Which term sets the limit: ``learner`` or ``tower``."""
        return (
            "learner" if self.learner_seconds >= self.tower_seconds / self.reward_cores else "tower"
        )

    @property
    def time_over_limit(self) -> float:
        return self.model_seconds / self.limit_seconds

    @property
    def model_to_gt_speed(self) -> float:
        return (self.model_steps / self.model_seconds) / (self.gt_steps / self.gt_seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "model_to_gt_speed": self.model_to_gt_speed,
            "time_over_limit": self.time_over_limit,
            "limit": {
                "seconds": self.limit_seconds,
                "dominant": self.dominant,
                "learner_seconds": self.learner_seconds,
                "tower_seconds": self.tower_seconds,
                "tower_frames_per_second": 1.0 / self.tower_seconds_per_frame,
                "frames": self.frames,
                "reward_cores": self.reward_cores,
            },
        }


def reward_cores(config: TrainConfig) -> int:
    """The torch threads the run's reward gets: its worker's, or the learner's without one."""
    learner, reward = thread_split(config.torch_threads, config.reward_threads, available_cores())
    if config.uses_reward_worker:
        return reward
    return config.torch_threads or torch.get_num_threads()


def _timed(config: TrainConfig, reward_fn: BatchRewardFn | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
        result = train(config, Path(tmp) / "run", reward_fn=reward_fn)
    steps = result.steps - result.start_step
    return {
        "steps": steps,
        "seconds": result.learn_seconds,
        "steps_per_second": steps / result.learn_seconds,
        "reward_seconds": result.reward_seconds,
        "reward_calls": result.reward_calls,
        "reward_worker": config.uses_reward_worker,
    }


def e2e_configs(out: Path, steps: int) -> tuple[TrainConfig, TrainConfig]:
    """The model-reward run (the e2e tower's text-prompt reward; a head costs the same tower
    forward and a dot product) and the ground-truth run of the e2e case, the tower saved under
    ``out``."""
    from evalkit.bench.e2e import FULL, FULL_TRACK_SIZE, Layout, save_random_model, train_config

    settings = dataclasses.replace(FULL, size=FULL_TRACK_SIZE, full_track=True, steps=steps)
    layout = Layout(out)
    save_random_model(settings, layout.model_config, layout.model_weights)
    model = dataclasses.replace(
        train_config(settings, "text", layout),
        torch_threads=None,  # the worker's split: one thread each on 2 cores
        reward_worker=True,
        checkpoint_every=10**12,
    )
    gt = dataclasses.replace(
        model,
        reward="ground-truth",
        model=None,
        pretrained=None,
        torch_threads=settings.threads,
    )
    return model.resolved(), gt.resolved()


def bench_e2e_speed(
    steps: int = 20_000, inline: bool = True, tower_frames: int = TOWER_SAMPLE_FRAMES
) -> dict[str, Any]:
    """Time the e2e case: the ground-truth run, the model-reward run with the reward worker (the
    default) and, with ``inline``, without it; the tower alone; and the limit's terms.

    :param steps: environment steps of every run.
    :param inline: also time the model run with rewards computed between the learner's steps.
    :param tower_frames: frames the tower alone is timed on.
    """
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-tower-") as tmp:
        model, gt = e2e_configs(Path(tmp), steps)
        reward_fn = load_clip_reward(model)
        per_frame = tower_seconds_per_frame(
            reward_fn, model.render_size, int(model.reward_batch_size or 1), tower_frames
        )
        runs = {"ground truth": _timed(gt, None)}
        runs["model reward, reward worker"] = _timed(model, reward_fn)
        if inline:
            runs["model reward, in-line"] = _timed(
                dataclasses.replace(model, reward_worker=False, torch_threads=1), reward_fn
            )
    worker = runs["model reward, reward worker"]
    limit = SpeedLimit(
        worker["steps"],
        worker["seconds"],
        runs["ground truth"]["steps"],
        runs["ground truth"]["seconds"],
        per_frame,
        worker["steps"],
        reward_cores(model),
    )
    out: dict[str, Any] = {
        "description": (
            f"cartpole (whole track), DQN, {model.n_envs} env, {model.render_size}×{model.render_size} frames, "
            f"the e2e bench's random ViT, reward batches of {model.reward_batch_size}, {steps} steps"
        ),
        **limit.to_json(),
        "runs": runs,
        "cores": available_cores(),
        "load_start": load_start,
        "load_end": load_average(),
    }
    if inline:
        out["worker_speedup"] = (
            runs["model reward, in-line"]["seconds"]
            / runs["model reward, reward worker"]["seconds"]
        )
    return out
