"""A full disk is one sentence, whichever writer meets it: every file evalkit writes goes through
:func:`evalkit.fileio.atomic_path`, which names the place and says the disk is full, and the CLI's
root handler prints that (tested on a real, small tmpfs when this process may mount one)."""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import unusable_path_error
from evalkit.fileio import atomic_path, disk_is_full


def _try_mount(folder: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def small_fs(tmp_path):
    """A 3 MiB tmpfs (skipped where this process cannot mount one)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not _try_mount(folder, "3m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave_kib: int) -> None:
    """Fill ``folder``'s file system up to ``leave_kib`` KiB of free room."""
    st = os.statvfs(folder)
    free_kib = st.f_bavail * st.f_frsize // 1024
    with open(folder / "filler", "wb") as f:
        f.write(b"\0" * max(0, free_kib - leave_kib) * 1024)


def _torch_save(data: np.ndarray, path: Path) -> None:
    import torch

    torch.save(torch.from_numpy(data), path)


def _zip(data: np.ndarray, path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data.bin", data.tobytes())


WRITERS = {
    "numpy": lambda data, path: np.save(open(path, "wb"), data),  # errno-less short write
    "parquet": lambda data, path: pd.DataFrame(data).to_parquet(path),
    "zip": _zip,
    "pickle": lambda data, path: pickle.dump(data, open(path, "wb")),
    "torch": _torch_save,
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_on_a_full_disk_raises_enospc_naming_the_target(small_fs, writer):
    _fill(small_fs, leave_kib=64)
    target = small_fs / "out.bin"
    data = np.random.default_rng(0).random((512, 256))  # 1 MiB: more than is free
    with pytest.raises(OSError) as caught:
        with atomic_path(target) as tmp:
            WRITERS[writer](data, tmp)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(target)
    sentence = str(unusable_path_error(caught.value))
    assert "the disk is full" in sentence and str(target) in sentence
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler"]  # no temporary left


def test_a_writer_error_with_room_left_is_not_called_a_full_disk(tmp_path):
    assert not disk_is_full(tmp_path)
    with pytest.raises(ValueError, match="bad value"):
        with atomic_path(tmp_path / "x.npy"):
            raise ValueError("bad value")
    assert list(tmp_path.iterdir()) == []


def test_a_nameless_short_write_on_a_full_disk_names_the_target(tmp_path, monkeypatch):
    monkeypatch.setattr("evalkit.fileio.disk_is_full", lambda folder: True)
    with pytest.raises(OSError) as caught:
        with atomic_path(tmp_path / "t.npy"):
            raise OSError("8192 requested and 4064 written")
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(tmp_path / "t.npy"))


def test_a_nameless_enospc_is_one_sentence_too():
    sentence = str(unusable_path_error(OSError(errno.ENOSPC, "No space left on device")))
    assert "the disk is full" in sentence and "free some space" in sentence
    assert unusable_path_error(OSError(errno.EIO, "I/O error")) is None


def test_embed_on_a_full_disk_is_one_sentence_and_keeps_nothing_half_written(
    small_fs, cli, monkeypatch
):
    from helpers_vlm import make_dataset

    ds = make_dataset(small_fs, n=200, hw=(32, 32))
    _fill(small_fs, leave_kib=24)
    result = cli(
        "embed", ds.name, "--model", "evalkit-tiny-vit", "--pretrained", "none",
        "--root", str(small_fs), "--devices", "cpu", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: Cannot write ") and "the disk is full" in last
    hidden = [p for p in small_fs.rglob(".*") if p.name.startswith(".")]
    assert hidden == []  # no temporary shard or folder left behind
    (small_fs / "filler").unlink()
    again = cli(
        "embed", ds.name, "--model", "evalkit-tiny-vit", "--pretrained", "none",
        "--root", str(small_fs), "--devices", "cpu", "--no-progress",
    )  # fmt: skip
    assert again.exit_code == 0, again.output
