"""The figure functions: drawn from synthetic tables, checked through matplotlib's objects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers_plots import ALPHAS, MODELS, histogram_data, landscape_table, scaling_table
from matplotlib.container import ErrorbarContainer

from evalkit.errors import DegenerateError
from evalkit.plots import (
    close,
    fit_log_linear,
    landscape_caption,
    plot_histogram,
    plot_histograms,
    plot_landscape,
    plot_scaling_by_model,
    plot_scaling_by_size,
    rescale_per_alpha,
    save_figure,
)
from evalkit.plots.histogram import MEAN_GID
from evalkit.plots.landscape import RESCALED_LABEL, bin_landscape
from evalkit.plots.scaling import FIT_GID, UNINFORMATIVE
from evalkit.plots.style import RANDOM_WEIGHTS_NOTE, WARNING_COLOR


def _legend_texts(fig):
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    return [t.get_text() for leg in legends if leg is not None for t in leg.get_texts()]


def _png_ok(fig, tmp_path, name):
    (png, svg) = save_figure(fig, tmp_path / name)
    assert png.suffix == ".png" and svg.suffix == ".svg"
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5_000
    assert b"<svg" in svg.read_bytes()[:2000]
    close(fig)


def test_landscape_one_line_per_alpha_and_goal_marked(tmp_path):
    table = landscape_table()
    fig = plot_landscape(table, "pole angle (rad)", 0.0, goal_region=(-0.2, 0.2), title="CartPole")
    (ax,) = fig.axes
    alpha_lines = [ln for ln in ax.lines if ln.get_label().startswith("α = ")]
    assert [ln.get_label() for ln in alpha_lines] == [f"α = {a:g}" for a in ALPHAS]
    for line in alpha_lines:  # each α rescaled to exactly [0, 1], x sorted
        y = np.asarray(line.get_ydata(), dtype=float)
        assert y.min() == pytest.approx(0.0) and y.max() == pytest.approx(1.0)
        assert np.all(np.diff(np.asarray(line.get_xdata(), dtype=float)) >= 0)
    (goal,) = [ln for ln in ax.lines if ln.get_label() == "goal"]
    assert set(goal.get_xdata()) == {0.0}
    assert ax.get_ylabel() == RESCALED_LABEL and "rescaled per α" in RESCALED_LABEL
    assert set(_legend_texts(fig)) >= {"goal", "goal region", *(f"α = {a:g}" for a in ALPHAS)}
    assert RANDOM_WEIGHTS_NOTE not in ax.get_title(loc="left")
    _png_ok(fig, tmp_path, "landscape")


def test_landscape_raw_rewards_subset_of_alphas_and_random_weights_title():
    table = landscape_table()
    fig = plot_landscape(
        table, "x", None, rescale=False, alphas=[0.0, 1.0], random_weights=True, title="t"
    )
    (ax,) = fig.axes
    assert [ln.get_label() for ln in ax.lines] == ["α = 0", "α = 1"]  # no goal line without a goal
    raw = table[table["alpha"] == 1.0].sort_values("state_value")["reward"].to_numpy()
    np.testing.assert_allclose(ax.lines[1].get_ydata(), raw)
    assert RANDOM_WEIGHTS_NOTE in ax.get_title(loc="left")
    assert ax._left_title.get_color() == WARNING_COLOR
    close(fig)


def test_rescale_and_binning():
    table = pd.DataFrame(
        {
            "state_value": [0, 1, 2, 0, 1, 2],
            "alpha": [0, 0, 0, 1, 1, 1],
            "reward": [2.0, 4.0, 3.0, 5.0, 5.0, 5.0],
        }
    )
    scaled = rescale_per_alpha(table)["scaled"].to_numpy()
    np.testing.assert_allclose(scaled, [0, 1, 0.5, 0.5, 0.5, 0.5])  # constant reward -> 0.5
    binned = bin_landscape(
        pd.DataFrame(
            {"state_value": [0.0, 0.1, 0.9, 1.0], "alpha": 0.0, "reward": [1.0, 3.0, 5.0, 7.0]}
        ),
        bins=2,
    )
    np.testing.assert_allclose(binned["reward"], [2.0, 6.0])
    np.testing.assert_allclose(binned["state_value"], [0.25, 0.75])
    assert "rescaled" in landscape_caption("pole angle", 0.0) and "0" in landscape_caption("x", 0.0)


def test_fit_log_linear_recovers_known_slope():
    params = np.array([1e8, 4e8, 1e9, 2.5e9])
    exact = fit_log_linear(params, 1.2 - 0.07 * np.log10(params))
    assert exact.slope == pytest.approx(-0.07, abs=1e-12)
    assert exact.intercept == pytest.approx(1.2, abs=1e-10)
    assert exact.r2 == pytest.approx(1.0) and exact.n == 4
    np.testing.assert_allclose(exact.predict(1e10), 1.2 - 0.7)
    rng = np.random.default_rng(0)
    many = np.logspace(7, 10, 200)
    noisy = fit_log_linear(many, 0.9 - 0.05 * np.log10(many) + 0.01 * rng.standard_normal(200))
    assert noisy.slope == pytest.approx(-0.05, abs=0.003)
    assert 0.9 < noisy.r2 < 1.0
    # Independent oracle: scipy's linear regression on log10(params).
    from scipy.stats import linregress

    ref = linregress(
        np.log10(many),
        0.9 - 0.05 * np.log10(many) + 0.01 * np.random.default_rng(0).standard_normal(200),
    )
    assert noisy.slope == pytest.approx(ref.slope) and noisy.r2 == pytest.approx(ref.rvalue**2)


@pytest.mark.parametrize(
    "params, distance",
    [
        ([1e9], [0.5]),
        ([1e9, 1e9], [0.5, 0.6]),
        ([0, 1e9], [0.5, 0.6]),
        ([1e8, 1e9], [0.5, math.nan]),
    ],
)
def test_fit_log_linear_degenerate(params, distance):
    with pytest.raises(DegenerateError):
        fit_log_linear(params, distance)


def test_scaling_by_model_error_bars_per_alpha(tmp_path):
    table = scaling_table()
    fig = plot_scaling_by_model(table.sample(frac=1, random_state=0), title="kneeling")
    (ax,) = fig.axes
    containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label() for c in containers] == [f"α = {a:g}" for a in ALPHAS]
    for c in containers:
        assert c.has_yerr and len(c.lines[0].get_xdata()) == len(MODELS)
        # One error-bar segment per model, spanning exactly [low, high].
        segments = c.lines[2][0].get_segments()
        assert len(segments) == len(MODELS)
        alpha = float(c.get_label().split("= ")[1])
        rows = table[table["alpha"] == alpha]
        np.testing.assert_allclose(sorted(s[0][1] for s in segments), sorted(rows["low"]))
        np.testing.assert_allclose(sorted(s[1][1] for s in segments), sorted(rows["high"]))
    # Models ordered by size on the x axis; the uninformative reference line is there.
    assert [t.get_text() for t in ax.get_xticklabels()] == list(MODELS)
    assert any(np.allclose(ln.get_ydata(), UNINFORMATIVE) for ln in ax.lines)
    _png_ok(fig, tmp_path, "scaling_a")


def test_scaling_by_size_log_axis_fit_and_slope_in_legend(tmp_path):
    table = scaling_table(alphas=(0.0, 0.5), slope=-0.06)
    fig = plot_scaling_by_size(table, title="kneeling")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(containers) == 2
    fits = [ln for ln in ax.lines if ln.get_gid() == FIT_GID]
    assert len(fits) == 2
    x, y = (np.asarray(v, dtype=float) for v in fits[0].get_data())
    assert np.polyfit(np.log10(x), y, 1)[0] == pytest.approx(-0.06)
    labels = _legend_texts(fig)
    assert any(t.startswith("α = 0:") and "−0.060" in t for t in labels), labels
    # Model names are written on the figure.
    assert {t.get_text() for t in ax.texts} == set(MODELS)
    _png_ok(fig, tmp_path, "scaling_b")


def test_scaling_by_size_one_model_draws_no_fit():
    table = scaling_table(alphas=(0.0,)).head(1)
    fig = plot_scaling_by_size(table, random_weights=True)
    (ax,) = fig.axes
    assert not [ln for ln in ax.lines if ln.get_gid() == FIT_GID]
    assert RANDOM_WEIGHTS_NOTE in ax.get_title(loc="left")
    close(fig)


def test_scaling_needs_its_columns():
    with pytest.raises(ValueError, match="lacks params"):
        plot_scaling_by_size(scaling_table().drop(columns="params"))
    with pytest.raises(ValueError, match="empty"):
        plot_scaling_by_model(scaling_table().iloc[:0])


def test_histogram_two_classes_with_means(tmp_path):
    rewards, labels = histogram_data()
    fig = plot_histogram(rewards, labels, bins=25, title="kneeling", annotation="EPIC 0.5")
    (ax,) = fig.axes
    hists = [p for p in ax.patches if ":" in p.get_label()]
    assert sorted(p.get_label().split(":")[0] for p in hists) == ["goal", "non-goal"]
    means = sorted(float(ln.get_xdata()[0]) for ln in ax.lines if ln.get_gid() == MEAN_GID)
    np.testing.assert_allclose(means, sorted([rewards[~labels].mean(), rewards[labels].mean()]))
    assert f"n = {labels.sum()}" in " ".join(_legend_texts(fig))
    assert "EPIC 0.5" in ax.get_title(loc="left")
    _png_ok(fig, tmp_path, "histogram")


def test_histogram_grid_one_panel_per_model(tmp_path):
    parts = []
    for i, model in enumerate(MODELS):
        r, y = histogram_data(gap=0.01 * (i + 1), seed=i)
        parts.append(pd.DataFrame({"model": model, "reward": r, "label": y}))
    fig = plot_histograms(
        pd.concat(parts), annotations={"RN50": "EPIC 0.6"}, random_weights=True, ncols=3
    )
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left").split("\n")[0] for ax in visible] == list(MODELS)
    assert all(sum(ln.get_gid() == MEAN_GID for ln in ax.lines) == 2 for ax in visible)
    assert "EPIC 0.6" in visible[0].get_title(loc="left")
    assert RANDOM_WEIGHTS_NOTE in fig.get_suptitle()
    _png_ok(fig, tmp_path, "histograms")


def test_histogram_bad_input():
    with pytest.raises(ValueError, match="3 rewards but 2 labels"):
        plot_histogram([1, 2, 3], [True, False])
    with pytest.raises(ValueError, match="non-finite"):
        plot_histogram([1, np.nan], [True, False])


def test_save_figure_formats_and_determinism(tmp_path):
    fig = plot_landscape(landscape_table(n=21), "x", 0.0)
    (png,) = save_figure(fig, tmp_path / "a.png")
    (svg_a,) = save_figure(fig, tmp_path / "a.svg")
    (svg_b,) = save_figure(fig, tmp_path / "b", formats=["svg"])
    assert png.name == "a.png" and svg_b.name == "b.svg"
    assert svg_a.read_bytes() == svg_b.read_bytes()  # no dates, fixed ids
    assert not list(tmp_path.glob(".*.tmp"))
    close(fig)


def test_figures_need_no_torch(tmp_path):
    """Figures re-draw from tables alone: importing and drawing never loads torch or open_clip."""
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "import helpers_plots as h\n"
        "from evalkit.plots import plot_landscape, plot_scaling_by_size, save_figure\n"
        "import evalkit.report, evalkit.pipeline.figures\n"
        f"save_figure(plot_landscape(h.landscape_table(n=11), 'x', 0.0), {str(tmp_path / 'a.png')!r})\n"
        f"save_figure(plot_scaling_by_size(h.scaling_table()), {str(tmp_path / 'b.png')!r})\n"
        "assert 'torch' not in sys.modules and 'open_clip' not in sys.modules, 'heavy import'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.png").is_file() and (tmp_path / "b.png").is_file()


def test_distance_heatmap_from_pairs_in_either_order(tmp_path):
    import pandas as pd

    from evalkit.plots import plot_distance_heatmap, save_figure
    from evalkit.plots.heatmap import distance_matrix

    pairs = pd.DataFrame(
        {
            "source_a": ["a", "a", "c"],
            "source_b": ["b", "c", "b"],
            "distance": [0.1, 0.7, 0.4],
        }
    )
    m = distance_matrix(pairs)
    assert list(m.index) == ["a", "b", "c"]
    np.testing.assert_allclose(m.to_numpy(), [[0, 0.1, 0.7], [0.1, 0, 0.4], [0.7, 0.4, 0]])
    fig = plot_distance_heatmap(pairs, title="toy", random_weights=True)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"0.10", "0.70", "0.40", "0.00"} <= texts
    paths = save_figure(fig, tmp_path / "heat")
    assert all(p.stat().st_size > 2_000 for p in paths)
    with pytest.raises(ValueError, match="lacks the pair"):
        distance_matrix(pairs.iloc[:2])
