"""Hugging Face X-CLIP: video embeddings, video-conditioned text embeddings and logits equal to
transformers' own processor and full forward, on tiny random models saved the way users save
them; its refusals (single frames, a window of the wrong length, unconditioned texts, a
processor setting evalkit cannot reproduce)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_hf import PROMPTS, edit_image_processor, transformers
from helpers_video import NUM_FRAMES, save_tiny_xclip
from helpers_vlm import make_dataset, random_frames

from evalkit.errors import EvalkitError, ModelError
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.engine import embed_dataset
from evalkit.vlm.models import resolve
from evalkit.vlm.window_cache import WindowEmbeddingCache, dataset_windows
from evalkit.vlm.windows import WindowSpec, window_rows


@pytest.fixture(scope="module")
def xclip_dirs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("xclip")
    return {
        "videomae": save_tiny_xclip(base / "videomae", layout="processor"),
        "clip": save_tiny_xclip(base / "clip", layout="separate"),
        "resized": save_tiny_xclip(base / "resized", shortest_edge=37, layout="processor"),
    }


def _reference(folder: Path, frames: np.ndarray, windows: np.ndarray, prompts: list[str]):
    """transformers the documented way: the processor on the windows' frames and texts, the
    full forward."""
    model = transformers.XCLIPModel.from_pretrained(folder).eval()
    processor = transformers.XCLIPProcessor.from_pretrained(folder)
    videos = [list(frames[w]) for w in windows]
    inputs = processor(videos=videos, text=prompts, padding=True, return_tensors="pt")
    pixels = inputs["pixel_values"]
    if pixels.ndim == 4:  # a CLIPImageProcessor flattens the videos' frames
        inputs["pixel_values"] = pixels.view(len(windows), -1, *pixels.shape[1:])
    with torch.no_grad():
        out = model(**inputs)
    return inputs["pixel_values"], out, float(model.logit_scale.detach().exp())


def _windows(n_frames: int) -> np.ndarray:
    episodes = np.arange(n_frames) // 8
    steps = np.arange(n_frames) % 8
    return window_rows(episodes, steps, WindowSpec(NUM_FRAMES, 2))


@pytest.mark.parametrize(
    "which, tolerance", [("videomae", 1e-5), ("clip", 1e-5), ("resized", 1e-5)]
)
def test_video_and_conditioned_text_embeddings_equal_transformers(which, tolerance, xclip_dirs):
    folder = xclip_dirs[which]
    hw = (32, 32) if which != "resized" else (45, 61)  # resized: short side to 37, then a crop
    frames = random_frames(16, hw)
    windows = _windows(16)
    pixels, ref, scale = _reference(folder, frames, windows, PROMPTS)
    with ImageEmbedder(f"hf:{folder}", batch_size=3 * NUM_FRAMES) as embedder:
        assert embedder.resolved.embeds_windows and embedder.resolved.frames_per_window == 4
        pre = embedder.preprocessor(frames.shape[1:3])
        ours = pre(frames).view(16, 3, *pixels.shape[-2:])[windows]
        std = torch.tensor(embedder.loaded.preprocess["std"]).view(1, 1, 3, 1, 1)
        assert ours.shape == pixels.shape
        grey_levels = float(((ours - pixels).abs() * std * 255).max())
        assert grey_levels <= (1e-3 if which != "resized" else 1.0 + 1e-4)
        video = embedder.embed_windows(frames, windows)
        text = embedder.embed_window_texts(frames, windows, PROMPTS)
    assert text.shape == (len(windows), len(PROMPTS), 24)
    assert float(np.abs(video - ref.video_embeds.numpy()).max()) <= tolerance
    assert float(np.abs(text - ref.text_embeds.numpy()).max()) <= tolerance
    logits = scale * np.einsum("bd,bkd->bk", video, text)
    assert float(np.abs(logits - ref.logits_per_video.numpy()).max()) <= tolerance * scale
    # conditioned: one text embedding per window, not the same for every window
    assert not np.allclose(text[0], text[-1], atol=1e-4)


def test_xclip_windows_through_the_engine_cache(xclip_dirs, datasets_root):
    ds = make_dataset(datasets_root, n=20, hw=(32, 32))
    run = embed_dataset(
        ds,
        f"hf:{xclip_dirs['videomae']}",
        devices="cpu",
        progress=False,
        window=WindowSpec(NUM_FRAMES, 2),
    )
    rows = window_rows(
        ds.states["episode"].to_numpy(), ds.states["step"].to_numpy(), WindowSpec(4, 2)
    )
    _, ref, _ = _reference(xclip_dirs["videomae"], np.asarray(ds.frames), rows, PROMPTS[:1])
    assert float(np.abs(np.asarray(run.values) - ref.video_embeds.numpy()).max()) <= 1e-5
    assert "k4s2" in run.path.name
    model = transformers.XCLIPModel.from_pretrained(xclip_dirs["videomae"])
    resolved = resolve(f"hf:{xclip_dirs['videomae']}")
    assert resolved.parameters == sum(p.numel() for p in model.parameters())
    assert resolved.embed_dim == 24 and resolved.naive_reference is None


def test_xclip_refusals_are_one_sentence(xclip_dirs, datasets_root, tmp_path):
    folder = xclip_dirs["videomae"]
    frames = random_frames(8, (32, 32))
    with ImageEmbedder(f"hf:{folder}") as embedder:
        with pytest.raises(ModelError, match="embeds windows of 4 frames, not single frames"):
            embedder.embed_frames(frames)
        with pytest.raises(ModelError, match="exactly 4 frames, not 3"):
            embedder.embed_windows(frames, np.array([[0, 1, 2]]))
        with pytest.raises(ModelError, match="conditions its text embeddings on the video"):
            embedder.embed_texts(["a pole"])
    ds = make_dataset(datasets_root, n=20, hw=(32, 32))
    with pytest.raises(ModelError, match="not single frames"):
        embed_dataset(ds, f"hf:{folder}", devices="cpu", progress=False)
    odd = save_tiny_xclip(tmp_path / "odd")
    edit_image_processor(odd, {"resample": 0})
    with pytest.raises(ModelError) as err:
        resolve(f"hf:{odd}")
    text = str(err.value)
    assert "resamples with PIL filter 0" in text and "\n" not in text


def test_conditioned_texts_are_cached_per_prompt_beside_the_windows(xclip_dirs, datasets_root):
    ds = make_dataset(datasets_root, n=16, hw=(32, 32))
    window = WindowSpec(NUM_FRAMES, 1)
    spec = f"hf:{xclip_dirs['videomae']}"
    cache = WindowEmbeddingCache(ds, resolve(spec), "fp32", window)
    calls: list[list[str]] = []
    with ImageEmbedder(spec) as embedder:
        rows = dataset_windows(ds, window)

        def compute(prompts: list[str]) -> np.ndarray:
            calls.append(prompts)
            return embedder.embed_window_texts(ds.frames, rows, prompts)

        with pytest.raises(EvalkitError, match="not embedded yet"):
            cache.window_texts(PROMPTS[:2], compute)
        embed_dataset(ds, spec, devices="cpu", progress=False, window=window)
        first = cache.window_texts(PROMPTS[:2], compute)
        both = cache.window_texts([PROMPTS[2], PROMPTS[0]], compute)
        again = cache.window_texts(PROMPTS[:3], compute)
        direct = embedder.embed_window_texts(ds.frames, rows, PROMPTS[:3])
    assert calls == [PROMPTS[:2], [PROMPTS[2]]]  # each prompt computed once
    assert first.shape == (16, 2, 24)
    np.testing.assert_array_equal(both[:, 1], first[:, 0])
    np.testing.assert_allclose(again, direct, atol=1e-5)  # padded with other prompts
    other = WindowEmbeddingCache(ds, resolve(spec), "fp32", WindowSpec(NUM_FRAMES, 2))
    assert other.dir != cache.dir and not other.dir.exists()
