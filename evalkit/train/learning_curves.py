"""A run's learning-curve figure: :func:`learning_curve_figure` draws it, :func:`write_learning_curves`
saves it into the run folder as ``learning_curves.png`` and ``.svg`` (``evalkit train`` does at
the end; ``evalkit report`` draws it for every run it finds).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from evalkit.errors import EvalkitError
from evalkit.plots.learning_curve import curve_panels, plot_learning_curves
from evalkit.plots.style import save_figure
from evalkit.train.config import read_run_config
from evalkit.train.run_index import curve_table, summarize_run

CURVES_FILE = "learning_curves"
"""Stem of the figure files in the run folder."""


def learning_curve_figure(run_dir: str | Path) -> Figure:
    """The learning curves of a run, with the checkpoint ``evalkit evaluate`` picks marked.

    For a ground-truth run the reward return is the ground-truth return and is drawn once.

    :raises EvalkitError: not a run, or nothing logged yet.
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    curves = curve_table(run_dir)
    table = curves.table
    if not config.model_reward:
        table = table.drop(columns="train_return")
    if not curve_panels(table):
        raise EvalkitError(
            f"{run_dir} has logged no returns yet (its {curves.source} has none); "
            "train it longer than one rollout."
        )
    summary = summarize_run(run_dir)
    return plot_learning_curves(
        table,
        marked_step=summary.evaluated_step,
        title=f"{run_dir.name}: {config.task}, {str(config.algo).upper()}",
        random_weights=summary.reward_is_random,
    )


def write_learning_curves(run_dir: str | Path) -> list[Path]:
    """Draw the run's learning curves into ``<run>/learning_curves.{png,svg}``; the written paths."""
    fig = learning_curve_figure(run_dir)
    return save_figure(fig, Path(run_dir) / CURVES_FILE, formats=["png", "svg"])
