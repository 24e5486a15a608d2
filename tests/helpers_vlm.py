"""Shared fixtures for the VLM engine tests: a tiny random-frame dataset and the tiny models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.store import Dataset, DatasetWriter
from evalkit.vlm.models import ModelSpec

TINY_VIT = ModelSpec("evalkit-tiny-vit", "none")
TINY_RN = ModelSpec("evalkit-tiny-rn", "none")


def random_frames(n: int, hw: tuple[int, int] = (40, 48), seed: int = 0) -> np.ndarray:
    """Frames that differ from each other: noise on smooth colour fields."""
    rng = np.random.default_rng(seed)
    h, w = hw
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.sin(xx / 5.0)[..., None] * np.cos(yy / 7.0)[..., None] * 100 + 128
    frames = base[None] + rng.normal(0, 40, size=(n, h, w, 3))
    return np.clip(frames, 0, 255).astype(np.uint8)


def make_dataset(
    root: Path, name: str = "vlm-toy", n: int = 40, hw: tuple[int, int] = (40, 48), seed: int = 0
) -> Dataset:
    """A cartpole-family dataset of ``n`` random frames written with the store's writer."""
    frames = random_frames(n, hw, seed)
    rows = pd.DataFrame(
        {
            "episode": np.arange(n) // 10,
            "step": np.arange(n) % 10,
            "angle": np.linspace(-0.5, 0.5, n),
            "cart_position": np.zeros(n),
        }
    )
    with DatasetWriter(
        Path(root),
        name,
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="test",
        params={"n": n, "seed": seed},
        render={"size": list(hw)},
        n_frames=n,
        frame_shape=(hw[0], hw[1], 3),
    ) as w:
        w.add(frames, rows)
    assert w.dataset is not None
    return w.dataset
