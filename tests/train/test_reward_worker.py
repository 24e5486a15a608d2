"""The reward worker: rewards computed on a thread beside the learner.

The invariants: its rewards are in-line scoring's bit for bit (same frames, same batches); no
gradient step samples a transition whose reward is not written; errors in the reward function
reach the caller as they would in-line; Ctrl-C (a stop) and resume keep the buffer whole.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import torch
from helpers_train import SMALL_DQN, Recorder, one_torch_thread, shape_reward, tiny_config

from evalkit.errors import EvalkitError
from evalkit.train.clip_reward import LabelledReplayBuffer, load_clip_reward
from evalkit.train.reward_worker import RewardWorker, thread_split
from evalkit.train.runner import train

RANDOM_ACTIONS = {
    "learning_starts": 30,
    "train_freq": 10,
    "gradient_steps": 4,
    "buffer_size": 4000,
    "batch_size": 16,
    "exploration_initial_eps": 1.0,
    "exploration_final_eps": 1.0,
    "policy_kwargs": {"net_arch": [16, 16]},
}
"""DQN that updates every 10 steps but always acts at random (ε = 1, the action space's own
seeded generator): the states visited do not depend on what it learnt, nor on when rewards were
written, so two runs store the same transitions."""


def _run(tmp_path, name: str, worker: bool, reward_fn, **overrides):
    config = tiny_config(
        "cartpole",
        steps=overrides.pop("steps", 300),
        reward_worker=worker,
        reward_threads=1,
        torch_threads=1,
        reward_batch_size=overrides.pop("reward_batch_size", 24),
        fidelity=False,
        algo_kwargs=dict(RANDOM_ACTIONS),
        **overrides,
    )
    with one_torch_thread():
        return train(config, tmp_path / name, reward_fn=reward_fn)


def test_worker_rewards_equal_in_line_rewards_bit_for_bit(tmp_path):
    """The tiny random CLIP tower, real DQN: the replay buffers of a worker run and an in-line run
    hold the same transitions with the same rewards, bit for bit, scored in the same batches."""
    config = tiny_config("cartpole", reward_batch_size=24).resolved()
    reward = load_clip_reward(config)
    inline, beside = Recorder(reward), Recorder(reward)
    a = _run(tmp_path, "inline", False, inline)
    b = _run(tmp_path, "worker", True, beside)
    assert a.steps == b.steps == 300
    assert [len(x) for x in inline.batches] == [len(x) for x in beside.batches]
    assert max(len(x) for x in beside.batches) == 24
    for x, y in zip(inline.batches, beside.batches):
        np.testing.assert_array_equal(x, y)  # the same frames in the same batches
    ra, rb = a.model.replay_buffer, b.model.replay_buffer
    assert ra.pos == rb.pos == 150
    np.testing.assert_array_equal(ra.observations[:150], rb.observations[:150])
    rewards = rb.rewards[:150]
    assert np.isfinite(rewards).all() and np.ptp(rewards) > 0
    assert ra.rewards[:150].tobytes() == rewards.tobytes()  # bit for bit


class SlowReward:
    """``shape_reward`` that takes a while, so that updates run while a batch is being scored."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.random_weights = False
        self.threads: set[int] = set()
        self.thread_names: set[str] = set()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.threads.add(torch.get_num_threads())
        self.thread_names.add(threading.current_thread().name)
        time.sleep(self.seconds)
        return shape_reward(frames)


def test_no_update_samples_a_transition_before_its_reward_is_written(tmp_path, monkeypatch):
    """A slow reward, and a check in the replay buffer's sample: every reward that reaches the
    learner is written (no NaN placeholder), while updates did run with a batch on the worker."""
    seen: list[tuple[bool, int]] = []
    sample = LabelledReplayBuffer.sample
    envs: list = []

    def checked(self, batch_size, env=None):
        batch = sample(self, batch_size, env)
        seen.append((bool(np.isfinite(batch.rewards.numpy()).all()), envs[0].n_in_flight))
        return batch

    monkeypatch.setattr(LabelledReplayBuffer, "sample", checked)
    import evalkit.train.runner as runner

    make = runner.make_training_env

    def keep(*args, **kwargs):
        env, clip_env = make(*args, **kwargs)
        envs.append(clip_env)
        return env, clip_env

    monkeypatch.setattr(runner, "make_training_env", keep)
    slow = SlowReward(0.05)
    result = _run(tmp_path, "run", True, slow, steps=400, reward_batch_size=16)
    assert seen and all(finite for finite, _ in seen)
    assert any(in_flight for _, in_flight in seen)  # the race was on: updates beside scoring
    assert slow.thread_names == {"evalkit-reward-worker"} and slow.threads == {1}
    buffer = result.model.replay_buffer
    assert buffer.unlabelled == 0 and np.isfinite(buffer.rewards[: buffer.pos]).all()


def test_an_error_in_the_reward_function_surfaces_as_its_sentence(tmp_path):
    calls = []

    def broken(frames: np.ndarray) -> np.ndarray:
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise EvalkitError("The reward model could not read frame 7.")
        return shape_reward(frames)

    with pytest.raises(EvalkitError, match=r"^The reward model could not read frame 7\.$"):
        _run(tmp_path, "run", True, broken)
    assert calls[-1] == "evalkit-reward-worker" and len(calls) == 3


def test_a_stop_keeps_every_reward_and_the_run_resumes(tmp_path):
    """Stopped while batches are on the worker: the checkpoint's replay buffer holds every
    reward; the resumed run ends with a whole buffer."""
    stop = threading.Event()
    scored = []

    def stopping(frames: np.ndarray) -> np.ndarray:
        scored.append(len(frames))
        if len(scored) == 4:
            stop.set()  # as Ctrl-C does, from another thread
            time.sleep(0.2)  # the learner steps on while this batch is being scored
        return shape_reward(frames)

    config = tiny_config(
        "cartpole",
        steps=300,
        reward_batch_size=16,
        reward_worker=True,
        torch_threads=1,
        reward_threads=1,
        checkpoint_every=10_000,
        algo_kwargs=dict(RANDOM_ACTIONS),
    )
    with one_torch_thread():
        first = train(config, tmp_path / "run", reward_fn=stopping, stop=stop)
    assert first.interrupted and first.steps < 300
    buffer = first.model.replay_buffer
    assert buffer.unlabelled == 0 and np.isfinite(buffer.rewards[: buffer.pos]).all()
    # the step that met the stop is scored but not stored (SB3 stops inside it)
    missing = first.steps - buffer.pos * config.n_envs
    assert missing in (0, config.n_envs) and sum(scored) == first.steps

    with one_torch_thread():
        second = train(config, tmp_path / "run", resume=True, reward_fn=shape_reward)
    # SB3 ends at the first rollout end past the 300 steps asked
    assert not second.interrupted and second.start_step == first.steps and second.steps >= 300
    buffer = second.model.replay_buffer
    assert buffer.pos * config.n_envs == second.steps - missing and buffer.unlabelled == 0
    assert np.isfinite(buffer.rewards[: buffer.pos]).all()


def test_the_worker_keeps_order_and_hands_errors_to_the_caller():
    worker = RewardWorker(threads=1)
    try:
        futures = [worker.submit(lambda f: f * 2.0, np.full(3, float(i))) for i in range(5)]
        assert [float(f.result()[0]) for f in futures] == [0.0, 2.0, 4.0, 6.0, 8.0]

        def fail(frames):
            raise ValueError("bad batch")

        with pytest.raises(ValueError, match="bad batch"):
            worker.submit(fail, np.zeros(1)).result()
        assert float(worker.submit(lambda f: f + 1, np.zeros(1)).result()[0]) == 1.0
    finally:
        worker.close()


@pytest.mark.parametrize(
    "learner,reward,cores,expected",
    [
        (None, None, 2, (1, 1)),
        (2, None, 2, (2, 1)),
        (None, 3, 8, (1, 3)),
        (None, None, 16, (1, 15)),
    ],
)
def test_thread_split(learner, reward, cores, expected):
    assert thread_split(learner, reward, cores) == expected


def test_worker_settings_are_checked_and_documented():
    with pytest.raises(EvalkitError, match="reward_worker must be true or false"):
        tiny_config(reward_worker="yes").resolved()
    with pytest.raises(EvalkitError, match="--reward-threads must be a positive whole number"):
        tiny_config(reward_threads=0).resolved()
    assert tiny_config(reward_worker=True).resolved().uses_reward_worker
    on_cpu = tiny_config(device="cpu").resolved().uses_reward_worker  # the default on the CPU
    assert on_cpu == (len(os.sched_getaffinity(0)) >= 2)
    small = {**SMALL_DQN, "buffer_size": 150}  # room for the waiting steps, not one more batch
    assert not tiny_config(algo_kwargs=small, n_envs=1).resolved().uses_reward_worker
    with pytest.raises(EvalkitError, match="cannot hold"):
        tiny_config(algo_kwargs=small, n_envs=1, reward_worker=True).resolved()
    assert tiny_config(device="cuda", reward_worker=None).resolved().uses_reward_worker  # on a GPU
    assert not tiny_config(reward_labelling="step").resolved().uses_reward_worker
    assert not tiny_config(reward_worker=False).resolved().uses_reward_worker
    assert not tiny_config(reward="ground-truth").resolved().uses_reward_worker


def test_the_learner_gets_one_thread_beside_the_worker_for_the_run_only(tmp_path):
    """On 2 cores and nothing asked: the learner (this thread) 1, the worker the other core; the
    caller's torch threads are back afterwards."""
    from evalkit.train import runner

    learner_threads = []
    reward = SlowReward(0.0)
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        config = tiny_config(
            "cartpole",
            steps=120,
            checkpoint_every=60,
            fidelity=False,
            reward_batch_size=16,
            reward_worker=True,
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(runner, "available_cores", lambda: 2)
            train(
                config,
                tmp_path / "run",
                reward_fn=reward,
                on_checkpoint=lambda info: learner_threads.append(torch.get_num_threads()),
            )
        assert learner_threads and set(learner_threads) == {1} and reward.threads == {1}
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_cpu_forward_chunks_leave_the_rewards_as_they_were():
    """A reward batch is embedded in chunks of at most CPU_FORWARD_FRAMES on the CPU: the
    rewards equal those of one forward pass over the whole batch (the path before) bit for bit,
    and the rewards computed offline from the embeddings."""
    import evalkit.train.clip_reward as clip_reward
    from evalkit.rewards import clip_rewards
    from evalkit.tasks import get_task
    from evalkit.vlm import ImageEmbedder

    chunk = clip_reward.CPU_FORWARD_FRAMES
    config = tiny_config("cartpole", reward_batch_size=3 * chunk).resolved()
    frames = np.random.default_rng(1).integers(0, 256, (300, 64, 64, 3), dtype=np.uint8)
    sizes: list[int] = []
    encode = ImageEmbedder.encode_pixels
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            ImageEmbedder,
            "encode_pixels",
            lambda self, pixels: sizes.append(len(pixels)) or encode(self, pixels),
        )
        got = np.asarray(load_clip_reward(config)(frames), dtype=np.float32)
        assert sizes == [chunk, chunk, 300 - 2 * chunk]
        mp.setattr(clip_reward, "CPU_FORWARD_FRAMES", 10**9)  # the path before: one pass
        sizes.clear()
        before = np.asarray(load_clip_reward(config)(frames), dtype=np.float32)
        assert sizes == [300]
    assert got.tobytes() == before.tobytes()
    embedder = ImageEmbedder("evalkit-tiny-vit", pretrained="none")
    task = get_task("cartpole")
    goal, baseline = embedder.embed_texts([task.goal_prompt, task.baseline_prompt])
    offline = clip_rewards(embedder.embed_frames(frames), goal, baseline, [0.0])[:, 0]
    np.testing.assert_allclose(got, offline, atol=1e-5)


def test_window_rewards_on_the_worker_equal_the_in_line_ones(tmp_path):
    """A window reward (frames kept in a store that the worker reads while the environments add
    to it): both runs store the same transitions with the same rewards, bit for bit."""
    buffers = []
    for worker in (False, True):
        config = tiny_config(
            "cartpole",
            model=None,
            reward="window:3:2:avg:evalkit-tiny-vit:none",
            steps=160,
            reward_batch_size=24,
            reward_worker=worker,
            torch_threads=1,
            reward_threads=1,
            fidelity=False,
            env_kwargs={"max_episode_steps": 9},
            algo_kwargs=dict(RANDOM_ACTIONS),
        )
        with one_torch_thread():
            result = train(config, tmp_path / f"run-{worker}")
        buffers.append(result.model.replay_buffer)
    inline, beside = buffers
    n = inline.pos
    assert n == beside.pos == 80 and beside.unlabelled == 0
    np.testing.assert_array_equal(inline.observations[:n], beside.observations[:n])
    assert np.isfinite(beside.rewards[:n]).all() and np.ptp(beside.rewards[:n]) > 0
    assert inline.rewards[:n].tobytes() == beside.rewards[:n].tobytes()
