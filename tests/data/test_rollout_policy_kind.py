"""A checkpoint of an SB3 algorithm that rollouts cannot use (DQN) is named as such, not
called "not a checkpoint of any of SAC, PPO, ..."."""

from __future__ import annotations

import pytest

from evalkit.data.rollouts import ALGORITHMS, detect_algorithm
from evalkit.errors import EvalkitError


@pytest.mark.slow
def test_a_dqn_checkpoint_is_named_dqn(tmp_path):
    import gymnasium as gym
    from stable_baselines3 import DQN

    model = DQN("MlpPolicy", gym.make("CartPole-v1"), learning_starts=0, buffer_size=100)
    model.save(tmp_path / "dqn.zip")
    with pytest.raises(EvalkitError) as caught:
        detect_algorithm(tmp_path / "dqn.zip")
    text = str(caught.value)
    assert "is a DQN checkpoint" in text and "continuous actions" in text
    assert ", ".join(ALGORITHMS) in text
