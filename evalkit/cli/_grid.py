"""The options of every command that runs a grid of trials: where its trials run.

A command takes them as::

    def study(..., workers: Optional[int] = WORKERS_OPTION, ray: Optional[str] = RAY_OPTION,
              gpus_per_trial: Optional[float] = GPUS_PER_TRIAL_OPTION):
        options = grid_options(workers, ray, gpus_per_trial)
        options.run(trials, folder, progress=...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.validate.grid import GridOptions

WORKERS_OPTION = typer.Option(
    None,
    "--workers",
    min=1,
    help="Trials run at once on this machine (default: its core count); with --ray local, the CPUs of that Ray instance.",
)
RAY_OPTION = typer.Option(
    None,
    "--ray",
    metavar="ADDRESS",
    help="Run the trials as Ray tasks (needs pip install 'evalkit[ray]'): local (a Ray instance on this machine), auto (the cluster this machine belongs to, or $RAY_ADDRESS), host:port (a head's GCS port) or ray://host:port; the study folder must be on storage every node sees at the same path.",
)
GPUS_PER_TRIAL_OPTION = typer.Option(
    None,
    "--gpus-per-trial",
    min=0.0,
    help="With --ray: GPUs each trial's task asks for (fractions share a GPU; default: the study's own).",
)


def grid_options(
    workers: Optional[int], ray: Optional[str], gpus_per_trial: Optional[float]
) -> GridOptions:
    """The grid's options from ``--workers``, ``--ray`` and ``--gpus-per-trial``.

    :raises EvalkitError: ``--gpus-per-trial`` without ``--ray``.
    """
    from evalkit.validate.grid import GridOptions

    if gpus_per_trial is not None and ray is None:
        raise EvalkitError(
            "--gpus-per-trial needs --ray (the local pool runs trials on this machine's devices as they are)."
        )
    return GridOptions(workers=workers, ray_address=ray, gpus_per_trial=gpus_per_trial)
