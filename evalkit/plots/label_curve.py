""" "How many labels do I need": a reward head's held-out EPIC against the labels it was fitted on.

The input is a tidy table, one row per size::

    n_frames  distance  low   high
    24        0.52      0.44  0.60
    ...

``n_frames`` is the number of labelled frames the heads were fitted on (the mean over repeats),
``low``/``high`` the interval over repeats (NaN: none). Lower distance is better; √½ is an
uninformative reward. A dotted vertical line marks where more labels stop helping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from evalkit.plots.scaling import DISTANCE_LABEL, UNINFORMATIVE
from evalkit.plots.style import (
    REFERENCE_COLOR,
    check_columns,
    legend_below,
    new_figure,
    paper_style,
    series_style,
    set_title,
)

LABEL_CURVE_COLUMNS = ("n_frames", "distance", "low", "high")
PLATEAU_GID = "plateau"
"""``gid`` of the vertical line at the plateau (to find it among the artists)."""


def plot_label_curve(
    table: pd.DataFrame,
    *,
    plateau_frames: float | None = None,
    title: str | None = None,
    random_weights: bool = False,
) -> Figure:
    """The held-out EPIC distance against labelled frames, with intervals as error bars.

    :param plateau_frames: where more labels stop helping (a dotted vertical line), or ``None``.
    """
    check_columns(table, LABEL_CURVE_COLUMNS, "plot_label_curve")
    t = table.sort_values("n_frames")
    d = t["distance"].to_numpy(dtype=float)
    err = np.vstack([d - t["low"].to_numpy(dtype=float), t["high"].to_numpy(dtype=float) - d])
    err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
    with paper_style():
        fig, ax = new_figure()
        style = series_style(0)
        ax.errorbar(
            t["n_frames"].to_numpy(dtype=float),
            d,
            yerr=err,
            color=style["color"],
            marker=style["marker"],
            linewidth=1.2,
            elinewidth=0.9,
            label="held-out EPIC (mean over repeats)",
        )
        ax.axhline(
            UNINFORMATIVE,
            color=REFERENCE_COLOR,
            linestyle=":",
            linewidth=1.0,
            label="uninformative (√½)",
        )
        if plateau_frames is not None:
            ax.axvline(
                plateau_frames,
                color=REFERENCE_COLOR,
                linestyle="--",
                linewidth=1.0,
                label="more labels stop helping",
                gid=PLATEAU_GID,
            )
        x = t["n_frames"].to_numpy(dtype=float)
        if x.min() > 0 and x.max() > 4 * x.min():
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(x, [f"{v:.0f}" for v in x])
        ax.set_xlabel("labelled frames the head was fitted on")
        ax.set_ylabel(DISTANCE_LABEL)
        set_title(ax, title, random_weights)
        legend_below(ax, ncols=2)
    return fig
