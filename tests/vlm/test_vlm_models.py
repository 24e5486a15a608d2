"""Model loading: names and tags, defaults, random weights, checkpoints, offline behaviour."""

from __future__ import annotations

import json
import pickle

import numpy as np
import open_clip
import pytest
import torch
from helpers_vlm import TINY_RN, TINY_VIT, random_frames
from PIL import Image
from safetensors.torch import save_file

from evalkit.errors import ModelError
from evalkit.vlm import models, open_clip_weights
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.hub import file_sha256
from evalkit.vlm.models import ModelSpec, default_tag, load_model, resolve
from evalkit.vlm.open_clip_backend import CONFIG_DIR
from evalkit.vlm.open_clip_params import count_parameters


def test_tiny_models_are_registered_with_open_clip():
    assert {"evalkit-tiny-vit", "evalkit-tiny-rn"} <= set(open_clip.list_models())
    for spec in (TINY_VIT, TINY_RN):
        loaded = load_model(spec)
        assert loaded.random_weights and loaded.embed_dim == 32
        assert loaded.preprocess["size"] == [32, 32]
        assert count_parameters(loaded.resolved.config) == sum(
            p.numel() for p in loaded.model.parameters()
        )


def test_paper_default_tags_and_quick_gelu():
    assert default_tag("RN50") == "openai"
    assert default_tag("ViT-L-14") == "laion2b_s32b_b82k"
    assert default_tag("ViT-H-14") == "laion2b_s32b_b79k"
    assert default_tag("ViT-bigG-14") == "laion2b_s39b_b160k"
    rn50 = resolve("RN50")
    assert rn50.tag == "openai" and rn50.quick_gelu  # OpenAI weights were trained with QuickGELU
    assert resolve("ViT-H-14").preprocess["mean"] == list(open_clip.OPENAI_DATASET_MEAN)
    for model in {m for m, _ in open_clip.list_pretrained()}:
        assert default_tag(model) in open_clip.list_pretrained_tags_by_model(model)


def test_published_parameter_counts():
    # open_clip's model table: RN50 102.01 M, ViT-B-32 151.28 M, ViT-H-14 986.11 M, ViT-bigG-14 2539.57 M
    for name, millions in [
        ("RN50", 102.01),
        ("ViT-B-32", 151.28),
        ("ViT-H-14", 986.11),
        ("ViT-bigG-14", 2539.57),
    ]:
        assert count_parameters(open_clip.get_model_config(name)) / 1e6 == pytest.approx(
            millions, abs=0.01
        )


def test_unknown_model_and_tag_suggest_the_closest_names():
    with pytest.raises(ModelError, match="ViT-B-32"):
        resolve("ViT-B-23")
    with pytest.raises(ModelError, match="laion2b_s34b_b79k"):
        resolve(ModelSpec("ViT-B-32", "laion2b_s34b_b97k"))
    with pytest.raises(ModelError, match="does not exist"):
        resolve(ModelSpec("ViT-B-32", "weights/missing.safetensors"))
    with pytest.raises(ModelError, match="no default pretrained weights"):
        resolve("evalkit-tiny-vit")


def test_missing_weights_offline_fail_at_once_with_advice(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(open_clip_weights, "cached_weights", lambda model, tag: None)
    monkeypatch.setattr(
        open_clip,
        "create_model_and_transforms",
        lambda *a, **k: pytest.fail("must not build the model"),
    )
    with pytest.raises(ModelError, match=r"not on this machine.*offline.*--pretrained PATH"):
        load_model(ModelSpec("ViT-B-32", "laion2b_s34b_b79k"))


def test_missing_weights_without_network_fail_at_once(monkeypatch):
    monkeypatch.setattr(open_clip_weights, "_hub_offline", lambda: False)
    monkeypatch.setattr(open_clip_weights, "_reachable", lambda url, timeout=3.0: False)
    monkeypatch.setattr(open_clip_weights, "cached_weights", lambda model, tag: None)
    with pytest.raises(ModelError, match=r"cannot be reached.*--pretrained PATH"):
        load_model(ModelSpec("RN50", "openai"))


def test_random_weights_are_reproducible_and_flagged():
    a, b = load_model(TINY_VIT), load_model("evalkit-tiny-vit", pretrained="none")
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert a.random_weights and "RANDOM" in a.label
    assert a.resolved.identity["weights"] == {"random_seed": models.RANDOM_SEED}


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_checkpoint_round_trip(tmp_path, suffix):
    source = load_model(TINY_VIT)
    with torch.no_grad():  # weights that differ from the seeded random ones
        for p in source.model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = tmp_path / f"tiny{suffix}"
    state = {k: v.contiguous() for k, v in source.model.state_dict().items()}
    save_file(state, path) if suffix == ".safetensors" else torch.save(state, path)
    loaded = load_model(ModelSpec("evalkit-tiny-vit", str(path)))
    assert not loaded.random_weights
    assert loaded.resolved.weights_sha256 == file_sha256(path)
    assert path.name in loaded.label
    frames = random_frames(5, (40, 48))
    np.testing.assert_array_equal(
        ImageEmbedder(loaded).embed_frames(frames), ImageEmbedder(source).embed_frames(frames)
    )


def test_checkpoint_of_another_architecture_is_explained(tmp_path):
    path = tmp_path / "rn.safetensors"
    save_file({k: v.contiguous() for k, v in load_model(TINY_RN).model.state_dict().items()}, path)
    with pytest.raises(
        ModelError, match=r"does not match the architecture evalkit-tiny-vit.*missing"
    ):
        load_model(ModelSpec("evalkit-tiny-vit", str(path)))


def test_corrupt_checkpoints_are_explained(tmp_path):
    good = tmp_path / "good.safetensors"
    save_file({k: v.contiguous() for k, v in load_model(TINY_VIT).model.state_dict().items()}, good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint" * 10)
    for path in (truncated, garbage):
        with pytest.raises(ModelError, match="not a readable weights file"):
            load_model(ModelSpec("evalkit-tiny-vit", str(path)))


class _Payload:
    def __reduce__(self):  # would run code if unpickled without weights_only
        return (print, ("unsafe",))


def test_pickled_objects_are_not_executed(tmp_path):
    path = tmp_path / "unsafe.pt"
    with open(path, "wb") as f:
        torch.save({"state_dict": {}, "payload": _Payload()}, f, pickle_module=pickle)
    with pytest.raises(ModelError, match="pickled Python objects"):
        load_model(ModelSpec("evalkit-tiny-vit", str(path)))


def test_custom_config_file(tmp_path):
    config = json.loads((CONFIG_DIR / "evalkit-tiny-vit.json").read_text())
    config["vision_cfg"]["width"] = 32
    path = tmp_path / "my-model.json"
    path.write_text(json.dumps(config))
    resolved = resolve(ModelSpec(str(path), "none"))
    assert resolved.display_name == "my-model"
    assert resolved.identity["config_sha256"] != resolve(TINY_VIT).identity["config_sha256"]
    loaded = load_model(resolved)
    assert loaded.model.visual.transformer.width == 32
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"embed_dim": 8}))
    with pytest.raises(ModelError, match="lacks vision_cfg"):
        resolve(ModelSpec(str(bad), "none"))


@pytest.mark.slow
def test_vit_b_32_random_checkpoint_round_trip(tmp_path):
    """The issue's check with a real architecture: save a ViT-B-32 random checkpoint, load it back."""
    source = load_model(ModelSpec("ViT-B-32", "none"))
    assert sum(p.numel() for p in source.model.parameters()) == count_parameters(
        source.resolved.config
    )
    path = tmp_path / "vit-b-32-random.safetensors"
    save_file({k: v.contiguous() for k, v in source.model.state_dict().items()}, path)
    loaded = load_model(ModelSpec("ViT-B-32", str(path)))
    assert not loaded.random_weights
    frames = random_frames(4, (240, 320))
    ours = ImageEmbedder(source).embed_frames(frames)
    np.testing.assert_array_equal(ImageEmbedder(loaded).embed_frames(frames), ours)
    with (
        torch.no_grad()
    ):  # open_clip's own way: PIL preprocess, encode_image (all tokens in the last block)
        x = torch.stack([source.pil_transform(Image.fromarray(f)) for f in frames])
        reference = torch.nn.functional.normalize(source.model.encode_image(x), dim=-1).numpy()
    # The frames are resized (one grey level off on < 1 % of values): the bound, 1e-4.
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    with pytest.raises(ModelError, match="does not match the architecture ViT-B-16"):
        load_model(ModelSpec("ViT-B-16", str(path)))


def test_model_names_in_any_case_mean_open_clips_spelling():
    assert models.canonical_model_name("vit-b-32") == "ViT-B-32"
    assert models.canonical_model_name("ViT-B/32") == "ViT-B-32"
    assert models.canonical_model_name(" EVALKIT-TINY-VIT ") == "evalkit-tiny-vit"
    assert models.canonical_model_name("not-a-model") == "not-a-model"
    assert models.resolve(models.ModelSpec("vit-b-32", "none")).arch == "ViT-B-32"
