"""``--spacing box``: states drawn uniformly over a family's whole state box (issue 15)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers_envs import small_sweep

from evalkit.data.store import open_dataset
from evalkit.envs.classic import CartPoleEnv
from evalkit.envs.family import SweepSpec
from evalkit.errors import EvalkitError
from evalkit.tasks import FAMILIES

CARTPOLE_BOX = {
    "cart_position": (-1.6, 1.6),
    "cart_velocity": (-2.0, 2.0),
    "angle": (-math.pi, math.pi),
    "angular_velocity": (-4.0, 4.0),
}


def test_the_cartpole_box_is_the_visible_track_and_every_angle():
    assert dict(FAMILIES["cartpole"].sweep.box) == CARTPOLE_BOX
    assert set(FAMILIES["mountaincar"].sweep.box) == {"position", "velocity"}


def test_box_states_cover_every_column_uniformly_seeded_and_sorted():
    spec = FAMILIES["cartpole"].sweep
    states = spec.states(20000, "box", seed=3)
    assert set(states.columns) == set(CartPoleEnv.state_columns)
    assert (np.diff(states["angle"]) >= 0).all()  # frame order follows the axis
    for column, (low, high) in CARTPOLE_BOX.items():
        v = states[column].to_numpy()
        assert v.min() >= low and v.max() < high
        counts, _ = np.histogram(v, bins=10, range=(low, high))
        # 2000 expected per bin; a uniform sample stays well within ±200 (≈ 4.7 std)
        assert np.abs(counts - 2000).max() < 200, column
    # the columns are independent draws: no correlation between any two
    corr = np.corrcoef(states[list(CARTPOLE_BOX)].to_numpy().T)
    assert np.abs(corr - np.eye(4)).max() < 0.05
    np.testing.assert_array_equal(states, spec.states(20000, "box", seed=3))
    assert not np.array_equal(states, spec.states(20000, "box", seed=4))


def test_a_sweep_without_a_box_refuses_box_spacing():
    with pytest.raises(EvalkitError, match="no state box"):
        SweepSpec("x", 0.0, 1.0).states(5, "box")


def test_box_dataset_frames_labels_episodes_and_name(datasets_root):
    result = small_sweep("cartpole", datasets_root, n=300, size=32, spacing="box", seed=1)
    ds = result.dataset
    assert ds.name == "cartpole-sweep-box" and len(ds) == 300
    s = ds.states
    # every frame its own episode (independent states), so episode-grouped folds split frames
    np.testing.assert_array_equal(s["episode"], np.arange(300))
    assert ds.manifest.n_episodes == 300
    assert ds.manifest.params["spacing"] == "box"
    assert ds.manifest.params["box"] == {k: list(v) for k, v in CARTPOLE_BOX.items()}
    # the cart moves and the pole swings all the way round
    assert s["cart_position"].min() < -1.2 and s["cart_position"].max() > 1.2
    assert s["angle"].min() < -2.5 and s["angle"].max() > 2.5
    assert s["cart_velocity"].std() > 0.5 and s["angular_velocity"].std() > 1.0
    # rule labels: |angle| <= 12° (every cart is on the track inside the box)
    expected = np.abs(s["angle"].to_numpy()) <= math.radians(12)
    np.testing.assert_array_equal(ds.labels("cartpole"), expected)
    assert 0 < expected.sum() < 60 and result.goal_counts == {"cartpole": int(expected.sum())}
    # frames are what the environment renders for the recorded state
    env = CartPoleEnv(render_mode="rgb_array", width=32, height=32)
    for i in (0, 150, 299):
        env.set_state(s.loc[i, list(env.state_columns)].to_dict())
        np.testing.assert_array_equal(ds.frames[i], env.render())


def test_box_spacing_of_a_family_without_a_box_is_one_sentence(datasets_root, monkeypatch):
    from dataclasses import replace

    family = FAMILIES["cartpole"]
    monkeypatch.setitem(FAMILIES, "cartpole", replace(family, sweep=replace(family.sweep, box={})))
    with pytest.raises(
        EvalkitError, match="cartpole has no state box.*families with one: mountaincar"
    ):
        small_sweep("cartpole", datasets_root, n=10, spacing="box")


def test_cli_collect_box(cli, datasets_root):
    result = cli("collect", "cartpole", "--spacing", "box", "--n", "40", "--size", "32")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("cartpole-sweep-box: 40 frames 32x32")
    assert open_dataset("cartpole-sweep-box").manifest.params["spacing"] == "box"
    grid = cli("collect", "cartpole", "--n", "40", "--size", "32")  # the grid sweep: its own name
    assert grid.exit_code == 0 and "cartpole-sweep:" in grid.stdout
    help_text = cli("collect", "cartpole", "--help").stdout
    assert "box" in help_text and "cart_position in [-1.6, 1.6]" in help_text
