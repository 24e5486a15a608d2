"""The instruction-confusion matrix: the mean reward of each task's episodes (rows) under each
task's prompt (columns), with the own-prompt diagonal outlined and each row's best prompt marked.

Input: the square matrix of :func:`evalkit.metrics.confusion.confusion_matrix` and the task names.
A reward that understands the instructions has the largest value of each row on the diagonal.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from evalkit.plots.style import COLUMN_WIDTH, new_figure, paper_style, set_title

ANNOTATE_UP_TO = 12
"""Matrices with at most this many tasks get the value written in each cell."""


def plot_confusion(
    matrix: Any,
    tasks: Sequence[str],
    *,
    accuracy: float | None = None,
    title: str | None = None,
    random_weights: bool = False,
    ax: Any = None,
) -> Figure:
    """Instruction confusion as a heat map; each row's highest cell in bold.

    :param matrix: ``(n, n)`` mean reward of task-``i`` episodes under task ``j``'s prompt.
    :param tasks: the task of each row and column.
    :param accuracy: the mean per-episode accuracy, shown under the matrix.
    :param random_weights: put the loud random-weights warning in the title.
    :raises ValueError: a matrix that is not square with one task per row.
    """
    m = np.asarray(matrix, dtype=float)
    n = len(tasks)
    if m.shape != (n, n):
        raise ValueError(f"The confusion figure needs a {n} × {n} matrix, not {m.shape}.")
    side = min(max(COLUMN_WIDTH, 0.5 * n + 1.8), 3 * COLUMN_WIDTH)
    with paper_style():
        fig, ax = new_figure(ax, size=(side, side * 0.9))
        image = ax.imshow(m, cmap="viridis")
        ax.grid(False)  # the style's grid would cross the cells
        ax.set_xticks(range(n), list(tasks), rotation=60, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(n), list(tasks))
        ax.set_xlabel("prompt")
        ax.set_ylabel("episodes of")
        for i in range(n):
            ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, lw=1.2, ec="white"))
        if n <= ANNOTATE_UP_TO and np.isfinite(m).any():
            mid = np.nanmean(m)
            for (i, j), value in np.ndenumerate(m):
                best = np.isfinite(value) and value == np.nanmax(m[i])
                ax.text(
                    j,
                    i,
                    f"{value:.3g}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    fontweight="bold" if best else "normal",
                    color="black" if value > mid else "white",
                )
        fig.colorbar(image, ax=ax, shrink=0.8, label="mean reward")
        subtitle = None if accuracy is None else f"own prompt highest: {accuracy:.0%} of episodes"
        set_title(ax, title, random_weights, subtitle)
    return fig
