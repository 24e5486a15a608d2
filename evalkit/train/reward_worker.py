"""Rewards computed beside the learner: :class:`RewardWorker`, a thread that scores the deferred
batches of Algorithm 1 while the environments step and the learner updates.

:class:`~evalkit.train.clip_reward.ClipRewardVecEnv` hands it each batch of frames as soon as
the batch is full and carries on; the rewards come back, oldest batch first, at the next step or
rollout end that finds them ready, and only then does
:class:`~evalkit.train.clip_reward.RelabelReplayBuffer` write them into the replay buffer and
move the labelled boundary, so no gradient step ever samples a transition before its reward is
written. Every batch is the one in-line scoring would pass to the reward function (the same
frames, the same chunks), so the rewards are the same bit for bit.

A thread, not a process: torch releases the interpreter lock inside its operations, so the
tower's forward runs on another core while the learner's Python runs here, and nothing (model,
frames) has to cross a process boundary. The thread sets its own torch thread count (torch's is
per thread): :func:`thread_split` decides it.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from typing import Callable

import numpy as np

Score = Callable[[np.ndarray], np.ndarray]
"""What the worker runs on a batch: ``uint8 (n, H, W, 3)`` frames to ``(n,)`` rewards."""


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def thread_split(learner: int | None, reward: int | None, cores: int) -> tuple[int, int]:
    """The torch threads of the learner and of the reward worker.

    :param learner: asked for the learner (``--threads``; ``None``: 1, small networks train
        fastest on one).
    :param reward: asked for the worker (``--reward-threads``; ``None``: the cores the learner
        leaves, at least 1).
    :param cores: the cores the run may use.
    :returns: ``(learner, reward)``; with 2 cores and nothing asked, ``(1, 1)``.
    """
    mine = 1 if learner is None else int(learner)
    return mine, max(1, cores - mine) if reward is None else int(reward)


class RewardWorker:
    """Score batches of frames on one thread, in the order they are submitted.

    :param threads: torch CPU threads of the worker thread (``None``: torch's default).

    :meth:`submit` returns a :class:`~concurrent.futures.Future`; an exception inside the scorer
    is raised by its ``result()`` in the caller's thread, as in-line scoring would raise it.
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._jobs: queue.SimpleQueue[tuple[Score, np.ndarray, Future[np.ndarray]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def submit(self, score: Score, frames: np.ndarray) -> Future[np.ndarray]:
        """Queue ``score(frames)``; the caller must not change ``frames`` before the result.

        :param score: e.g. a :class:`~evalkit.train.clip_reward.BatchScorer`; while the worker
            lives, only its thread should call it.
        """
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="evalkit-reward-worker", daemon=True
            )
            self._thread.start()
        future: Future[np.ndarray] = Future()
        self._jobs.put((score, frames, future))
        return future

    def _run(self) -> None:
        if self.threads is not None:
            import torch

            torch.set_num_threads(self.threads)  # per thread: the learner's stays as it is
        while (job := self._jobs.get()) is not None:
            score, frames, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(score(frames))
            except BaseException as exc:  # handed to the main thread by result()
                future.set_exception(exc)

    def close(self) -> None:
        """Finish the queued batches and stop the thread (a no-op if it never started)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
