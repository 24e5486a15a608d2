"""A collect whose dataset would not fit is refused up front, with the figure, before any
frame or state row is made."""

from __future__ import annotations

import shutil
import time
from collections import namedtuple

import pytest

from evalkit.data import store
from evalkit.data.sweeps import collect_sweep
from evalkit.errors import DatasetError


def test_a_huge_collect_is_refused_at_once_with_its_size(cli, datasets_root):
    start = time.perf_counter()
    result = cli("collect", "cartpole", "--n", "100000000")
    assert result.exit_code == 2
    # 100 000 000 × 224 × 224 × 3 bytes of frames alone are 15.05e12 bytes = 13 690 GiB
    assert "100,000,000 frames of 224×224 need" in result.output
    need = float(result.output.split(" need ")[1].split(" GiB")[0])
    assert need > 100_000_000 * 224 * 224 * 3 / 2**30
    assert "limit" in result.output and "--n" in result.output
    assert time.perf_counter() - start < 20
    assert not datasets_root.exists() or list(datasets_root.iterdir()) == []


def test_a_collect_beyond_free_disk_is_refused(datasets_root, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**6, 0, 10**6))
    with pytest.raises(DatasetError, match=r"free under .*pass another --root"):
        collect_sweep("cartpole", n=100, size=64, progress=False)
    assert list(datasets_root.iterdir()) == []


def test_dataset_bytes_counts_frames_and_states():
    assert store.dataset_bytes(10, (4, 5, 3)) == 10 * (60 + store.STATE_ROW_BYTES)
