"""A run folder's lock: one process trains a run at a time, and `evalkit runs` knows which runs
are training (the kernel drops the lock of a killed process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest
from helpers_train import one_torch_thread, shape_reward, tiny_config

from evalkit.errors import EvalkitError
from evalkit.train.run_index import summarize_run
from evalkit.train.runner import LOCK_FILE, RunLock, run_is_training, train


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("lock") / "run"
    with one_torch_thread():
        train(tiny_config(steps=120, checkpoint_every=120), run, reward_fn=shape_reward)
    return run


def test_a_held_lock_refuses_a_second_trainer_and_shows_running(stopped_run):
    assert (stopped_run / LOCK_FILE).is_file()
    assert run_is_training(stopped_run) is False
    assert summarize_run(stopped_run).status == "finished"
    with RunLock(stopped_run):  # another trainer holds it (a separate open file: flock conflicts)
        assert run_is_training(stopped_run) is True
        assert summarize_run(stopped_run).status == "running"
        with pytest.raises(EvalkitError, match="being trained by another process"):
            train(tiny_config(steps=240), stopped_run, resume=True, reward_fn=shape_reward)
    assert run_is_training(stopped_run) is False


def test_the_lock_of_a_killed_process_is_released(stopped_run):
    code = textwrap.dedent(
        f"""
        import sys, time
        from evalkit.train.runner import RunLock
        with RunLock({str(stopped_run)!r}):
            print("held", flush=True)
            time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        assert run_is_training(stopped_run) is True
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    assert run_is_training(stopped_run) is False


def test_an_old_run_without_a_lock_file_is_unknown(tmp_path):
    assert run_is_training(tmp_path) is None


def test_steps_logged_after_the_last_checkpoint_of_a_stopped_run_do_not_count(
    stopped_run, tmp_path
):
    import shutil

    from evalkit.train.metrics_log import MetricsLog

    run = tmp_path / "killed"
    shutil.copytree(stopped_run, run)
    MetricsLog(run).append({"step": 999, "gt_return": 1.0})  # killed before its checkpoint
    from evalkit.train.runner import read_checkpoints

    saved = read_checkpoints(run)[-1].step
    assert summarize_run(run).steps_done == saved < 999  # what --resume goes on from
    with RunLock(run):
        assert summarize_run(run).steps_done == 999  # while it trains, its newest row
