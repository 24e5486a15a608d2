"""A dataset's goal labels for a task, from any label set, in one call: :func:`dataset_labels`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.fileio import digest
from evalkit.labels.sets import labelled_subset


@dataclass(frozen=True)
class DatasetLabels:
    """Goal labels of every frame of a dataset for one task, and which frames a label set labels.

    :ivar labels: ``(n,)`` bool, the goal label of each frame (``False`` where unlabelled).
    :ivar mask: ``(n,)`` bool, whether the label set labels the frame (all ``True`` for rule labels).
    """

    task: str
    label_set: str
    labels: np.ndarray
    mask: np.ndarray

    @property
    def frame_ids(self) -> np.ndarray:
        """Ids of the labelled frames, in frame order."""
        return np.flatnonzero(self.mask)

    @property
    def content_hash(self) -> str:
        """A hash of which frames are labelled and how: results record it, so that a result
        computed on other labels (a human labelled more frames since) is never shown as current."""
        ids = self.frame_ids.astype("<i8")
        return digest(self.task, ids.tobytes(), self.labels[ids].astype(np.uint8).tobytes())

    def counts(self) -> tuple[int, int]:
        """Goal and non-goal frames among the labelled ones."""
        goal = int(self.labels[self.mask].sum())
        return goal, int(self.mask.sum()) - goal


def dataset_labels(dataset: Dataset, task: str, labels: str = RULE_LABELS) -> DatasetLabels:
    """Goal labels of ``dataset`` for ``task`` from the label set ``labels``.

    ``"rule"`` labels every frame from the states; ``"human"`` (majority vote) and
    ``"human-<labeller>"`` are read fresh from the label journal when the dataset has one (see
    :func:`evalkit.labels.sets.labelled_subset`); any other name is a stored label set.
    """
    frame_ids, goal = labelled_subset(dataset, task, labels)
    mask = np.zeros(len(dataset), dtype=bool)
    mask[frame_ids] = True
    values = np.zeros(len(dataset), dtype=bool)
    values[frame_ids] = goal
    return DatasetLabels(task=task, label_set=labels, labels=values, mask=mask)
