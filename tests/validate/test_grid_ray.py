"""The grid on a real Ray cluster: a head started on 127.0.0.1 for this module, never a mock."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import helpers_grid
import pytest

from evalkit.validate.grid import GridError, Trial, run_grid

# Ray turns a client's 127.0.0.1 into this machine's network address unless it runs in its
# single-machine (loopback) mode; the test cluster listens on loopback only. Ray reads this
# when it is imported, so it is set before.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray", reason="the grid's Ray path needs the ray extra")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    """The environment of processes that must import evalkit and helpers_grid as we do (and of
    the head: a loopback-only cluster, without the token that a shared one would need)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A one-node Ray cluster (2 CPUs) on a loopback port; its address, stopped afterwards."""
    port = _free_port()
    log = tmp_path_factory.mktemp("ray-head") / "head.log"
    with log.open("w") as out:  # a file, not a pipe: the head may write more than a pipe holds
        head = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "ray"),
                "start",
                "--head",
                "--block",
                f"--port={port}",
                "--node-ip-address=127.0.0.1",
                "--num-cpus=2",
                "--num-gpus=0",
                "--include-dashboard=false",
            ],
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started = time.monotonic()
    # `ray start --block` says so once every process is up
    while "Ray runtime started" not in log.read_text() and head.poll() is None:
        if time.monotonic() - started > 120:
            break
        time.sleep(0.2)
    if "Ray runtime started" not in log.read_text():
        head.kill()
        head.wait()
        pytest.fail("the Ray head did not start:\n" + log.read_text()[-3000:])
    print(f"\nRay head started in {time.monotonic() - started:.1f} s")
    yield f"127.0.0.1:{port}"
    head.send_signal(signal.SIGTERM)  # --block: the head stops the processes it started
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        head.kill()
        head.wait()


def _trials(fn=helpers_grid.square, n=3, **extra):
    return [Trial(f"x={x}", fn, {"x": x, **extra}) for x in range(n)]


def _broken():
    return [
        Trial("bad", helpers_grid.fail, {"message": "no such reward"}),
        Trial("dies", helpers_grid.crash, {}),
    ]


def _contents(folder: Path) -> dict[str, object]:
    """A trial folder's files and contents, without what differs run to run (pid, seconds)."""
    out: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            text = p.read_text()
            if p.name == "trial.json":
                record = json.loads(text)
                assert record["seconds"] >= 0 and record["pid"] > 0
                text = {k: v for k, v in record.items() if k not in ("seconds", "pid")}
            out[str(p.relative_to(folder))] = text
    return out


@pytest.mark.slow
def test_ray_trials_land_like_the_pools_failures_are_reported_and_a_rerun_reuses(cluster, tmp_path):
    lines = []
    result = run_grid(
        _trials() + _broken(), tmp_path / "ray", ray_address=cluster, progress=lines.append
    )
    assert sorted(result.finished) == ["x=0", "x=1", "x=2"]
    assert result.failed["bad"].startswith("ValueError: no such reward")
    assert "killed or crashed" in result.failed["dies"]
    assert lines[-1].done == 3 and lines[-1].failed == 2 and lines[-1].running == 0
    assert "3/5 done, 0 running, 2 failed" in lines[-1].line()
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == ["x=0", "x=1", "x=2"]

    pool = run_grid(_trials(), tmp_path / "pool", workers=2, start_method="fork")
    assert sorted(pool.finished) == ["x=0", "x=1", "x=2"]
    for key in pool.finished:
        assert _contents(tmp_path / "ray" / key) == _contents(tmp_path / "pool" / key)

    again = run_grid(_trials() + _broken(), tmp_path / "ray", ray_address=cluster)
    assert sorted(again.reused) == ["x=0", "x=1", "x=2"] and not again.finished
    assert set(again.failed) == {"bad", "dies"}
    with pytest.raises(GridError, match="other settings"):
        run_grid(
            [Trial("x=0", helpers_grid.square, {"x": 7})], tmp_path / "ray", ray_address=cluster
        )


@pytest.mark.slow
def test_sigterm_cancels_ray_tasks_keeps_finished_trials_and_a_rerun_resumes(cluster, tmp_path):
    script = textwrap.dedent(
        f"""
        import helpers_grid
        from evalkit.fileio import terminate_as_interrupt
        from evalkit.validate.grid import Trial, run_grid
        terminate_as_interrupt()
        trials = [Trial(f"x={{x}}", helpers_grid.slow_square, {{"x": x, "seconds": 0.3 if x < 2 else 120}}) for x in range(4)]
        run_grid(trials, {str(tmp_path)!r}, ray_address={cluster!r})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env=_env())
    deadline = time.monotonic() + 90
    started = [tmp_path / ".x=2.tmp", tmp_path / ".x=3.tmp", tmp_path / "x=0", tmp_path / "x=1"]
    while not all(p.exists() for p in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(p.exists() for p in started), "the long trials never started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x=0", "x=1"]
    finished = [
        Trial(f"x={x}", helpers_grid.slow_square, {"x": x, "seconds": 0.3}) for x in range(2)
    ]
    start = time.monotonic()
    resumed = run_grid(finished + _trials(n=4)[2:], tmp_path, ray_address=cluster)
    assert sorted(resumed.reused) == ["x=0", "x=1"] and sorted(resumed.finished) == ["x=2", "x=3"]
    assert time.monotonic() - start < 60, "the cancelled tasks still held the cluster's CPUs"


def test_an_address_that_does_not_answer_is_one_sentence_in_seconds(tmp_path):
    port = _free_port()  # closed again: nothing listens there
    start = time.monotonic()
    with pytest.raises(GridError, match=f"No Ray cluster answers at 127.0.0.1:{port}") as info:
        run_grid(_trials(n=1), tmp_path, ray_address=f"127.0.0.1:{port}")
    assert time.monotonic() - start < 10
    assert "\n" not in str(info.value) and not (tmp_path / "x=0").exists()


@pytest.mark.parametrize(
    "address, workers, message",
    [
        ("127.0.0.1", None, "not a Ray address"),
        ("ray://127.0.0.1:port", None, "not a Ray address"),
        ("127.0.0.1:6379", 2, "--workers sets the local pool"),
    ],
)
def test_bad_ray_options_are_one_sentence(tmp_path, address, workers, message):
    with pytest.raises(GridError, match=message):
        run_grid(_trials(n=1), tmp_path, ray_address=address, workers=workers)


def test_a_trial_larger_than_the_local_ray_instance_is_refused(tmp_path):
    trials = [Trial("big", helpers_grid.square, {"x": 1}, num_cpus=3)]
    with pytest.raises(GridError, match="asks for 3 CPUs but the local Ray instance has 2"):
        run_grid(trials, tmp_path, ray_address="local", workers=2)


def test_ray_not_installed_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets without the extra
    with pytest.raises(GridError, match=r"pip install 'evalkit\[ray\]'"):
        run_grid(_trials(n=1), tmp_path, ray_address="local")
