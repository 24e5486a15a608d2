"""Reward landscapes (paper Fig. 2): the CLIP reward against one state variable, one line per α.

The input is a tidy table, one row per (frame, α)::

    state_value  alpha  reward
    -1.57        0.0    0.213
    ...

Rewards of different α live on different scales (α = 1 keeps only the component along the
goal−baseline direction), so each α's curve is min–max rescaled to [0, 1] before drawing: the
figure compares *shapes* — where the maximum is, how smooth the slope towards it is — not
magnitudes. The axis label and :func:`landscape_caption` say so.

Rewards that have no α (a reward head, whose score is a probability) are lines of their own: the
table then has a ``series`` column naming each row's line (``α = 0.5``, ``head cartpole-…``) and
every line is rescaled on its own.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from evalkit.plots.style import (
    REFERENCE_COLOR,
    check_columns,
    legend_below,
    new_figure,
    paper_style,
    series_style,
    set_title,
)
from evalkit.text import alpha_label

LANDSCAPE_COLUMNS = ("state_value", "alpha", "reward")
SERIES_COLUMN = "series"
"""Optional column of a landscape table: the line each row belongs to (default: its α)."""
RESCALED_LABEL = "reward (min–max rescaled per α)"
RESCALED_LINE_LABEL = "reward (min–max rescaled per line)"


def _line_key(table: pd.DataFrame) -> str:
    """The column that says which line a row is on: ``series`` when present, else ``alpha``."""
    return SERIES_COLUMN if SERIES_COLUMN in table.columns else "alpha"


def rescale_per_alpha(table: pd.DataFrame) -> pd.DataFrame:
    """Add a ``scaled`` column: each α's (each line's) rewards mapped linearly onto [0, 1].

    A constant reward (no shape to show) maps to 0.5.
    """
    check_columns(table, LANDSCAPE_COLUMNS, "rescale_per_alpha")
    grouped = table.groupby(_line_key(table), dropna=False)["reward"]
    lo, hi = grouped.transform("min"), grouped.transform("max")
    span = (hi - lo).to_numpy()
    scaled = np.where(
        span > 0, (table["reward"].to_numpy() - lo.to_numpy()) / np.where(span > 0, span, 1.0), 0.5
    )
    return table.assign(scaled=scaled)


def bin_landscape(table: pd.DataFrame, bins: int) -> pd.DataFrame:
    """Mean reward per α in ``bins`` equal-width bins of ``state_value`` (bin centres as states).

    Use it when other state variables vary between frames (a sweep that samples the cart
    position), so that one state value has many rewards and the raw curve is jagged.
    """
    check_columns(table, LANDSCAPE_COLUMNS, "bin_landscape")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}.")
    x = table["state_value"].to_numpy(dtype=float)
    edges = np.linspace(np.nanmin(x), np.nanmax(x), bins + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    keys = [c for c in ("alpha", SERIES_COLUMN) if c in table.columns]
    out = (
        table.assign(_bin=index)
        .groupby([*keys, "_bin"], as_index=False, dropna=False)["reward"]
        .mean()
    )
    out["state_value"] = centres[out["_bin"].to_numpy()]
    return out.drop(columns="_bin")[[*LANDSCAPE_COLUMNS, *keys[1:]]]


def plot_landscape(
    table: pd.DataFrame,
    state_label: str,
    goal_value: float | None = None,
    *,
    goal_region: tuple[float, float] | None = None,
    title: str | None = None,
    random_weights: bool = False,
    rescale: bool = True,
    bins: int | None = None,
    alphas: Sequence[float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw the reward landscape: reward against ``state_value``, one line per α.

    :param table: columns ``state_value, alpha, reward`` (one row per frame and α), and
        optionally ``series`` (the line's label; rows without α, such as a reward head's, need it).
    :param state_label: x-axis label, e.g. ``"pole angle (rad)"``.
    :param goal_value: where the goal state sits on the x axis; drawn as a vertical dashed line.
    :param goal_region: optional ``(low, high)`` interval of goal states (e.g. the rule's
        threshold), shaded lightly.
    :param title: panel title; ``random_weights`` adds a loud warning line under it.
    :param rescale: min–max rescale each α's rewards to [0, 1] (the default; see the module
        docstring). With ``False`` the raw rewards are drawn.
    :param bins: average rewards in this many bins of the state value first (see
        :func:`bin_landscape`); ``None`` draws every frame.
    :param alphas: which α to draw (default: every α in the table, ascending).
    :param ax: draw into these axes instead of a new figure.
    :returns: the figure. Lines carry ``label="α = …"`` (or their ``series``); the goal line is
        labelled ``"goal"``.
    """
    check_columns(table, LANDSCAPE_COLUMNS, "plot_landscape")
    key = _line_key(table)
    data = table[list(dict.fromkeys([*LANDSCAPE_COLUMNS, key]))]
    if alphas is not None:
        wanted = np.asarray(alphas, dtype=float)
        a = data["alpha"].to_numpy(dtype=float)
        data = data[np.isnan(a) | np.isclose(a[:, None], wanted[None, :]).any(axis=1)]
        check_columns(data, LANDSCAPE_COLUMNS, "plot_landscape (after selecting alphas)")
    if bins is not None:
        data = bin_landscape(data, bins)
    if rescale:
        data = rescale_per_alpha(data)
    y_column = "scaled" if rescale else "reward"
    with paper_style():
        fig, ax = new_figure(ax)
        if goal_region is not None:
            ax.axvspan(*goal_region, color=REFERENCE_COLOR, alpha=0.12, lw=0, label="goal region")
        for i, (line, group) in enumerate(_lines(data, key)):
            group = group.sort_values("state_value")
            style = series_style(i)
            n = len(group)
            ax.plot(
                group["state_value"],
                group[y_column],
                color=style["color"],
                marker=style["marker"],
                markevery=max(1, n // 8),
                markersize=3.5,
                label=line,
            )
        if goal_value is not None:
            ax.axvline(
                goal_value, color=REFERENCE_COLOR, linestyle="--", linewidth=1.0, label="goal"
            )
        ax.set_xlabel(state_label)
        per_alpha = key == "alpha" or data["alpha"].notna().all()
        ax.set_ylabel(
            (RESCALED_LABEL if per_alpha else RESCALED_LINE_LABEL) if rescale else "reward"
        )
        if rescale:
            ax.set_ylim(-0.04, 1.04)
            ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
        ax.margins(x=0.01)
        legend_below(ax, ncols=4 if goal_region is not None else 3)
        set_title(ax, title, random_weights)
    return fig


def _lines(data: pd.DataFrame, key: str) -> list[tuple[str, pd.DataFrame]]:
    """``(label, rows)`` of every line: α ascending, then the lines without α in table order."""
    if key == "alpha":
        return [(alpha_label(a), g) for a, g in sorted(data.groupby("alpha"), key=lambda kv: kv[0])]
    first = data.groupby(key, sort=False)["alpha"].first()
    order = sorted(
        first.index, key=lambda s: (np.isnan(first[s]), 0.0 if np.isnan(first[s]) else first[s])
    )
    return [(str(s), data[data[key] == s]) for s in order]


def landscape_caption(
    state_label: str,
    goal_value: float | None,
    rescale: bool = True,
    *,
    heads: Sequence[str] = (),
    clip: bool = True,
    over_time: bool = False,
) -> str:
    """One sentence saying what the landscape shows and how it was rescaled.

    :param heads: names of reward heads drawn as lines of their own (α does not apply to them).
    :param clip: whether CLIP rewards (one line per α) are drawn.
    :param over_time: the lines are rewards of any kind over an episode's steps (``heads`` names
        them), not a sweep's.
    """
    what = f"CLIP reward against {state_label}, one line per regularisation strength α"
    if heads:
        names = f"{'reward' if over_time else 'reward head'}{'s' if len(heads) > 1 else ''} {', '.join(heads)}"
        kind = "α does not apply" if over_time else "a probability; α does not apply"
        what = (
            f"{what}, and the score of {names} ({kind})"
            if clip
            else f"Score of {names} against {state_label} ({kind})"
        )
    parts = [what]
    if goal_value is not None:
        parts.append(f"the goal ({goal_value:g}) is the dashed vertical line")
    text = "; ".join(parts) + "."
    if rescale:
        text += (
            f" Each {'line' if heads else 'α'}'s rewards are min–max rescaled to [0, 1] over the states shown, so the curves "
            "compare shapes (where the maximum is and how smoothly the reward rises towards it), "
            "not magnitudes."
        )
    return text
