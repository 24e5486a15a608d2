"""Instruction confusion across datasets (evalkit.pipeline.confusion) against naive loops, with a
hand-made reward standing in for a model (every dataset scored under every task's prompt)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from evalkit.errors import DatasetError, DegenerateError, EvalkitError
from evalkit.pipeline.confusion import dataset_confusion


@dataclass
class FakeDataset:
    name: str
    family: str
    episodes: np.ndarray

    def __len__(self) -> int:
        return len(self.episodes)


@dataclass
class Scored:
    values: np.ndarray
    random_weights: bool = False

    def describe(self) -> str:
        return "hand-made"


class TableReward:
    """The reward of frame ``f`` of dataset ``d`` under task ``t``: ``table[d][t][f]``."""

    def __init__(self, table):
        self.table = table

    def dataset_rewards(self, dataset, task, **embed):
        return Scored(np.asarray(self.table[dataset.name][task], dtype=float)[:, None])


TASKS = ["drawer-open", "drawer-close"]


@pytest.fixture
def two():
    a = FakeDataset("a", "metaworld", np.array([0, 0, 1, 1, 1]))
    b = FakeDataset("b", "metaworld", np.array([5, 5, 7, 7]))
    table = {
        "a": {"drawer-open": [1, 3, 2, 2, 2], "drawer-close": [0, 0, 2, 2, 2]},
        "b": {"drawer-open": [1, 1, 0, 0], "drawer-close": [2, 2, 0, 0]},
    }
    return [a, b], TableReward(table)


def test_matrix_accuracy_and_margin_equal_naive_loops(two):
    datasets, reward = two
    run = dataset_confusion(datasets, TASKS, reward, n_bootstrap=200, seed=1)
    # episode means: a0 (2, 0), a1 (2, 2) tie, b5 (1, 2), b7 (0, 0) tie
    scores = [[2, 0], [2, 2], [1, 2], [0, 0]]
    own = [0, 0, 1, 1]
    np.testing.assert_allclose(run.scores, scores)
    for i in range(2):
        for j in range(2):
            cell = np.mean([s[j] for s, o in zip(scores, own) if o == i])
            assert run.result.matrix[i, j] == pytest.approx(cell)
    np.testing.assert_allclose(run.result.accuracy, [1, 0.5, 1, 0.5])
    np.testing.assert_allclose(run.result.margin, [2, 0, 1, 0])
    lo, hi = run.result.accuracy_ci
    assert lo <= run.result.mean_accuracy <= hi
    assert run.tasks == tuple(TASKS) and run.datasets == ("a", "b")


def test_bad_input_is_one_sentence(two):
    datasets, reward = two
    with pytest.raises(EvalkitError, match="one dataset per task"):
        dataset_confusion(datasets[:1], TASKS, reward)
    with pytest.raises(EvalkitError, match="named once"):
        dataset_confusion(datasets, ["drawer-open", "drawer-open"], reward)
    with pytest.raises(DatasetError, match="holds cartpole states"):
        dataset_confusion([datasets[0], FakeDataset("c", "cartpole", np.zeros(2))], TASKS, reward)
    with pytest.raises(DegenerateError, match="at least two prompts"):
        dataset_confusion(datasets[:1], TASKS[:1], reward)
