"""A training run records what its reward was made of: a head's files (by content, at an
absolute path) and the frames of a frame-set goal; ``evaluate`` and ``--resume`` refuse a run
whose reward changed since, and ``train`` refuses a head of another family."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_train import tiny_config
from PIL import Image

from evalkit.errors import EvalkitError
from evalkit.heads import LogisticHead, save_head
from evalkit.train.config import TrainConfig, read_run_config, write_run_config
from evalkit.train.evaluate import evaluate
from evalkit.train.runner import prepare_run

DIM = 8


def _head(path, sign: float = 1.0, task: str = "cartpole"):
    """A saved head of the tiny model (nothing is embedded: only its files matter here)."""
    meta = {"model": "evalkit-tiny-vit", "pretrained": "none", "task": task, "dataset": "sweep"}
    weights = sign * np.linspace(-1.0, 1.0, DIM)
    return save_head(LogisticHead(weights, bias=0.25 * sign, l2=0.01, meta=meta), path)


def _run(run_dir, **overrides):
    """A run folder as ``train`` leaves it before its first checkpoint: its ``config.json``."""
    config = tiny_config(**overrides).resolved()
    run_dir.mkdir(parents=True)
    write_run_config(run_dir, config)
    return config


def test_a_rewritten_head_is_refused_by_evaluate_and_resume(tmp_path):
    head = _head(tmp_path / "h.json")
    _run(tmp_path / "run", reward=f"head:{head}", model=None, pretrained=None)
    prepare_run(TrainConfig(task=""), tmp_path / "run", resume=True)  # unchanged: accepted
    _head(tmp_path / "h.json", sign=-1.0)  # the head file is rewritten (negated)
    with pytest.raises(EvalkitError, match=r"The head of run .* changed since it was trained"):
        evaluate(tmp_path / "run")
    with pytest.raises(EvalkitError, match=r"The head of run .* changed since it was trained"):
        prepare_run(TrainConfig(task=""), tmp_path / "run", resume=True)


def test_changed_goal_frames_are_refused_on_resume(tmp_path):
    folder = tmp_path / "goal"
    folder.mkdir()
    pixels = np.zeros((16, 16, 3), np.uint8)
    Image.fromarray(pixels).save(folder / "a.png")
    _run(tmp_path / "run", goal_frames=str(folder))
    prepare_run(TrainConfig(task=""), tmp_path / "run", resume=True)
    Image.fromarray(pixels + 255).save(folder / "a.png")  # another goal image, same name
    with pytest.raises(EvalkitError, match=r"The goal frames of run .* changed"):
        prepare_run(TrainConfig(task=""), tmp_path / "run", resume=True)


def test_a_run_stores_its_head_absolute_and_works_from_another_folder(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    _head("h.json")
    _run(tmp_path / "run", reward="head:h.json", model=None, pretrained=None)
    saved = read_run_config(tmp_path / "run")
    assert saved.reward == f"head:{tmp_path / 'work' / 'h.json'}"
    monkeypatch.chdir(
        tmp_path
    )  # elsewhere: the head is found, and asking for it by another path is the same
    config, _ = prepare_run(
        TrainConfig(task="", reward="head:work/h.json"),
        tmp_path / "run",
        resume=True,
    )
    assert config.reward == saved.reward


def test_train_refuses_a_head_of_another_family(tmp_path):
    head = _head(tmp_path / "h.json", task="cartpole")
    config = tiny_config("mountaincar", model=None, pretrained=None, reward=f"head:{head}")
    with pytest.raises(
        EvalkitError, match=r"fitted on cartpole states .* cannot score mountaincar"
    ):
        config.resolved()


def test_train_says_which_head_file_is_missing(tmp_path):
    for reward, says in (("head:", "names no head file"), (f"head:{tmp_path}", "names a folder")):
        with pytest.raises(EvalkitError, match=says):
            tiny_config(model=None, pretrained=None, reward=reward).resolved()
