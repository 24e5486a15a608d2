"""Learning curves of a training run: returns, success rate and reward fidelity against steps.

The input is a tidy table, one row per logging point (a run's ``metrics.csv``, or its
checkpoint index for runs made before that file existed)::

    step  gt_return  train_return  success_rate  fidelity_epic  fidelity_epic_low  ...
    2000  -200.0     14.2          0.0           0.64           0.58               ...

Every column but ``step`` is optional and may hold missing values: a series with no values is
left out, and so is a panel with no series. The panels share the x axis (environment steps);
the checkpoint that ``evalkit evaluate`` picks is a dashed vertical line in every panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evalkit.plots.style import (
    COLUMN_WIDTH,
    OKABE_ITO,
    REFERENCE_COLOR,
    check_columns,
    paper_style,
    set_suptitle,
)


@dataclass(frozen=True)
class CurvePanel:
    """One panel of the learning-curve figure: its y label and the columns drawn in it."""

    key: str
    ylabel: str
    series: tuple[tuple[str, str, str], ...]
    """``(column, legend label, colour)`` of each line."""
    band: tuple[str, str, str] | None = None
    """``(column, low column, high column)``: the interval shaded around one line."""
    limits: tuple[float, float] | None = None


PANELS = (
    CurvePanel(
        "gt_return", "ground-truth return", (("gt_return", "ground truth", OKABE_ITO["blue"]),)
    ),
    CurvePanel(
        "train_return",
        "reward return",
        (("train_return", "training reward", OKABE_ITO["orange"]),),
    ),
    CurvePanel(
        "success_rate",
        "success rate",
        (("success_rate", "success", OKABE_ITO["bluish_green"]),),
        limits=(-0.03, 1.03),
    ),
    CurvePanel(
        "fidelity",
        "fidelity on visited states",
        (
            ("fidelity_epic", "goal EPIC (lower is better)", OKABE_ITO["vermillion"]),
            ("fidelity_auc", "AUC (higher is better)", OKABE_ITO["reddish_purple"]),
        ),
        band=("fidelity_epic", "fidelity_epic_low", "fidelity_epic_high"),
        limits=(-0.03, 1.03),
    ),
)
"""The panels, top to bottom."""

PANEL_HEIGHT = 1.35
"""Height of one panel, inches."""


def _has_values(table: pd.DataFrame, column: str) -> bool:
    return column in table.columns and bool(table[column].notna().any())


def curve_panels(table: pd.DataFrame) -> list[CurvePanel]:
    """The panels that have at least one series with a value in ``table``."""
    return [p for p in PANELS if any(_has_values(table, c) for c, _, _ in p.series)]


def _series(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    rows = table[table[column].notna()]
    return rows["step"].to_numpy(dtype=float), rows[column].to_numpy(dtype=float)


def plot_learning_curves(
    table: pd.DataFrame,
    *,
    marked_step: float | None = None,
    marked_label: str = "evaluated checkpoint",
    title: str | None = None,
    random_weights: bool = False,
) -> Figure:
    """Draw a run's learning curves, one panel per quantity, sharing the step axis.

    :param table: column ``step`` and any of ``gt_return``, ``train_return``, ``success_rate``,
        ``fidelity_epic`` (with ``fidelity_epic_low`` / ``fidelity_epic_high``, shaded) and
        ``fidelity_auc``; missing values are gaps, empty series are left out.
    :param marked_step: the step of the checkpoint to mark (a dashed line in every panel).
    :param marked_label: its legend label.
    :param title: the figure's title; ``random_weights`` adds the loud warning line.
    :raises ValueError: no step column, no rows, or no series with a value.
    """
    check_columns(table, ("step",), "plot_learning_curves")
    table = table.sort_values("step", kind="stable")
    panels = curve_panels(table)
    if not panels:
        raise ValueError("plot_learning_curves got a table without any value to draw.")
    with paper_style():
        fig = Figure(figsize=(COLUMN_WIDTH * 1.5, PANEL_HEIGHT * len(panels) + 0.6))
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        for i, (ax, panel) in enumerate(zip(axes, panels)):
            if panel.band is not None and all(_has_values(table, c) for c in panel.band):
                rows = table.dropna(subset=list(panel.band))
                ax.fill_between(
                    rows["step"].to_numpy(dtype=float),
                    rows[panel.band[1]].to_numpy(dtype=float),
                    rows[panel.band[2]].to_numpy(dtype=float),
                    color=panel.series[0][2],
                    alpha=0.2,
                    linewidth=0,
                    label="EPIC interval",
                )
            for column, label, color in panel.series:
                if _has_values(table, column):
                    x, y = _series(table, column)
                    ax.plot(x, y, color=color, marker="o", markersize=2.5, label=label)
            if marked_step is not None:
                ax.axvline(
                    marked_step,
                    color=REFERENCE_COLOR,
                    linestyle="--",
                    linewidth=1.0,
                    label=f"{marked_label} (step {int(marked_step)})" if i == 0 else None,
                )
            if panel.limits is not None:
                ax.set_ylim(*panel.limits)
            ax.set_ylabel(panel.ylabel)
            if len(ax.get_legend_handles_labels()[0]) > 1 or panel.key == "fidelity":
                ax.legend(loc="best", fontsize=6)  # one series needs none: the y label names it
        axes[-1].set_xlabel("environment steps")
        axes[-1].margins(x=0.02)
        set_suptitle(fig, title, random_weights)
    return fig
