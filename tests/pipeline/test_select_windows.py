"""evalkit select with windows (frames and stride) as candidates beside prompts and α: the
window candidates equal the window reward kind's own rewards, and the bad input."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_vlm import make_dataset

from evalkit.errors import EvalkitError
from evalkit.pipeline import parse_reward
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.selection import CandidateGroup, select, select_rewards
from evalkit.vlm import ModelSpec
from evalkit.vlm.windows import WindowSpec, parse_window

TINY = ModelSpec("evalkit-tiny-vit", "none")
ALPHAS = (0.0, 1.0)


def test_window_candidates_are_the_window_rewards_of_the_labelled_frames(datasets_root):
    ds = make_dataset(datasets_root, n=80)  # 8 episodes of 10 steps
    windows = [WindowSpec(2, 1), WindowSpec(3, 2)]
    got = select(ds, "cartpole", TINY, (), ALPHAS, windows=windows, folds=2, n_bootstrap=0)
    goal = dataset_labels(ds, "cartpole")
    ids = goal.frame_ids
    groups = []
    for w in windows:
        kind = parse_reward(f"window:{w.frames}:{w.stride}:avg:evalkit-tiny-vit:none")
        kind = type(kind)(kind.frames, kind.stride, kind.model, ALPHAS)
        values = kind.dataset_rewards(ds, "cartpole", progress=False).values[ids]
        groups.append(CandidateGroup("window", ("a", "b"), fixed=values))
    oracle = select_rewards(groups, goal.labels[ids], ds.episodes[ids], folds=2, n_bootstrap=0)
    r = got.result
    assert r.names == (
        "window 2:1 α=0",
        "window 2:1 α=1",
        "window 3:2 α=0",
        "window 3:2 α=1",
    )
    assert r.kinds == ("window",) * 4 and got.windows == ("2:1", "3:2")
    np.testing.assert_allclose(r.fold_heldout, oracle.fold_heldout, equal_nan=True)
    assert r.winner == oracle.winner and r.picks == oracle.picks


def test_prompts_are_tried_in_every_window_and_as_single_frames(datasets_root):
    from evalkit.vlm import embed_dataset

    ds = make_dataset(datasets_root, n=80)
    embed_dataset(ds, TINY, progress=False)
    got = select(
        ds, "cartpole", TINY, ["a pole"], (0.5,), windows=[WindowSpec(2, 1)], folds=2, n_bootstrap=0
    )
    assert got.result.names == ("prompt 'a pole' α=0.5", "window 2:1 prompt 'a pole' α=0.5")


@pytest.mark.parametrize(
    "text,words",
    [
        ("0:1", "frames must be a whole number of at least 1"),
        ("2:0", "stride must be a whole number of at least 1"),
        ("two", "A window is FRAMES:STRIDE"),
        ("2:-1", "A window is FRAMES:STRIDE"),
    ],
)
def test_a_bad_window_is_one_sentence(text, words):
    with pytest.raises(EvalkitError, match=words):
        parse_window(text)


def test_windows_longer_than_every_episode_or_with_frame_candidates_of_a_video_model(
    datasets_root,
):
    ds = make_dataset(datasets_root, n=80)
    with pytest.raises(EvalkitError, match="spans 19 steps, more than the longest episode's 10"):
        select(ds, "cartpole", TINY, (), ALPHAS, windows=[WindowSpec(10, 2)], folds=2)
    video = ModelSpec.coerce("avg:evalkit-tiny-vit", "none")
    with pytest.raises(EvalkitError, match="embeds windows, not single frames: give the windows"):
        select(ds, "cartpole", video, ["a pole"], ALPHAS, folds=2)
    with pytest.raises(EvalkitError, match="--heads need an image model"):
        select(ds, "cartpole", video, (), ALPHAS, heads=True, windows=[WindowSpec(2)], folds=2)
