"""One style for every evalkit figure: paper-sized, colour-blind-safe, deterministic files.

Figures are sized for a paper column (:data:`COLUMN_WIDTH` inches wide) with 8–9 pt text, so
they stay readable when a PDF shows them at their natural size. Colours come from the Okabe–Ito
palette (Okabe & Ito, 2008), which stays distinguishable for the common colour-vision
deficiencies; ordered series (several values of α) also get distinct markers so they survive a
grey-scale print.

Every figure function draws inside :func:`paper_style` (a :func:`matplotlib.rc_context`, so the
caller's global settings are never changed) on a plain :class:`~matplotlib.figure.Figure` (not
pyplot: no GUI backend, nothing to close, safe in threads and notebooks), and
:func:`save_figure` writes PNG and SVG files atomically and byte-for-byte reproducibly (no
timestamps in the metadata).
"""

from __future__ import annotations

import contextlib
import os
import textwrap
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from evalkit.fileio import atomic_path

OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
"""The Okabe–Ito colour-blind-safe palette, by name."""

PALETTE: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)
"""Series colours in the order they are used (yellow last: it is faint on white)."""

MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Series markers, paired with :data:`PALETTE` so series differ in shape as well as colour."""

GOAL_COLOR = OKABE_ITO["vermillion"]
NON_GOAL_COLOR = OKABE_ITO["blue"]
REFERENCE_COLOR = "#555555"
"""Grey for reference lines (goal state, uninformative EPIC distance)."""
WARNING_COLOR = OKABE_ITO["vermillion"]

COLUMN_WIDTH = 3.4
"""Width in inches of a one-column figure (a two-column paper's column is about 3.3 in)."""
FIGURE_SIZE = (COLUMN_WIDTH, 2.6)
"""Default size of one panel, inches."""
DPI = 200
"""Resolution of saved PNG files."""

RANDOM_WEIGHTS_NOTE = "RANDOM WEIGHTS (smoke test, not a result)"
"""Added to the title of every figure drawn from a model with random weights."""

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "legend.handlelength": 1.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.5,
    "axes.axisbelow": True,
    "lines.linewidth": 1.4,
    "lines.markersize": 4,
    "errorbar.capsize": 2.5,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "svg.fonttype": "path",  # text as outlines: the SVG looks the same in every browser
    "svg.hashsalt": "evalkit",  # deterministic element ids in SVG files
    "figure.constrained_layout.use": True,
}


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Draw with evalkit's style without touching the caller's matplotlib settings."""
    with matplotlib.rc_context(_RC):
        yield


def series_style(i: int) -> dict[str, str]:
    """Colour and marker of the ``i``-th series (cycles after :data:`PALETTE` runs out)."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}


def new_figure(
    ax: Axes | None = None, size: tuple[float, float] = FIGURE_SIZE
) -> tuple[Figure, Axes]:
    """A new one-panel figure, or the figure of ``ax`` when the caller supplies axes."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=size)
    return fig, fig.add_subplot()


def new_grid(
    nrows: int, ncols: int, panel_size: tuple[float, float] = FIGURE_SIZE
) -> tuple[Figure, Any]:
    """A figure with a grid of panels (``axes[row][col]``), each about ``panel_size`` inches."""
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def set_suptitle(fig: Figure, title: str | None, random_weights: bool) -> None:
    """A title over all panels, with the loud random-weights line when it applies."""
    lines = [title] if title else []
    if random_weights:
        lines.append(RANDOM_WEIGHTS_NOTE)
    if lines:
        fig.suptitle(
            "\n".join(lines), fontsize=9, color=WARNING_COLOR if random_weights else "black"
        )


def set_title(
    ax: Axes, title: str | None, random_weights: bool, subtitle: str | None = None
) -> None:
    """The panel title (and an optional second line), with a loud warning when the model had
    random weights."""
    lines = [t for t in (title, subtitle) if t]
    if random_weights:
        lines.append(RANDOM_WEIGHTS_NOTE)
    if not lines:
        return
    # Wrap to the panel's width so a long title never widens the saved figure.
    width_in = (ax.get_position().width + 0.1) * ax.figure.get_figwidth()
    chars = max(30, int(width_in * 72 / (0.52 * matplotlib.rcParams["axes.titlesize"])))
    wrapped = [
        part
        for line in lines
        for part in textwrap.wrap(line, chars, break_on_hyphens=False) or [""]
    ]
    text = ax.set_title("\n".join(wrapped), loc="left")
    if random_weights:
        text.set_color(WARNING_COLOR)


def legend_below(ax: Axes, ncols: int = 3, title: str | None = None) -> None:
    """Put the legend under the plot, in ``ncols`` columns, where it cannot hide data.

    When ``ax`` is the only panel of its figure the legend belongs to the figure (constrained
    layout then makes room for it below the axis label); in a grid it goes under its own panel.
    """
    kwargs = dict(ncols=ncols, columnspacing=1.2, handletextpad=0.5, title=title, title_fontsize=7)
    fig = ax.figure
    if len(fig.axes) == 1:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", **kwargs)
    else:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), borderaxespad=0.0, **kwargs)


def signed(value: float, digits: int = 3) -> str:
    """A number with an explicit sign and a typographic minus (``−0.060``, ``+0.012``)."""
    return f"{value:+.{digits}f}".replace("-", "\u2212")


def close(fig: Figure) -> None:
    """Free a figure drawn through pyplot (figures made by evalkit are plain
    :class:`~matplotlib.figure.Figure` objects, outside pyplot's registry, and need no closing)."""
    import matplotlib.pyplot as plt

    plt.close(fig)


def save_figure(
    fig: Figure, path: str | os.PathLike[str], formats: Iterable[str] | None = None
) -> list[Path]:
    """Save ``fig`` atomically; returns the written paths.

    :param path: target file. Its suffix picks the format (``.png``, ``.svg``, ``.pdf``); with no
        suffix, or with ``formats`` given, one file per format is written next to it
        (``landscape`` -> ``landscape.png``, ``landscape.svg``).
    :param formats: formats to write (default: the suffix of ``path``, or PNG and SVG).
    """
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if formats is None:
        formats = [suffix] if suffix in {"png", "svg", "pdf"} else ["png", "svg"]
    stem = target.with_suffix("") if suffix in {"png", "svg", "pdf"} else target
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with paper_style():
        for fmt in formats:
            out = stem.with_name(f"{stem.name}.{fmt}")
            metadata = (
                {"Software": "evalkit"}
                if fmt == "png"
                else {"Date": None}
                if fmt == "svg"
                else {"CreationDate": None}
            )
            with atomic_path(out) as tmp:
                fig.savefig(tmp, format=fmt, metadata=metadata)
            written.append(out)
    return written


def check_columns(table, required: Sequence[str], what: str) -> None:
    """Raise a clear ``ValueError`` if a results table lacks a column a figure needs."""
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(
            f"{what} needs a table with columns {', '.join(required)}; it lacks {', '.join(missing)}."
        )
    if len(table) == 0:
        raise ValueError(f"{what} got an empty table; there is nothing to draw.")
