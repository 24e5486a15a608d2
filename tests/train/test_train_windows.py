"""Window and episode rewards in training: each environment's frames kept apart, windows that
never mix two episodes across vector-env auto-resets, deferred batches, and the rewards the
learner trains on equal to the offline rewards of the same states rendered again."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_train import one_torch_thread, render_states, tiny_config

from evalkit.pipeline.reward_windows import EpisodeFrames, WindowFrames
from evalkit.vlm.windows import WindowSpec, episode_sample, window_rows

AVG = "avg:evalkit-tiny-vit:none"


def _weighted(frames: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A reward that tells every window apart: frame means weighted by position in the window."""
    means = frames.reshape(len(frames), -1).mean(axis=1)
    return (means[rows] * (np.arange(rows.shape[1]) + 1)).sum(axis=1)


def _stream(n_envs: int, steps: int, seed: int = 0):
    """Random frames (one per environment a step) and episode ends."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 255, (steps, n_envs, 2, 2, 3), dtype=np.uint8)
    dones = rng.random((steps, n_envs)) < 0.15
    return frames, dones


def _episodes(dones: np.ndarray) -> np.ndarray:
    """Episode id of every (step, env): a new one after each episode end, per environment."""
    starts = np.vstack([np.zeros((1, dones.shape[1]), bool), dones[:-1]])
    return np.cumsum(starts, axis=0) + np.arange(dones.shape[1]) * 1000


def _steps_in_episode(episodes: np.ndarray) -> np.ndarray:
    out = np.zeros_like(episodes)
    for t in range(1, len(episodes)):
        out[t] = np.where(episodes[t] == episodes[t - 1], out[t - 1] + 1, 0)
    return out


@pytest.mark.parametrize("k,s", [(3, 2), (4, 1), (1, 1)])
def test_online_windows_across_resets_equal_the_stored_episodes_windows(k, s):
    n_envs, steps = 2, 60
    frames, dones = _stream(n_envs, steps)
    windows = WindowFrames(WindowSpec(k, s), _weighted)
    keys = [windows.push(list(frames[t]), dones[t]) for t in range(steps)]
    # scored in two uneven deferred batches, after the fact
    flat = np.concatenate(keys)
    online = np.concatenate([windows(flat[:37]), windows(flat[37:])]).reshape(steps, n_envs)
    episodes = _episodes(dones)
    rows = window_rows(
        episodes.reshape(-1), _steps_in_episode(episodes).reshape(-1), WindowSpec(k, s)
    )
    offline = _weighted(frames.reshape(-1, 2, 2, 3), rows).reshape(steps, n_envs)
    np.testing.assert_allclose(online, offline)
    # no window holds frames of two episodes
    assert (episodes.reshape(-1)[rows] == episodes.reshape(-1)[:, None]).all()
    assert windows.frames_held <= n_envs * WindowSpec(k, s).span


def test_frames_are_held_until_their_windows_are_scored_and_then_dropped():
    frames, dones = _stream(2, 40, seed=1)
    windows = WindowFrames(WindowSpec(2, 3), _weighted)
    keys = np.concatenate([windows.push(list(frames[t]), dones[t]) for t in range(40)])
    assert windows.frames_held == 80  # nothing scored yet
    np.testing.assert_array_equal(windows.shown(keys[:4]), frames[:2].reshape(4, 2, 2, 3))
    windows(keys)
    assert windows.frames_held <= 2 * WindowSpec(2, 3).span
    windows.push(list(frames[0]), np.zeros(2, bool))
    windows.discard_pending()
    assert windows.frames_held <= 2 * WindowSpec(2, 3).span


def test_episode_rewards_land_on_the_last_step_only():
    n_envs, steps, count = 2, 80, 3
    frames, dones = _stream(n_envs, steps, seed=2)
    messages: list[str] = []
    episodes = EpisodeFrames(count, _weighted, on_message=messages.append)
    keys = np.concatenate([episodes.push(list(frames[t]), dones[t]) for t in range(steps)])
    online = episodes(keys).reshape(steps, n_envs)
    ids = _episodes(dones)
    flat = frames.reshape(-1, 2, 2, 3)
    expected = np.zeros((steps, n_envs))
    short = 0
    for env in range(n_envs):
        for episode in np.unique(ids[:, env]):
            at = np.flatnonzero(ids[:, env] == episode)
            if not dones[at[-1], env]:
                continue  # still running when the stream stops
            if len(at) < count:
                short += 1
                continue
            rows = (at * n_envs + env)[episode_sample(len(at), count)]
            expected[at[-1], env] = _weighted(flat, rows[None])[0]
    np.testing.assert_allclose(online, expected)
    assert (online[~dones] == 0).all() and (online[dones] != 0).sum() == dones.sum() - short
    assert episodes.too_short == short and len(messages) == (1 if short else 0)


def _trained(config, tmp_path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train ``config``; the replay buffer's rewards and done flags ``(steps, n_envs)`` and
    the frames of its reached states rendered again (row ``step · n_envs + env``)."""
    from evalkit.train.runner import train

    with one_torch_thread():
        result = train(config, tmp_path / "run")
    buffer = result.model.replay_buffer
    n = buffer.pos
    reached = buffer.next_observations[:n].reshape(-1, buffer.obs_shape[0])
    frames = render_states(result.config.env_id, reached, **result.config.env_kwargs)
    return buffer.rewards[:n], buffer.dones[:n].astype(bool), frames


@pytest.mark.parametrize("labelling,demo", [("batch", False), ("step", False), ("batch", True)])
def test_replay_buffer_rewards_equal_offline_window_rewards(
    tmp_path, datasets_root, labelling, demo
):
    """Train with a window reward of the tiny random model (2 environments, short episodes);
    the buffer's rewards equal the offline window rewards of the stored states rendered again."""
    from evalkit.pipeline.window_reward import window_rewards
    from evalkit.tasks import get_task
    from evalkit.vlm import ImageEmbedder

    if demo:  # a demonstration as the goal: its 3 frames sampled from episode 1, averaged
        from helpers_vlm import make_dataset

        demos = make_dataset(datasets_root, name="demos", n=20, seed=5)
    config = tiny_config(
        "cartpole",
        model=None,
        reward=f"window:3:2:{AVG}" + ("|demos@episode:1" if demo else ""),
        steps=80,
        alpha=0.5,
        reward_labelling=labelling,
        reward_batch_size=24,
        fidelity=False,
        env_kwargs={"max_episode_steps": 9},
    )
    stored, dones, frames = _trained(config, tmp_path)
    assert dones.any(axis=0).all() and not np.isnan(stored).any()  # every env was reset
    episodes = _episodes(dones)
    rows = window_rows(
        episodes.reshape(-1), _steps_in_episode(episodes).reshape(-1), WindowSpec(3, 2)
    )
    t = get_task("cartpole")
    with ImageEmbedder(AVG.rsplit(":", 1)[0], pretrained="none") as e:
        video = e.embed_windows(frames, rows)
        goal, base = e.embed_texts([t.goal_prompt, t.baseline_prompt])
        if demo:
            goal = e.embed_windows(demos.frames, (10 + episode_sample(10, 3))[None])[0]
    offline = window_rewards(
        video, np.tile(goal, (len(rows), 1)), np.tile(base, (len(rows), 1)), [0.5]
    )
    np.testing.assert_allclose(stored.reshape(-1), offline[:, 0], atol=1e-5)
    assert np.ptp(offline) > 0


def test_replay_buffer_episode_rewards_are_sparse_and_equal_the_offline_ones(tmp_path):
    from evalkit.pipeline.window_reward import window_rewards
    from evalkit.tasks import get_task
    from evalkit.vlm import ImageEmbedder

    config = tiny_config(
        "cartpole",
        model=None,
        reward=f"episode:{AVG}",
        steps=80,
        alpha=0.0,
        fidelity=True,  # the monitor sees every step's own frame (StepFrames.shown)
        env_kwargs={"max_episode_steps": 11},
    )
    stored, dones, frames = _trained(config, tmp_path)
    ids = _episodes(dones)
    t = get_task("cartpole")
    expected = np.zeros(stored.shape)
    with ImageEmbedder(AVG.rsplit(":", 1)[0], pretrained="none") as e:
        goal, base = e.embed_texts([t.goal_prompt, t.baseline_prompt])
        for env in range(dones.shape[1]):
            for episode in np.unique(ids[:, env]):
                at = np.flatnonzero(ids[:, env] == episode)
                if dones[at[-1], env] and len(at) >= 8:
                    rows = (at * dones.shape[1] + env)[episode_sample(len(at), 8)][None]
                    video = e.embed_windows(frames, rows)
                    expected[at[-1], env] = window_rewards(video, goal[None], base[None], [0.0])[
                        0, 0
                    ]
    assert (expected != 0).any()
    np.testing.assert_allclose(stored, expected, atol=1e-5)


@pytest.mark.parametrize(
    "task,reward,env_kwargs",
    [
        ("cartpole", f"window:3:2:{AVG}", {"max_episode_steps": 9}),
        ("mountaincar", f"episode:{AVG}", {"max_episode_steps": 10}),
    ],
)
def test_evaluate_scores_rollouts_as_the_reward_kind_scores_their_dataset(
    tmp_path, task, reward, env_kwargs
):
    """evaluate's training-reward column of the rollouts equals the kind's offline rewards of the
    rollout dataset it writes (windows restart at every episode; episode rewards at the end)."""
    from evalkit.data.store import open_dataset
    from evalkit.pipeline import parse_reward
    from evalkit.train.evaluate import evaluate
    from evalkit.train.rollout_metrics import REWARD_COLUMN
    from evalkit.train.runner import train

    config = tiny_config(
        task, model=None, reward=reward, steps=80, fidelity=False, env_kwargs=env_kwargs
    )
    with one_torch_thread():
        train(config, tmp_path / "run")
        result = evaluate(tmp_path / "run", episodes=3, device="cpu")
    ds = open_dataset(result.dataset)
    offline = parse_reward(reward).dataset_rewards(ds, task, devices="cpu", progress=False)
    column = list(offline.alphas).index(0.0)
    stored = ds.states[REWARD_COLUMN].to_numpy()
    np.testing.assert_allclose(stored, offline.values[:, column], atol=1e-5)
    assert result.clip_returns is not None and len(result.clip_returns) == 3
    names = [m["metric"] for m in result.reward_metrics]
    assert ("success_auc" in names) == parse_reward(reward).episodic
    assert result.reward_options == f"--reward {reward}"


def test_xclip_windows_scored_in_training_equal_the_offline_window_rewards(datasets_root, tmp_path):
    """X-CLIP's per-window conditioned goal and baseline: the training reward of windows pushed
    as they would arrive (one environment, episode after episode) equals ``epic``'s."""
    pytest.importorskip("transformers")
    from helpers_video import NUM_FRAMES, save_tiny_xclip
    from helpers_vlm import make_dataset

    from evalkit.errors import EvalkitError
    from evalkit.pipeline import parse_reward
    from evalkit.pipeline.reward_kinds import FrameRewardSettings, RewardContext

    folder = save_tiny_xclip(tmp_path / "xclip")
    ds = make_dataset(datasets_root, n=20, hw=(32, 32))
    kind = parse_reward(f"window:{NUM_FRAMES}:2:hf:{folder}", RewardContext(alphas=(0.5,)))
    offline = kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False).values[:, 0]
    reward = kind.frame_reward("cartpole", FrameRewardSettings(device="cpu"))
    online = reward(reward.stored(ds.frames, ds.states["episode"].to_numpy()))
    np.testing.assert_allclose(online, offline, atol=1e-5)
    wrong = parse_reward(f"window:{NUM_FRAMES + 1}:1:hf:{folder}")
    with pytest.raises(EvalkitError, match=f"exactly {NUM_FRAMES} frames"):
        wrong.frame_reward("cartpole", FrameRewardSettings(device="cpu"))
