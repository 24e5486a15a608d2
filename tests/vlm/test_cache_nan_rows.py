"""A NaN row in a finished embedding cache is noticed: the cache is not used (with a one-line
warning), ``embed`` computes it again, and ``select`` says which command fixes it."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_heads import TINY, embedded_sweep

from evalkit.vlm import resolve
from evalkit.vlm.cache import EmbeddingCache, first_non_finite_row

TINY_ARGS = ("--model", "evalkit-tiny-vit", "--pretrained", "none")


def test_first_non_finite_row_against_a_naive_scan():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(1000, 8)).astype(np.float32)
    assert first_non_finite_row(values, chunk=64) is None
    for row, bad in ((999, np.nan), (130, np.inf), (64, -np.inf), (0, np.nan)):
        v = values.copy()
        v[row, 3] = bad
        v[row + 1 :, 5] = np.nan  # later bad rows too: the first is the one named
        naive = next(i for i in range(len(v)) if not all(np.isfinite(x) for x in v[i]))
        assert first_non_finite_row(v, chunk=64) == naive == row


def _corrupt(ds, row: int) -> np.ndarray:
    cache = EmbeddingCache(ds, resolve(TINY), "fp32")
    path = cache.dir / "embeddings.npy"
    good = np.load(path).copy()
    values = np.load(path, mmap_mode="r+")
    values[row] = np.nan
    values.flush()
    del values
    return good


@pytest.fixture
def sweep(datasets_root):
    return embedded_sweep(datasets_root)


def test_embed_notices_a_nan_row_and_computes_the_cache_again(cli, sweep):
    good = _corrupt(sweep, 17)
    result = cli("embed", sweep.name, *TINY_ARGS, "--devices", "cpu", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "is corrupt (the embedding of frame 17 is not a finite number)" in result.output
    assert result.output.count("is corrupt") == 1
    assert "Embedded 120 frames" in result.output  # computed, not "nothing to compute"
    again = EmbeddingCache(sweep, resolve(TINY), "fp32").load()
    assert again is not None and np.isfinite(again).all()
    np.testing.assert_allclose(again, good, rtol=1e-5, atol=1e-6)


def test_select_on_a_nan_cache_names_the_command_that_fixes_it(cli, sweep):
    _corrupt(sweep, 3)
    result = cli(
        "select",
        sweep.name,
        "-t",
        "cartpole",
        *TINY_ARGS,
        "--heads",
        "--no-save",
        "--bootstrap",
        "0",
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "evalkit.rewards.unit" not in result.output
    assert "is corrupt" in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"evalkit embed {sweep.name}" in last
