"""A landscape of a reward over a rollout's steps (windows, whole episodes), and the sentence
that refuses such a reward on a sweep (its states have no order in time)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_vlm import make_dataset

from evalkit.errors import EvalkitError
from evalkit.pipeline import parse_reward
from evalkit.pipeline.figures import landscape_data

WINDOW = "window:3:2:avg:evalkit-tiny-vit:none"


def test_an_episode_over_its_steps_holds_the_kinds_own_rewards(datasets_root):
    ds = make_dataset(datasets_root, n=40)
    data = landscape_data(ds, "cartpole", None, [0.0], rewards=[WINDOW], episode=2)
    table = data.table
    assert list(table["state_value"]) == list(range(10))
    kind = parse_reward(WINDOW)
    values = kind.dataset_rewards(ds, "cartpole", progress=False).values[:, 0]
    rows = np.flatnonzero(ds.episodes == 2)
    rows = rows[np.argsort(ds.states["step"].to_numpy()[rows])]
    np.testing.assert_allclose(table["reward"].to_numpy(), values[rows])
    assert data.state_label == "step of episode 2" and data.goal_value is None


def test_a_window_on_a_sweep_or_a_missing_episode_is_one_sentence(datasets_root):
    ds = make_dataset(datasets_root, n=40)
    with pytest.raises(EvalkitError, match="a sweep's states have no order in time"):
        landscape_data(ds, "cartpole", None, [0.0], rewards=[WINDOW])
    with pytest.raises(EvalkitError, match="has no episode 7 \\(it has 4, from 0\\)"):
        landscape_data(ds, "cartpole", None, [0.0], rewards=[WINDOW], episode=7)


def test_cli_landscape_over_an_episode_and_its_bad_input(datasets_root, cli, tmp_path):
    make_dataset(datasets_root, name="roll", n=40)
    out = tmp_path / "land.png"
    r = cli(
        "landscape", "cartpole", "--dataset", "roll", "--episode", "1", "--reward", WINDOW,
        "--devices", "cpu", "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert out.exists() and "step of episode 1" in r.output
    r = cli("landscape", "cartpole", "--episode", "1", "--reward", WINDOW)
    assert r.exit_code == 2 and "name the rollout with --dataset" in r.output
    r = cli("landscape", "cartpole", "--reward", WINDOW)
    assert r.exit_code == 2 and "no order in time" in r.output
