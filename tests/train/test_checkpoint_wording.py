"""``evaluate`` says what is wrong when the checkpoint index and the checkpoint files disagree,
and ``runs`` does not call a folder of unreadable runs empty."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers_train import one_torch_thread, tiny_config

from evalkit.errors import EvalkitError
from evalkit.train.evaluate import select_checkpoint
from evalkit.train.runner import CHECKPOINT_DIR, INDEX_FILE, read_checkpoints, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "run"
    with one_torch_thread():
        train(tiny_config("cartpole", reward="ground-truth", steps=160, checkpoint_every=80), run)
    return run


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "runs" / "run"
    shutil.copytree(trained, copy)
    return copy


def test_an_index_whose_files_are_gone_says_so(run):
    listed = read_checkpoints(run)
    shutil.rmtree(run / CHECKPOINT_DIR)
    with pytest.raises(EvalkitError) as caught:
        select_checkpoint(run, "best")
    text = str(caught.value)
    assert f"The {len(listed)} checkpoints" in text and "are gone" in text
    assert "no checkpoint yet" not in text


def test_an_empty_index_beside_checkpoint_files_says_so(run):
    (run / INDEX_FILE).write_text("[]\n")
    with pytest.raises(EvalkitError) as caught:
        select_checkpoint(run, "last")
    text = str(caught.value)
    files = sorted(p.name for p in (run / CHECKPOINT_DIR).glob("step_*.zip"))
    assert f"lists none of the {len(files)} checkpoint files" in text and files[-1] in text
    assert f"delete {INDEX_FILE}" in text
    (run / INDEX_FILE).unlink()  # as told: the files are then found by name
    assert select_checkpoint(run, "last")[0].name == files[-1]


def test_a_run_never_checkpointed_has_no_checkpoint_yet(run):
    shutil.rmtree(run / CHECKPOINT_DIR)
    (run / INDEX_FILE).unlink()
    with pytest.raises(EvalkitError, match="has no checkpoint yet"):
        select_checkpoint(run, "best")


def test_runs_with_only_a_corrupt_run_is_an_error_not_an_empty_list(run, cli):
    (run / INDEX_FILE).write_text("{ torn")
    result = cli("runs", str(run.parent))
    assert result.exit_code == 2, result.output
    assert "No training runs" not in result.output
    assert f"{run / INDEX_FILE} is corrupt" in result.output  # the reason, first
    assert result.output.strip().splitlines()[-1] == (
        f"error: No readable training runs under {run.parent}: 1 run could not be read (the "
        "reason of each is above)."
    )
    listed = cli("runs", str(run.parent), "--json")
    assert listed.exit_code == 0 and json.loads(listed.output)["skipped"][0]["path"] == str(run)
