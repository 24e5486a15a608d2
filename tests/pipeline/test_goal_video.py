"""--goal-video: a demonstration as the goal of window and episode rewards in epic, select and
train — the window reward against a demonstration computed by hand, the option equal to the
``|DEMO`` of the reward's text, and its bad input in one sentence each."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_vlm import make_dataset

from evalkit.errors import EvalkitError
from evalkit.pipeline import parse_reward
from evalkit.pipeline.reward_kinds import RewardContext
from evalkit.rewards import regularised_reward_naive, unit
from evalkit.tasks import get_task
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.window_cache import dataset_windows
from evalkit.vlm.windows import WindowSpec, episode_sample

TINY = "evalkit-tiny-vit"
AVG = f"avg:{TINY}:none"


def _averaged(frames: np.ndarray) -> np.ndarray:
    """Frame averaging by hand: the mean of the unit frame embeddings, normalised."""
    with ImageEmbedder(TINY, pretrained="none") as e:
        return unit(e.embed_frames(frames).astype(np.float64).mean(axis=0))


def test_a_window_reward_with_a_demonstration_goal_equals_the_hand_computation(datasets_root):
    ds = make_dataset(datasets_root, n=30)
    demo = make_dataset(datasets_root, name="demos", n=20, seed=5)
    kind = parse_reward(f"window:3:2:{AVG}", RewardContext(goal_video="demos@episode:1"))
    assert kind.canonical == f"window:3:2:{AVG}|demos@episode:1"
    assert parse_reward(kind.canonical) == kind
    source = kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False)
    goal = _averaged(demo.frames[10 + episode_sample(10, 3)])  # episode 1: rows 10..19
    with ImageEmbedder(TINY, pretrained="none") as e:
        base = e.embed_texts([get_task("cartpole").baseline_prompt])[0]
    rows = dataset_windows(ds, WindowSpec(3, 2))
    for i in (0, 1, 7, 12, 29):
        video = _averaged(ds.frames[rows[i]])
        expected = [regularised_reward_naive(video, goal, base, a) for a in kind.alphas]
        np.testing.assert_allclose(source.values[i], expected, atol=1e-5)
    plain = parse_reward(f"window:3:2:{AVG}").dataset_rewards(ds, "cartpole", progress=False)
    assert plain.identity != source.identity


def test_the_option_and_the_reward_text_name_the_same_reward():
    ctx = RewardContext(goal_video="d@episode:2")
    assert parse_reward(f"episode:{AVG}", ctx) == parse_reward(f"episode:{AVG}|d@episode:2")
    assert parse_reward(f"episode:{AVG}|d@episode:2", ctx).goal_video == "d@episode:2"


@pytest.mark.parametrize(
    "text,words",
    [
        ("clip", "--goal-video gives a video reward its goal"),
        ("head:x.json", "it does not apply to the reward head reward"),
        (f"episode:{AVG}|d@episode:1", "names its demonstration already; drop --goal-video"),
        (f"window:3:1:{AVG}|", "without a demonstration"),
    ],
)
def test_goal_video_where_it_does_not_apply_is_one_sentence(text, words):
    with pytest.raises(EvalkitError, match=words):
        parse_reward(text, RewardContext(model=TINY, goal_video="d@episode:2"))


def test_a_missing_or_short_demonstration_is_one_sentence(datasets_root, tmp_path):
    ds = make_dataset(datasets_root, n=30)
    make_dataset(datasets_root, name="short", n=12)  # episode 1 has 2 frames
    for demo, words in [
        ("short@episode:5", "has no episode 5"),
        ("short@episode:1", "has 2 frames, fewer than the 3 the model takes"),
        ("nosuch@episode:0", "nosuch"),
        (str(tmp_path / "nowhere"), "does not exist"),
    ]:
        kind = parse_reward(f"window:3:1:{AVG}", RewardContext(goal_video=demo))
        with pytest.raises(EvalkitError, match=words):
            kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False)


def test_epic_select_and_train_take_the_option(datasets_root, cli, tmp_path):
    make_dataset(datasets_root, name="toy", n=40)
    make_dataset(datasets_root, name="demos", n=20, seed=5)
    r = cli(
        "epic", "--dataset", "toy", "--task", "cartpole", "--reward", f"window:2:1:{AVG}",
        "--goal-video", "demos@episode:0", "--devices", "cpu", "--bootstrap", "0",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = cli(
        "select", "toy", "--task", "cartpole", "--model", TINY, "--pretrained", "none",
        "--windows", "2:1", "--goal-video", "demos@episode:0", "--alphas", "0", "--folds", "2",
        "--bootstrap", "0", "--json", "--no-save",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "window 2:1 demonstration demos@episode:0 α=0" in r.output
    r = cli(
        "select", "toy", "--task", "cartpole", "--model", TINY, "--goal-video", "demos@episode:0"
    )
    assert r.exit_code == 2 and "give the windows with --windows" in r.output
    r = cli(
        "train", "--task", "cartpole", "--model", TINY, "--pretrained", "none",
        "--goal-video", "demos@episode:0", "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert r.exit_code == 2 and "it does not apply to the CLIP reward" in r.output
