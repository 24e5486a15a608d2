"""CLIP rewards (Definition 1): closed form vs the formula, properties, datasets, RewardModel."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_vlm import TINY_VIT, make_dataset

from evalkit.errors import EvalkitError
from evalkit.pipeline import RewardTable, dataset_rewards, task_rewards
from evalkit.rewards import (
    RewardModel,
    clip_rewards,
    combine_prompts,
    regularised_reward_naive,
    reward_sweep,
    unit,
)
from evalkit.tasks import get_task
from evalkit.vlm import embedder as embedder_module

ALPHAS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.5, -0.5)


def _vectors(n=300, d=24, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    s = unit(rng.normal(size=(n, d))).astype(dtype)
    g, b = unit(rng.normal(size=d)), unit(rng.normal(size=d))
    return s, g, b


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_closed_form_matches_definition_1_per_sample(dtype, tol):
    s, g, b = _vectors(dtype=dtype)
    got = clip_rewards(s, g, b, ALPHAS)
    assert got.shape == (len(s), len(ALPHAS)) and got.dtype == dtype
    naive = np.array(
        [[regularised_reward_naive(x.astype(np.float64), g, b, a) for a in ALPHAS] for x in s]
    )
    np.testing.assert_allclose(got, naive, rtol=0, atol=tol)


def test_alpha_zero_is_exactly_the_cosine_similarity():
    s, g, b = _vectors(dtype=np.float32)
    cosine = clip_rewards(s, g)  # no baseline: the plain CLIP reward
    regularised = clip_rewards(s, g, b, (0.0, 0.5))
    assert np.array_equal(regularised[:, 0], cosine[:, 0])
    np.testing.assert_allclose(cosine[:, 0], s @ g.astype(np.float32), atol=1e-6)


def test_without_baseline_every_alpha_is_the_cosine():
    s, g, _ = _vectors()
    r = clip_rewards(s, g, None, (0.0, 0.5, 1.0))
    assert np.array_equal(r[:, 0], r[:, 1]) and np.array_equal(r[:, 0], r[:, 2])


def test_alpha_one_depends_only_on_the_component_along_goal_minus_baseline():
    s, g, b = _vectors(n=50)
    d = g - b
    t = (s - b) @ d / (d @ d)
    np.testing.assert_allclose(
        clip_rewards(s, g, b, 1.0)[:, 0], 1 - 0.5 * (t - 1) ** 2 * (d @ d), atol=1e-12
    )
    # Two unit frames with the same component along d but different orthogonal parts.
    rng = np.random.default_rng(3)
    dhat = d / np.linalg.norm(d)
    s1 = s[0]
    along = s1 @ dhat
    rest = np.linalg.norm(s1 - along * dhat)
    w = rng.normal(size=d.shape)
    w = unit(w - (w @ dhat) * dhat)
    s2 = along * dhat + rest * w
    r = clip_rewards(np.stack([s1, s2]), g, b, (0.0, 1.0))
    assert r[0, 1] == pytest.approx(r[1, 1], abs=1e-12) and abs(r[0, 0] - r[1, 0]) > 1e-3
    # Between 0 and 1 the reward of a frame off the goal-baseline line grows with alpha.
    assert np.all(np.diff(clip_rewards(s, g, b, np.linspace(0, 1, 11)), axis=1) >= -1e-12)


def test_several_goal_prompts_are_averaged_and_renormalised():
    s, g, b = _vectors()
    rng = np.random.default_rng(7)
    goals = unit(rng.normal(size=(3, g.size)))
    combined = combine_prompts(goals)
    assert np.linalg.norm(combined) == pytest.approx(1.0)
    np.testing.assert_allclose(
        clip_rewards(s, goals, b, ALPHAS),
        clip_rewards(s, unit(goals.mean(0)), b, ALPHAS),
        atol=1e-12,
    )


def test_sweep_equals_one_pair_at_a_time():
    s, _, _ = _vectors(n=100, d=16, dtype=np.float32)
    rng = np.random.default_rng(1)
    goals, baselines = unit(rng.normal(size=(4, 16))), unit(rng.normal(size=(4, 16)))
    alphas = np.linspace(0, 1, 101)
    sweep = reward_sweep(s, goals, baselines, alphas)
    assert sweep.shape == (4, 100, 101)
    for i in range(4):
        np.testing.assert_allclose(
            sweep[i], clip_rewards(s, goals[i], baselines[i], alphas), atol=1e-6
        )


def test_degenerate_and_bad_inputs():
    s, g, _ = _vectors(n=10)
    with pytest.raises(ValueError, match="identical, so the line between them"):
        clip_rewards(s, g, g, (0.0, 1.0))  # goal == baseline: no line to project on, for α > 0
    assert np.array_equal(
        clip_rewards(s, g, g, (0.0,))[:, 0], clip_rewards(s, g, None, (0.0,))[:, 0]
    )
    with pytest.raises(ValueError, match="norm 2, not 1"):
        clip_rewards(2 * s, g, None, (0.0,))
    with pytest.raises(ValueError, match="dimension"):
        clip_rewards(s, np.ones(5))
    with pytest.raises(ValueError, match="zero"):
        clip_rewards(s, np.zeros(s.shape[1]))
    with pytest.raises(ValueError, match="alphas"):
        clip_rewards(s, g, g, [])


def test_dataset_rewards_end_to_end_with_cached_text(datasets_root, monkeypatch):
    ds = make_dataset(datasets_root, n=16)
    task = get_task("cartpole")
    table = task_rewards(ds, "cartpole", TINY_VIT, devices="cpu", progress=False)
    assert isinstance(table, RewardTable)
    assert table.values.shape == (16, 5) and table.alphas == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert table.goal == (task.goal_prompt,) and table.baseline == (task.baseline_prompt,)
    assert table.random_weights and "RANDOM" in table.model and table.dataset == ds.name
    embedder = embedder_module.ImageEmbedder(TINY_VIT)
    s = embedder.embed_frames(np.asarray(ds.frames))
    g, b = embedder.embed_texts([task.goal_prompt, task.baseline_prompt])
    np.testing.assert_allclose(table.values, clip_rewards(s, g, b, table.alphas), atol=1e-6)
    np.testing.assert_array_equal(table.for_alpha(0.5), table.values[:, 2])
    # Everything is cached now: new alphas need neither the image nor the text model.
    monkeypatch.setattr(
        embedder_module, "load_model", lambda *a, **k: pytest.fail("the model was loaded")
    )
    again = dataset_rewards(
        ds,
        task.goal_prompt,
        TINY_VIT,
        baseline=task.baseline_prompt,
        alphas=[0.0, 0.3],
        progress=False,
    )
    np.testing.assert_allclose(again.values[:, 0], table.values[:, 0], atol=1e-7)
    with pytest.raises(EvalkitError, match="non-empty"):
        dataset_rewards(ds, "", TINY_VIT)


def test_reward_model_in_memory(datasets_root):
    ds = make_dataset(datasets_root, n=10)
    frames = np.asarray(ds.frames)
    table = dataset_rewards(
        ds,
        ["a pole upright", "a vertical pole"],
        TINY_VIT,
        "pole and cart",
        (0.0, 0.5),
        devices="cpu",
        progress=False,
    )
    model = RewardModel(
        TINY_VIT, goal=["a pole upright", "a vertical pole"], baseline="pole and cart", alpha=0.5
    )
    assert model.random_weights
    r = model(frames)
    assert r.shape == (10,)
    np.testing.assert_allclose(r, table.for_alpha(0.5), atol=1e-6)
    np.testing.assert_allclose(model.rewards(frames, (0.0, 0.5)), table.values, atol=1e-6)


@pytest.mark.parametrize("gap", [1e-4, 1e-8, 1e-10, 1e-12])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearly_equal_goal_and_baseline_match_definition_1_in_float64(gap, dtype):
    """1 − cos(g, b) = gap: the closed form stays within 1e-6 of the paper's formula in float64."""
    rng = np.random.default_rng(11)
    d = 64
    g = unit(rng.normal(size=d))
    w = rng.normal(size=d)
    w = unit(w - (w @ g) * g)  # orthogonal to g
    theta = np.arccos(1.0 - gap)
    b = np.cos(theta) * g + np.sin(theta) * w
    assert 1.0 - g @ b == pytest.approx(gap, rel=1e-3)
    s = unit(rng.normal(size=(50, d)) + 3 * g).astype(dtype)
    alphas = (0.0, 0.3, 1.0)
    got = clip_rewards(s, g, b, alphas)
    s64 = s.astype(np.float64)
    want = np.array([[regularised_reward_naive(x, g, b, a) for a in alphas] for x in s64])
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
