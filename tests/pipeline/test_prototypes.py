"""Goals from example frames: the prototype reward equals Definition 1 with the prototype as g."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError
from evalkit.pipeline.prototypes import FrameSet, prototype_reward_source
from evalkit.pipeline.rewards import text_embeddings
from evalkit.rewards import regularised_reward_naive
from evalkit.vlm import ModelSpec, embed_dataset, resolve

TINY = ModelSpec("evalkit-tiny-vit", "none")


@pytest.fixture
def sweep(datasets_root):
    return collect_sweep("cartpole", 30, 32, root=datasets_root, progress=False).dataset


def _unit(v):
    return v / np.linalg.norm(v)


def test_prototype_reward_is_definition_1_with_the_mean_of_the_goal_frames(sweep):
    src = prototype_reward_source(
        sweep, "cartpole", TINY, "ids:14,15", alphas=(0.0, 0.5, 1.0), devices="cpu", progress=False
    )
    s = embed_dataset(sweep, resolve(TINY), progress=False).values.astype(np.float64)
    g = _unit(_unit(s[14]) + _unit(s[15]))
    b = _unit(
        text_embeddings(sweep, resolve(TINY), ["pole and cart"], devices="cpu")[0].astype(
            np.float64
        )
    )
    want = np.array([[regularised_reward_naive(x, g, b, a) for a in (0.0, 0.5, 1.0)] for x in s])
    np.testing.assert_allclose(src.values, want, atol=2e-6)
    assert src.kind == "prototype" and "goal ids:14,15" in src.describe()


def test_rule_labels_and_a_folder_of_images_as_goal_and_baseline(sweep, tmp_path):
    folder = tmp_path / "goal"
    folder.mkdir()
    frames = np.asarray(sweep.frames)
    Image.fromarray(frames[15]).save(folder / "a.png")
    Image.fromarray(frames[15]).resize((64, 48)).save(folder / "b.jpg")  # another size
    src = prototype_reward_source(
        sweep,
        "cartpole",
        TINY,
        str(folder),
        "labels:rule",
        alphas=(1.0,),
        devices="cpu",
        progress=False,
    )
    assert src.values.shape == (30, 1) and np.all(np.isfinite(src.values))
    (folder / "notes.txt").write_text("x")
    with pytest.raises(EvalkitError, match="is not an image"):
        prototype_reward_source(sweep, "cartpole", TINY, str(folder), devices="cpu", progress=False)


@pytest.mark.parametrize(
    "text, message",
    [
        ("ids:1,x", "whole numbers"),
        ("ids:", "names no frame ids"),
        ("labels:", "names no label set"),
        ("somewhere", "is not a frame set"),
    ],
)
def test_bad_frame_sets(text, message):
    with pytest.raises(EvalkitError, match=message):
        FrameSet.parse(text)


def test_a_frame_that_does_not_exist(sweep):
    with pytest.raises(EvalkitError, match="Frame 99 does not exist in dataset 'cartpole-sweep'"):
        FrameSet.parse("ids:99").frames(sweep, "cartpole")


def test_cli_epic_with_goal_frames(cli, sweep):
    model = ("--model", "evalkit-tiny-vit", "--pretrained", "none")
    r = cli(
        "epic",
        "--task",
        "cartpole",
        *model,
        "--goal-frames",
        "ids:14,15",
        "--alpha",
        "0,1",
        "--bootstrap",
        "0",
        "--devices",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    assert (
        "frame-prototype reward of evalkit-tiny-vit (goal ids:14,15, baseline prompt:pole and cart)"
        in r.output
    )
    r = cli("epic", "--task", "cartpole", "--reward", "x:y", "--goal-frames", "ids:1")
    assert r.exit_code == 2 and "need --model" in r.output


def test_landscape_with_goal_frames(cli, sweep, tmp_path):
    out = tmp_path / "land.png"
    r = cli(
        "landscape",
        "cartpole",
        "--model",
        "evalkit-tiny-vit",
        "--pretrained",
        "none",
        "--goal-frames",
        "ids:14,15",
        "--alpha",
        "0,1",
        "--out",
        str(out),
        "--devices",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 5_000
    from evalkit.pipeline.figures import landscape_data

    data = landscape_data(sweep, "cartpole", TINY, [0.0], goal_frames="ids:14,15", devices="cpu")
    src = prototype_reward_source(
        sweep, "cartpole", TINY, "ids:14,15", alphas=(0.0,), devices="cpu", progress=False
    )
    np.testing.assert_array_equal(data.table["reward"].to_numpy(), src.values[:, 0])
