"""Issue 17, low rows: checkpoint wording in the report, --pretrained folders and checkpoints of
another architecture, no cache debris after a failed model load, bench train's overshoot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers_vlm import TINY_VIT, make_dataset

import evalkit
from evalkit.bench.train import BenchRow, TrainBenchResult
from evalkit.errors import ModelError
from evalkit.report.content import WeightsInfo
from evalkit.vlm.engine import embed_dataset
from evalkit.vlm.models import FILE_LABEL, ModelSpec, load_model, resolve
from evalkit.vlm.open_clip_backend import CONFIG_DIR


def test_report_calls_a_checkpoint_file_a_checkpoint_file_not_trained(tmp_path):
    path = tmp_path / "mine.pt"
    torch.save(load_model(TINY_VIT).model.state_dict(), path)
    label = resolve(ModelSpec("evalkit-tiny-vit", str(path))).label  # what results record
    assert FILE_LABEL in label
    as_file = WeightsInfo(
        "evalkit-tiny-vit", str(path), False, identity=label, checkpoint_file=True
    )
    assert as_file.kind == "checkpoint file"
    assert WeightsInfo("ViT-B-32", "laion2b_s34b_b79k", False).kind == "trained"
    assert WeightsInfo("evalkit-tiny-vit", "none", True).kind == "random weights"
    template = (Path(evalkit.__file__).parent / "report/templates/report.html.j2").read_text()
    assert "{{ w.kind }}" in template and ">trained<" not in template


def test_a_folder_as_pretrained_says_it_is_a_folder(tmp_path):
    with pytest.raises(ModelError, match=r"is a folder.*checkpoint file \(\.safetensors, \.pt"):
        resolve(ModelSpec("evalkit-tiny-vit", str(tmp_path)))


def test_checkpoint_of_another_text_width_belongs_to_another_architecture(tmp_path):
    # open_clip's text position-embedding adapter asserts before load_state_dict would explain it
    config = json.loads((CONFIG_DIR / "evalkit-tiny-vit.json").read_text())
    config["text_cfg"]["width"] = 64
    (tmp_path / "wide.json").write_text(json.dumps(config))
    ckpt = tmp_path / "wide.pt"
    torch.save(load_model(ModelSpec(str(tmp_path / "wide.json"), "none")).model.state_dict(), ckpt)
    with pytest.raises(ModelError) as err:
        load_model(ModelSpec("evalkit-tiny-vit", str(ckpt)))
    text = str(err.value)
    assert "belongs to another architecture" in text and "shape mismatches" in text
    assert "corrupt" not in text


def test_failed_model_load_leaves_no_lock_or_meta_only_cache(tmp_path):
    ds = make_dataset(tmp_path / "datasets", n=8)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint" * 16)
    with pytest.raises(ModelError, match="not a readable weights file"):
        embed_dataset(
            ds, ModelSpec("evalkit-tiny-vit", str(garbage)), devices="cpu", progress=False
        )
    left = ds.path / "embeddings"
    assert not left.exists() or list(left.iterdir()) == []
    embedded = embed_dataset(ds, TINY_VIT, devices="cpu", progress=False)  # the lock still works
    assert embedded.values.shape == (8, 32)


def test_bench_train_explains_its_overshoot():
    result = TrainBenchResult(
        "toy",
        rows=[
            BenchRow("CLIP, step labelling", 3232, 1.0, 10, 0.5, requested_steps=3200),
            BenchRow("ground truth, plain SB3", 20000, 1.0, requested_steps=20000),
        ],
    )
    note = result.overshoot_note()
    assert note is not None and "3232 for 3200" in note and "rollout" in note
    exact = TrainBenchResult("toy", rows=[BenchRow("x", 64, 1.0, requested_steps=64)])
    assert exact.overshoot_note() is None
