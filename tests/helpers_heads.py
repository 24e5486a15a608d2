"""Shared data for the head, selection and figure tests: a tiny embedded CartPole sweep."""

from __future__ import annotations

from pathlib import Path

from evalkit.data.store import Dataset
from evalkit.data.sweeps import collect_sweep
from evalkit.vlm import embed_dataset, resolve
from evalkit.vlm.models import ModelSpec

TINY = ModelSpec("evalkit-tiny-vit", "none")


def embedded_sweep(root: Path, n: int = 120) -> Dataset:
    """A CartPole angle sweep of ``n`` 32×32 frames (one episode each), embedded with :data:`TINY`."""
    ds = collect_sweep("cartpole", n, 32, root=root, progress=False).dataset
    embed_dataset(ds, resolve(TINY), devices="cpu", progress=False)
    return ds
