"""Options and helpers shared by several command modules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.data.store import Dataset

ROOT_OPTION = typer.Option(
    None, "--root", help="Datasets root (default: $EVALKIT_DATASETS or ./datasets)."
)
"""``--root``: where datasets live; every command that reads or writes datasets takes it."""

GOAL_FRAMES_OPTION = typer.Option(
    None,
    "--goal-frames",
    help="With --model: the goal as example frames instead of the task's sentence: ids:3,17, labels:rule, DATASET@ids:..., or a folder of images (their mean embedding is the goal).",
)
BASELINE_FRAMES_OPTION = typer.Option(
    None,
    "--baseline-frames",
    help="With --goal-frames: the baseline as example frames too (default: the task's baseline sentence).",
)
"""``--goal-frames`` / ``--baseline-frames``: a frame-prototype goal (:mod:`evalkit.pipeline.prototypes`)."""


def check_frame_options(
    goal_frames: Optional[str], baseline_frames: Optional[str], model: Optional[str]
) -> None:
    """``--goal-frames`` / ``--baseline-frames`` need ``--model``, and a baseline needs a goal."""
    if (goal_frames or baseline_frames) and model is None:
        raise EvalkitError(
            "--goal-frames and --baseline-frames need --model (whose embeddings they use)."
        )
    if baseline_frames and not goal_frames:
        raise EvalkitError("--baseline-frames needs --goal-frames (the goal as frames too).")


def embed_options(devices: Optional[str], batch_size: Optional[int]) -> dict[str, object]:
    """``--devices`` / ``--batch-size`` as keyword arguments for the embedding engine (unset ones left out)."""
    return {k: v for k, v in (("devices", devices), ("batch_size", batch_size)) if v}


MAX_SEED = 2**32 - 1
"""Largest seed numpy and gymnasium accept (seeds are 0 ... 2**32 - 1)."""


def check_seed(value: Optional[int]) -> Optional[int]:
    """``--seed``: a whole number from 0 to :data:`MAX_SEED` (``None``: the command's default)."""
    if value is not None and not 0 <= value <= MAX_SEED:
        raise typer.BadParameter(
            f"{value} is not a seed; use a whole number from 0 to {MAX_SEED}.", param_hint="--seed"
        )
    return value


def seed_option(default: Optional[int], help: str) -> Any:
    """The ``--seed`` option of every command that takes one, checked by :func:`check_seed`."""
    return typer.Option(default, "--seed", help=help, callback=check_seed)


MIN_BOOTSTRAP = 100
"""Fewest bootstrap resamples that make an interval; 0 means none."""


def check_bootstrap(n: int) -> int:
    """``--bootstrap``: 0 (no interval) or at least :data:`MIN_BOOTSTRAP` resamples."""
    if 0 < n < MIN_BOOTSTRAP:
        raise EvalkitError(
            f"--bootstrap {n} is too few resamples for an interval; use 0 for none, or at least {MIN_BOOTSTRAP} "
            "(the default 2000 gives stable 95 % bounds)."
        )
    return n


def parse_alphas(text: str) -> list[float]:
    """``--alpha 0,0.25,0.5`` as a list of distinct α in [0, 1]."""
    try:
        alphas = [float(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of numbers, e.g. 0,0.25,0.5,0.75,1.",
            param_hint="--alpha",
        ) from None
    if not alphas:
        raise typer.BadParameter("give at least one α.", param_hint="--alpha")
    bad = [a for a in alphas if not (0.0 <= a <= 1.0)]
    if bad:
        raise typer.BadParameter(
            f"α must lie in [0, 1] (paper Definition 1); got {bad[0]:g}.", param_hint="--alpha"
        )
    if len(set(alphas)) != len(alphas):
        raise typer.BadParameter("an α is repeated.", param_hint="--alpha")
    return alphas


def task_dataset(task_name: str, dataset: Optional[str], root: Optional[Path]) -> "Dataset":
    """The dataset a task is evaluated on: ``dataset`` if given, else the task's default one
    (with a clear error saying how to make it when it is not there, or which file is corrupt)."""
    from evalkit.data.store import dataset_path, open_dataset, resolve_root
    from evalkit.tasks import get_task

    task = get_task(task_name)
    if dataset is None:
        name = task.env.default_dataset
        if not dataset_path(name, root).exists():
            raise EvalkitError(
                f"Task {task.name!r} is evaluated on the dataset {name!r} by default, and there is none under "
                f"{resolve_root(root)}; make it with 'evalkit collect {task.family}' (or pass --dataset)."
            )
        dataset = name
    ds = open_dataset(dataset, root)
    ds.check_tables()  # a corrupt states, labels or results table is one sentence, before any work
    return ds
