"""evalkit align on a dataset: nested held-out scores, the saved head as a reward source, and
refusal of a head on another model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError
from evalkit.heads import load_head
from evalkit.pipeline import align, evaluate_rewards, head_reward_source
from evalkit.tasks import TASKS, Task, register_task
from evalkit.vlm import ModelSpec, embed_dataset, resolve

TINY = ModelSpec("evalkit-tiny-vit", "none")


@pytest.fixture
def sweep(datasets_root):
    return collect_sweep("cartpole", 240, 32, root=datasets_root, progress=False).dataset


def test_align_saves_a_head_whose_rewards_are_the_heads_on_the_cached_embeddings(sweep, tmp_path):
    result = align(
        sweep,
        "cartpole",
        TINY,
        folds=4,
        n_bootstrap=100,
        devices="cpu",
        progress=False,
        save_to=tmp_path / "head",
    )
    assert result.path == tmp_path / "head.json" and (tmp_path / "head.safetensors").is_file()
    meta = json.loads(result.path.read_text())
    assert meta["model_identity"].endswith("RANDOM-WEIGHTS") and meta["dataset"] == sweep.name
    assert meta["n_goal"] + meta["n_nongoal"] == 240 and meta["label_set"] == "rule"
    assert 0 <= result.heldout.distance <= 1 and result.heldout.interval is not None
    # the honest score is not better than the in-sample one by construction of the data here
    assert result.heldout.distance >= result.in_sample.distance - 0.05

    source = head_reward_source(sweep, result.path, devices="cpu", progress=False)
    x = embed_dataset(sweep, resolve(TINY), progress=False).values
    np.testing.assert_allclose(source.values[:, 0], load_head(result.path).reward(x))
    run = evaluate_rewards(sweep, "cartpole", source, n_bootstrap=0)
    assert run.results[0].distance == pytest.approx(result.in_sample.distance, abs=1e-12)
    assert source.kind == "head" and "reward head" in source.describe()


def test_a_head_on_another_model_is_refused(sweep, tmp_path):
    result = align(
        sweep,
        "cartpole",
        TINY,
        folds=3,
        n_bootstrap=0,
        devices="cpu",
        progress=False,
        save_to=tmp_path / "head",
    )
    meta = json.loads(result.path.read_text())
    meta["model_identity"] = "ViT-B-32/openai"
    result.path.write_text(json.dumps(meta))
    with pytest.raises(EvalkitError, match="fitted on embeddings of 'ViT-B-32/openai'"):
        head_reward_source(sweep, result.path, devices="cpu", progress=False)


def test_align_needs_enough_labelled_frames_and_episodes(sweep):
    narrow = register_task(
        Task(
            "cartpole_narrow",
            "cartpole",
            "a pole exactly upright",
            "a pole",
            rule="cartpole_upright",
            rule_params={"max_angle": 0.02},
        ),
    )
    try:
        with pytest.raises(
            EvalkitError, match="needs at least 9 labelled goal frames; there are 4"
        ):
            align(sweep, narrow.name, TINY, folds=5, devices="cpu", progress=False)
    finally:
        TASKS.pop(narrow.name, None)
    with pytest.raises(EvalkitError, match="at least 3 folds"):
        align(sweep, "cartpole", TINY, folds=2, devices="cpu", progress=False)
    with pytest.raises(EvalkitError, match="runs on humanoid"):
        align(sweep, "kneeling", TINY, devices="cpu", progress=False)


@pytest.mark.slow
def test_cli_align_then_epic_with_the_head(cli, sweep):
    model = ("--model", "evalkit-tiny-vit", "--pretrained", "none")
    r = cli(
        "align",
        "cartpole-sweep",
        "--task",
        "cartpole",
        *model,
        "--folds",
        "3",
        "--bootstrap",
        "100",
        "--devices",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    assert "held-out (nested folds): EPIC distance" in r.output and "RANDOM WEIGHTS" in r.output
    path = sweep.path / "heads" / "cartpole-evalkit-tiny-vit-RANDOM-WEIGHTS-rule.json"
    assert path.is_file()
    r = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"head:{path}",
        "--bootstrap",
        "0",
        "--devices",
        "cpu",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    assert '"reward_source": "head:' in r.output
    r = cli("epic", "--task", "cartpole", "--reward", "head:nothing.json", "--bootstrap", "0")
    assert r.exit_code == 2 and "does not exist" in r.output
