"""The grid's command-line options (``--workers``, ``--ray``, ``--gpus-per-trial``), shared by the
commands that run grids."""

from __future__ import annotations

from typing import Optional

import helpers_grid
import pytest
import typer
from typer.testing import CliRunner

from evalkit.cli._grid import GPUS_PER_TRIAL_OPTION, RAY_OPTION, WORKERS_OPTION, grid_options
from evalkit.errors import EvalkitError
from evalkit.validate.grid import GridOptions, Trial

study = typer.Typer()
seen: list[GridOptions] = []


@study.command()
def run(
    workers: Optional[int] = WORKERS_OPTION,
    ray: Optional[str] = RAY_OPTION,
    gpus_per_trial: Optional[float] = GPUS_PER_TRIAL_OPTION,
) -> None:
    seen.append(grid_options(workers, ray, gpus_per_trial))


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], GridOptions()),
        (["--workers", "3"], GridOptions(workers=3)),
        (["--ray", "local", "--workers", "2"], GridOptions(workers=2, ray_address="local")),
        (
            ["--ray", "ray://10.0.0.1:10001", "--gpus-per-trial", "0.5"],
            GridOptions(ray_address="ray://10.0.0.1:10001", gpus_per_trial=0.5),
        ),
    ],
)
def test_the_options_give_the_grid_options(args, expected):
    seen.clear()
    result = CliRunner().invoke(study, args)
    assert result.exit_code == 0, result.output
    assert seen == [expected]


@pytest.mark.parametrize("args", [["--workers", "0"], ["--ray"], ["--gpus-per-trial", "-1"]])
def test_bad_options_are_refused_by_the_parser(args):
    assert CliRunner().invoke(study, args).exit_code == 2


def test_gpus_per_trial_needs_ray():
    with pytest.raises(EvalkitError, match="needs --ray"):
        grid_options(None, None, 1.0)


def test_grid_options_run_the_grid_and_a_rerun_reuses_it(tmp_path):
    trials = [Trial(f"x={x}", helpers_grid.square, {"x": x}) for x in range(2)]
    first = GridOptions(workers=1).run(trials, tmp_path)
    assert sorted(first.finished) == ["x=0", "x=1"]
    assert [(tmp_path / f"x={x}" / "y.txt").read_text() for x in range(2)] == ["0", "1"]
    assert sorted(GridOptions(workers=2).run(trials, tmp_path).reused) == ["x=0", "x=1"]
