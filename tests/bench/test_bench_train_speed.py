"""``evalkit bench train``'s speed limit: model_to_gt_speed and time_over_limit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_train import one_torch_thread

from evalkit.bench.train_speed import SpeedLimit, bench_e2e_speed, tower_seconds_per_frame


def test_the_limit_is_the_larger_of_learner_and_tower_time():
    # model run: 10 000 steps in 50 s; ground truth: 20 000 steps in 20 s (10 s for 10 000);
    # the tower: 4 ms a frame, 40 s for 10 000 frames, on 2 cores 20 s
    limit = SpeedLimit(10_000, 50.0, 20_000, 20.0, 0.004, 10_000, 2)
    assert limit.learner_seconds == pytest.approx(10.0)
    assert limit.tower_seconds == pytest.approx(40.0)
    assert limit.limit_seconds == pytest.approx(20.0) and limit.dominant == "tower"
    assert limit.time_over_limit == pytest.approx(2.5)
    assert limit.model_to_gt_speed == pytest.approx((10_000 / 50) / (20_000 / 20))
    one_core = SpeedLimit(10_000, 50.0, 20_000, 20.0, 0.0005, 10_000, 1)  # tower 5 s < learner 10 s
    assert one_core.dominant == "learner" and one_core.time_over_limit == pytest.approx(5.0)
    doc = one_core.to_json()
    assert doc["limit"]["tower_frames_per_second"] == pytest.approx(2000.0)
    assert json.loads(json.dumps(doc)) == doc


def test_the_tower_is_timed_on_one_thread_per_frame():
    import torch

    seen = []

    def reward(frames):
        seen.append((len(frames), frames.shape[1:], torch.get_num_threads()))
        return np.zeros(len(frames))

    per_frame = tower_seconds_per_frame(reward, 16, batch=8, frames=32)
    assert per_frame > 0
    assert seen == [(8, (16, 16, 3), 1)] * 5  # a warm-up batch, then 32 frames in batches of 8


def test_bench_e2e_speed_reports_both_figures():
    with one_torch_thread():
        doc = bench_e2e_speed(steps=200, inline=True, tower_frames=64)
    runs = doc["runs"]
    assert set(runs) == {"ground truth", "model reward, reward worker", "model reward, in-line"}
    assert runs["model reward, reward worker"]["reward_worker"]
    assert not runs["model reward, in-line"]["reward_worker"]
    steps = {r["steps"] for r in runs.values()}  # one rollout of train_freq = 256 steps
    assert len(steps) == 1 and steps.pop() >= 200
    worker, gt = runs["model reward, reward worker"], runs["ground truth"]
    assert doc["model_to_gt_speed"] == pytest.approx(
        worker["steps_per_second"] / gt["steps_per_second"]
    )
    limit = doc["limit"]
    assert limit["frames"] == worker["steps"] and limit["reward_cores"] >= 1
    expected = max(limit["learner_seconds"], limit["tower_seconds"] / limit["reward_cores"])
    assert limit["seconds"] == pytest.approx(expected)
    assert doc["time_over_limit"] == pytest.approx(worker["seconds"] / expected)
    assert len(doc["load_start"]) == 3 and doc["worker_speedup"] > 0
