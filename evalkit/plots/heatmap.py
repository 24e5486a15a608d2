"""The pairwise distance matrix of reward sources as a heat map (the metric panel's figure).

Input is a tidy table with one row per pair, ``source_a, source_b, distance`` (EPIC distance
between the two rewards on one dataset, in [0, 1]); the distance is symmetric, so either order
of a pair will do, and the diagonal is 0. Every source must appear with every other. Cells are annotated with the distance when the matrix is small enough to read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evalkit.plots.style import COLUMN_WIDTH, check_columns, new_figure, paper_style, set_title

ANNOTATE_UP_TO = 12
"""Matrices with at most this many sources get the distance written in each cell."""


def distance_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """The square matrix (sources × sources, in order of first appearance row by row) of a tidy
    pair table.

    :raises ValueError: a pair is missing, or the table lacks a needed column.
    """
    check_columns(table, ("source_a", "source_b", "distance"), "The distance heat map")
    pairs_in_order = zip(table["source_a"], table["source_b"])
    order = list(dict.fromkeys(source for pair in pairs_in_order for source in pair))
    pairs = table.pivot_table(
        index="source_a", columns="source_b", values="distance", aggfunc="last"
    ).reindex(index=order, columns=order)
    values = pairs.to_numpy(dtype=float, copy=True)
    values = np.where(np.isnan(values), values.T, values)  # either order of a pair will do
    np.fill_diagonal(values, 0.0)
    if np.isnan(values).any():
        a, b = np.argwhere(np.isnan(values))[0]
        raise ValueError(f"The distance heat map lacks the pair ({order[a]}, {order[b]}).")
    return pd.DataFrame(values, index=order, columns=order)


def plot_distance_heatmap(
    table: pd.DataFrame,
    *,
    title: str | None = None,
    random_weights: bool = False,
    ax: Any = None,
) -> Figure:
    """EPIC distance between every pair of reward sources, 0 (same reward) to 1 (opposite).

    :param table: ``source_a, source_b, distance`` rows (see the module docstring).
    :param title: panel title (the dataset and task, say).
    :param random_weights: put the loud random-weights warning in the title.
    """
    matrix = distance_matrix(table)
    n = len(matrix)
    side = min(max(COLUMN_WIDTH, 0.45 * n + 1.6), 3 * COLUMN_WIDTH)
    with paper_style():
        fig, ax = new_figure(ax, size=(side, side * 0.9))
        image = ax.imshow(matrix.values, vmin=0.0, vmax=1.0, cmap="viridis_r")
        ax.grid(False)  # the style's grid would cross the cells
        labels = [str(s) for s in matrix.index]
        ax.set_xticks(range(n), labels, rotation=60, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(n), labels)
        if n <= ANNOTATE_UP_TO:
            for (i, j), value in np.ndenumerate(matrix.values):
                colour = "white" if value > 0.55 else "black"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)
        fig.colorbar(image, ax=ax, shrink=0.8, label="EPIC distance")
        set_title(ax, title, random_weights)
    return fig
