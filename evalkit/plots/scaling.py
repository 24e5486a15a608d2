"""Scaling figures (paper Fig. 4a, 4b): EPIC distance against the model and its size.

Both take a tidy results table with one row per (model, α)::

    model        params      alpha  distance  low    high
    RN50         102007137   0.0    0.62      0.60   0.64
    ViT-bigG-14  2539567362  0.0    0.48      0.46   0.50

``low``/``high`` are the bootstrap confidence interval of ``distance`` (as saved by
``evalkit epic``). A row whose optional ``head`` column names a reward head (its α is NaN: a head
has none) is drawn as a point of its own at its model, with a distinct marker and its name in the
legend, and is not part of any α's line or fit; ``params`` is the parameter count of the whole CLIP model. Lower distance is
better; √½ ≈ 0.707 is what an uninformative reward gets, and is drawn as a reference line.

:func:`fit_log_linear` is the pure least-squares fit behind Fig. 4b,
``distance = intercept + slope · log10(params)``, so ``slope`` is the change of EPIC distance
per tenfold increase in parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from evalkit.errors import DegenerateError
from evalkit.metrics.registry import ResultRow, get_result_row
from evalkit.plots.style import (
    COLUMN_WIDTH,
    OKABE_ITO,
    REFERENCE_COLOR,
    check_columns,
    legend_below,
    new_figure,
    paper_style,
    series_style,
    set_title,
    signed,
)
from evalkit.text import alpha_label, short_count

SCALING_MODEL_COLUMNS = ("model", "alpha", "distance", "low", "high")
SCALING_SIZE_COLUMNS = ("model", "params", "alpha", "distance", "low", "high")
UNINFORMATIVE = math.sqrt(0.5)
"""EPIC distance of a reward uncorrelated with the labels."""
DISTANCE_LABEL = "EPIC distance (lower is better)"


HEAD_MARKERS: tuple[str, ...] = ("*", "P", "X", "h", "p")
"""Markers of reward heads' points (series of α use :data:`~evalkit.plots.style.MARKERS`)."""
HEAD_COLORS: tuple[str, ...] = (
    OKABE_ITO["black"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
)
"""Colours of reward heads' points, apart from the first α series' colours."""
HEAD_GID = "reward-head"
"""``gid`` of the error-bar lines of reward heads' points."""
FIT_GID = "log-linear-fit"
"""``gid`` of the fitted lines in :func:`plot_scaling_by_size` (to find them among the artists)."""


@dataclass(frozen=True)
class LogLinearFit:
    """Least-squares fit ``distance = intercept + slope · log10(params)``.

    :ivar slope: change in distance per tenfold increase in parameters.
    :ivar intercept: the fitted distance at one parameter (log10(params) = 0).
    :ivar r2: coefficient of determination of the fit (1 when every point lies on the line).
    :ivar n: number of points fitted.
    """

    slope: float
    intercept: float
    r2: float
    n: int

    def predict(self, params: Sequence[float] | np.ndarray | float) -> np.ndarray:
        """Fitted distance at the given parameter counts."""
        return self.intercept + self.slope * np.log10(np.asarray(params, dtype=float))


def fit_log_linear(
    params: Sequence[float] | np.ndarray, distance: Sequence[float] | np.ndarray
) -> LogLinearFit:
    """Fit ``distance = a + b · log10(params)`` by ordinary least squares.

    :raises DegenerateError: fewer than two points, parameter counts that are not positive
        and finite, non-finite distances, or fewer than two distinct parameter counts.
    """
    x = np.asarray(params, dtype=float).ravel()
    y = np.asarray(distance, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{len(x)} parameter counts but {len(y)} distances.")
    if len(x) < 2:
        raise DegenerateError(f"A log-linear fit needs at least two models, got {len(x)}.")
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise DegenerateError("Parameter counts must be positive and finite for a log-linear fit.")
    if not np.all(np.isfinite(y)):
        raise DegenerateError("Distances must be finite for a log-linear fit.")
    lx = np.log10(x)
    if np.ptp(lx) == 0:
        raise DegenerateError("A log-linear fit needs models of at least two different sizes.")
    slope, intercept = np.polyfit(lx, y, 1)
    residual = y - (intercept + slope * lx)
    ss_res = float(residual @ residual)
    centred = y - y.mean()
    ss_tot = float(centred @ centred)
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return LogLinearFit(slope=float(slope), intercept=float(intercept), r2=float(r2), n=len(x))


def _yerr(group: pd.DataFrame) -> np.ndarray | None:
    low, high, d = (group[c].to_numpy(dtype=float) for c in ("low", "high", "distance"))
    err = np.vstack([d - low, high - d])
    err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
    return err if err.any() else None


def _model_order(table: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(table["model"]))
    if order is not None:
        unknown = [m for m in present if m not in order]
        return [m for m in order if m in present] + unknown
    if "params" in table.columns and table["params"].notna().all():
        sizes = table.groupby("model")["params"].first()
        return sorted(present, key=lambda m: sizes[m])
    return present


def _alpha_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of α series (not those of reward heads)."""
    if "head" not in table.columns:
        return table
    return table[table["head"].fillna("").astype(str) == ""]


def _draw_heads(ax: Axes, table: pd.DataFrame, x_of: Callable[[pd.DataFrame], np.ndarray]) -> None:
    """One labelled point with its interval per reward head in ``table``, at ``x_of(rows)``."""
    if "head" not in table.columns:
        return
    heads = table[table["head"].fillna("").astype(str) != ""]
    for j, (name, rows) in enumerate(heads.groupby("head", sort=False)):
        color = HEAD_COLORS[j % len(HEAD_COLORS)]
        container = ax.errorbar(
            x_of(rows),
            rows["distance"],
            yerr=_yerr(rows),
            color=color,
            marker=HEAD_MARKERS[j % len(HEAD_MARKERS)],
            markersize=8,
            linestyle="none",
            elinewidth=0.9,
            label=f"{name} ({rows['model'].iloc[0]})",
        )
        container.lines[0].set_gid(HEAD_GID)


def _reference_line(ax: Axes, axis: ResultRow) -> None:
    if axis.reference is None:
        return
    ax.axhline(
        axis.reference,
        color=REFERENCE_COLOR,
        linestyle=":",
        linewidth=1.0,
        label=axis.reference_label,
    )


def plot_scaling_by_model(
    table: pd.DataFrame,
    *,
    model_order: Sequence[str] | None = None,
    title: str | None = None,
    random_weights: bool = False,
    ax: Axes | None = None,
    metric: str = "epic",
) -> Figure:
    """Fig. 4a: EPIC distance for each model, one line per α, bootstrap intervals as error bars.

    :param table: columns ``model, alpha, distance, low, high`` (``params`` optional: models are
        then ordered by size); one row per model and α.
    :param model_order: x-axis order of the models (default: by ``params`` if present, else the
        table's order).
    :param metric: which result row ``distance`` holds (a registered metric's
        :class:`~evalkit.metrics.registry.ResultRow`: the y label and the
        uninformative reference line).
    :returns: the figure; one :class:`~matplotlib.container.ErrorbarContainer` per α, labelled
        ``"α = …"``. Points of different α are nudged sideways so their error bars do not overlap.
    """
    check_columns(table, SCALING_MODEL_COLUMNS, "plot_scaling_by_model")
    axis = get_result_row(metric)[1]
    models = _model_order(table, model_order)
    position = {m: i for i, m in enumerate(models)}
    groups = sorted(_alpha_rows(table).groupby("alpha"), key=lambda kv: kv[0])
    width = min(0.3, 0.08 * len(groups))
    offsets = np.linspace(-width, width, len(groups)) if len(groups) > 1 else np.zeros(1)
    with paper_style():
        fig, ax = new_figure(ax)
        for i, (alpha, group) in enumerate(groups):
            group = group.assign(_x=group["model"].map(position)).sort_values("_x")
            style = series_style(i)
            ax.errorbar(
                group["_x"].to_numpy(dtype=float) + offsets[i],
                group["distance"],
                yerr=_yerr(group),
                color=style["color"],
                marker=style["marker"],
                linewidth=1.2,
                elinewidth=0.9,
                label=alpha_label(alpha),
            )
        _draw_heads(ax, table, lambda rows: rows["model"].map(position).to_numpy(dtype=float))
        _reference_line(ax, axis)
        ax.set_xticks(range(len(models)), models)
        ax.set_xlim(-0.5, len(models) - 0.5)
        ax.set_xlabel("CLIP model")
        ax.set_ylabel(axis.axis_label)
        ax.grid(axis="x", visible=False)
        legend_below(ax, ncols=3)
        set_title(ax, title, random_weights)
    return fig


def plot_scaling_by_size(
    table: pd.DataFrame,
    *,
    alphas: Sequence[float] | None = None,
    annotate: bool = True,
    title: str | None = None,
    random_weights: bool = False,
    ax: Axes | None = None,
    metric: str = "epic",
) -> Figure:
    """Fig. 4b: EPIC distance against parameter count (log x axis) with a log-linear fit per α.

    :param table: columns ``model, params, alpha, distance, low, high``.
    :param alphas: which α to draw (default: every α in the table).
    :param annotate: write each model's name above its points.
    :param metric: which metric ``distance`` holds (see :func:`plot_scaling_by_model`).
    :returns: the figure; per α one :class:`~matplotlib.container.ErrorbarContainer` (the
        measurements, whose legend label gives the fitted slope b per tenfold increase in
        parameters and R²) and, when at least two model sizes are present, one dashed fitted
        line with ``gid`` :data:`FIT_GID`.
    """
    check_columns(table, SCALING_SIZE_COLUMNS, "plot_scaling_by_size")
    axis = get_result_row(metric)[1]
    data = table
    if alphas is not None:
        wanted = np.asarray(alphas, dtype=float)
        a = data["alpha"].to_numpy(dtype=float)  # heads (no α) are kept
        data = data[np.isnan(a) | np.isclose(a[:, None], wanted[None, :]).any(axis=1)]
        check_columns(data, SCALING_SIZE_COLUMNS, "plot_scaling_by_size (after selecting alphas)")
    if (data["params"].to_numpy(dtype=float) <= 0).any():
        raise ValueError("plot_scaling_by_size needs positive parameter counts.")
    groups = sorted(_alpha_rows(data).groupby("alpha"), key=lambda kv: kv[0])
    with paper_style():
        fig, ax = new_figure(ax, size=(COLUMN_WIDTH, 3.0))
        ax.set_xscale("log")
        all_params = data["params"].to_numpy(dtype=float)
        lo, hi = np.log10(all_params.min()), np.log10(all_params.max())
        grid = np.logspace(lo, hi, 50)  # fits are drawn over the measured range only
        # Points of different α are nudged sideways (in log space) by at most a fifth of the
        # smallest gap between model sizes, so that their error bars do not overlap.
        sizes = np.unique(np.log10(all_params))
        gap = np.diff(sizes).min() if len(sizes) > 1 else 1.0
        width = min(0.04, 0.012 * len(groups), 0.2 * gap) if len(groups) > 1 else 0.0
        dodge = 10 ** np.linspace(-width, width, len(groups)) if len(groups) > 1 else np.ones(1)
        pad = max(0.05, 0.1 * (hi - lo)) + width
        for i, (alpha, group) in enumerate(groups):
            group = group.sort_values("params")
            style = series_style(i)
            label = alpha_label(alpha)
            if group["params"].nunique() >= 2:
                fit = fit_log_linear(group["params"], group["distance"])
                label += f": {signed(fit.slope)}" + (
                    f" (R² {fit.r2:.2f})" if fit.n >= 3 else f" ({fit.n} sizes)"
                )
                ax.plot(
                    grid,
                    fit.predict(grid),
                    color=style["color"],
                    linestyle="--",
                    linewidth=1.0,
                    gid=FIT_GID,
                    label="_fit",
                )
            ax.errorbar(
                group["params"].to_numpy(dtype=float) * dodge[i],
                group["distance"],
                yerr=_yerr(group),
                color=style["color"],
                marker=style["marker"],
                linestyle="none",
                elinewidth=0.9,
                label=label,
            )
        _draw_heads(ax, data, lambda rows: rows["params"].to_numpy(dtype=float))
        if annotate:
            # Model names above the highest error bar of each model, so no α's point is hidden.
            for model, rows in data.groupby("model"):
                top = np.nanmax(
                    np.fmax(
                        rows["high"].to_numpy(dtype=float), rows["distance"].to_numpy(dtype=float)
                    )
                )
                ax.annotate(
                    str(model),
                    (float(rows["params"].iloc[0]), top),
                    textcoords="offset points",
                    xytext=(0, 4),
                    ha="center",
                    va="bottom",
                    fontsize=6.5,
                    color="#333333",
                )
        _reference_line(ax, axis)
        if annotate:
            bottom, top = ax.get_ylim()
            ax.set_ylim(bottom, top + 0.08 * (top - bottom))  # room for the model names
        ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: short_count(value)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("parameters (log scale)")
        ax.set_ylabel(axis.axis_label)
        fitted = any(line.get_gid() == FIT_GID for line in ax.lines)
        legend_below(
            ax,
            ncols=2,
            title="dashed: fit distance = a + b·log10(params); b per 10× params"
            if fitted
            else None,
        )
        set_title(ax, title, random_weights)
    return fig
