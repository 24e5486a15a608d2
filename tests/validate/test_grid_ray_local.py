"""The grid's own local Ray instance (``ray_address="local"``): started for the grid, shut down
after it; real Ray, never a mock."""

from __future__ import annotations

import json

import helpers_grid
import pytest

from evalkit.validate.grid import Trial, run_grid

ray = pytest.importorskip("ray", reason="the grid's Ray path needs the ray extra")


@pytest.mark.slow
def test_a_local_ray_instance_runs_the_grid_and_is_shut_down_after_it(tmp_path):
    trials = [Trial(f"x={x}", helpers_grid.square, {"x": x}) for x in range(3)]
    trials.append(Trial("bad", helpers_grid.fail, {"message": "no such reward"}))
    lines = []
    result = run_grid(trials, tmp_path, ray_address="local", workers=2, progress=lines.append)
    assert sorted(result.finished) == ["x=0", "x=1", "x=2"]
    assert result.failed["bad"].startswith("ValueError: no such reward")
    for x in range(3):
        assert (tmp_path / f"x={x}" / "y.txt").read_text() == str(x * x)
        assert json.loads((tmp_path / f"x={x}" / "trial.json").read_text())["settings"] == {"x": x}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x=0", "x=1", "x=2"]
    assert "3/4 done, 0 running, 1 failed" in lines[-1].line()
    assert not ray.is_initialized()
