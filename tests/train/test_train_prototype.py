"""Training with a frame-prototype goal (--goal-frames): the replay buffer holds Definition 1
with the mean embedding of the example frames as the goal, computed here from scratch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_train import RENDER, render_states, tiny_config

from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError
from evalkit.tasks import get_task
from evalkit.train.runner import train
from evalkit.vlm import ImageEmbedder


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@pytest.mark.slow
def test_replay_buffer_rewards_use_the_frame_prototype(tmp_path, datasets_root):
    ds = collect_sweep("cartpole", 60, RENDER, root=datasets_root, progress=False).dataset
    alpha = 0.5
    config = tiny_config(
        "cartpole",
        goal_frames=f"{ds.name}@labels:rule",
        alpha=alpha,
        steps=80,
        reward_batch_size=48,
    )
    assert "goal frames cartpole-sweep@labels:rule" in config.resolved().describe_reward()
    result = train(config, tmp_path / "run")
    buffer = result.model.replay_buffer
    stored = buffer.rewards[: buffer.pos].reshape(-1)
    reached = buffer.next_observations[: buffer.pos].reshape(-1, buffer.obs_shape[0])

    embedder = ImageEmbedder("evalkit-tiny-vit", pretrained="none")
    upright = np.abs(ds.states["angle"].to_numpy()) <= np.radians(12.0)
    g = _unit(embedder.embed_frames(ds.frames[upright]).astype(np.float64).mean(axis=0))
    b = embedder.embed_texts([get_task("cartpole").baseline_prompt])[0].astype(np.float64)
    x = embedder.embed_frames(render_states(result.config.env_id, reached)).astype(np.float64)
    d = _unit(g - b)  # Definition 1: R = 1 - ½‖P(x - g)‖², P = α d dᵀ + (1 - α) I
    diff = x - g
    projected = alpha * np.outer(diff @ d, d) + (1 - alpha) * diff
    expected = 1 - 0.5 * (projected**2).sum(axis=1)
    np.testing.assert_allclose(stored, expected, atol=1e-4)
    assert np.ptp(expected) > 0


def test_frame_goals_need_a_named_dataset_and_the_clip_reward(tmp_path, datasets_root):
    with pytest.raises(EvalkitError, match="needs --goal-frames"):
        tiny_config(baseline_frames="x@labels:rule").resolved()
    with pytest.raises(EvalkitError, match="does not apply to --reward ground-truth"):
        tiny_config(goal_frames="x@labels:rule", reward="ground-truth").resolved()
    with pytest.raises(EvalkitError, match="name the dataset, as DATASET@labels:rule"):
        tiny_config(goal_frames="labels:rule").resolved()  # before any model loads
    with pytest.raises(EvalkitError, match="name the dataset, as DATASET@labels:rule"):
        train(tiny_config(goal_frames="labels:rule", steps=80), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_prototype_run_is_not_compared_with_the_text_prompts_offline_epic(monkeypatch):
    from evalkit.train import runner
    from evalkit.train.fidelity import Fidelity

    def text_prompt_epic(*args, **kwargs):
        raise AssertionError("a frame-goal run looked up the text prompt's saved EPIC")

    monkeypatch.setattr(runner, "offline_epic", text_prompt_epic)
    fidelity = Fidelity(frames=400, goal_share=0.5, epic=0.6, epic_interval=(0.5, 0.7))
    config = tiny_config(goal_frames="cartpole-sweep@labels:rule")
    sentence = runner._fidelity_summary(config, fidelity)
    assert sentence is not None and "offline" not in sentence


def test_runs_of_different_frame_sets_get_different_default_names():
    names = {
        tiny_config(goal_frames=g).resolved().default_run_name()
        for g in ("a@labels:rule", "a@labels:human", "b@labels:rule")
    }
    assert len(names) == 3 and all("frames" in n for n in names)
