"""evalkit select: nested selection against a naive loop over folds written here, the winner
against separately computed EPIC distances, and the bad-input sentences."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers_heads import TINY, embedded_sweep
from scipy import stats

from evalkit.errors import EvalkitError
from evalkit.heads import choose_l2, episode_folds, fit_logistic
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.rewards import text_embeddings
from evalkit.pipeline.selection import (
    CandidateGroup,
    read_prompts,
    select,
    select_rewards,
)
from evalkit.rewards import clip_rewards
from evalkit.tasks import TASKS, Task, get_task, register_task
from evalkit.vlm import ModelSpec, embed_dataset, resolve

PROMPTS = ["a pole standing upright", "a cart on a track"]
ALPHAS = (0.0, 0.5, 1.0)
FOLDS = 4


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return embedded_sweep(tmp_path_factory.mktemp("datasets"))


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _oracle_candidates(ds, train_episodes):
    """Every candidate's rewards of every frame, computed here from rewards.py and heads.py:
    prompts × α, the rule-label prototype of the training episodes × α, and a head fitted on them."""
    cached = np.asarray(embed_dataset(ds, resolve(TINY), progress=False).values)  # float32
    x = cached.astype(np.float64)
    goal = dataset_labels(ds, "cartpole").labels
    text = text_embeddings(ds, resolve(TINY), [get_task("cartpole").baseline_prompt, *PROMPTS])
    columns = [clip_rewards(cached, g, text[0], ALPHAS) for g in text[1:]]
    in_train = np.isin(ds.episodes, train_episodes)
    prototype = _unit(_unit(x[goal & in_train]).mean(axis=0))
    columns.append(clip_rewards(cached, prototype, text[0], ALPHAS))
    return np.hstack(columns), x, goal, in_train


def _oracle_head(x, y, episodes, fit_on, folds, seed):
    inner = episode_folds(episodes[fit_on], y[fit_on], folds, seed)
    l2 = choose_l2(x[fit_on], y[fit_on], inner).l2
    return fit_logistic(x[fit_on], y[fit_on], l2).reward(x)


def _select(sweep, **options):
    """Every prompt × α and the rule-label prototype × α (and what ``options`` add)."""
    return select(
        sweep,
        "cartpole",
        TINY,
        PROMPTS,
        ALPHAS,
        goal_frames=["labels:rule"],
        folds=FOLDS,
        n_bootstrap=200,
        devices="cpu",
        **options,
    ).result


def test_nested_selection_equals_a_naive_loop_over_folds(sweep):
    got = _select(sweep, heads=True, seed=3)
    episodes = sweep.episodes
    y = dataset_labels(sweep, "cartpole").labels
    folds_of = episode_folds(episodes, y, FOLDS, 3)
    picks, heldout = [], []
    for f in range(FOLDS):
        train = folds_of != f
        fixed, x, _, _ = _oracle_candidates(sweep, episodes[train])
        head = _oracle_head(x, y, episodes, train, FOLDS - 1, 3 + 1 + f)
        rewards = np.column_stack([fixed, head])
        inside = [
            epic_goal(r[train], y[train], bootstrap=BootstrapOptions(n_bootstrap=0)).distance
            for r in rewards.T
        ]
        outside = [
            epic_goal(r[~train], y[~train], bootstrap=BootstrapOptions(n_bootstrap=0)).distance
            for r in rewards.T
        ]
        np.testing.assert_allclose(got.fold_in_sample[f], inside, atol=1e-9)
        np.testing.assert_allclose(got.fold_heldout[f], outside, atol=1e-9)
        picks.append(int(np.argmin(inside)))
        heldout.append(outside[picks[-1]])
    assert got.picks == tuple(picks)
    mean = np.mean(heldout)
    half = stats.t.ppf(0.975, FOLDS - 1) * np.std(heldout, ddof=1) / math.sqrt(FOLDS)
    assert got.nested.mean == pytest.approx(mean, abs=1e-12)
    assert got.nested.low == pytest.approx(max(0, mean - half), abs=1e-12)
    assert got.nested.high == pytest.approx(min(1, mean + half), abs=1e-12)
    assert got.optimism == pytest.approx(mean - got.naive, abs=1e-12)
    assert len(got.names) == 3 * len(ALPHAS) + 1 and got.kinds[-1] == "head"


def test_the_winner_is_the_argmin_of_separately_computed_epic_distances(sweep):
    got = _select(sweep)
    fixed, _, y, _ = _oracle_candidates(sweep, np.unique(sweep.episodes))
    separate = [
        epic_goal(
            r, y, episodes=sweep.episodes, bootstrap=BootstrapOptions(n_bootstrap=200, seed=0)
        )
        for r in fixed.T
    ]
    distances = [r.distance for r in separate]
    assert got.winner == int(np.argmin(distances))
    assert got.naive == pytest.approx(min(distances), abs=1e-12)
    for mine, theirs in zip(got.in_sample, separate):
        assert mine.distance == pytest.approx(theirs.distance, abs=1e-12)
        np.testing.assert_allclose(mine.interval, theirs.interval, atol=1e-12)
    assert got.ranking()[0] == int(np.argmin([h.mean for h in got.heldout]))


def test_many_noise_candidates_look_better_in_sample_than_they_score_held_out():
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    episodes = np.repeat(np.arange(100), 4)
    signal = y + rng.normal(0, 2.0, (50, 400))  # 50 weak candidates, all equally good
    group = CandidateGroup("prompt", tuple(f"c{i}" for i in range(50)), fixed=signal.T)
    got = select_rewards([group], y, episodes, folds=5, n_bootstrap=0)
    assert got.optimism > 0.01  # the best of 50 in-sample is optimistic
    assert "you tried 50 candidates" in got.sentence()


def test_prompts_file_with_blank_or_repeated_lines(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("a pole upright\n\na cart\n")
    with pytest.raises(EvalkitError, match="Line 2 of the prompts file .* is blank"):
        read_prompts(path)
    path.write_text("a pole upright\na cart\na pole upright\n")
    with pytest.raises(EvalkitError, match=r"Line 3 .* repeats line 1 \('a pole upright'\)"):
        read_prompts(path)
    path.write_text("a pole upright\na cart\n")
    assert read_prompts(path) == ["a pole upright", "a cart"]
    with pytest.raises(EvalkitError, match="does not exist"):
        read_prompts(tmp_path / "nothing.txt")


def test_too_few_labels_episodes_or_embeddings_are_one_sentence(sweep):
    narrow = register_task(
        Task(
            "cartpole_narrow_select",
            "cartpole",
            "a pole exactly upright",
            "a pole",
            rule="cartpole_upright",
            rule_params={"max_angle": 0.02},
        ),
    )
    try:
        with pytest.raises(EvalkitError, match="needs at least 9 labelled goal frames; there are"):
            select(sweep, narrow.name, TINY, PROMPTS, heads=True, folds=5, devices="cpu")
        with pytest.raises(EvalkitError, match="hold 1 labelled goal frame; .* at least 2"):
            select(sweep, narrow.name, TINY, PROMPTS, folds=3, devices="cpu")
    finally:
        TASKS.pop(narrow.name, None)
    group = CandidateGroup("prompt", ("a",), fixed=np.arange(12.0)[:, None])
    with pytest.raises(EvalkitError, match="There are 3 episodes, fewer than the 5 folds"):
        select_rewards([group], np.arange(12) % 2 == 0, np.arange(12) // 4, folds=5)
    with pytest.raises(EvalkitError, match="nothing to select from"):
        select(sweep, "cartpole", TINY, devices="cpu")
    with pytest.raises(
        EvalkitError, match="no cached fp32 embeddings .* embed it first with: evalkit embed"
    ):
        select(sweep, "cartpole", ModelSpec("evalkit-tiny-rn", "none"), PROMPTS, devices="cpu")


@pytest.mark.slow
def test_cli_select_prints_saves_and_writes_json(cli, sweep, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_DATASETS", str(sweep.path.parent))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    args = ["select", sweep.name, "--task", "cartpole", "--model", "evalkit-tiny-vit"]
    args += ["--pretrained", "none", "--prompts", str(prompts), "--alphas", "0,1", "--heads"]
    args += ["--folds", "3", "--bootstrap", "100", "--devices", "cpu"]
    r = cli(*args)
    assert r.exit_code == 0, r.output
    assert "you tried 5 candidates" in r.output and "RANDOM WEIGHTS" in r.output
    saved = sweep.path / "selections" / "cartpole-evalkit-tiny-vit-RANDOM-WEIGHTS-rule.json"
    doc = json.loads(saved.read_text())
    assert doc["candidates"] == 5 and len(doc["ranking"]) == 5
    assert doc["nested_heldout"]["interval_method"].startswith("95% Student-t")
    r = cli(*args, "--json", "--no-save")
    assert r.exit_code == 0
    printed = json.loads(r.stdout)
    assert printed["winner"] == doc["winner"] and printed["optimism"] == doc["optimism"]
    bad = tmp_path / "bad.txt"
    bad.write_text("a pole\na pole\n")
    r = cli("select", sweep.name, "-t", "cartpole", "-m", "evalkit-tiny-vit", "--prompts", str(bad))
    assert r.exit_code == 2 and "repeats line 1" in r.output


def test_baseline_frames_from_the_scored_labels_are_refused(sweep):
    with pytest.raises(EvalkitError, match="held-out episodes included"):
        _select(sweep, baseline_frames="labels:rule")
