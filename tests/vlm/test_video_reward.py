"""The window reward kind: Definition 1 per window against the paper's formula row by row, the
rewards of a dataset against the offline computation from the window cache, and ``evalkit
epic --reward window:K:S:MODEL`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_vlm import make_dataset

from evalkit.errors import EvalkitError
from evalkit.pipeline import parse_reward
from evalkit.pipeline.window_reward import WindowReward, window_rewards
from evalkit.rewards import clip_rewards, regularised_reward_naive, unit
from evalkit.tasks import get_task
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.window_cache import dataset_windows
from evalkit.vlm.windows import WindowSpec

AVG = "avg:evalkit-tiny-vit:none"


def test_per_window_definition_1_equals_the_paper_formula_row_by_row():
    rng = np.random.default_rng(0)
    s, g, b = (unit(rng.normal(size=(7, 6))) for _ in range(3))
    alphas = [0.0, 0.3, 1.0]
    ours = window_rewards(s, g, b, alphas)
    naive = [[regularised_reward_naive(s[i], g[i], b[i], a) for a in alphas] for i in range(7)]
    np.testing.assert_allclose(ours, naive, atol=1e-12)
    # one goal and baseline for every row: the frame reward's own computation
    same = window_rewards(s, np.tile(g[0], (7, 1)), np.tile(b[0], (7, 1)), alphas)
    np.testing.assert_allclose(same, clip_rewards(s, g[0], b[0], alphas), atol=1e-9)


def test_the_kind_reads_writes_and_refuses_in_one_sentence():
    kind = parse_reward("window:8:2:avg:ViT-B-32:laion2b_s34b_b79k")
    assert isinstance(kind, WindowReward)
    assert (kind.frames, kind.stride, kind.model) == (8, 2, "avg:ViT-B-32:laion2b_s34b_b79k")
    assert parse_reward(kind.canonical) == kind
    assert kind.command_options("", "", ()) == "--reward window:8:2:avg:ViT-B-32:laion2b_s34b_b79k"
    for bad, words in [
        ("window:8:avg:ViT-B-32", "window:FRAMES:STRIDE:MODEL"),
        ("window:0:1:avg:ViT-B-32", "frames must be a whole number of at least 1"),
        ("window:2:1:", "window:FRAMES:STRIDE:MODEL"),
    ]:
        with pytest.raises(EvalkitError, match=words):
            parse_reward(bad)


def test_dataset_rewards_equal_the_offline_computation(datasets_root):
    ds = make_dataset(datasets_root, n=30)  # 3 episodes of 10 steps
    kind = parse_reward(f"window:3:2:{AVG}")
    source = kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False)
    t = get_task("cartpole")
    rows = dataset_windows(ds, WindowSpec(3, 2))
    with ImageEmbedder(AVG.rsplit(":", 1)[0], pretrained="none") as e:
        video = e.embed_windows(ds.frames, rows)
        goal, base = e.embed_texts([t.goal_prompt, t.baseline_prompt])
    expected = [[regularised_reward_naive(v, goal, base, a) for a in kind.alphas] for v in video]
    assert source.values.shape == (30, len(kind.alphas)) and source.source == kind.canonical
    np.testing.assert_allclose(source.values, expected, atol=1e-5)
    assert source.random_weights


def test_epic_with_a_window_reward(datasets_root, cli):
    make_dataset(datasets_root, name="toy", n=30)
    r = cli(
        "epic",
        "--dataset",
        "toy",
        "--task",
        "cartpole",
        "--reward",
        f"window:2:1:{AVG}",
        "--devices",
        "cpu",
        "--bootstrap",
        "100",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("[") :])
    assert len(rows) >= 1 and all(0.0 <= row["distance"] <= 1.0 for row in rows)
    assert all(row["reward_source"] == f"window:2:1:{AVG}" for row in rows)


def test_an_xclip_window_reward_uses_its_per_window_conditioned_prompts(datasets_root, tmp_path):
    pytest.importorskip("transformers")
    from helpers_video import NUM_FRAMES, save_tiny_xclip

    folder = save_tiny_xclip(tmp_path / "xclip")
    ds = make_dataset(datasets_root, n=20, hw=(32, 32))  # 2 episodes of 10 steps
    kind = parse_reward(f"window:{NUM_FRAMES}:1:hf:{folder}")
    source = kind.dataset_rewards(ds, "cartpole", devices="cpu", progress=False)
    t = get_task("cartpole")
    rows = dataset_windows(ds, WindowSpec(NUM_FRAMES, 1))
    with ImageEmbedder(f"hf:{folder}") as e:
        video = e.embed_windows(ds.frames, rows)
        texts = e.embed_window_texts(ds.frames, rows, [t.goal_prompt, t.baseline_prompt])
    expected = [
        [regularised_reward_naive(video[i], texts[i, 0], texts[i, 1], a) for a in kind.alphas]
        for i in range(20)
    ]
    np.testing.assert_allclose(source.values, expected, atol=1e-5)
    assert not np.allclose(texts[0, 0], texts[-1, 0], atol=1e-4)  # a goal per window
