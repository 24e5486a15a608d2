"""A reward head in the landscape and scaling figures: its line equals the head applied to the
sweep's cached embeddings, its scaling point equals the goal EPIC of those rewards."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from helpers_heads import TINY, embedded_sweep
from safetensors.numpy import load_file

from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline import align, landscape_data, scaling_data
from evalkit.pipeline.labels import dataset_labels
from evalkit.plots import landscape_caption, plot_landscape, plot_scaling_by_model
from evalkit.plots.scaling import HEAD_GID, plot_scaling_by_size
from evalkit.vlm import embed_dataset, resolve


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return embedded_sweep(tmp_path_factory.mktemp("datasets"))


@pytest.fixture(scope="module")
def head(sweep, tmp_path_factory):
    path = tmp_path_factory.mktemp("heads") / "upright"
    return align(sweep, "cartpole", TINY, folds=3, n_bootstrap=0, devices="cpu", save_to=path).path


def _head_by_hand(sweep, head_json):
    """σ(w·x + b) with the weights and bias read from the head's files (numpy only)."""
    meta = json.loads(head_json.read_text())
    w = load_file(str(head_json.with_suffix(".safetensors")))["weights"]
    x = embed_dataset(sweep, resolve(TINY), progress=False).values.astype(np.float64)
    return 1.0 / (1.0 + np.exp(-(x @ w + meta["bias"])))


def test_landscape_of_a_head_is_the_head_on_the_cached_embeddings(sweep, head):
    data = landscape_data(sweep, "cartpole", None, [0.0], rewards=[f"head:{head}"])
    assert set(data.table["series"]) == {"head upright"}
    assert data.table["alpha"].isna().all()
    np.testing.assert_allclose(data.table["reward"], _head_by_hand(sweep, head), rtol=1e-9)
    np.testing.assert_array_equal(data.table["state_value"], sweep.states["angle"])
    assert data.heads == ["head upright (evalkit-tiny-vit (none))"]
    assert "head upright" in data.title
    fig = plot_landscape(data.table, data.state_label, data.goal_value)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines if line.get_label() != "goal"] == ["head upright"]
    assert ax.get_ylabel().endswith("per line)")
    caption = landscape_caption(data.state_label, 0.0, heads=data.heads, clip=False)
    assert "head upright (evalkit-tiny-vit (none))" in caption and "α does not apply" in caption


def test_landscape_of_a_head_beside_the_text_prompt(sweep, head):
    data = landscape_data(sweep, "cartpole", TINY, [0.0, 1.0], rewards=[f"head:{head}"])
    assert list(dict.fromkeys(data.table["series"])) == ["α = 0", "α = 1", "head upright"]
    fig = plot_landscape(data.table, data.state_label, data.goal_value)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels[:3] == ["α = 0", "α = 1", "head upright"]
    rows = data.table[data.table["series"] == "head upright"]
    np.testing.assert_allclose(rows["reward"], _head_by_hand(sweep, head), rtol=1e-9)


def test_landscape_cli_with_a_head(cli, sweep, head, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_DATASETS", str(sweep.path.parent))
    out = tmp_path / "land.png"
    r = cli(
        "landscape", "cartpole", "--reward", f"head:{head}", "--alpha", "0.5", "--out", str(out)
    )
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 5_000
    assert "a reward head has no α" in r.output and "Score of reward head head upright" in r.output
    r = cli("landscape", "cartpole", "--reward", f"head:{head}", "--goal-frames", "ids:1")
    assert r.exit_code != 0 and "need --model" in r.output


def test_scaling_point_of_a_head_is_epic_goal_of_its_rewards(sweep, head):
    data = scaling_data(
        sweep, "cartpole", [TINY], [0.0], n_bootstrap=100, devices="cpu", rewards=[f"head:{head}"]
    )
    table = data.table
    point = table[table["head"] == "head upright"]
    assert len(point) == 1 and np.isnan(point["alpha"].iloc[0])
    clip = table[table["head"] == ""]
    assert point["model"].iloc[0] == clip["model"].iloc[0]
    assert point["params"].iloc[0] == clip["params"].iloc[0]
    y = dataset_labels(sweep, "cartpole").labels
    direct = epic_goal(
        _head_by_hand(sweep, head),
        y,
        episodes=sweep.episodes,
        bootstrap=BootstrapOptions(n_bootstrap=100),
    )
    assert point["distance"].iloc[0] == pytest.approx(direct.distance, abs=1e-9)
    assert (point["low"].iloc[0], point["high"].iloc[0]) == pytest.approx(direct.interval, abs=1e-9)
    for plot in (plot_scaling_by_model, plot_scaling_by_size):
        fig = plot(table)
        ax = fig.axes[0]
        heads = [line for line in ax.lines if line.get_gid() == HEAD_GID]
        assert len(heads) == 1 and heads[0].get_marker() == "*"
        assert heads[0].get_ydata()[0] == pytest.approx(direct.distance, abs=1e-9)
        assert "head upright (evalkit-tiny-vit)" in [t.get_text() for t in fig.legends[0].texts]


def test_scaling_refuses_a_function_reward(sweep):
    from evalkit.errors import EvalkitError

    with pytest.raises(EvalkitError, match="not a head"):
        scaling_data(sweep, "cartpole", [TINY], [0.0], rewards=["mod:fn"])


def test_scaling_cli_with_a_head(cli, sweep, head, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_DATASETS", str(sweep.path.parent))
    args = "scaling --task cartpole --models evalkit-tiny-vit --pretrained none --alpha 0 --bootstrap 100"
    out = str(tmp_path / "scaling.png")
    r = cli(*args.split(), "--dataset", sweep.name, "--reward", f"head:{head}", "--out", out)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "scaling_by_model.png").stat().st_size > 5_000
    assert "head upright (evalkit-tiny-vit): epic" in r.output


def test_histogram_axis_is_labelled_by_reward_kind():
    import pandas as pd

    from evalkit.pipeline.reward_kinds import FramePrototypeReward, HeadReward, TextPromptReward
    from evalkit.plots import plot_histograms

    table = pd.DataFrame(
        {"model": ["a"] * 4 + ["b"] * 4 + ["c"] * 4, "reward": range(12), "label": [0, 1] * 6}
    )
    fig = plot_histograms(
        table,
        reward_labels={
            "a": TextPromptReward.axis_label,
            "b": HeadReward.axis_label,
            "c": FramePrototypeReward.axis_label,
        },
    )
    assert [ax.get_xlabel() for ax in fig.axes[:3]] == [
        "CLIP reward",
        "head score",
        "prototype reward",
    ]


def test_a_landscape_of_a_box_dataset_warns_that_other_variables_vary(tmp_path):
    from helpers_envs import small_sweep

    box = small_sweep("cartpole", tmp_path / "datasets", n=12, spacing="box", seed=1).dataset
    with pytest.warns(UserWarning, match="--spacing box.*pole angle"):
        landscape_data(box, "cartpole", TINY, [0.0], devices="cpu")
    grid = small_sweep("cartpole", tmp_path / "datasets", n=12).dataset
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sweep draws without the warning
        landscape_data(grid, "cartpole", TINY, [0.0], devices="cpu")
