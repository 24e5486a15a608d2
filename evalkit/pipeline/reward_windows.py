"""Window and episode rewards in training: frames kept per environment, windows scored in batches.

A training run's reward wrapper (:class:`evalkit.train.clip_reward.ClipRewardVecEnv`) hands
every vector step's frames to a :class:`StepFrames` (:meth:`StepFrames.push`) and gets back one
*item* per environment — what the reward of that step is computed from — and scores items in
batches with the same object (it is the reward function). Three kinds of item:

- :class:`SingleFrames`: the frame itself (every image reward);
- :class:`WindowFrames`: the window of ``k`` frames, stride ``s``, ending at the step, by the
  rule of :mod:`evalkit.vlm.windows` (:class:`~evalkit.vlm.windows.OnlineWindows`): an
  environment's window restarts at its episode's first step, so a window never mixes two
  episodes — under a vector env's auto-reset, the frame of a step that ends an episode belongs
  to the old episode, and the next step's frame is the new episode's first;
- :class:`EpisodeFrames`: RoboCLIP's sparse reward — 0 at every step but an episode's last,
  whose item is the whole episode subsampled to the model's frame count
  (:func:`~evalkit.vlm.windows.episode_sample`).

Window and episode items are int64 keys into a store of the frames they need, so a deferred
batch of ``batch_size`` windows holds each frame once (not ``k`` times); a frame is dropped once
no environment's history and no unscored item needs it. The frames of an episode are those of
the states its steps reach (a vector env does not render the state a reset reaches).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.pipeline.reward_kinds import FrameRewardSettings
from evalkit.pipeline.window_reward import window_rewards
from evalkit.vlm.windows import OnlineWindows, WindowSpec, episode_sample

WindowScore = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``fn(frames, rows) -> rewards``: ``uint8 (N, H, W, 3)`` frames and ``(n, k)`` rows of them
(each a window, oldest first) to ``(n,)`` rewards."""


class StepFrames:
    """What a step's reward is computed from, and the reward of a batch of them.

    The default: the step's own frame, scored by ``score`` (``frames -> rewards``).
    """

    def __init__(self, score: Callable[[np.ndarray], np.ndarray]) -> None:
        self.score = score

    def push(self, frames: Sequence[np.ndarray], dones: np.ndarray) -> np.ndarray:
        """One item per environment for this vector step.

        :param frames: every environment's frame of the state its step reached.
        :param dones: whether the step ended its environment's episode.
        """
        return np.stack(frames)

    def stored(self, frames: np.ndarray, episodes: np.ndarray) -> np.ndarray:
        """The items of stored episodes (a rollout: rows in step order, episode after episode),
        as one environment would have pushed them.

        :param frames: ``uint8 (n, H, W, 3)``.
        :param episodes: the episode of every row.
        """
        return frames

    def shown(self, items: np.ndarray) -> np.ndarray:
        """The frame of each item's own step (for the reward-fidelity monitor); call it before
        the items are scored."""
        return items

    def reset(self) -> None:
        """Every environment starts a new episode (the vector env was reset)."""

    def discard_pending(self) -> None:
        """Forget every item not scored yet (their transitions will never be stored)."""

    def __call__(self, items: np.ndarray) -> np.ndarray:
        return self.score(items)

    @property
    def embedder(self) -> Any:
        """The scoring model's embedder, where it has one (its input size is checked)."""
        return getattr(self.score, "embedder", None)

    @property
    def random_weights(self) -> bool:
        """Whether the scoring model has random weights."""
        return bool(getattr(self.score, "random_weights", False))


class SingleFrames(StepFrames):
    """Every step's reward of its own frame (the image rewards)."""


def step_frames(reward_fn: Callable[[np.ndarray], np.ndarray]) -> StepFrames:
    """``reward_fn`` as a :class:`StepFrames`: itself, or the reward of single frames."""
    return reward_fn if isinstance(reward_fn, StepFrames) else SingleFrames(reward_fn)


class _KeyedFrames(StepFrames, ABC):
    """Items are keys of frames held in a store; subclasses say which frames an item reads.

    :param score: the reward of windows (:data:`WindowScore`).
    """

    def __init__(self, score: WindowScore) -> None:
        super().__init__(score)  # type: ignore[arg-type]
        self._lock = threading.Lock()  # items may be scored by another thread
        self._frames: dict[int, np.ndarray] = {}  # frame id -> frame, ids increasing
        self._items: dict[int, tuple[int, tuple[int, ...] | None]] = {}  # key -> (own, rows)
        self._next_frame = 0
        self._next_key = 0
        self._starts: np.ndarray | None = None  # per environment: its next frame starts an episode

    @abstractmethod
    def _windows(self, ids: np.ndarray, starts: np.ndarray, dones: np.ndarray) -> list:
        """Each environment's frame ids to score this step (``None``: a reward of 0)."""

    @abstractmethod
    def _oldest_kept(self) -> int:
        """The oldest frame id an environment's history still holds."""

    def push(self, frames: Sequence[np.ndarray], dones: np.ndarray) -> np.ndarray:
        dones = np.asarray(dones, dtype=bool).reshape(-1)
        starts = np.ones(len(frames), bool) if self._starts is None else self._starts
        with self._lock:
            ids = np.arange(self._next_frame, self._next_frame + len(frames), dtype=np.int64)
            for i, frame in zip(ids, frames):
                self._frames[int(i)] = np.asarray(frame)
            self._next_frame += len(frames)
            keys = np.arange(self._next_key, self._next_key + len(frames), dtype=np.int64)
            self._next_key += len(frames)
            for key, own, rows in zip(keys, ids, self._windows(ids, starts, dones)):
                self._items[int(key)] = (int(own), None if rows is None else tuple(map(int, rows)))
        self._starts = dones.copy()  # after auto-reset, an ended episode's env starts a new one
        return keys

    def stored(self, frames: np.ndarray, episodes: np.ndarray) -> np.ndarray:
        episodes = np.asarray(episodes)
        ends = np.r_[episodes[1:] != episodes[:-1], True]
        self.reset()
        keys = [self.push([frame], end[None]) for frame, end in zip(frames, ends)]
        self.reset()
        return np.concatenate(keys) if keys else np.zeros(0, np.int64)

    def shown(self, items: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.stack([self._frames[self._items[int(k)][0]] for k in items])

    def reset(self) -> None:
        self._starts = None

    def discard_pending(self) -> None:
        with self._lock:
            self._items.clear()
            self._release()

    def _release(self) -> None:
        """Drop the frames older than every unscored item and every environment's history."""
        needed = [rows[0] if rows else own for own, rows in self._items.values()]
        oldest = min(needed + [self._oldest_kept()])
        while self._frames and next(iter(self._frames)) < oldest:
            del self._frames[next(iter(self._frames))]

    def __call__(self, items: np.ndarray) -> np.ndarray:
        with self._lock:
            taken = [self._items.pop(int(k)) for k in np.asarray(items).reshape(-1)]
            scored = [i for i, (_, rows) in enumerate(taken) if rows is not None]
            ids = np.unique([r for i in scored for r in taken[i][1]]).astype(np.int64)
            frames = np.stack([self._frames[int(i)] for i in ids]) if len(ids) else None
            self._release()
        out = np.zeros(len(taken), dtype=np.float64)
        if scored:
            rows = np.searchsorted(ids, np.array([taken[i][1] for i in scored]))
            out[scored] = np.asarray(self.score(frames, rows), dtype=np.float64).reshape(-1)
        return out

    @property
    def frames_held(self) -> int:
        """Frames in the store now (a bound on memory: the tests read it)."""
        return len(self._frames)


class WindowFrames(_KeyedFrames):
    """Every step's reward of the window ending at it (module docs).

    :param window: ``k`` and ``s``.
    :param score: the reward of windows (:data:`WindowScore`).
    """

    def __init__(self, window: WindowSpec, score: WindowScore) -> None:
        super().__init__(score)
        self.window = window
        self._online: OnlineWindows | None = None
        self._last: np.ndarray | None = None  # each environment's newest window

    def _windows(self, ids: np.ndarray, starts: np.ndarray, dones: np.ndarray) -> list:
        if self._online is None:
            self._online = OnlineWindows(self.window, len(ids))
        self._last = self._online.push(ids, starts)
        return list(self._last)

    def reset(self) -> None:
        super().reset()
        self._online = None  # every environment's history starts afresh (their number may change)

    def _oldest_kept(self) -> int:
        # A history's oldest frame is its newest window's first (the span is the history's length).
        return int(self._last[:, 0].min()) if self._last is not None else self._next_frame


class EpisodeFrames(_KeyedFrames):
    """RoboCLIP's sparse reward: 0 at every step, the whole episode's at its last (module docs).

    :param count: frames an episode is subsampled to (the model's).
    :param score: the reward of windows (:data:`WindowScore`).
    """

    def __init__(
        self, count: int, score: WindowScore, on_message: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(score)
        self.count = count
        self.on_message = on_message
        self.too_short = 0
        """Episodes that ended with fewer frames than :attr:`count` (their reward: 0)."""
        self._episodes: list[list[int]] = []

    def _windows(self, ids: np.ndarray, starts: np.ndarray, dones: np.ndarray) -> list:
        if len(self._episodes) != len(ids):
            self._episodes = [[] for _ in ids]
        out: list[np.ndarray | None] = []
        for i, frame in enumerate(ids):
            if starts[i]:
                self._episodes[i] = []
            self._episodes[i].append(int(frame))
            episode = self._episodes[i]
            out.append(
                np.asarray(episode)[episode_sample(len(episode), self.count)]
                if dones[i] and len(episode) >= self.count
                else None
            )
            if dones[i] and len(episode) < self.count:
                self._short(len(episode))
        return out

    def _short(self, length: int) -> None:
        self.too_short += 1
        if self.too_short == 1 and self.on_message is not None:
            self.on_message(
                f"WARNING: an episode ended after {length} frames, fewer than the {self.count} "
                "the episode reward's model takes; such episodes get a reward of 0."
            )

    def _oldest_kept(self) -> int:
        firsts = [e[0] for e in self._episodes if e]
        return min(firsts) if firsts else self._next_frame


class VideoScore:
    """Definition 1 of windows by a video model, for training: the window's video embedding
    against the goal and baseline prompts (a model that conditions its text on the video, as
    X-CLIP does, gives them per window) or against a demonstration's embedding as the goal.

    :param model: the video model (``avg:…``, ``hf:…``).
    :param prompts: the goal and baseline prompts.
    :param alpha: Definition 1's α.
    :param settings: device, precision, batch size, message sink.
    :param goal: a unit goal embedding that replaces the goal prompt's (a demonstration's).
    """

    def __init__(
        self,
        model: str,
        prompts: tuple[str, str],
        alpha: float,
        settings: FrameRewardSettings,
        goal: Callable[[Any], np.ndarray] | None = None,
    ) -> None:
        from evalkit.vlm.embedder import ImageEmbedder
        from evalkit.vlm.models import resolve

        self.embedder = ImageEmbedder(
            resolve(model),
            settings.device,
            settings.precision,
            settings.batch_size,
            on_message=settings.on_message,
        )
        self.prompts = list(prompts)
        self.alpha = float(alpha)
        self.goal = None if goal is None else np.asarray(goal(self.embedder))

    @property
    def random_weights(self) -> bool:
        return self.embedder.random_weights

    def __call__(self, frames: np.ndarray, rows: np.ndarray) -> np.ndarray:
        video = self.embedder.embed_windows(frames, rows)
        texts = self.embedder.embed_window_texts(frames, rows, self.prompts)
        goal = texts[:, 0] if self.goal is None else np.tile(self.goal, (len(rows), 1))
        return window_rewards(video, goal, texts[:, 1], [self.alpha])[:, 0]
