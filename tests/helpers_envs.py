"""Shared helpers for the classic-control environment, sweep and contact-sheet tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def pump_energy(obs: np.ndarray) -> np.ndarray:
    """MountainCar policy that reaches the goal: push in the direction of motion."""
    return np.array([1.0 if obs[1] >= 0 else -1.0], dtype=np.float32)


def distinct_colours(frame: np.ndarray) -> int:
    """Number of distinct RGB colours in a ``uint8 (h, w, 3)`` frame."""
    flat = frame.reshape(-1, 3).astype(np.int64)
    return len(np.unique(flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]))


def changed_columns(a: np.ndarray, b: np.ndarray, threshold: int = 30) -> np.ndarray:
    """Column indices where two frames differ by more than ``threshold`` in some channel."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
    return np.nonzero((diff > threshold).any(axis=0))[0]


def small_sweep(family: str, root: Any, n: int = 8, size: int = 32, **kwargs: Any):
    """A tiny sweep dataset (no progress bar) for tests."""
    from evalkit.data.sweeps import collect_sweep

    return collect_sweep(family, n, size, root=root, progress=False, **kwargs)
