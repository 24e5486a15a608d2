"""``delete`` refuses while another evalkit process holds one of the dataset's locks; a writer
whose dataset vanished says so."""

from __future__ import annotations

import errno
import subprocess
import sys
import time
from pathlib import Path

from evalkit.data.store import vanished_dataset_error
from evalkit.data.sweeps import collect_sweep

REPO = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from evalkit.fileio import file_lock
with file_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_delete_refuses_while_another_process_holds_a_lock(cli, datasets_root):
    ds = collect_sweep("cartpole", n=10, size=16, name="busy", progress=False).dataset
    lock = ds.subdir("embeddings") / ".ViT-B-32-openai.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)],
        env={"PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = cli("delete", "busy", "--yes")
        assert result.exit_code == 2
        assert "is in use by another evalkit process" in result.output
        assert "embeddings/.ViT-B-32-openai.lock" in result.output
        assert (datasets_root / "busy" / "manifest.json").is_file()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert cli("delete", "busy", "--yes").exit_code == 0
    assert not (datasets_root / "busy").exists()
    assert [p.name for p in datasets_root.iterdir()] == []


def test_a_write_into_a_vanished_dataset_says_so(tmp_path):
    gone = tmp_path / "datasets" / "cartpole-sweep" / "embeddings" / "model" / "shard-00000.npy"
    error = vanished_dataset_error(FileNotFoundError(errno.ENOENT, "No such file", str(gone)))
    assert error is not None
    assert "Dataset 'cartpole-sweep'" in str(error) and "vanished" in str(error)
    elsewhere = FileNotFoundError(errno.ENOENT, "No such file", str(tmp_path / "out" / "x.csv"))
    assert vanished_dataset_error(elsewhere) is None


def test_the_cli_handler_uses_the_vanished_sentence(cli, monkeypatch, tmp_path):

    gone = tmp_path / "gone" / "results" / "epic.parquet"

    def vanish(root):
        raise FileNotFoundError(errno.ENOENT, "No such file", str(gone))

    monkeypatch.setattr("evalkit.data.store.list_datasets", lambda root, verify: vanish(root))
    result = cli("datasets")
    assert result.exit_code == 2
    assert "Dataset 'gone'" in result.output and "vanished" in result.output
