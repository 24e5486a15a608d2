"""Instruction confusion of a reward model across tasks: every task's episodes under every task's
prompt (as in ReWiND and Robometer), what ``evalkit confusion`` runs.

It is not a panel metric: the panel measures one reward column on one dataset, while confusion
needs the rewards of several datasets (one per task, each holding that task's episodes) under
several prompts. :func:`dataset_confusion` scores every episode of every dataset under every
task's prompt (the episode's **mean** reward, so episodes of different lengths compare) and hands
the ``(episodes, prompts)`` matrix to :func:`evalkit.metrics.confusion.instruction_confusion`:
the confusion matrix, the per-episode accuracy of "its own prompt scores highest" (ties shared)
and margin, with percentile-bootstrap intervals over episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from evalkit.data.store import Dataset
from evalkit.errors import DatasetError, EvalkitError
from evalkit.metrics.confusion import ConfusionResult, instruction_confusion
from evalkit.tasks import get_task


@dataclass(frozen=True)
class DatasetConfusion:
    """Instruction confusion of one reward on several tasks' datasets.

    :ivar tasks: the prompts' tasks, in matrix order (row ``i``: episodes of ``tasks[i]``).
    :ivar datasets: the dataset of each task.
    :ivar scores: ``(n_episodes, n_tasks)`` mean reward of every episode under every prompt.
    :ivar own: each episode's own task index.
    :ivar result: the matrix, per-episode accuracy and margin, and their intervals.
    :ivar reward: the reward in words (model and weights).
    :ivar random_weights: the model has random weights (its numbers mean nothing).
    """

    tasks: tuple[str, ...]
    datasets: tuple[str, ...]
    scores: np.ndarray
    own: np.ndarray
    result: ConfusionResult
    reward: str = ""
    random_weights: bool = False


def episode_means(values: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """The mean of ``values`` over each episode's frames, episodes in sorted id order."""
    _, inverse, counts = np.unique(episodes, return_inverse=True, return_counts=True)
    return np.bincount(inverse.ravel(), weights=values) / counts


def dataset_confusion(
    datasets: Sequence[Dataset],
    tasks: Sequence[str],
    reward: Any,
    *,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    **embed: Any,
) -> DatasetConfusion:
    """Score every episode of ``datasets[i]`` (episodes of ``tasks[i]``) under every task's prompt.

    :param datasets: one dataset per task (several tasks may not share one: each episode's own
        task is its dataset's).
    :param tasks: the tasks, at least two, of one family.
    :param reward: a :class:`~evalkit.pipeline.reward_kinds.RewardKind` scoring a dataset for a
        task (its first column is used: one α).
    :param embed: passed to the embedding engine (``devices``, ``batch_size``, ``progress``).
    :raises EvalkitError: counts that differ, a repeated task, or a dataset of another family.
    """
    if len(datasets) != len(tasks):
        raise EvalkitError(
            f"Give one dataset per task: {len(tasks)} tasks but {len(datasets)} datasets."
        )
    if len(set(tasks)) != len(tasks):
        raise EvalkitError("Each task may be named once: its episodes are one row of the matrix.")
    for name in tasks:
        for ds in datasets:
            task = get_task(name)
            if task.family != ds.family:
                raise DatasetError(
                    f"Dataset {ds.name!r} holds {ds.family} states but task {name!r} runs on "
                    f"{task.family}; every dataset must be scored under every task's prompt."
                )
    if n_bootstrap <= 0:
        raise EvalkitError("--bootstrap must be positive: the accuracy and margin need intervals.")
    rows, own, source = [], [], None
    for i, ds in enumerate(datasets):
        per_prompt = []
        for name in tasks:
            source = reward.dataset_rewards(ds, name, **embed)
            values = np.asarray(source.values, dtype=float).reshape(len(ds), -1)[:, 0]
            per_prompt.append(episode_means(values, ds.episodes))
        scores = np.stack(per_prompt, axis=1)
        rows.append(scores)
        own.append(np.full(len(scores), i))
    matrix, owner = np.concatenate(rows), np.concatenate(own)
    result = instruction_confusion(matrix, owner, n_bootstrap, confidence, seed)
    return DatasetConfusion(
        tuple(tasks),
        tuple(ds.name for ds in datasets),
        matrix,
        owner,
        result,
        reward="" if source is None else source.describe(),
        random_weights=bool(source is not None and source.random_weights),
    )
