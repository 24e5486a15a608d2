"""Batched preprocessing gives what open_clip's PIL transform gives: within one grey level where
it resizes (rarely even that), exactly where it only crops or pads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_vlm import random_frames
from open_clip.transform import PreprocessCfg, image_transform
from PIL import Image

from evalkit.errors import DatasetError
from evalkit.vlm.preprocess import BatchPreprocessor, plan_resize


def _cfg(**kw):
    cfg = dict(PreprocessCfg().__dict__)
    cfg.update(kw)
    return cfg


def _open_clip(cfg, frames):
    t = image_transform(
        cfg["size"],
        is_train=False,
        mean=cfg["mean"],
        std=cfg["std"],
        resize_mode=cfg["resize_mode"],
        interpolation=cfg["interpolation"],
        fill_color=cfg["fill_color"],
    )
    return torch.stack([t(Image.fromarray(f)) for f in frames])


@pytest.mark.parametrize(
    "hw, kw",
    [
        ((400, 600), dict(size=224)),  # CartPole's render: downscale + crop width
        ((120, 90), dict(size=32)),  # portrait: crop height
        ((32, 32), dict(size=32)),  # already the right size
        ((37, 53), dict(size=32)),  # odd sizes, odd crop offsets
        ((50, 70), dict(size=32, resize_mode="longest")),  # pad top/bottom
        ((70, 50), dict(size=32, resize_mode="longest", fill_color=128)),
        ((50, 70), dict(size=32, resize_mode="squash")),
        ((50, 70), dict(size=32, interpolation="bilinear")),
        ((80, 90), dict(size=(32, 48))),  # non-square model input
        ((700, 1000), dict(size=32)),  # strong downscale: wide filter
        ((20, 30), dict(size=32)),  # upscale (allowed explicitly)
    ],
)
def test_equal_to_open_clip_pil_transform_within_one_grey_level(hw, kw):
    cfg = _cfg(**kw)
    frames = random_frames(3, hw, seed=sum(hw))
    frames[0] = np.random.default_rng(1).integers(
        0, 256, size=frames[0].shape, dtype=np.uint8
    )  # pure noise: overshoot clipping
    pre = BatchPreprocessor(cfg, hw, allow_upscale=True)
    ours = pre(frames)
    ref = _open_clip(cfg, frames)
    assert ours.shape == ref.shape and ours.dtype == torch.float32
    # Undo Normalize to compare in grey levels (0-255), as Pillow produced them.
    std = torch.tensor(cfg["std"]).view(1, 3, 1, 1)
    mean = torch.tensor(cfg["mean"]).view(1, 3, 1, 1)
    levels = lambda t: torch.round((t * std + mean) * 255).to(torch.int64)  # noqa: E731
    diff = (levels(ours) - levels(ref)).abs()
    assert int(diff.max()) <= 1
    assert float((diff > 0).double().mean()) < 0.02
    # Pixels that agree in grey level agree in every bit after ToTensor + Normalize.
    same = diff == 0
    assert torch.equal(ours[same], ref[same])
    # The uint8 stage alone is what goes to the device.
    resized = pre.resize_uint8(frames)
    assert resized.dtype == torch.uint8 and tuple(resized.shape) == tuple(ref.shape)


@pytest.mark.parametrize(
    "hw, kw",
    [
        ((32, 32), dict(size=32)),  # nothing to do
        ((20, 32), dict(size=32, resize_mode="longest", fill_color=77)),  # pad only
        ((40, 32), dict(size=32)),  # crop only
    ],
)
def test_bit_identical_when_nothing_is_resized(hw, kw):
    cfg = _cfg(**kw)
    frames = random_frames(2, hw, seed=3)
    pre = BatchPreprocessor(cfg, hw)
    assert pre.plan.resized_hw == pre.plan.in_hw
    assert torch.equal(pre(frames), _open_clip(cfg, frames))


def test_accepts_numpy_memmap_and_tensor_batches(tmp_path):
    frames = random_frames(4, (40, 48))
    np.save(tmp_path / "f.npy", frames)
    mapped = np.load(tmp_path / "f.npy", mmap_mode="r")
    pre = BatchPreprocessor(_cfg(size=32), (40, 48))
    assert torch.equal(pre(mapped[1:3]), pre(torch.from_numpy(frames[1:3])))


def test_frames_smaller_than_the_model_input_are_refused_with_advice():
    with pytest.raises(DatasetError, match=r"--size.*--allow-upscale"):
        BatchPreprocessor(_cfg(size=32), (24, 40))
    assert plan_resize((24, 40), _cfg(size=32)).upscales
    assert not plan_resize((32, 40), _cfg(size=32)).upscales


def test_any_memory_layout_gives_the_same_pixels():
    frames = random_frames(3, (40, 48))
    transposed = np.ascontiguousarray(frames.transpose(0, 2, 1, 3)).transpose(
        0, 2, 1, 3
    )  # same values, other strides
    assert not transposed.flags.c_contiguous
    pre = BatchPreprocessor(_cfg(size=32), (40, 48))
    assert torch.equal(pre(transposed), pre(frames))
    assert torch.equal(pre(torch.from_numpy(transposed)), pre(frames))


def test_rejects_wrong_frames():
    pre = BatchPreprocessor(_cfg(size=32), (40, 48))
    with pytest.raises(ValueError, match="uint8"):
        pre(np.zeros((2, 40, 48, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="preprocessor is for"):
        pre(np.zeros((2, 41, 48, 3), dtype=np.uint8))
