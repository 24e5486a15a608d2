"""Windows of frames for video rewards (pure numpy): which frames a window reward reads.

**The window ending at step t** (``k`` frames, stride ``s``) holds the frames of steps
``t − (k−1)s, …, t − s, t`` of the same episode, oldest first. Steps are counted in the
episode's recorded order (an episode's steps must be consecutive integers).

**The first steps of an episode** (``t − (k−1)s`` before the episode's first step) use the
frames they have: every position that would fall before the episode's start holds the
episode's **first frame** instead (the window is padded at its old end by repeating the first
frame). A window never reads a frame of another episode.

**Online** (training in a vector env), :class:`OnlineWindows` keeps each environment's last
frames and applies the same rule; an environment's reset starts its window afresh.

**A whole episode subsampled to a model's frame count** ``n`` (RoboCLIP's episode reward, a
demonstration as the goal): ``n`` evenly spaced indices from the first frame to the last, both
included — index ``i`` is ``floor(i·(L−1)/(n−1) + 1/2)`` for an episode of ``L`` frames (one
frame: the last). An episode shorter than ``n`` frames is refused.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from evalkit.errors import EvalkitError


class WindowError(EvalkitError):
    """A window that cannot be made (bad length or stride, longer than every episode)."""


@dataclass(frozen=True)
class WindowSpec:
    """``frames`` frames ``stride`` steps apart, ending at the step scored.

    :param frames: frames in a window (``k`` ≥ 1).
    :param stride: steps between two frames of a window (``s`` ≥ 1).
    :raises WindowError: ``k`` or ``s`` below 1.
    """

    frames: int
    stride: int = 1

    def __post_init__(self) -> None:
        for what, value in (("frames", self.frames), ("stride", self.stride)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise WindowError(
                    f"A window's {what} must be a whole number of at least 1, not {value!r}."
                )

    @property
    def span(self) -> int:
        """Steps from a window's first frame to its last, both included: ``(k−1)s + 1``."""
        return (self.frames - 1) * self.stride + 1

    @property
    def slug(self) -> str:
        """``k8s2``: the window in folder names."""
        return f"k{self.frames}s{self.stride}"

    def __str__(self) -> str:
        return f"{self.frames} frames, stride {self.stride}"


def parse_window(text: str) -> WindowSpec:
    """The window ``K:S`` names (``K`` frames, stride ``S``; ``K`` alone: stride 1).

    :raises WindowError: not two whole numbers of at least 1, in one sentence.
    """
    k, sep, s = str(text).strip().partition(":")
    if not (k.isdigit() and (s.isdigit() if sep else True)):
        raise WindowError(
            f"A window is FRAMES:STRIDE (e.g. 8:2, two whole numbers of at least 1), not {text!r}."
        )
    return WindowSpec(int(k), int(s) if sep else 1)


def episode_positions(episodes: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every row, the row of its episode's first frame and its position in the episode.

    :param episodes: episode id of every row.
    :param steps: step of every row within its episode.
    :returns: ``(first_row, position)``, both int64 of the rows' length.
    :raises WindowError: an episode whose steps are not consecutive integers (a gap or a repeat).
    """
    episodes = np.asarray(episodes)
    steps = np.asarray(steps, dtype=np.int64)
    if episodes.shape != steps.shape or episodes.ndim != 1:
        raise WindowError("Episodes and steps must be two columns of the same length.")
    order = np.lexsort((steps, episodes))
    ep, st = episodes[order], steps[order]
    starts = np.r_[True, ep[1:] != ep[:-1]] if len(ep) else np.zeros(0, bool)
    start_index = np.maximum.accumulate(np.where(starts, np.arange(len(ep)), 0))
    position = np.arange(len(ep)) - start_index
    bad = st - st[start_index] != position
    if bad.any():
        which = ep[np.argmax(bad)]
        raise WindowError(
            f"Episode {which}'s steps are not consecutive (a step is missing or repeated), so "
            "windows of its frames are not defined."
        )
    first_row = np.empty(len(ep), np.int64)
    pos = np.empty(len(ep), np.int64)
    first_row[order] = order[start_index]
    pos[order] = position
    return first_row, pos


def episode_lengths(episodes: np.ndarray) -> np.ndarray:
    """Frames in each episode, episodes sorted by id."""
    _, counts = np.unique(np.asarray(episodes), return_counts=True)
    return counts


def window_rows(episodes: np.ndarray, steps: np.ndarray, window: WindowSpec) -> np.ndarray:
    """The rows of the window ending at every row (module docs: the first-steps rule).

    :param episodes: episode id of every row (rows in any order).
    :param steps: step of every row within its episode.
    :param window: ``k`` and ``s``.
    :returns: int64 ``(rows, k)``; row ``i``'s window oldest first, its last column ``i``.
    :raises WindowError: non-consecutive steps, or a window spanning more steps than the longest
        episode has frames.
    """
    first_row, pos = episode_positions(episodes, steps)
    longest = int(episode_lengths(episodes).max()) if len(pos) else 0
    if window.span > longest:
        raise WindowError(
            f"A window of {window} spans {window.span} steps, more than the longest episode's "
            f"{longest} frames; use fewer frames or a smaller stride."
        )
    back = (window.frames - 1 - np.arange(window.frames)) * window.stride  # oldest first
    # Frames of one episode are at consecutive rows once sorted; map back through positions.
    order = np.lexsort((np.asarray(steps), np.asarray(episodes)))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    target = rank[:, None] - back[None, :]  # sorted positions of the wanted frames
    before_start = (pos[:, None] - back[None, :]) < 0
    target = np.where(before_start, rank[first_row][:, None], target)
    rows = order[target]
    return rows.astype(np.int64)


def episode_sample(length: int, count: int) -> np.ndarray:
    """``count`` evenly spaced frame indices of an episode of ``length`` frames, the first and
    last included (module docs).

    :param length: frames in the episode.
    :param count: frames the model takes.
    :raises WindowError: ``count`` below 1, or the episode shorter than ``count`` frames.
    """
    if count < 1:
        raise WindowError(f"A model's frame count must be at least 1, not {count}.")
    if length < count:
        raise WindowError(
            f"The episode has {length} frames, fewer than the {count} the model takes."
        )
    if count == 1:
        return np.array([length - 1], dtype=np.int64)
    return np.floor(np.arange(count) * (length - 1) / (count - 1) + 0.5).astype(np.int64)


class OnlineWindows:
    """Windows of frames as they arrive from ``n_envs`` environments (a vector env, one frame
    per environment a step), by the rule of :func:`window_rows`: the same windows as the
    stored episodes would give.

    :param window: ``k`` and ``s``.
    :param n_envs: environments.
    """

    def __init__(self, window: WindowSpec, n_envs: int) -> None:
        if n_envs < 1:
            raise WindowError(f"Windows need at least 1 environment, not {n_envs}.")
        self.window = window
        self._back = (window.frames - 1 - np.arange(window.frames)) * window.stride
        self._history: list[deque[np.ndarray]] = [deque(maxlen=window.span) for _ in range(n_envs)]

    def push(self, frames: np.ndarray, new_episode: np.ndarray) -> np.ndarray:
        """Add one frame per environment and return each environment's window ending at it.

        :param frames: ``(n_envs, H, W, 3)``, this step's frames.
        :param new_episode: ``(n_envs,)`` bool, whether the frame is its episode's first (after
            a reset); the window then holds no frame of the previous episode.
        :returns: ``(n_envs, k, H, W, 3)``, oldest first.
        """
        frames = np.asarray(frames)
        starts = np.asarray(new_episode, dtype=bool).reshape(-1)
        if len(frames) != len(self._history) or len(starts) != len(self._history):
            raise WindowError(
                f"Windows of {len(self._history)} environments got {len(frames)} frames and "
                f"{len(starts)} episode starts."
            )
        out = np.empty((len(frames), self.window.frames, *frames.shape[1:]), frames.dtype)
        for i, history in enumerate(self._history):
            if starts[i]:
                history.clear()
            history.append(frames[i])
            # Before the episode's start: its first frame (the oldest kept while the history
            # is shorter than the window's span).
            for j, position in enumerate(np.maximum(len(history) - 1 - self._back, 0)):
                out[i, j] = history[position]
        return out
