"""CLIP rewards inside stable-baselines3, batched (the paper's Algorithm 1), without copying SB3.

Three small pieces compose with any stable-baselines3 algorithm:

- :class:`RenderFrame` (a gymnasium wrapper on every environment) puts the frame of the state
  each step reaches into ``info["frame"]``. It renders inside the environment, before a vector
  environment auto-resets, so the last step of an episode is scored on its own frame and not on
  the first frame of the next episode.
- :class:`ClipRewardVecEnv` (a ``VecEnvWrapper``) collects those frames from all environments
  and scores them with a :data:`BatchRewardFn` in batches of at most ``batch_size`` frames (the
  CLIP reward, :class:`evalkit.rewards.RewardModel`, halves its batch by itself if memory runs
  out). The environment's own reward moves to ``info["gt_reward"]``.
  It has two ways to hand rewards to the learner:

  * ``defer=False`` ("step" labelling): every ``step`` scores the frames of all environments in
    one batch and returns the rewards. The learner sees CLIP rewards exactly where it would see
    the environment's, so DQN, SAC, PPO (any algorithm) work unchanged; the batch is ``n_envs``.
  * ``defer=True`` ("rollout" labelling, Algorithm 1 proper): ``step`` returns NaN placeholders
    and buffers the frames; as soon as ``batch_size`` frames are buffered they are scored. The
    :class:`RelabelReplayBuffer` callback writes the rewards of the whole rollout into the
    replay buffer at ``on_rollout_end`` — which off-policy algorithms call after storing the
    rollout's last transition and before their gradient steps — so no update ever samples an
    unlabelled transition, and with the paper's humanoid settings (100 steps per rollout) and
    32 environments each CLIP forward pass sees the paper's 3 200 frames. Off-policy only: PPO
    folds rewards into advantages before ``on_rollout_end``.

Example (``reward_fn`` any :data:`BatchRewardFn`, e.g. :func:`load_clip_reward`)::

    venv = make_vec_env("evalkit/CartPole-v0", n_envs=8, wrapper_class=RenderFrame,
                        env_kwargs={"render_mode": "rgb_array", "width": 224, "height": 224})
    venv = ClipRewardVecEnv(venv, reward_fn, batch_size=3200, defer=True)
    model = DQN("MlpPolicy", venv, train_freq=200, gradient_steps=200)
    model.learn(100_000, callback=RelabelReplayBuffer(venv))
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.rewards import RewardModel
    from evalkit.train.config import TrainConfig

BatchRewardFn = Callable[[np.ndarray], np.ndarray]
"""``fn(frames) -> rewards``: ``uint8 (n, H, W, 3)`` frames to ``(n,)`` rewards, one per frame."""

FRAME_KEY = "frame"
GT_REWARD_KEY = "gt_reward"


class RenderFrame(gym.Wrapper):
    """Put the rendered frame of the state reached by every step into ``info["frame"]``.

    The environment must be made with ``render_mode="rgb_array"``::

        env = RenderFrame(gym.make("evalkit/CartPole-v0", render_mode="rgb_array"))
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        info["frame"].shape   # (height, width, 3)
    """

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info[FRAME_KEY] = self.env.render()
        return obs, reward, terminated, truncated, info


class BatchScorer:
    """Score frames with a :data:`BatchRewardFn` in chunks of at most ``batch_size`` frames.

    :param reward_fn: the reward of a batch of frames. The CLIP one backs off by itself when a
        batch does not fit in memory (:class:`evalkit.vlm.engine.ImageEmbedder`).
    :param batch_size: the largest number of frames passed to ``reward_fn`` at once.

    ``calls``, ``frames`` and ``seconds`` count the calls of ``reward_fn``, the frames scored and
    the time spent in it.
    """

    def __init__(self, reward_fn: BatchRewardFn, batch_size: int) -> None:
        if batch_size < 1:
            raise EvalkitError(f"The reward batch size must be at least 1, not {batch_size}.")
        self.reward_fn = reward_fn
        self.batch_size = int(batch_size)
        self.calls = 0
        self.frames = 0
        self.seconds = 0.0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty(len(frames), dtype=np.float32)
        for start in range(0, len(frames), self.batch_size):
            chunk = frames[start : start + self.batch_size]
            t0 = time.perf_counter()
            rewards = np.asarray(self.reward_fn(chunk), dtype=np.float32).reshape(-1)
            self.seconds += time.perf_counter() - t0
            self.frames += len(chunk)
            if len(rewards) != len(chunk):
                raise ValueError(f"the reward function returned {len(rewards)} rewards for {len(chunk)} frames")
            out[start : start + len(chunk)] = rewards
            self.calls += 1
        return out


@dataclass
class RewardStats:
    """Running statistics of the rewards handed to the learner, in step order.

    :param n_envs: number of environments.
    :param window: how many recent episodes :attr:`episode_mean` averages (as SB3's ``ep_rew_mean``).
    """

    n_envs: int
    window: int = 100
    running: np.ndarray = field(init=False)
    episodes: deque = field(init=False)
    step_sum: float = 0.0
    step_count: int = 0

    def __post_init__(self) -> None:
        self.running = np.zeros(self.n_envs, dtype=np.float64)
        self.episodes = deque(maxlen=self.window)

    def add(self, rewards: np.ndarray, dones: np.ndarray) -> None:
        """Account one vector step: one reward and one done flag per environment."""
        self.running += rewards
        self.step_sum += float(np.sum(rewards))
        self.step_count += len(rewards)
        for idx in np.flatnonzero(dones):
            self.episodes.append(float(self.running[idx]))
            self.running[idx] = 0.0

    @property
    def episode_mean(self) -> float | None:
        """Mean return of the recent finished episodes (``None`` before the first one ends)."""
        return float(np.mean(self.episodes)) if self.episodes else None

    def pop_step_mean(self) -> float | None:
        """Mean per-step reward since the last call (``None`` if no step was labelled since)."""
        if self.step_count == 0:
            return None
        mean = self.step_sum / self.step_count
        self.step_sum, self.step_count = 0.0, 0
        return mean


def _pop_frames(infos: Sequence[dict[str, Any]]) -> np.ndarray:
    try:
        return np.stack([info.pop(FRAME_KEY) for info in infos])
    except KeyError:
        raise RuntimeError("ClipRewardVecEnv needs every environment wrapped in RenderFrame") from None


class ClipRewardVecEnv(VecEnvWrapper):
    """Replace a vector environment's rewards with rewards computed from rendered frames, in batches.

    :param venv: vector environment whose environments are wrapped in :class:`RenderFrame`.
    :param reward_fn: the reward of a batch of frames (:data:`BatchRewardFn`).
    :param batch_size: the most frames scored in one call of ``reward_fn``.
    :param defer: buffer frames and hand rewards over through :meth:`take_rewards` (see the
        module docstring) instead of returning them from ``step``.
    """

    def __init__(self, venv: VecEnv, reward_fn: BatchRewardFn, batch_size: int = 3200, defer: bool = False) -> None:
        super().__init__(venv)
        self.scorer = BatchScorer(reward_fn, batch_size)
        self.defer = defer
        self.stats = RewardStats(self.num_envs)
        self._frames: list[np.ndarray] = []  # buffered, not yet scored: one (n_envs, H, W, 3) per step
        self._scored: list[np.ndarray] = []  # scored, not yet handed over: one (n_envs,) per step
        self._dones: list[np.ndarray] = []  # done flags of every step not yet handed over

    def reset(self) -> np.ndarray:
        return self.venv.reset()

    def step_wait(self):
        obs, gt_rewards, dones, infos = self.venv.step_wait()
        frames = _pop_frames(infos)
        for info, gt in zip(infos, gt_rewards):
            info[GT_REWARD_KEY] = float(gt)
        if not self.defer:
            rewards = self.scorer(frames)
            self.stats.add(rewards, dones)
            return obs, rewards, dones, infos
        self._frames.append(frames)
        self._dones.append(np.array(dones, dtype=bool))
        if len(self._frames) * self.num_envs >= self.scorer.batch_size:
            self._score_buffered()
        return obs, np.full(self.num_envs, np.nan, dtype=np.float32), dones, infos

    @property
    def n_pending(self) -> int:
        """Vector steps whose rewards have not been handed over by :meth:`take_rewards`."""
        return len(self._dones)

    def _score_buffered(self) -> None:
        if self._frames:
            rewards = self.scorer(np.concatenate(self._frames))
            self._scored.extend(rewards.reshape(len(self._frames), self.num_envs))
            self._frames.clear()

    def take_rewards(self, n_steps: int | None = None) -> np.ndarray:
        """Score every buffered step and hand over the rewards of the first ``n_steps``.

        Steps after those are dropped (a learner stopped by a callback never stores its last
        step). :returns: ``float32 (n_steps, n_envs)``, oldest step first.
        """
        self._score_buffered()
        n = self.n_pending if n_steps is None else int(n_steps)
        if n > self.n_pending:
            raise ValueError(f"asked for {n} steps but only {self.n_pending} are pending")
        rewards = np.asarray(self._scored[:n], dtype=np.float32).reshape(n, self.num_envs)
        for step_rewards, dones in zip(rewards, self._dones[:n]):
            self.stats.add(step_rewards, dones)
        self._scored.clear()
        self._dones.clear()
        return rewards


class RelabelReplayBuffer(BaseCallback):
    """Write the CLIP rewards of each rollout into the replay buffer before the gradient steps.

    The ``rollout`` labelling of :class:`ClipRewardVecEnv` (``defer=True``). Works with every
    off-policy algorithm of stable-baselines3 (DQN, SAC, TD3...) and its replay buffers.

    :param clip_env: the deferring reward wrapper the model steps through.
    """

    def __init__(self, clip_env: ClipRewardVecEnv) -> None:
        super().__init__()
        if not clip_env.defer:
            raise ValueError("RelabelReplayBuffer needs a ClipRewardVecEnv made with defer=True")
        self.clip_env = clip_env
        self._next_row = 0

    def _on_training_start(self) -> None:
        buffer = getattr(self.model, "replay_buffer", None)
        if buffer is None:
            raise EvalkitError(
                f"{type(self.model).__name__} has no replay buffer to relabel; use step labelling."
            )
        self.clip_env.take_rewards()  # anything left from an earlier learn() was never stored
        self._next_row = buffer.pos

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.flush()

    def flush(self) -> int:
        """Label every stored transition that still holds a placeholder; returns how many steps."""
        buffer = self.model.replay_buffer
        stored = (buffer.pos - self._next_row) % buffer.buffer_size
        pending = self.clip_env.n_pending
        if not stored <= pending <= stored + 1:
            raise RuntimeError(f"replay buffer and reward wrapper out of step ({stored} stored, {pending} pending)")
        rewards = self.clip_env.take_rewards(stored)
        rows = (self._next_row + np.arange(stored)) % buffer.buffer_size
        buffer.rewards[rows] = rewards
        self._next_row = buffer.pos
        return stored


def load_clip_reward(config: "TrainConfig", on_message: Callable[[str], None] | None = None) -> "RewardModel":
    """The CLIP reward of ``config``'s task, model, weights and α on ``config.device``.

    A :class:`evalkit.rewards.RewardModel`: prompts embedded once, frames embedded in batches of
    ``config.reward_batch_size`` (halved, with a message, when a batch does not fit in memory).

    :param on_message: where the embedder's warnings go.
    """
    from evalkit.rewards import RewardModel
    from evalkit.tasks import get_task
    from evalkit.train.config import resolve_device

    task = get_task(config.task)
    return RewardModel(config.model, goal=task.goal_prompt, baseline=task.baseline_prompt, alpha=config.alpha,
                       pretrained=config.pretrained, device=resolve_device(config.device), precision=config.precision,
                       batch_size=config.reward_batch_size, on_message=on_message)
