"""Batched rewards inside stable-baselines3: frames, batching, back-off, and reward parity.

Parity: the rewards the learner trains on (what is in the replay or rollout buffer) equal the
rewards computed offline from the same states, rendered again by a fresh environment.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers_train import (
    RENDER,
    Recorder,
    one_torch_thread,
    render_states,
    shape_reward,
    tiny_config,
)
from stable_baselines3.common.env_util import make_vec_env

from evalkit.train.clip_reward import BatchScorer, ClipRewardVecEnv, RenderFrame, load_clip_reward
from evalkit.train.runner import train


def _venv(n_envs: int, episode_steps: int):
    import evalkit.envs  # noqa: F401

    return make_vec_env(
        "evalkit/MountainCar-v0",
        n_envs=n_envs,
        seed=3,
        wrapper_class=RenderFrame,
        env_kwargs={
            "render_mode": "rgb_array",
            "width": RENDER,
            "height": RENDER,
            "textured": True,
            "max_episode_steps": episode_steps,
        },
    )


def test_step_labelling_scores_the_reached_state_even_at_episode_ends():
    recorder = Recorder()
    venv = ClipRewardVecEnv(_venv(3, episode_steps=4), recorder, batch_size=64)
    venv.reset()
    ended = 0
    for step in range(6):
        actions = np.full((3, 1), 1.0 if step % 2 else -1.0, dtype=np.float32)
        obs, rewards, dones, infos = venv.step(actions)
        assert (
            len(recorder.batches) == step + 1 and len(recorder.batches[-1]) == 3
        )  # all envs, one batch
        reached = np.stack(
            [
                info["terminal_observation"] if done else o
                for o, done, info in zip(obs, dones, infos)
            ]
        )
        expected = shape_reward(render_states("evalkit/MountainCar-v0", reached, textured=True))
        np.testing.assert_array_equal(rewards, expected.astype(np.float32))
        if dones.any():  # the reward is the last state's, not the next episode's first
            ended += int(dones.sum())
            restarted = shape_reward(render_states("evalkit/MountainCar-v0", obs, textured=True))
            assert not np.allclose(restarted, rewards)
        assert all("frame" not in info and "gt_reward" in info for info in infos)
    assert ended == 3 and len(venv.stats.episodes) == 3
    venv.close()


def test_scorer_chunks_frames():
    sizes = []
    frames = np.random.default_rng(0).integers(0, 255, (50, 8, 8, 3), dtype=np.uint8)
    scorer = BatchScorer(lambda f: sizes.append(len(f)) or shape_reward(f), batch_size=16)
    np.testing.assert_allclose(scorer(frames), shape_reward(frames), rtol=1e-6)
    assert sizes == [16, 16, 16, 2] and scorer.calls == 4
    with pytest.raises(ValueError, match="returned 1 rewards for 16 frames"):
        BatchScorer(lambda f: [0.0], batch_size=16)(frames)


@pytest.mark.parametrize(
    "task,algo,labelling",
    [
        ("cartpole", "dqn", "rollout"),
        ("mountaincar", "sac", "rollout"),
        ("cartpole", "dqn", "batch"),
        ("mountaincar", "sac", "batch"),
    ],
)
def test_replay_buffer_rewards_equal_offline_clip_rewards(tmp_path, task, algo, labelling):
    """Train with the tiny random CLIP model; the replay buffer's rewards are what evalkit.rewards
    gives offline for frames rendered again from the stored states."""
    from evalkit.rewards import clip_rewards
    from evalkit.tasks import get_task
    from evalkit.vlm import ImageEmbedder

    config = tiny_config(
        task, algo=algo, steps=80, alpha=0.5, reward_labelling=labelling, reward_batch_size=48
    )
    recorder = Recorder(load_clip_reward(config.resolved()))
    with one_torch_thread():
        result = train(config, tmp_path / "run", reward_fn=recorder)
    sizes = [len(b) for b in recorder.batches]
    # each rollout (train_freq × n_envs frames), or each batch, is scored in batches of at most 48
    assert config.n_envs < max(sizes) <= 48 and sum(sizes) == result.steps
    buffer = result.model.replay_buffer
    stored = buffer.rewards[: buffer.pos]
    assert buffer.pos * config.n_envs == result.steps and not np.isnan(stored).any()

    reached = buffer.next_observations[: buffer.pos].reshape(-1, buffer.obs_shape[0])
    frames = render_states(result.config.env_id, reached, **result.config.env_kwargs)
    embedder = ImageEmbedder(
        "evalkit-tiny-vit", pretrained="none"
    )  # a fresh load: the same seeded weights
    goal, baseline = embedder.embed_texts(
        [get_task(task).goal_prompt, get_task(task).baseline_prompt]
    )
    offline = clip_rewards(embedder.embed_frames(frames), goal, baseline, [0.5])[:, 0]
    np.testing.assert_allclose(stored.reshape(-1), offline, atol=1e-5)
    assert np.ptp(offline) > 0 and result.reward_is_random


def test_a_clip_batch_that_does_not_fit_backs_off(tmp_path, monkeypatch):
    from evalkit.vlm import ImageEmbedder

    encode = ImageEmbedder.encode_pixels

    def picky(self, pixels):
        if len(pixels) > 8:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return encode(self, pixels)

    monkeypatch.setattr(ImageEmbedder, "encode_pixels", picky)
    messages: list[str] = []
    with one_torch_thread():
        result = train(
            tiny_config("mountaincar", steps=80, reward_batch_size=32),
            tmp_path / "run",
            report=messages.append,
        )
    assert result.reward_batch_size == 8 and any("continuing with 8" in m for m in messages)
    buffer = result.model.replay_buffer
    assert not np.isnan(buffer.rewards[: buffer.pos]).any()


def test_ppo_rollout_buffer_holds_the_step_rewards(tmp_path):
    recorder = Recorder()
    config = tiny_config(
        "mountaincar",
        algo="ppo",
        steps=64,
        algo_kwargs={"n_steps": 16, "batch_size": 16, "n_epochs": 1},
    )
    with one_torch_thread():
        result = train(config, tmp_path / "run", reward_fn=recorder)
    assert result.steps == 64 and all(
        len(b) == 2 for b in recorder.batches
    )  # batch = n_envs, every step
    # the last rollout: 16 steps × 2 envs, no episode ended (episodes last 200 steps), so no bootstrapping
    last = np.stack([shape_reward(b) for b in recorder.batches[-16:]]).astype(np.float32)
    np.testing.assert_array_equal(result.model.rollout_buffer.rewards, last)


def _labelled_buffer(size: int):
    from gymnasium import spaces

    from evalkit.train.clip_reward import LabelledReplayBuffer

    buffer = LabelledReplayBuffer(
        size,
        spaces.Box(-1e9, 1e9, (1,)),
        spaces.Box(-1, 1, (1,)),
        device="cpu",
        n_envs=1,
        handle_timeout_termination=False,
    )
    buffer.request_labels = lambda: None  # attached, as during training
    return buffer


def _add(buffer, i: int) -> None:
    buffer.add(
        np.array([[i]]),
        np.array([[i]]),
        np.zeros((1, 1)),
        np.array([np.nan if buffer.request_labels else i]),
        np.array([False]),
        [{}],
    )


@pytest.mark.parametrize("added,labelled", [(7, 3), (10, 8), (13, 2), (25, 7), (23, 0)])
def test_labelled_replay_buffer_samples_only_labelled_rows(added, labelled):
    """Transitions 0..added-1 go into a ring of 10 rows; labels go to the oldest waiting ones, as
    training writes them. Which transitions can be drawn is worked out from the write history."""
    buffer = _labelled_buffer(10)
    held: list[int] = []  # transitions the ring holds, oldest first
    n_labelled = 0  # transitions 0..n_labelled-1 have rewards
    for i in range(added):
        _add(buffer, i)
        held = (held + [i])[-10:]
        if buffer.unlabelled >= 8:  # a ring of 10 waits for 8 rewards at most
            buffer.label(np.full((1, 1), float(n_labelled)))
            n_labelled += 1
    k = min(labelled, buffer.unlabelled)
    buffer.label(np.arange(n_labelled, n_labelled + k, dtype=np.float32).reshape(-1, 1))
    n_labelled += k
    ready = [i for i in held if i < n_labelled]
    assert buffer.labelled_size() == len(ready)
    if not ready:
        with pytest.raises(RuntimeError, match="no labelled transitions"):
            buffer.sample(4)
        return
    batch = buffer.sample(2000)
    drawn = batch.observations.numpy().reshape(-1).astype(int)
    assert set(drawn) == set(ready)  # every labelled transition can be drawn, no other one
    np.testing.assert_array_equal(
        batch.rewards.numpy().reshape(-1), drawn
    )  # each with its own reward


def test_labelled_replay_buffer_asks_for_labels_when_most_rows_wait():
    buffer = _labelled_buffer(100)
    asked = []

    def label_all():
        asked.append(buffer.unlabelled)
        buffer.label(np.zeros((buffer.unlabelled, 1)))

    buffer.request_labels = label_all
    for i in range(6):
        _add(buffer, i)
    buffer.label(np.zeros((3, 1)))  # 3 labelled, 3 waiting: no request
    buffer.sample(8)
    assert asked == []
    _add(buffer, 6)
    buffer.sample(8)  # 4 waiting > 3 labelled
    assert asked == [4] and buffer.unlabelled == 0
    import pickle

    saved = pickle.loads(pickle.dumps(buffer))
    assert saved.request_labels is None  # the live callback is not saved...
    _add(
        saved, 7
    )  # ... and without it the buffer is a plain one (e.g. a checkpoint fine-tuned with plain SB3)
    assert saved.unlabelled == 0 and set(
        saved.sample(500).observations.numpy().reshape(-1).astype(int)
    ) == set(range(8))


def test_batch_labelling_scores_large_batches_with_an_update_every_step(tmp_path, monkeypatch):
    """Algorithm 1 with SAC's default of one update per step: CLIP sees batches of the full size
    (after a doubling start), never one step's frames, and no update samples a placeholder."""
    from evalkit.train.clip_reward import LabelledReplayBuffer

    sampled = []
    sample = LabelledReplayBuffer.sample

    def checked(self, batch_size, env=None):
        batch = sample(self, batch_size, env)
        sampled.append(batch.rewards.numpy())
        return batch

    monkeypatch.setattr(LabelledReplayBuffer, "sample", checked)
    recorder = Recorder()
    config = tiny_config(
        "mountaincar",
        steps=400,
        reward_batch_size=64,
        algo_kwargs={
            "learning_starts": 20,
            "train_freq": 1,
            "gradient_steps": 1,
            "buffer_size": 4000,
            "batch_size": 16,
            "policy_kwargs": {"net_arch": [16, 16]},
        },
    )
    assert config.resolved().labelling == "batch"  # the default for off-policy algorithms
    with one_torch_thread():
        result = train(config, tmp_path / "run", reward_fn=recorder)
    sizes = [len(b) for b in recorder.batches]
    assert sum(sizes) == result.steps == 400
    # Learning starts after 20 steps: the first update (after vector step 11) labels the 22 frames
    # stored; then the waiting steps are labelled whenever they outnumber the labelled ones (12 > 11
    # steps: 24 frames; 24 > 23: 48), until full batches of 64 frames take over. Checkpoints (every
    # 120 steps here) and the end label whatever waits, so that a saved buffer holds every reward.
    assert sizes == [22, 24, 48, 120 - 94, 64, 240 - 184, 64, 360 - 304, 400 - 360]
    assert len(sampled) == 190 and all(np.isfinite(r).all() for r in sampled)
    buffer = result.model.replay_buffer
    assert buffer.unlabelled == 0 and not np.isnan(buffer.rewards[: buffer.pos]).any()


def test_batches_hold_whole_steps_without_a_remainder_call():
    """3 environments, batches of at most 16 frames: 5 steps (15 frames) per CLIP call, never a
    16-frame call followed by a 2-frame one."""
    recorder = Recorder()
    venv = ClipRewardVecEnv(_venv(3, episode_steps=50), recorder, batch_size=16, defer=True)
    venv.reset()
    for _ in range(12):
        venv.step(np.zeros((3, 1), dtype=np.float32))
    assert (
        [len(b) for b in recorder.batches] == [15, 15]
        and venv.n_pending == 12
        and venv.n_scored == 10
    )
    assert venv.take_rewards().shape == (12, 3) and [len(b) for b in recorder.batches] == [
        15,
        15,
        6,
    ]
    venv.close()


def test_plain_sb3_learn_with_the_callback_leaves_every_reward_written():
    """The module's own example: DQN's learn() with the callback, twice; nothing waits afterwards."""
    from stable_baselines3 import DQN

    import evalkit.envs  # noqa: F401
    from evalkit.train.clip_reward import LabelledReplayBuffer, RelabelReplayBuffer

    venv = make_vec_env(
        "evalkit/CartPole-v0",
        n_envs=2,
        seed=1,
        wrapper_class=RenderFrame,
        env_kwargs={"render_mode": "rgb_array", "width": RENDER, "height": RENDER},
    )
    clip_env = ClipRewardVecEnv(venv, shape_reward, batch_size=64, defer=True)
    model = DQN(
        "MlpPolicy",
        clip_env,
        seed=0,
        batch_size=8,
        buffer_size=1000,
        learning_starts=10,
        train_freq=4,
        gradient_steps=1,
        policy_kwargs={"net_arch": [8]},
    )
    callback = RelabelReplayBuffer(clip_env, wait_for_batch=True)
    with one_torch_thread():
        model.learn(200, callback=callback)
        buffer = model.replay_buffer
        assert (
            isinstance(buffer, LabelledReplayBuffer)
            and buffer.unlabelled == 0
            and buffer.request_labels is None
        )
        assert not np.isnan(buffer.rewards[: buffer.pos]).any()
        model.learn(200, callback=callback, reset_num_timesteps=False)
    assert model.replay_buffer.pos == 200 and not np.isnan(model.replay_buffer.rewards[:200]).any()
    venv.close()
