"""Two concurrent collects of one name do not race: the second waits for the first, then
reuses its dataset; the lock file is gone afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from evalkit.data.store import open_dataset
from evalkit.fileio import transient_lock

REPO = Path(__file__).resolve().parents[2]


def test_two_collects_of_one_name_take_turns(tmp_path):
    root = tmp_path / "datasets"
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVALKIT_DATASETS": str(root)}
    args = [sys.executable, "-m", "evalkit", "collect", "cartpole", "--n", "3000", "--size", "32"]
    procs = [
        subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum("already collected" in out for out in outputs) == 1, outputs
    assert [p.name for p in root.iterdir()] == ["cartpole-sweep"]
    open_dataset("cartpole-sweep", root).validate(deep=True)


def test_a_transient_lock_leaves_nothing(tmp_path):
    lock = tmp_path / ".x.lock"
    with transient_lock(lock):
        assert lock.is_file()
    assert not lock.exists()
    with transient_lock(lock):  # taken again after the file went away
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_copied_dataset_is_listed_under_its_folder_name(cli, datasets_root):
    import shutil

    from evalkit.data.sweeps import collect_sweep

    collect_sweep("cartpole", n=10, size=16, name="orig", progress=False)
    shutil.copytree(datasets_root / "orig", datasets_root / "copy")
    names = [line.split()[1] for line in cli("datasets").output.splitlines() if "cartpole" in line]
    assert sorted(names) == ["copy", "orig"]
