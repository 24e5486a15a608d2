"""The episode reward kind (RoboCLIP's sparse reward): the reward lands on each episode's last
step only and equals Definition 1 computed by hand on the stored episode (frames picked by
the sampling formula, averaged by hand); a demonstration as the goal; its bad input."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_vlm import make_dataset, random_frames

from evalkit.errors import EvalkitError
from evalkit.pipeline import parse_reward
from evalkit.pipeline.episode_reward import (
    DEFAULT_EPISODE_FRAMES,
    EpisodeReward,
    episode_rows,
)
from evalkit.rewards import regularised_reward_naive, unit
from evalkit.tasks import get_task
from evalkit.vlm.embedder import ImageEmbedder

TINY = "evalkit-tiny-vit"
AVG = f"avg:{TINY}:none"


def _sampled(length: int, count: int) -> list[int]:
    """Evenly spaced indices, first and last included, rounded half up (by hand)."""
    return [int(np.floor(i * (length - 1) / (count - 1) + 0.5)) for i in range(count)]


def _averaged(frames: np.ndarray) -> np.ndarray:
    """Frame averaging by hand: the mean of the image model's unit frame embeddings, normalised."""
    with ImageEmbedder(TINY, pretrained="none") as e:
        return unit(e.embed_frames(frames).astype(np.float64).mean(axis=0))


def _texts() -> tuple[np.ndarray, np.ndarray]:
    t = get_task("cartpole")
    with ImageEmbedder(TINY, pretrained="none") as e:
        goal, base = e.embed_texts([t.goal_prompt, t.baseline_prompt])
    return goal, base


def test_episode_rows_match_a_naive_loop_on_shuffled_rows():
    rng = np.random.default_rng(1)
    lengths = {3: 9, 7: 4, 11: 15}
    episodes = np.concatenate([[e] * n for e, n in lengths.items()])
    steps = np.concatenate(
        [np.arange(n) + 5 for n in lengths.values()]
    )  # steps need not start at 0
    perm = rng.permutation(len(episodes))
    episodes, steps = episodes[perm], steps[perm]
    ids, rows, last = episode_rows(episodes, steps, 4)
    assert list(ids) == [3, 7, 11]
    for i, e in enumerate(ids):
        by_step = {int(steps[r]): r for r in range(len(steps)) if episodes[r] == e}
        ordered = [by_step[s] for s in sorted(by_step)]
        assert list(rows[i]) == [ordered[j] for j in _sampled(len(ordered), 4)]
        assert last[i] == ordered[-1]
    with pytest.raises(EvalkitError, match="Episode 7: The episode has 4 frames, fewer than the 5"):
        episode_rows(episodes, steps, 5)


def test_the_reward_lands_on_the_last_step_only_and_equals_the_offline_computation(datasets_root):
    ds = make_dataset(datasets_root, n=30)  # 3 episodes of 10 steps
    kind = parse_reward(f"episode:{AVG}")
    assert isinstance(kind, EpisodeReward)
    source = kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False)
    assert source.values.shape == (30, len(kind.alphas)) and source.source == kind.canonical
    goal, base = _texts()
    states = ds.states
    for e in range(3):
        mine = np.flatnonzero(states["episode"].to_numpy() == e)
        mine = mine[np.argsort(states["step"].to_numpy()[mine])]
        picked = mine[_sampled(len(mine), DEFAULT_EPISODE_FRAMES)]
        video = _averaged(ds.frames[picked])
        expected = [regularised_reward_naive(video, goal, base, a) for a in kind.alphas]
        np.testing.assert_allclose(source.values[mine[-1]], expected, atol=1e-5)
        assert not source.values[mine[:-1]].any()  # 0 at every other step
    assert np.count_nonzero(np.any(source.values != 0, axis=1)) == 3


def test_a_demonstration_episode_replaces_the_goal_prompt(datasets_root):
    ds = make_dataset(datasets_root, n=30)
    demo = make_dataset(datasets_root, name="demos", n=20, seed=5)
    kind = parse_reward(f"episode:{AVG}|demos@episode:1")
    assert parse_reward(kind.canonical) == kind and kind.goal_video == "demos@episode:1"
    source = kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False)
    demo_rows = np.arange(10, 20)  # episode 1, steps 0..9 in order
    goal = _averaged(demo.frames[demo_rows[_sampled(10, DEFAULT_EPISODE_FRAMES)]])
    _, base = _texts()
    last = np.arange(9, 30, 10)
    for e, row in enumerate(last):
        video = _averaged(ds.frames[np.arange(10 * e, 10 * e + 10)[_sampled(10, 8)]])
        expected = [regularised_reward_naive(video, goal, base, a) for a in kind.alphas]
        np.testing.assert_allclose(source.values[row], expected, atol=1e-5)
    text_goal = parse_reward(f"episode:{AVG}").dataset_rewards(ds, "cartpole", devices="cpu")
    assert source.identity != text_goal.identity


def test_a_folder_of_frames_as_the_demonstration(datasets_root, tmp_path):
    from PIL import Image

    ds = make_dataset(datasets_root, n=20)
    frames = random_frames(9, (40, 48), seed=3)
    folder = tmp_path / "demo"
    folder.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{i:03d}.png")
    source = parse_reward(f"episode:{AVG}|{folder}").dataset_rewards(ds, "cartpole", devices="cpu")
    goal = _averaged(frames[_sampled(9, 8)])
    _, base = _texts()
    video = _averaged(ds.frames[np.arange(10, 20)[_sampled(10, 8)]])
    expected = [regularised_reward_naive(video, goal, base, a) for a in source.alphas]
    np.testing.assert_allclose(source.values[19], expected, atol=1e-5)


def test_bad_input_is_one_sentence(datasets_root, tmp_path):
    ds = make_dataset(datasets_root, n=30)
    short = make_dataset(datasets_root, name="short", n=25)  # episode 2 has 5 frames
    cases = [
        (f"episode:{AVG}|demos@episode:0", "demos"),
        (f"episode:{AVG}|short@episode:9", "has no episode 9"),
        (f"episode:{AVG}|short@episode:2", "has 5 frames, fewer than the 8 the model takes"),
        (f"episode:{AVG}|{tmp_path / 'nowhere'}", "does not exist"),
        (f"episode:{AVG}|short@ids:1", "DATASET@episode:N or a folder"),
        (f"episode:{TINY}:none", "embeds single frames; average its frames with avg:"),
    ]
    for text, words in cases:
        with pytest.raises(EvalkitError, match=words):
            parse_reward(text).dataset_rewards(ds, "cartpole", devices="cpu", progress=False)
    with pytest.raises(EvalkitError, match="Episode 2: The episode has 5 frames"):
        parse_reward(f"episode:{AVG}").dataset_rewards(short, "cartpole", devices="cpu")
    for text in ("episode:", "episode:|x", f"episode:{AVG}|"):
        with pytest.raises(EvalkitError, match="episode:MODEL or episode:MODEL|DEMONSTRATION"):
            parse_reward(text)


def test_an_xclip_episode_reward_uses_its_frame_count_and_conditioned_prompts(
    datasets_root, tmp_path
):
    pytest.importorskip("transformers")
    from helpers_video import NUM_FRAMES, save_tiny_xclip

    folder = save_tiny_xclip(tmp_path / "xclip")
    ds = make_dataset(datasets_root, n=20, hw=(32, 32))
    source = parse_reward(f"episode:hf:{folder}").dataset_rewards(ds, "cartpole", devices="cpu")
    t = get_task("cartpole")
    picked = np.array([[10 * e + j for j in _sampled(10, NUM_FRAMES)] for e in range(2)])
    with ImageEmbedder(f"hf:{folder}") as e:
        video = e.embed_windows(ds.frames, picked)
        texts = e.embed_window_texts(ds.frames, picked, [t.goal_prompt, t.baseline_prompt])
    for i, row in enumerate((9, 19)):
        expected = [
            regularised_reward_naive(video[i], texts[i, 0], texts[i, 1], a) for a in source.alphas
        ]
        np.testing.assert_allclose(source.values[row], expected, atol=1e-5)
    assert np.count_nonzero(np.any(source.values != 0, axis=1)) == 2
    # episode 0 as the demonstration: its video embedding is the goal of both episodes
    demo = parse_reward(f"episode:hf:{folder}|{ds.name}@episode:0")
    shown = demo.dataset_rewards(ds, "cartpole", devices="cpu")
    for i, row in enumerate((9, 19)):
        expected = [
            regularised_reward_naive(video[i], video[0], texts[i, 1], a) for a in shown.alphas
        ]
        np.testing.assert_allclose(shown.values[row], expected, atol=1e-5)
