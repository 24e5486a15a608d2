"""Reward histograms (paper Fig. 7): rewards of goal frames against those of non-goal frames.

The further apart the two distributions (and their means, drawn as dotted lines), the better
the reward separates goal states: for a goal-based task the EPIC distance is a function of the
point-biserial correlation, which is the gap between the two means scaled by the pooled spread.
Histograms are normalised to unit area (goal frames are usually few), on shared bins.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from evalkit.plots.style import (
    COLUMN_WIDTH,
    GOAL_COLOR,
    NON_GOAL_COLOR,
    check_columns,
    new_figure,
    new_grid,
    paper_style,
    set_suptitle,
    set_title,
)

HISTOGRAM_COLUMNS = ("model", "reward", "label")
MEAN_GID = "class-mean"
"""``gid`` of the dotted lines marking each class's mean reward."""
DEFAULT_REWARD_LABEL = "CLIP reward"


def plot_histogram(
    rewards: Sequence[float] | np.ndarray,
    labels: Sequence[bool] | np.ndarray,
    *,
    bins: int = 30,
    density: bool = True,
    reward_label: str = "CLIP reward",
    title: str | None = None,
    annotation: str | None = None,
    random_weights: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Histograms of the reward for goal and non-goal frames, with each class's mean marked.

    :param rewards: one reward per frame.
    :param labels: one goal label (bool) per frame.
    :param bins: number of shared bins over the range of all rewards.
    :param density: normalise each histogram to unit area (default), else raw counts.
    :param annotation: a line under the title, e.g. the EPIC distance with its interval.
    :returns: the figure: two histogram patches labelled ``"goal: n = …, mean …"`` and
        ``"non-goal: n = …, mean …"`` and two dotted mean lines with ``gid`` :data:`MEAN_GID`.
    """
    r = np.asarray(rewards, dtype=float).ravel()
    y = np.asarray(labels).ravel()
    if r.shape != y.shape:
        raise ValueError(f"{len(r)} rewards but {len(y)} labels.")
    if len(r) == 0:
        raise ValueError("plot_histogram got no rewards; there is nothing to draw.")
    if not np.all(np.isfinite(r)):
        raise ValueError("plot_histogram got non-finite rewards.")
    y = y.astype(bool)
    lo, hi = float(r.min()), float(r.max())
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    decimals = max(
        2, int(math.ceil(-math.log10(hi - lo))) + 2
    )  # enough to tell the two means apart
    with paper_style():
        fig, ax = new_figure(ax)
        means = []
        for name, mask, color in (("non-goal", ~y, NON_GOAL_COLOR), ("goal", y, GOAL_COLOR)):
            values = r[mask]
            if len(values) == 0:
                continue
            ax.hist(
                values,
                bins=edges,
                density=density,
                histtype="stepfilled",
                alpha=0.35,
                color=color,
                edgecolor=color,
                linewidth=1.0,
                label=f"{name}: n = {len(values)}, mean {values.mean():.{decimals}f}",
            )
            means.append((values.mean(), color, name))
        data_top = ax.get_ylim()[1]
        top = data_top * 1.5  # headroom: the legend sits above the bars
        ax.set_ylim(0, top)
        for mean, color, name in means:
            ax.axvline(
                mean,
                ymax=data_top / top,
                color=color,
                linestyle=":",
                linewidth=1.6,
                gid=MEAN_GID,
                label=f"_mean {name}",
            )
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.get_major_formatter().set_useOffset(
            False
        )  # no "1e-5+0.128" offset text under the axis
        ax.set_xlabel(reward_label)
        ax.set_ylabel("density" if density else "frames")
        ax.grid(axis="x", visible=False)
        ax.legend(
            loc="upper right",
            title="dotted lines: class means",
            title_fontsize=6.5,
            alignment="right",
        )
        set_title(ax, title, random_weights, subtitle=annotation)
    return fig


def plot_histograms(
    table: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    annotations: dict[str, str] | None = None,
    bins: int = 30,
    title: str | None = None,
    random_weights: bool = False,
    ncols: int | None = None,
    reward_labels: dict[str, str] | None = None,
) -> Figure:
    """Fig. 7 for several models: one :func:`plot_histogram` panel per model, side by side.

    :param table: columns ``model, reward, label`` (one row per frame and model).
    :param models: panel order (default: the table's order).
    :param annotations: a line per model under its panel title (e.g. its EPIC distance).
    :param reward_labels: each panel's x-axis label, which its reward kind names (``CLIP
        reward``, ``prototype reward``, ``head score``; default ``CLIP reward``).
    """
    check_columns(table, HISTOGRAM_COLUMNS, "plot_histograms")
    order = list(models) if models is not None else list(dict.fromkeys(table["model"]))
    n = len(order)
    ncols = ncols or min(n, 4)
    nrows = math.ceil(n / ncols)
    with paper_style():
        fig, axes = new_grid(nrows, ncols, panel_size=(COLUMN_WIDTH * 0.85, 2.5))
        for k, model in enumerate(order):
            rows = table[table["model"] == model]
            plot_histogram(
                rows["reward"],
                rows["label"],
                bins=bins,
                title=str(model),
                annotation=(annotations or {}).get(model),
                reward_label=(reward_labels or {}).get(model, DEFAULT_REWARD_LABEL),
                ax=axes[k // ncols][k % ncols],
            )
        for k in range(n, nrows * ncols):
            axes[k // ncols][k % ncols].set_visible(False)
        set_suptitle(fig, title, random_weights)
    return fig
