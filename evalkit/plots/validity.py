"""Does a metric predict the outcome? One panel per metric: its value against regret."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from evalkit.plots.style import (
    new_grid,
    paper_style,
    save_figure,
    series_style,
    set_title,
)


def _panels(n: int, ncols: int) -> tuple[Any, Any, int]:
    """A figure of ``n`` panels in at most ``ncols`` columns: the figure, its axes, the columns."""
    ncols = min(ncols, n)
    fig, axes = new_grid(math.ceil(n / ncols), ncols, panel_size=(2.2, 2.1))
    fig.set_layout_engine("constrained")
    return fig, axes, ncols


def _hide_unused(axes: Any, n: int, ncols: int) -> None:
    """Hide the panels after the first ``n``."""
    for i in range(n, len(axes) * ncols):
        axes[i // ncols][i % ncols].set_visible(False)


def plot_validity(
    values: Mapping[str, np.ndarray],
    regret: np.ndarray,
    groups: np.ndarray,
    kendall: Mapping[str, float],
    path: str | os.PathLike[str],
    ncols: int = 4,
) -> list[Path]:
    """Scatter each metric against regret, one panel per metric, one colour per group.

    :param values: metric name → ``(n,)`` values (NaN rows are left out of that panel).
    :param regret: ``(n,)`` normalised regret.
    :param groups: ``(n,)`` group of each row (e.g. the ground truth), one colour each.
    :param kendall: metric name → its Kendall τ-b with regret (shown in the panel title).
    :param path: target file (no suffix: PNG and SVG).
    :return: the written files.
    """
    names = list(values)
    labels = list(dict.fromkeys(np.asarray(groups).tolist()))
    with paper_style():
        fig, axes, ncols = _panels(len(names), ncols)
        for i, name in enumerate(names):
            ax = axes[i // ncols][i % ncols]
            x = np.asarray(values[name], dtype=float)
            for j, label in enumerate(labels):
                rows = (groups == label) & np.isfinite(x)
                if rows.any():
                    style = series_style(j)
                    ax.scatter(
                        x[rows],
                        regret[rows],
                        s=4,
                        alpha=0.35,
                        linewidths=0,
                        color=style["color"],
                        rasterized=True,
                        marker=style["marker"],
                        label=f"{label} truth",
                    )
            tau = kendall.get(name, float("nan"))
            set_title(
                ax,
                name,
                False,
                subtitle=None
                if not np.isfinite(tau)
                else f"Kendall τ-b {tau:+.2f}".replace("-", "−"),
            )
            ax.set_xlabel("distance to ground truth")
            ax.set_ylabel("normalised regret")
            ax.set_ylim(-0.03, 1.03)
        _hide_unused(axes, len(names), ncols)
        handles, texts = axes[0][0].get_legend_handles_labels()
        legend = fig.legend(
            handles, texts, loc="outside lower center", ncols=len(labels), markerscale=3
        )
        for handle in legend.legend_handles:
            handle.set_alpha(1)
        return save_figure(fig, path)


def plot_outcome_validity(
    values: Mapping[str, np.ndarray],
    outcome: np.ndarray,
    spread: np.ndarray,
    groups: np.ndarray,
    spearman: Mapping[str, float],
    outcome_label: str,
    path: str | os.PathLike[str],
    ncols: int = 4,
    ylim: tuple[float, float] | None = None,
) -> list[Path]:
    """Scatter each metric against a trained outcome, one panel per metric, one point per reward
    with an error bar over its seeds, one colour per group of rewards.

    :param values: metric name → ``(K,)`` value of each reward (NaN: left out of that panel).
    :param outcome: ``(K,)`` the outcome's mean over seeds (NaN: not trained).
    :param spread: ``(K,)`` its standard deviation over seeds (the error bar).
    :param groups: ``(K,)`` the group of each reward (``label flips``, ``text prompt``...).
    :param spearman: metric name → its Spearman ρ with the outcome (the panel's subtitle).
    :param outcome_label: the y axis (``success rate (best checkpoint)``).
    :param path: target file (no suffix: PNG and SVG).
    :param ylim: the outcome axis's range (e.g. a rate's), or ``None``: matplotlib's.
    :return: the written files.
    """
    names = list(values)
    groups = np.asarray(groups)
    labels = list(dict.fromkeys(groups.tolist()))
    with paper_style():
        fig, axes, ncols = _panels(len(names), ncols)
        for i, name in enumerate(names):
            ax = axes[i // ncols][i % ncols]
            x = np.asarray(values[name], dtype=float)
            for j, label in enumerate(labels):
                rows = (groups == label) & np.isfinite(x) & np.isfinite(outcome)
                if rows.any():
                    style = series_style(j)
                    ax.errorbar(
                        x[rows],
                        outcome[rows],
                        yerr=spread[rows],
                        fmt=style["marker"],
                        color=style["color"],
                        markersize=3.5,
                        elinewidth=0.7,
                        capsize=1.5,
                        label=label,
                    )
            rho = spearman.get(name, float("nan"))
            set_title(
                ax,
                name,
                False,
                subtitle=None if not np.isfinite(rho) else f"Spearman {rho:+.2f}".replace("-", "−"),
            )
            ax.set_xlabel("offline value")
            ax.set_ylabel(outcome_label)
            if ylim is not None:
                ax.set_ylim(*ylim)
        _hide_unused(axes, len(names), ncols)
        handles, texts = [], []
        for ax in (a for row in axes for a in row):
            for h, t in zip(*ax.get_legend_handles_labels()):
                if t not in texts:
                    handles.append(h)
                    texts.append(t)
        fig.legend(handles, texts, loc="outside lower center", ncols=min(len(texts), 4))
        return save_figure(fig, path)
