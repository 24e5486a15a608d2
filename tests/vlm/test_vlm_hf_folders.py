"""Hugging Face folders as users save them: the processor in either layout transformers writes,
truncated weights, a file named instead of its folder, a folder without an image processor."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers_hf import save_tiny_clip
from helpers_vlm import make_dataset

from evalkit.errors import ModelError
from evalkit.vlm.models import load_model, resolve


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("hf") / "clip", shortest_edge=37)


def _one_sentence(spec: str) -> str:
    with pytest.raises(ModelError) as info:
        resolve(spec)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_processor_saved_by_transformers_5_gives_the_same_preprocessing(saved, tmp_path):
    # CLIPProcessor.save_pretrained writes processor_config.json (the image processor nested).
    assert (saved / "processor_config.json").is_file()
    assert not (saved / "preprocessor_config.json").exists()
    separate = save_tiny_clip(tmp_path / "separate", shortest_edge=37, layout="separate")
    assert (separate / "preprocessor_config.json").is_file()
    ours, theirs = resolve(f"hf:{saved}"), resolve(f"hf:{separate}")
    assert ours.preprocess == theirs.preprocess
    assert ours.preprocess["resize_size"] == 37 and ours.preprocess["size"] == [32, 32]


def test_truncated_weights_are_one_sentence(saved, tmp_path, cli, datasets_root):
    broken = tmp_path / "truncated"
    shutil.copytree(saved, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    message = _one_sentence(f"hf:{broken}")
    assert "truncated or corrupt" in message and "model.safetensors" in message
    make_dataset(datasets_root, "toy", n=4)
    r = cli("embed", "toy", "--model", f"hf:{broken}", "--no-progress")
    assert r.exit_code == 2 and "truncated or corrupt" in r.output


def test_weights_truncated_after_resolving_fail_to_load_in_one_sentence(saved, tmp_path):
    broken = tmp_path / "later"
    shutil.copytree(saved, broken)
    resolved = resolve(f"hf:{broken}")
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        load_model(resolved)


def test_a_file_is_named_as_a_file(saved):
    message = _one_sentence(f"hf:{saved / 'config.json'}")
    assert "is a file" in message and f"hf:{saved.resolve()}" in message
    assert "does not exist" not in message


def test_a_folder_without_an_image_processor(saved, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(saved, bare, ignore=shutil.ignore_patterns("processor_config.json"))
    message = _one_sentence(f"hf:{bare}")
    assert "no image processor" in message and "processor_config.json" in message
