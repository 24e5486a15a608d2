"""Training with a reward head (--reward head:PATH): the replay buffer holds the head's reward
of the frames rendered during training, the same as the head applied offline."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_train import RENDER, render_states, tiny_config

from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError
from evalkit.heads import load_head
from evalkit.pipeline import align
from evalkit.train.runner import train
from evalkit.vlm import ImageEmbedder, ModelSpec


@pytest.fixture
def head_path(datasets_root, tmp_path):
    ds = collect_sweep("cartpole", 120, RENDER, root=datasets_root, progress=False).dataset
    result = align(
        ds,
        "cartpole",
        ModelSpec("evalkit-tiny-vit", "none"),
        folds=3,
        n_bootstrap=0,
        devices="cpu",
        progress=False,
        save_to=tmp_path / "head",
    )
    return result.path


@pytest.mark.slow
def test_replay_buffer_rewards_are_the_heads(tmp_path, head_path):
    config = tiny_config(
        "cartpole",
        model=None,
        pretrained=None,
        reward=f"head:{head_path}",
        steps=80,
        reward_batch_size=48,
    )
    resolved = config.resolved()
    assert resolved.model == "evalkit-tiny-vit" and resolved.reward_is_random
    assert "reward head" in resolved.describe_reward()
    result = train(config, tmp_path / "run")
    buffer = result.model.replay_buffer
    stored = buffer.rewards[: buffer.pos].reshape(-1)
    reached = buffer.next_observations[: buffer.pos].reshape(-1, buffer.obs_shape[0])
    frames = render_states(result.config.env_id, reached, **result.config.env_kwargs)
    offline = load_head(head_path).reward(
        ImageEmbedder("evalkit-tiny-vit", pretrained="none").embed_frames(frames)
    )
    np.testing.assert_allclose(stored, offline, atol=1e-5)
    assert np.ptp(offline) > 0


def test_a_head_with_another_model_is_refused(head_path):
    config = tiny_config("cartpole", model="evalkit-tiny-rn", reward=f"head:{head_path}")
    with pytest.raises(
        EvalkitError, match="fitted on evalkit-tiny-vit's embeddings, not evalkit-tiny-rn's"
    ):
        config.resolved()
    with pytest.raises(EvalkitError, match="does not exist"):
        tiny_config("cartpole", reward="head:nothing.json").resolved()
