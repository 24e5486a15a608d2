"""Short training runs: ground truth and CLIP with DQN and SAC, checkpoints, stop and resume."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from helpers_train import Recorder, one_torch_thread, shape_reward, tiny_config

from evalkit.errors import EvalkitError
from evalkit.train.config import TrainConfig
from evalkit.train.runner import RESUME_DIR, load_model, read_checkpoints, train


@pytest.mark.parametrize("task", ["cartpole", "mountaincar"])
def test_ground_truth_run_writes_config_checkpoints_and_logs(tmp_path, task):
    config = tiny_config(task, reward="ground-truth", steps=240)
    with one_torch_thread():
        result = train(config, tmp_path / "run")
    run = tmp_path / "run"
    assert result.steps == 240 and not result.interrupted and result.reward_calls is None
    # at the first rollout end (80 steps for this DQN, 40 for this SAC) past every 120 steps, and at the end
    assert [c.step for c in read_checkpoints(run)] == (
        [160, 240] if task == "cartpole" else [120, 240]
    )
    first = read_checkpoints(run)[0]
    assert first.train_reward == first.gt_return  # the ground truth is the training reward
    doc = json.loads((run / "config.json").read_text())
    assert doc["config"]["algo"] == ("dqn" if task == "cartpole" else "sac") and doc["seed"] == 0
    assert (
        doc["reward"] == "ground-truth reward of the environment"
        and doc["reward_is_random"] is False
    )
    assert list((run / "tb").rglob("events.out.tfevents*"))
    load_model(run / "checkpoints" / "step_000000240.zip", result.config.algo)


@pytest.mark.parametrize("labelling", ["rollout", "batch"])
def test_stop_mid_rollout_then_resume_keeps_steps_and_replay_buffer(tmp_path, labelling):
    stop = threading.Event()

    def stop_after_three(frames):
        if len(recorder.batches) == 3:
            stop.set()  # as Ctrl-C does: the learner stops at its next step
        return shape_reward(frames)

    recorder = Recorder(stop_after_three)
    config = tiny_config("mountaincar", steps=200, reward_labelling=labelling, reward_batch_size=8)
    run = tmp_path / "run"
    with one_torch_thread():
        first = train(config, run, reward_fn=recorder, stop=stop)
        assert first.interrupted and 0 < first.steps < 200
        assert read_checkpoints(run)[-1].reason == "interrupt"
        buffer = first.model.replay_buffer
        before = buffer.rewards[: buffer.pos].copy()
        assert not np.isnan(before).any()  # stored steps were labelled before saving
        assert first.steps - config.n_envs <= buffer.pos * config.n_envs <= first.steps

        second = train(TrainConfig(task=""), run, resume=True, reward_fn=Recorder())
    assert (
        second.start_step == first.steps and 200 <= second.steps < 200 + 40
    )  # whole rollouts of 40 steps
    resumed = load_model(run / RESUME_DIR / "model.zip", "sac")
    resumed.load_replay_buffer(run / RESUME_DIR / "replay_buffer.pkl")
    after = resumed.replay_buffer
    assert resumed.num_timesteps == second.steps and after.pos > buffer.pos
    np.testing.assert_array_equal(
        after.rewards[: buffer.pos], before
    )  # the old transitions are still there
    assert not np.isnan(after.rewards[: after.pos]).any()
    assert len(list((run / "tb").iterdir())) == 1  # the TensorBoard run goes on in the same folder


def test_a_checkpoint_of_a_clip_run_fine_tunes_with_plain_sb3(tmp_path):
    """Checkpoints name SB3's own replay buffer class: loaded without evalkit's callback (here
    to go on with the ground truth), the model trains as any SB3 model does."""
    import dataclasses

    from stable_baselines3.common.buffers import ReplayBuffer

    from evalkit.train.runner import make_training_env

    with one_torch_thread():
        result = train(
            tiny_config("mountaincar", steps=80, checkpoint_every=1000),
            tmp_path / "run",
            reward_fn=Recorder(),
        )
        env, _ = make_training_env(dataclasses.replace(result.config, reward="ground-truth"))
        model = load_model(tmp_path / "run" / "checkpoints" / "step_000000080.zip", "sac", env=env)
        assert type(model.replay_buffer) is ReplayBuffer
        model.learn(100)
    stored = model.replay_buffer.rewards[: model.replay_buffer.pos]
    assert (
        len(stored) >= 50 and not np.isnan(stored).any()
    )  # 100 steps, 2 environments: whole rollouts of 20
    env.close()


def test_corrupt_checkpoint_and_bad_resumes_are_refused(tmp_path):
    run = tmp_path / "run"
    with one_torch_thread():
        train(tiny_config("mountaincar", reward="ground-truth", steps=60), run)
    (run / RESUME_DIR / "model.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(EvalkitError, match="cannot be loaded as a SAC policy.*corrupt"):
        train(TrainConfig(task="", steps=200), run, resume=True)
    with pytest.raises(EvalkitError, match="another configuration.*task = 'kneeling'"):
        train(TrainConfig(task="kneeling"), run, resume=True)
    with pytest.raises(EvalkitError, match="already exists; pass --resume"):
        train(tiny_config("mountaincar", reward="ground-truth"), run)


@pytest.mark.parametrize("abort_at_call,kept", [(2, False), (12, True)])
def test_an_aborted_run_leaves_nothing_or_its_checkpoints(tmp_path, abort_at_call, kept):
    """A second Ctrl-C (KeyboardInterrupt inside learn()) before the first checkpoint removes the
    new run folder, so the same command works again; after one, the folder stays for --resume."""
    calls = []

    def abort_later(frames):
        calls.append(len(frames))
        if len(calls) == abort_at_call:
            raise KeyboardInterrupt
        return shape_reward(frames)

    run = tmp_path / "run"
    config = tiny_config("mountaincar", steps=400, reward_batch_size=8, checkpoint_every=40)
    with one_torch_thread(), pytest.raises(KeyboardInterrupt):
        train(config, run, reward_fn=abort_later)
    assert run.exists() is kept
    if kept:
        assert read_checkpoints(run) and (run / RESUME_DIR).is_dir()


def test_resuming_a_finished_run_says_so(tmp_path):
    run = tmp_path / "run"
    with one_torch_thread():
        train(tiny_config("mountaincar", reward="ground-truth", steps=80), run)
        with pytest.raises(
            EvalkitError, match="already trained to step 80, and asks for 80 steps: nothing to do"
        ):
            train(TrainConfig(task=""), run, resume=True)
        with pytest.raises(EvalkitError, match="asks for 40 steps"):
            train(TrainConfig(task="", steps=40), run, resume=True)


def test_a_run_shorter_than_learning_starts_is_warned_about(tmp_path):
    messages: list[str] = []
    with one_torch_thread():
        train(
            tiny_config("cartpole", reward="ground-truth", steps=80),
            tmp_path / "run",
            report=messages.append,
        )
        assert not any(
            "no gradient step" in m for m in messages
        )  # tiny_config learns after 60 steps...
        train(
            tiny_config(
                "cartpole", reward="ground-truth", steps=40, algo_kwargs={"learning_starts": 75_000}
            ),
            tmp_path / "run2",
            report=messages.append,
        )
    assert any(
        "DQN learns only after 75000 steps (learning_starts) but the run has 40" in m
        for m in messages
    )
