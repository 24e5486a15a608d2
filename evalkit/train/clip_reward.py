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
- the :class:`RelabelReplayBuffer` callback and the :class:`LabelledReplayBuffer` it makes of an
  off-policy algorithm's replay buffer, for deferred labelling: ``step`` returns NaN
  placeholders, frames are buffered, and the callback writes the rewards into the replay buffer.

Three ways to hand rewards to the learner (``reward_labelling`` of a run):

* ``step``: every ``step`` scores the frames of all environments in one batch and returns the
  rewards. The learner sees CLIP rewards exactly where it would see the environment's, so DQN,
  SAC, PPO (any algorithm) work unchanged; the batch is ``n_envs`` frames.
* ``batch`` (the paper's Algorithm 1, the default for off-policy algorithms): frames wait in the
  unlabelled part of the replay buffer until ``batch_size`` of them are pending, then they are
  scored in one batch; every gradient step samples the labelled part only. So CLIP always sees
  large batches (the paper's 3 200 frames), whatever ``train_freq`` and ``n_envs`` are — SAC's
  default of one update per step included. One refinement of the paper's pseudocode: when the
  pending transitions outnumber the labelled ones (early in training), they are scored before the
  next update, so updates always draw from at least half of what was collected.
* ``rollout``: every rollout's frames are scored before the updates that follow it, in batches of
  at most ``batch_size``; no update waits for a reward, but with one update per step the batch is
  only ``n_envs`` frames.

PPO takes ``step`` only: it folds rewards into advantages before a rollout ends.

With ``batch`` and ``rollout``, a :class:`~evalkit.train.reward_worker.RewardWorker` may score
the full batches on another thread while the environments step and the learner updates
(``reward_worker`` of a run, on by default): a batch's rewards are written into the replay buffer,
and the labelled part grows, only once they are all computed; the batches are those in-line
scoring would make, so the rewards are the same.

Example (``reward_fn`` any :data:`BatchRewardFn`, e.g. :func:`load_clip_reward`)::

    venv = make_vec_env("evalkit/CartPole-v0", n_envs=8, wrapper_class=RenderFrame,
                        env_kwargs={"render_mode": "rgb_array", "width": 224, "height": 224})
    venv = ClipRewardVecEnv(venv, reward_fn, batch_size=3200, defer=True)
    model = DQN("MlpPolicy", venv)
    model.learn(100_000, callback=RelabelReplayBuffer(venv, wait_for_batch=True))
    # every stored transition has its reward when learn() returns
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import gymnasium as gym
import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from evalkit.errors import EvalkitError
from evalkit.pipeline.reward_kinds import FrameRewardSettings
from evalkit.pipeline.reward_windows import step_frames
from evalkit.tasks import get_task
from evalkit.train.config import TrainConfig, resolve_device
from evalkit.train.reward_worker import RewardWorker


class FrameObserver(Protocol):
    """Sees every vector step and, once scored, its frames and rewards (oldest step first):
    :class:`evalkit.train.fidelity.VisitedFrames`."""

    def on_step(self, infos: Sequence[dict[str, Any]], dones: np.ndarray) -> None: ...

    def on_scored(self, frames: np.ndarray, rewards: np.ndarray, owned: bool = False) -> None: ...

    def discard_pending(self) -> None: ...


BatchRewardFn = Callable[[np.ndarray], np.ndarray]
"""``fn(frames) -> rewards``: ``uint8 (n, H, W, 3)`` frames to ``(n,)`` rewards, one per frame.
The frames may be a view of a buffer that is reused afterwards: copy them to keep them."""

CPU_FORWARD_FRAMES = 128
"""Most frames per forward pass of a training reward on the CPU (a reward batch of Algorithm 1
is embedded in such chunks). Larger passes gain nothing on the CPU, and their activations
(hundreds of MB) are what glibc gives a thread other than the main one as fresh mappings for
every batch: the e2e bench's tower on 1024 frames took 800 000 page faults a batch on the
reward worker's thread and ran at two thirds of its speed; in chunks of 128, 170 faults and
full speed. The rewards are the same (a GEMM's rows do not depend on the others; tested)."""

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
        batch does not fit in memory (:class:`evalkit.vlm.embedder.ImageEmbedder`).
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
                raise ValueError(
                    f"the reward function returned {len(rewards)} rewards for {len(chunk)} frames"
                )
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


def _pop_frames(infos: Sequence[dict[str, Any]]) -> list[np.ndarray]:
    try:
        return [info.pop(FRAME_KEY) for info in infos]
    except KeyError:
        raise RuntimeError(
            "ClipRewardVecEnv needs every environment wrapped in RenderFrame"
        ) from None


class FrameBuffer:
    """Frames of whole vector steps, written once into one array that is scored in place.

    :param n_envs: frames per vector step.
    :param max_frames: the most frames it holds: the whole steps that fit (at least one step). The
        array is allocated at the first step, when the frame size is known.
    """

    def __init__(self, n_envs: int, max_frames: int) -> None:
        self.n_envs = n_envs
        self.capacity = max(1, max_frames // n_envs)  # vector steps
        self.steps = 0
        self._array: np.ndarray | None = None

    def append(self, frames: Sequence[np.ndarray]) -> None:
        if self.steps >= self.capacity:
            raise RuntimeError("the frame buffer is full; score it first")
        first = np.asarray(frames[0])
        if self._array is None or self._array.shape[1:] != first.shape:
            if self.steps:
                raise RuntimeError("the frame size changed while frames were buffered")
            self._array = np.empty((self.capacity * self.n_envs, *first.shape), dtype=first.dtype)
        k = self.steps * self.n_envs
        for j, frame in enumerate(frames):
            self._array[k + j] = frame
        self.steps += 1

    def frames(self) -> np.ndarray:
        """The buffered frames, step by step (a view, valid until :meth:`clear`)."""
        assert self._array is not None, "no frames were buffered"
        return self._array[: self.steps * self.n_envs]

    def clear(self) -> None:
        self.steps = 0


class ClipRewardVecEnv(VecEnvWrapper):
    """Replace a vector environment's rewards with rewards computed from rendered frames, in batches.

    :param venv: vector environment whose environments are wrapped in :class:`RenderFrame`.
    :param reward_fn: the reward of a batch of frames (:data:`BatchRewardFn`), or of windows or
        whole episodes (a :class:`~evalkit.pipeline.reward_windows.StepFrames`, which keeps
        each environment's frames and makes the items it scores).
    :param batch_size: the most frames (windows) scored in one call of ``reward_fn``.
    :param defer: buffer frames and hand rewards over through :meth:`take_rewards` (see the
        module docstring) instead of returning them from ``step``.
    :param observer: told of every step and of every scored batch (reward fidelity).
    :param worker: with ``defer``, score each full batch on this :class:`RewardWorker` while the
        environments go on stepping (at most :attr:`MAX_IN_FLIGHT` batches at a time); its
        rewards are handed over once ready. Without one, batches are scored here, in ``step``.
    """

    MAX_IN_FLIGHT = 1
    """Batches the worker may hold: one being scored while the next fills (the next full one
    waits for it, which keeps the unlabelled part of the replay buffer bounded)."""

    def __init__(
        self,
        venv: VecEnv,
        reward_fn: BatchRewardFn,
        batch_size: int = 3200,
        defer: bool = False,
        observer: FrameObserver | None = None,
        worker: RewardWorker | None = None,
    ) -> None:
        super().__init__(venv)
        self.items = step_frames(reward_fn)
        self.scorer = BatchScorer(self.items, batch_size)
        self.defer = defer
        self.observer = observer
        self.worker = worker if defer else None
        self.stats = RewardStats(self.num_envs)
        self._batch_size = batch_size
        self._frames = FrameBuffer(
            self.num_envs, batch_size
        )  # buffered steps, not yet scored (defer=True)
        self._spare: list[FrameBuffer] = []  # buffers scored and handed over, to fill again
        # with the worker: (items, the frames the observer is shown, their rewards to come)
        self._in_flight: deque[tuple[FrameBuffer, np.ndarray, Future[np.ndarray]]] = deque()
        self._scored: list[np.ndarray] = []  # scored, not yet handed over: one (n_envs,) per step
        self._dones: list[np.ndarray] = []  # done flags of every step not yet handed over

    def reset(self) -> np.ndarray:
        self.items.reset()
        return self.venv.reset()

    def step_wait(self):
        obs, gt_rewards, dones, infos = self.venv.step_wait()
        if self.observer is not None:
            self.observer.on_step(infos, dones)
        frames = self.items.push(_pop_frames(infos), dones)  # a frame, window or episode each
        for info, gt in zip(infos, gt_rewards):
            info[GT_REWARD_KEY] = float(gt)
        if not self.defer:
            shown = self.items.shown(frames) if self.observer is not None else frames
            rewards = self.scorer(frames)
            if self.observer is not None:
                self.observer.on_scored(shown, rewards, owned=True)  # a new array every step
            self.stats.add(rewards, dones)
            return obs, rewards, dones, infos
        self._frames.append(frames)
        self._dones.append(np.array(dones, dtype=bool))
        if self._frames.steps >= self._frames.capacity:  # as many whole steps as a batch holds
            if self.worker is None:
                self._score_buffered()
            else:
                self._submit()
        self._collect(block=False)  # rewards that are ready (and the worker's errors) come in
        return obs, np.full(self.num_envs, np.nan, dtype=np.float32), dones, infos

    def wait_for_worker(self) -> None:
        """Take every batch the worker holds, waiting for it (no-op without one)."""
        self._collect(block=True)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
        self.venv.close()

    @property
    def n_pending(self) -> int:
        """Vector steps whose rewards have not been handed over by :meth:`take_rewards`."""
        return len(self._dones)

    @property
    def n_scored(self) -> int:
        """Pending vector steps that are scored already (the oldest ones)."""
        return len(self._scored)

    @property
    def n_in_flight(self) -> int:
        """Batches handed to the worker whose rewards have not come back."""
        return len(self._in_flight)

    def _score_buffered(self) -> None:
        """Score every buffered frame now (the worker's batches first, then the rest)."""
        if self.worker is not None:
            if self._frames.steps:
                self._submit()
            self._collect(block=True)
        elif self._frames.steps:
            batch = self._frames.frames()
            shown = self._shown(batch)
            self._accept(self._frames, shown, self.scorer(batch))

    def _shown(self, batch: np.ndarray) -> np.ndarray:
        """The frames the observer is shown for a batch of items, read before scoring takes
        the items out of their store."""
        return self.items.shown(batch) if self.observer is not None else batch

    def _accept(self, frames: FrameBuffer, shown: np.ndarray, rewards: np.ndarray) -> None:
        """The rewards of a scored buffer: kept to hand over, the observer told, the buffer emptied."""
        if self.observer is not None:
            self.observer.on_scored(shown, rewards)
        self._scored.extend(rewards.reshape(frames.steps, self.num_envs))
        frames.clear()

    def _submit(self) -> None:
        """Hand the buffered items to the worker (after the oldest batch, if it holds too many)
        and buffer the next ones in another array."""
        assert self.worker is not None
        while len(self._in_flight) >= self.MAX_IN_FLIGHT:
            self._collect(block=True, at_most=1)
        batch = self._frames.frames()
        shown = self._shown(batch)
        self._in_flight.append((self._frames, shown, self.worker.submit(self.scorer, batch)))
        self._frames = (
            self._spare.pop() if self._spare else FrameBuffer(self.num_envs, self._batch_size)
        )

    def _collect(self, block: bool, at_most: int | None = None) -> None:
        """Take the worker's finished batches, oldest first; ``block``: wait for them.

        :raises Exception: whatever the reward function raised on the worker.
        """
        taken = 0
        while self._in_flight and (at_most is None or taken < at_most):
            frames, shown, future = self._in_flight[0]
            if not (block or future.done()):
                return
            rewards = future.result()  # the worker's exception is raised here
            self._in_flight.popleft()
            self._accept(frames, shown, rewards)
            self._spare.append(frames)
            taken += 1

    def take_rewards(self, n_steps: int | None = None, score: bool = True) -> np.ndarray:
        """Hand over the rewards of the oldest ``n_steps`` pending vector steps.

        :param n_steps: how many (default: all pending steps, or with ``score=False`` all scored ones).
        :param score: score every buffered frame first; otherwise only steps already scored
            (when ``batch_size`` frames had gathered) can be handed over.
        :returns: ``float32 (n_steps, n_envs)``, oldest step first. Later steps stay pending.
        """
        if score:
            self._score_buffered()
        else:
            self._collect(block=False)
        n = (self.n_pending if score else self.n_scored) if n_steps is None else int(n_steps)
        if n > self.n_scored:
            raise ValueError(
                f"asked for {n} steps but only {self.n_scored} of {self.n_pending} pending ones are scored"
            )
        rewards = np.asarray(self._scored[:n], dtype=np.float32).reshape(n, self.num_envs)
        for step_rewards, dones in zip(rewards, self._dones[:n]):
            self.stats.add(step_rewards, dones)
        del self._scored[:n], self._dones[:n]
        return rewards

    def discard_pending(self) -> None:
        """Forget every pending step (frames of transitions that will never be stored)."""
        for frames, _, future in self._in_flight:
            if not future.cancel():
                future.exception()  # wait: the worker must not read an array being refilled
            frames.clear()
            self._spare.append(frames)
        self._in_flight.clear()
        self._frames.clear()
        self._scored.clear()
        self._dones.clear()
        self.items.discard_pending()
        if self.observer is not None:
            self.observer.discard_pending()


class LabelledReplayBuffer(ReplayBuffer):
    """A replay buffer whose newest rows may still wait for their rewards (Algorithm 1's two buffers).

    While :attr:`request_labels` is set (by :class:`RelabelReplayBuffer`, for the length of a
    ``learn()``), the last :attr:`unlabelled` rows written (vector steps, one per ``add``) form the
    paper's unlabelled buffer: their rewards are placeholders until :meth:`label` writes them,
    oldest first, and :meth:`sample` draws from the labelled rows only. Before it draws, if the
    unlabelled rows outnumber the labelled ones, it calls :attr:`request_labels`, which labels
    every stored row (or, with a reward worker, first the worker's batches, and every row only if
    they are not enough). Otherwise (no callback attached, e.g. a checkpoint fine-tuned with plain SB3) it
    is an ordinary ``ReplayBuffer``.

    :class:`RelabelReplayBuffer` makes one from the algorithm's plain buffer at the start of
    training (:meth:`adopt`), so checkpoints name SB3's own class. Not supported:
    ``optimize_memory_usage`` (evalkit refuses the combination).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.optimize_memory_usage:
            raise EvalkitError(
                "Batched CLIP reward labelling does not support optimize_memory_usage; drop it from algo_kwargs."
            )
        self.unlabelled = 0
        self.request_labels: Callable[[], Any] | None = None

    @classmethod
    def adopt(cls, buffer: ReplayBuffer) -> "LabelledReplayBuffer":
        """A labelled buffer sharing the arrays of a plain, fully labelled one (e.g. loaded from an older run)."""
        if isinstance(buffer, cls):
            return buffer
        if type(buffer) is not ReplayBuffer or buffer.optimize_memory_usage:
            raise EvalkitError(
                f"Batched CLIP reward labelling cannot use a {type(buffer).__name__}; use --labelling step."
            )
        new = cls.__new__(cls)
        new.__dict__.update(buffer.__dict__)
        new.unlabelled, new.request_labels = 0, None
        return new

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["request_labels"] = None  # a callback into the live training run: not saved
        return state

    def labelled_size(self) -> int:
        """Rows whose rewards are written."""
        return self.size() - self.unlabelled

    def add(self, *args: Any, **kwargs: Any) -> None:
        if self.request_labels is None:  # not attached to a training run: a plain replay buffer
            super().add(*args, **kwargs)
            return
        if self.unlabelled >= self.buffer_size - 1:
            raise RuntimeError(
                f"a replay buffer of {self.buffer_size} rows cannot wait for {self.unlabelled + 1} rewards"
            )
        super().add(*args, **kwargs)
        self.unlabelled += 1

    def label(self, rewards: np.ndarray) -> None:
        """Write ``(k, n_envs)`` rewards into the oldest ``k`` unlabelled rows."""
        rewards = np.asarray(rewards, dtype=np.float32).reshape(-1, self.n_envs)
        k = len(rewards)
        if k > self.unlabelled:
            raise ValueError(f"{k} steps of rewards for {self.unlabelled} unlabelled rows")
        rows = (self.pos - self.unlabelled + np.arange(k)) % self.buffer_size
        self.rewards[rows] = rewards
        self.unlabelled -= k

    def sample(self, batch_size: int, env: Any = None) -> Any:
        if self.request_labels is not None and self.unlabelled > self.labelled_size():
            self.request_labels()
        n = self.labelled_size()
        if n <= 0:
            raise RuntimeError("no labelled transitions to sample from")
        first = self.pos if self.full else 0  # the oldest row
        rows = (first + np.random.randint(0, n, size=batch_size)) % self.buffer_size
        return self._get_samples(rows, env=env)


class RelabelReplayBuffer(BaseCallback):
    """Write the CLIP rewards of deferred labelling into the replay buffer before gradient steps use them.

    Works with every off-policy algorithm of stable-baselines3 (DQN, SAC, TD3...) whose replay
    buffer is a :class:`LabelledReplayBuffer` (a plain ``ReplayBuffer`` is adopted at the start).

    :param clip_env: the deferring reward wrapper the model steps through.
    :param wait_for_batch: ``batch`` labelling (Algorithm 1): at the end of each rollout, write
        only the rewards already scored, leaving the rest unlabelled until a batch is full;
        otherwise (``rollout`` labelling) score and write everything.
    """

    def __init__(self, clip_env: ClipRewardVecEnv, wait_for_batch: bool = False) -> None:
        super().__init__()
        if not clip_env.defer:
            raise ValueError("RelabelReplayBuffer needs a ClipRewardVecEnv made with defer=True")
        self.clip_env = clip_env
        self.wait_for_batch = wait_for_batch

    @property
    def buffer(self) -> LabelledReplayBuffer:
        return self.model.replay_buffer

    def _on_training_start(self) -> None:
        buffer = getattr(self.model, "replay_buffer", None)
        if buffer is None:
            raise EvalkitError(
                f"{type(self.model).__name__} has no replay buffer to relabel; use step labelling."
            )
        buffer = self.model.replay_buffer = LabelledReplayBuffer.adopt(buffer)
        if buffer.unlabelled:
            raise EvalkitError(
                f"The replay buffer holds {buffer.unlabelled} transitions that were saved before their rewards were "
                "written; resume without the replay buffer (delete it) or start a new run."
            )
        buffer.request_labels = self.catch_up
        self.clip_env.discard_pending()  # anything left from an earlier learn() was never stored

    def _on_training_end(self) -> None:
        """Label every stored transition, so that the buffer is complete between ``learn()`` calls."""
        self.flush()
        self.buffer.request_labels = None

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.wait_for_batch:
            self.buffer.label(self.clip_env.take_rewards(score=False))
        else:
            self.flush()

    def catch_up(self) -> None:
        """Before an update that would draw from fewer labelled transitions than wait for their
        rewards: write the reward worker's batches (waiting for them) and, if that is not
        enough, label every stored transition. In-line scoring makes the same decision at the
        same step, so both score the same batches of frames."""
        buffer = self.buffer
        if self.clip_env.worker is not None:
            self.clip_env.wait_for_worker()
            buffer.label(self.clip_env.take_rewards(score=False))
            if buffer.unlabelled <= buffer.labelled_size():
                return
        self.flush()

    def flush(self) -> int:
        """Label every stored transition that still holds a placeholder; returns how many steps."""
        buffer = self.buffer
        stored, pending = buffer.unlabelled, self.clip_env.n_pending
        if (
            not stored <= pending <= stored + 1
        ):  # +1: a step taken but not stored (learn() stopped in on_step)
            raise RuntimeError(
                f"replay buffer and reward wrapper out of step ({stored} stored, {pending} pending)"
            )
        buffer.label(self.clip_env.take_rewards(stored))
        return stored


def load_clip_reward(
    config: "TrainConfig", on_message: Callable[[str], None] | None = None
) -> BatchRewardFn:
    """The model reward of ``config`` (CLIP for the task's prompts or goal frames with its α, or
    a reward head) on ``config.device``, from its reward kind
    (:meth:`evalkit.pipeline.reward_kinds.RewardKind.frame_reward`).

    CLIP rewards are a :class:`evalkit.rewards.RewardModel`: prompts embedded once, frames
    embedded in batches of ``config.reward_batch_size`` (on the CPU at most
    :data:`CPU_FORWARD_FRAMES` per forward pass; halved, with a message, when a batch does not
    fit in memory).

    :param on_message: where the embedder's warnings go.
    """
    device = resolve_device(config.device)
    batch = config.reward_batch_size
    if batch is not None and device == "cpu":
        batch = min(batch, CPU_FORWARD_FRAMES)
    settings = FrameRewardSettings(
        device=device, precision=config.precision, batch_size=batch, on_message=on_message
    )
    return config.reward_kind.frame_reward(get_task(config.task).name, settings)
