"""The Hugging Face backend: parity with transformers' own processor and model, the cache's
identity, offline loading from folders and the hub cache, and its bad input."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers_hf import PROMPTS, edit_image_processor, save_tiny_clip, save_tiny_siglip, transformers
from helpers_vlm import TINY_VIT, make_dataset, random_frames
from PIL import Image

from evalkit.errors import ModelError
from evalkit.pipeline.figures import parameter_count
from evalkit.vlm import hf_models
from evalkit.vlm.cache import EmbeddingCache
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.engine import embed_dataset
from evalkit.vlm.models import load_model, resolve


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    # The short side goes to 37 and the crop to 32: a resize and an off-centre (odd) crop.
    return save_tiny_clip(tmp_path_factory.mktemp("hf") / "tiny-clip", shortest_edge=37)


@pytest.fixture(scope="module")
def siglip_dir(tmp_path_factory) -> Path:
    return save_tiny_siglip(tmp_path_factory.mktemp("hf") / "tiny-siglip")


@pytest.fixture(scope="module")
def separate_dirs(tmp_path_factory) -> dict[str, Path]:
    """The same models with the image processor saved on its own (preprocessor_config.json)."""
    base = tmp_path_factory.mktemp("hf-separate")
    return {
        "clip": save_tiny_clip(base / "clip", shortest_edge=37, layout="separate"),
        "siglip": save_tiny_siglip(base / "siglip", layout="separate"),
    }


def _reference(folder: Path, frames: np.ndarray, prompts: list[str], padding: dict):
    """transformers the documented way: the processor on PIL images, get_*_features."""
    config = json.loads((folder / "config.json").read_text())
    cls = {"clip": transformers.CLIPModel, "siglip": transformers.SiglipModel}[config["model_type"]]
    model = cls.from_pretrained(folder).eval()
    processor = transformers.AutoImageProcessor.from_pretrained(folder)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    pixels = processor(images=[Image.fromarray(f) for f in frames], return_tensors="pt")
    tokens = tokenizer(prompts, truncation=True, return_tensors="pt", **padding)
    tokens.pop("token_type_ids", None)
    with torch.no_grad():
        image = model.get_image_features(**pixels)
        text = model.get_text_features(**tokens)
    image = image if isinstance(image, torch.Tensor) else image.pooler_output
    text = text if isinstance(text, torch.Tensor) else text.pooler_output
    return (
        pixels["pixel_values"],
        F.normalize(image, dim=-1).numpy(),
        F.normalize(text, dim=-1).numpy(),
    )


@pytest.mark.parametrize("layout", ["processor", "separate"])
@pytest.mark.parametrize(
    "which, padding",
    [("clip", {"padding": True}), ("siglip", {"padding": "max_length", "max_length": 16})],
)
def test_embeddings_equal_transformers_processor_and_features(
    which, padding, layout, clip_dir, siglip_dir, separate_dirs
):
    folder = {"clip": clip_dir, "siglip": siglip_dir}[which]
    if layout == "separate":
        folder = separate_dirs[which]
    # The processor's file is the one transformers wrote in that layout.
    assert (folder / "preprocessor_config.json").is_file() == (layout == "separate")
    frames = random_frames(6, (45, 61))  # not square, not the model's size: resized, cropped
    pixels, image, text = _reference(folder, frames, PROMPTS, padding)
    with ImageEmbedder(f"hf:{folder}") as embedder:
        ours = embedder.preprocessor(frames.shape[1:3])(frames)
        std = torch.tensor(embedder.loaded.preprocess["std"]).view(1, 3, 1, 1)
        assert ours.shape == pixels.shape
        assert float(((ours - pixels).abs() * std * 255).max()) <= 1.0 + 1e-4  # one grey level
        np.testing.assert_allclose(embedder.embed_frames(frames), image, atol=1e-4)
        np.testing.assert_array_equal(embedder.embed_texts(PROMPTS), text)
        assert embedder.embed_dim == image.shape[1] and not embedder.random_weights
        fast = "clip_image_forward.<locals>.forward" if which == "clip" else "encode_pixels"
        assert fast in embedder._image_forward.__qualname__


def test_siglip_pads_texts_to_its_maximum_length(siglip_dir, clip_dir):
    siglip, clip = load_model(f"hf:{siglip_dir}"), load_model(f"hf:{clip_dir}")
    assert siglip.tokenize(["pole on a cart"])["input_ids"].shape == (1, 16)
    assert clip.tokenize(["pole on a cart"])["input_ids"].shape[1] < 16


@pytest.mark.slow
def test_two_cpu_workers_give_the_embeddings_of_one_process(datasets_root, clip_dir):
    one, two = (
        embed_dataset(
            make_dataset(datasets_root, name, n=12, hw=(40, 48)),
            f"hf:{clip_dir}",
            devices=devices,
            shard_frames=4,
            progress=False,
        )
        for name, devices in (("one", "cpu"), ("two", "cpu,cpu"))
    )
    assert two.devices == ("cpu", "cpu") and two.computed == 12
    np.testing.assert_allclose(two.values, one.values, atol=1e-6)


def _fake_hub_cache(root: Path, repo: str, commits: dict[str, Path], main: str) -> Path:
    """A Hugging Face hub cache holding ``repo`` at ``commits`` (commit -> folder), main at ``main``."""
    base = root / f"models--{repo.replace('/', '--')}"
    for commit, folder in commits.items():
        shutil.copytree(folder, base / "snapshots" / commit)
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(main)
    return root


@pytest.fixture
def hub_cache(tmp_path, monkeypatch, clip_dir):
    """``org/tiny-clip`` cached at two commits (different weights), main at the second."""
    other = save_tiny_clip(tmp_path / "other", shortest_edge=37, seed=1)
    a, b = "a" * 40, "b" * 40
    cache = _fake_hub_cache(tmp_path / "hub", "org/tiny-clip", {a: clip_dir, b: other}, main=b)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    return a, b


def test_cache_never_mixes_backends_revisions_or_weights(datasets_root, clip_dir, hub_cache):
    a, b = hub_cache
    ds = make_dataset(datasets_root, n=4)
    models = {
        "open_clip": resolve(TINY_VIT),
        "folder": resolve(f"hf:{clip_dir}"),
        "folder-random": resolve(f"hf:{clip_dir}", "none"),
        "rev-a": resolve(f"hf:org/tiny-clip@{a}"),
        "rev-b": resolve(f"hf:org/tiny-clip@{b}"),
        "main": resolve("hf:org/tiny-clip"),
    }
    assert models["main"].identity == models["rev-b"].identity  # main is commit b
    assert models["rev-a"].identity["source"] == {"commit": a}
    keys = {name: EmbeddingCache(ds, r, "fp32").key for name, r in models.items()}
    assert len(set(keys.values())) == 5
    dirs = {EmbeddingCache(ds, r, "fp32").dir.name for r in models.values()}
    assert len(dirs) == 5 and any("org-tiny-clip-aaaaaaaaaaaa" in d for d in dirs)
    assert models["open_clip"].backend == "open_clip" and models["rev-a"].backend == "hf"
    # The same weights from a folder and from the hub are still told apart (the source differs).
    assert models["folder"].identity != models["rev-a"].identity
    ea = embed_dataset(ds, models["rev-a"], devices="cpu", progress=False)
    eb = embed_dataset(ds, models["rev-b"], devices="cpu", progress=False)
    assert ea.path != eb.path and not np.allclose(ea.values, eb.values)


def test_models_lists_hf_repos_and_what_is_cached(cli, hub_cache):
    r = cli("models")
    assert r.exit_code == 0, r.output
    rows = {
        line.split("│")[1].strip(): line for line in r.output.splitlines() if line.count("│") >= 3
    }
    assert "151.3 M" in rows["hf:openai/clip-vit-base-patch32"]
    assert "✓" in rows["hf:org/tiny-clip"] and "0.1 M" in rows["hf:org/tiny-clip"]
    assert "ViT-H-14" in rows  # the open_clip table is still there
    cached = cli("models", "--cached").output
    assert "hf:org/tiny-clip" in cached and "clip-vit-base-patch32" not in cached


def test_parameter_counts_for_the_scaling_axis(clip_dir):
    model = transformers.CLIPModel.from_pretrained(clip_dir)
    assert parameter_count(f"hf:{clip_dir}") == sum(p.numel() for p in model.parameters())
    assert parameter_count("hf:google/siglip-so400m-patch14-384") == 878_000_000  # not cached
    assert parameter_count("hf:nobody/unknown") is None


def test_random_weights_from_the_config_are_flagged_and_repeatable(clip_dir, tmp_path):
    no_weights = tmp_path / "config-only"
    shutil.copytree(clip_dir, no_weights, ignore=shutil.ignore_patterns("model.safetensors"))
    a = ImageEmbedder(f"hf:{no_weights}", pretrained="none")
    b = ImageEmbedder(f"hf:{no_weights}", pretrained="none")
    frames = random_frames(3, (40, 48))
    assert a.random_weights and a.label.endswith("RANDOM-WEIGHTS")
    np.testing.assert_array_equal(a.embed_frames(frames), b.embed_frames(frames))
    # Random weights are the model class's own initialisation under evalkit's seed (0): the
    # helper saved clip_dir that way, so they are its weights; another seed gives others.
    seed0 = ImageEmbedder(f"hf:{clip_dir}").embed_frames(frames)
    np.testing.assert_allclose(a.embed_frames(frames), seed0, atol=1e-6)
    seed1 = save_tiny_clip(tmp_path / "seed1", shortest_edge=37, seed=1)
    assert not np.allclose(ImageEmbedder(f"hf:{seed1}").embed_frames(frames), seed0, atol=1e-3)


def _error(spec: str, pretrained: str | None = None) -> str:
    t = time.perf_counter()
    with pytest.raises(ModelError) as info:
        resolve(spec, pretrained)
    assert time.perf_counter() - t < 5  # offline: no retries
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_input_gives_one_sentence(tmp_path, clip_dir, siglip_dir, hub_cache, monkeypatch):
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(
        json.dumps({"model_type": "bert", "architectures": ["BertModel"]})
    )
    message = _error(f"hf:{bert}")
    assert "BertModel" in message and "CLIPModel" in message and "SiglipModel" in message

    naflex = tmp_path / "naflex"
    naflex.mkdir()
    (naflex / "config.json").write_text(json.dumps({"model_type": "siglip2"}))
    assert "NaFlex" in _error(f"hf:{naflex}")

    no_weights = tmp_path / "no-weights"
    shutil.copytree(clip_dir, no_weights, ignore=shutil.ignore_patterns("model.safetensors"))
    assert "no weights" in _error(f"hf:{no_weights}") and "--pretrained none" in _error(
        f"hf:{no_weights}"
    )
    assert "does not exist" in _error(f"hf:{tmp_path / 'nowhere'}")
    assert "not in the local Hugging Face cache" in _error("hf:org/tiny-clip@" + "c" * 40)
    assert "HF_HUB_OFFLINE" in _error("hf:org/never-downloaded")
    assert "--pretrained none" in _error(f"hf:{clip_dir}", "laion2b_s34b_b79k")

    for change, what in [
        ({"resample": 1}, "PIL filter 1"),
        ({"do_pad": True}, "do_pad"),
        ({"rescale_factor": 0.5}, "rescales"),
        ({"image_processor_type": "Siglip2ImageProcessor"}, "Siglip2ImageProcessor"),
    ]:
        odd = tmp_path / f"odd-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(siglip_dir, odd)
        edit_image_processor(odd, change)
        message = _error(f"hf:{odd}")
        assert what in message and "refuses rather than approximate" in message

    monkeypatch.setattr(hf_models, "TRANSFORMERS_MODULE", "transformers_not_installed_here")
    message = _error(f"hf:{clip_dir}")
    assert "pip install 'evalkit[hf]'" in message


def test_cli_embed_and_banner_for_random_weights(datasets_root, cli, clip_dir):
    make_dataset(datasets_root, "toy", n=6, hw=(40, 48))
    r = cli("embed", "toy", "--model", f"hf:{clip_dir}", "--pretrained", "none", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "RANDOM WEIGHTS" in r.output and "Embedded 6 frames" in r.output
    again = cli("embed", "toy", "--model", f"hf:{clip_dir}", "--pretrained", "none")
    assert "Cached" in again.output


@pytest.mark.slow
def test_epic_and_landscape_with_an_hf_model(datasets_root, cli, tmp_path):
    model = save_tiny_clip(tmp_path / "clip-32", image_size=32)
    r = cli("collect", "cartpole", "--n", "20", "--size", "32")
    assert r.exit_code == 0, r.output
    task = ["--task", "cartpole"]
    args = ["--model", f"hf:{model}", "--alpha", "0,1", "--devices", "cpu"]
    r = cli("epic", *task, *args, "--bootstrap", "100", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("[") :])
    assert [row["alpha"] for row in rows] == [0.0, 1.0]
    assert all(0.0 <= row["distance"] <= 1.0 for row in rows)
    out = tmp_path / "landscape.png"
    r = cli("landscape", "cartpole", *args, "--out", str(out))
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 5_000


@pytest.mark.slow
def test_bench_embed_with_an_hf_model(cli, clip_dir):
    r = cli(
        "bench",
        "embed",
        "--model",
        f"hf:{clip_dir}",
        "--n",
        "6",
        "--batch-size",
        "3",
        "--frame-size",
        "61x45",
        "--sweep-n",
        "2000",
        "--devices",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    assert "processor, get_image_features" in r.output and "speed-up" in r.output
    diff = float(r.output.split("max |Δ| between the embeddings: ")[1].split()[0])
    assert diff <= 1e-4
