"""Heads and frame prototypes in the figures: histogram panels and scaling rows equal the
rewards of their sources, and EPIC computed directly on them."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_heads import TINY, embedded_sweep

from evalkit.heads import load_head
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline import align, histogram_data, scaling_data
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.prototypes import prototype_reward_source
from evalkit.vlm import embed_dataset, resolve


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return embedded_sweep(tmp_path_factory.mktemp("datasets"))


def test_histogram_of_a_frame_prototype_and_a_head(sweep, tmp_path):
    head = align(
        sweep, "cartpole", TINY, folds=3, n_bootstrap=0, devices="cpu", save_to=tmp_path / "h"
    )
    data = histogram_data(
        sweep,
        "cartpole",
        [TINY],
        alpha=0.5,
        devices="cpu",
        goal_frames="labels:rule",
        rewards=[f"head:{head.path}"],
    )
    proto_name, head_name = data.models
    assert proto_name.endswith("goal labels:rule") and head_name == "head h"
    y = dataset_labels(sweep, "cartpole").labels
    proto = prototype_reward_source(sweep, "cartpole", TINY, "labels:rule", alphas=[0.5]).values
    x = embed_dataset(sweep, resolve(TINY), progress=False).values
    for name, want in ((proto_name, proto[:, 0]), (head_name, load_head(head.path).reward(x))):
        rows = data.table[data.table["model"] == name]
        np.testing.assert_allclose(rows["reward"], want)
        assert np.array_equal(rows["label"], y)
        direct = epic_goal(want, y, episodes=sweep.episodes, bootstrap=BootstrapOptions(seed=0))
        assert data.epic[name].distance == pytest.approx(direct.distance, abs=1e-12)
        assert data.epic[name].interval == pytest.approx(direct.interval, abs=1e-12)


def test_scaling_of_a_frame_prototype(sweep):
    alphas = [0.0, 1.0]
    data = scaling_data(
        sweep, "cartpole", [TINY], alphas, n_bootstrap=100, devices="cpu", goal_frames="ids:50,60"
    )
    proto = prototype_reward_source(sweep, "cartpole", TINY, "ids:50,60", alphas=alphas).values
    y = dataset_labels(sweep, "cartpole").labels
    table = data.table.sort_values("alpha")
    assert list(table["alpha"]) == alphas
    for j, row in enumerate(table.itertuples()):
        direct = epic_goal(
            proto[:, j],
            y,
            episodes=sweep.episodes,
            bootstrap=BootstrapOptions(n_bootstrap=100, seed=0),
        )
        assert row.distance == pytest.approx(direct.distance, abs=1e-12)
        assert (row.low, row.high) == pytest.approx(direct.interval, abs=1e-12)
