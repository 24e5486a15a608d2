"""A corrupt states, labels or results table is one "is corrupt; ..." sentence (as a corrupt
frames.npy is); ``datasets`` marks the dataset, ``datasets --verify`` finds changed pixels, and
``report`` skips and flags such a dataset while reporting the others."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_epic import write_reward_module

from evalkit.data.store import open_dataset
from evalkit.data.sweeps import collect_sweep

TABLES = ["states.parquet", "labels/rule.parquet", "results/epic.parquet"]


@pytest.fixture
def two_sweeps(datasets_root, tmp_path, monkeypatch, cli):
    """Two cartpole sweeps, each with saved EPIC results."""
    monkeypatch.chdir(tmp_path)
    module = write_reward_module(tmp_path, "corrupt_rewards")
    for name in ("good", "bad"):
        collect_sweep("cartpole", n=40, size=16, name=name, progress=False)
        result = cli(
            "epic", "--task", "cartpole", "--dataset", name,
            "--reward", f"{module}:neg_abs_angle", "--bootstrap", "0",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    return module


def _garble(path):
    path.write_bytes(b"PAR1" + b"\x00garbage" * 20)


@pytest.mark.parametrize("table", TABLES)
def test_a_corrupt_table_is_one_sentence_everywhere(
    cli, datasets_root, two_sweeps, table, tmp_path
):
    target = datasets_root / "bad" / table
    _garble(target)
    epic = cli(
        "epic", "--task", "cartpole", "--dataset", "bad",
        "--reward", f"{two_sweeps}:neg_abs_angle", "--bootstrap", "0",
    )  # fmt: skip
    assert epic.exit_code == 2
    assert f"error: {target} is corrupt (" in epic.output and "Traceback" not in epic.output

    listing = cli("datasets")
    assert listing.exit_code == 0
    bad_line = next(line for line in listing.output.splitlines() if " bad " in line)
    assert "corrupt" in bad_line

    report = cli("report", "--out", str(tmp_path / "rep"))
    assert report.exit_code == 0, report.output
    html = next((tmp_path / "rep").glob("*.html")).read_text()
    assert "dataset folder bad was skipped" in html and "is corrupt" in html
    assert "good" in html


def test_datasets_verify_finds_pixels_changed_under_a_valid_header(cli, datasets_root):
    collect_sweep("cartpole", n=40, size=16, name="pixels", progress=False)
    frames = np.load(datasets_root / "pixels" / "frames.npy", mmap_mode="r+")
    frames[3, 2, 2, 0] ^= 0xFF
    frames.flush()
    del frames
    assert "corrupt" not in cli("datasets").output  # the quick listing reads no pixels
    verified = cli("datasets", "--verify")
    assert verified.exit_code == 1
    assert "does not match its content hash" in verified.output
    assert open_dataset("pixels").frames.shape == (40, 16, 16, 3)


def test_datasets_verify_passes_a_healthy_dataset(cli, datasets_root):
    collect_sweep("cartpole", n=20, size=16, name="fine", progress=False)
    result = cli("datasets", "--verify")
    assert result.exit_code == 0 and "corrupt" not in result.output
