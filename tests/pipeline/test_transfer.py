"""Transfer: a head fitted on one dataset, scored on another of its family; another family refused."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError
from evalkit.heads import load_head
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline import align, head_reward_source
from evalkit.pipeline.heads import transfer
from evalkit.pipeline.labels import dataset_labels
from evalkit.vlm import ModelSpec, embed_dataset, resolve

TINY = ModelSpec("evalkit-tiny-vit", "none")


@pytest.fixture
def fitted(datasets_root, tmp_path):
    sweep = collect_sweep("cartpole", 120, 32, root=datasets_root, progress=False).dataset
    result = align(
        sweep,
        "cartpole",
        TINY,
        folds=3,
        n_bootstrap=100,
        devices="cpu",
        progress=False,
        save_to=tmp_path / "head",
    )
    return sweep, result


def test_transfer_equals_the_epic_of_the_heads_rewards_on_the_other_dataset(fitted, datasets_root):
    sweep, result = fitted
    other = collect_sweep(
        "cartpole", 80, 32, spacing="random", seed=5, name="cartpole-other", root=datasets_root,
        progress=False,
    ).dataset  # fmt: skip
    moved = transfer(result.path, other, "cartpole", n_bootstrap=100, seed=2, devices="cpu")
    x = embed_dataset(other, resolve(TINY), progress=False).values
    rewards = load_head(result.path).reward(x)
    labels = dataset_labels(other, "cartpole").labels
    want = epic_goal(
        rewards,
        labels,
        episodes=other.episodes,
        bootstrap=BootstrapOptions(n_bootstrap=100, seed=2),
    )
    assert moved.other.distance == pytest.approx(want.distance, abs=1e-12)
    assert moved.other.interval == pytest.approx(want.interval, abs=1e-12)
    assert moved.own_heldout[0] == pytest.approx(result.heldout.distance)
    assert moved.own_heldout[1] == pytest.approx(result.heldout.interval)
    text = moved.sentence()
    assert text.startswith(f"fitted on {sweep.name}: {result.heldout.distance:.3f}")
    assert "on cartpole-other: EPIC distance" in text


def test_a_head_on_another_family_is_refused_in_one_sentence(fitted, datasets_root, cli):
    _, result = fitted
    hills = collect_sweep("mountaincar", 20, 32, root=datasets_root, progress=False).dataset
    with pytest.raises(
        EvalkitError, match=r"was fitted on cartpole states .* cannot score dataset"
    ):
        head_reward_source(hills, result.path, devices="cpu", progress=False)
    r = cli(
        "align", "cartpole-sweep", "--task", "cartpole", "--model", "evalkit-tiny-vit",
        "--pretrained", "none", "--eval-dataset", hills.name,
    )  # fmt: skip
    assert r.exit_code == 2 and "holds mountaincar states, not cartpole ones" in r.output
    assert np.isfinite(result.heldout.distance)


@pytest.mark.slow
def test_cli_align_transfer_and_label_curve(cli, fitted, datasets_root, tmp_path):
    collect_sweep(
        "cartpole", 60, 32, spacing="random", seed=5, name="cartpole-other", root=datasets_root,
        progress=False,
    )  # fmt: skip
    out = tmp_path / "curve"
    r = cli(
        "align", "cartpole-sweep", "--task", "cartpole", "--model", "evalkit-tiny-vit",
        "--pretrained", "none", "--folds", "3", "--bootstrap", "100", "--devices", "cpu",
        "--eval-dataset", "cartpole-other", "--label-curve", "--curve-repeats", "2",
        "--curve-out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "transfer: fitted on cartpole-sweep:" in r.output and "on cartpole-other:" in r.output
    assert "How many labels" in r.output and "labelled episodes" in r.output
    assert (tmp_path / "curve.png").is_file() and (tmp_path / "curve.svg").is_file()
