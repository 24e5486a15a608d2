"""EPIC of a reward source against a dataset's goal labels: what ``evalkit epic`` runs.

:func:`evaluate_rewards` measures each reward of a :class:`~evalkit.pipeline.sources.RewardSource`
against a label set with :func:`evalkit.epic.epic_goal_columns` (episodes of the dataset as the
bootstrap unit) and, when asked (``save=True``), saves the rows to the dataset's results table
(:mod:`evalkit.pipeline.results`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit import __version__
from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.epic.goal import epic_goal_columns
from evalkit.epic.results import GoalEpicResult
from evalkit.errors import DatasetError, DegenerateError
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.results import result_row, upsert_epic_results
from evalkit.pipeline.sources import RewardSource
from evalkit.tasks import get_task


@dataclass(frozen=True)
class DatasetEpic:
    """EPIC results of one reward source on one dataset, task and label set.

    :ivar results: one :class:`GoalEpicResult` per reward column (per α).
    :ivar saved_to: the results table written, or ``None`` if not saved.
    """

    dataset: str
    dataset_hash: str
    task: str
    label_set: str
    source: RewardSource
    results: list[GoalEpicResult]
    saved_to: Path | None = None
    labels_hash: str = ""

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows, as saved in the results table."""
        s = self.source
        return [
            result_row(
                r,
                task=self.task,
                label_set=self.label_set,
                reward_source=s.source,
                model=s.model,
                pretrained=s.pretrained,
                alpha=math.nan if a is None else float(a),
                model_identity=s.model_identity,
                random_weights=s.random_weights,
                dataset=self.dataset,
                dataset_hash=self.dataset_hash,
                labels_hash=self.labels_hash,
                reward_identity=s.identity,
                evalkit_version=__version__,
            )
            for r, a in zip(self.results, s.alphas)
        ]

    def table(self) -> pd.DataFrame:
        """:meth:`rows` as a DataFrame."""
        return pd.DataFrame(self.rows())


def evaluate_rewards(
    dataset: Dataset,
    task: str,
    source: RewardSource,
    *,
    label_set: str = RULE_LABELS,
    weights: np.ndarray | None = None,
    n_bootstrap: int = 2000,
    ci_method: str = "bca",
    confidence: float = 0.95,
    seed: int = 0,
    save: bool = False,
) -> DatasetEpic:
    """EPIC distance of each reward of ``source`` to the dataset's goal labels for ``task``.

    :param label_set: ``"rule"`` (computed from states), ``"human"`` (majority vote of the human
        labellers), ``"human-NAME"`` or a labeller's name, or another stored set. Only the frames
        the set labels are evaluated (human labels rarely cover a whole dataset).
    :param weights: optional frame weights (the state distribution μ); default equal.
    :param save: upsert the rows into ``<dataset>/results/epic.parquet`` (default: write nothing).
    :raises DegenerateError: with the dataset, task and label set named, when EPIC is undefined.
    """
    t = get_task(task)
    if t.family != dataset.family:
        raise DatasetError(
            f"Dataset {dataset.name!r} holds {dataset.family} states but task {task!r} runs on "
            f"{t.family}; pass a {t.family} dataset with --dataset (default: {t.env.default_dataset})."
        )
    values = np.asarray(source.values, dtype=float)
    if values.shape[0] != len(dataset):
        raise DegenerateError(
            f"There are {values.shape[0]} rewards but dataset {dataset.name!r} has {len(dataset)} frames."
        )
    # Human label sets usually cover part of the dataset: evaluate on the labelled frames.
    goal = dataset_labels(dataset, task, label_set)
    frame_ids, labels = goal.frame_ids, goal.labels[goal.mask]
    values = values[frame_ids]
    weights = None if weights is None else np.asarray(weights)[frame_ids]
    try:
        results = epic_goal_columns(
            values,
            labels,
            weights,
            dataset.episodes[frame_ids],
            n_bootstrap=n_bootstrap,
            ci_method=ci_method,
            confidence=confidence,
            seed=seed,
            names=source.column_names(),
        )
    except DegenerateError as exc:
        raise DegenerateError(
            f"Task {task!r}, labels {label_set!r}, dataset {dataset.name!r}: {exc}"
        ) from None
    run = DatasetEpic(
        dataset=dataset.name,
        dataset_hash=dataset.content_hash,
        task=task,
        label_set=label_set,
        source=source,
        results=list(results),
        labels_hash=goal.content_hash,
    )
    if save:
        run = replace(run, saved_to=upsert_epic_results(dataset.path, run.rows()))
    return run
