"""Unwritable places the user chose end in one sentence (one handler for OSError), and a
read-only dataset makes ``epic`` print its result without saving it."""

from __future__ import annotations

import errno

import pytest
from helpers_epic import write_reward_module

from evalkit.data.sweeps import collect_sweep
from evalkit.errors import unusable_path_error


@pytest.fixture
def sweep(datasets_root):
    return collect_sweep("cartpole", n=60, size=16, progress=False).dataset


@pytest.fixture
def blocker(tmp_path):
    """A file where a folder is expected: anything under it cannot be created (even by root)."""
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


def _one_sentence(result, path_part: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and path_part in lines[-1], lines


def test_train_out_under_a_file(cli, blocker):
    result = cli(
        "train", "--task", "cartpole", "--reward", "ground-truth", "--steps", "64",
        "--out", str(blocker / "run"),
    )  # fmt: skip
    _one_sentence(result, str(blocker / "run"))


def test_label_export_under_a_file(cli, sweep, blocker):
    target = blocker / "labels.csv"
    _one_sentence(cli("label", "export", sweep.name, "--out", str(target)), str(blocker))


def test_report_out_under_a_file(cli, sweep, blocker, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = write_reward_module(tmp_path, "report_rewards")
    epic = cli(
        "epic", "--task", "cartpole", "--reward", f"{module}:neg_abs_angle", "--bootstrap", "0"
    )
    assert epic.exit_code == 0, epic.output
    _one_sentence(cli("report", "--out", str(blocker / "rep")), str(blocker))


def test_os_errors_that_are_not_about_a_place_keep_their_traceback():
    assert unusable_path_error(OSError(errno.EROFS, "Read-only file system", "/x")) is not None
    assert "read-only" in str(unusable_path_error(OSError(errno.EROFS, "r", "/x")))
    assert unusable_path_error(OSError(errno.EROFS, "Read-only file system")) is None
    assert unusable_path_error(OSError(errno.EIO, "I/O error", "/x")) is None


def test_epic_on_a_read_only_dataset_prints_without_saving(cli, sweep, tmp_path, monkeypatch):
    import evalkit.pipeline.epic_request as epic_cli

    monkeypatch.chdir(tmp_path)
    module = write_reward_module(tmp_path, "paths_rewards")
    monkeypatch.setattr(epic_cli, "is_writable", lambda folder: False)  # root writes anywhere
    result = cli(
        "epic", "--task", "cartpole", "--reward", f"{module}:neg_abs_angle", "--bootstrap", "0"
    )
    assert result.exit_code == 0, result.output
    assert "is read-only: the result is printed but not saved" in result.output
    assert "Saved to" not in result.output
    assert not (sweep.path / "results").exists()


def test_is_writable_sees_a_missing_folder(tmp_path):
    from evalkit.fileio import is_writable

    assert is_writable(tmp_path)
    assert not is_writable(tmp_path / "missing")
