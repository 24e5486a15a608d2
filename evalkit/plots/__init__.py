"""The paper's figures, drawn from results *tables* (pandas DataFrames), never from models.

Because every function takes a tidy table, a figure re-draws instantly from cached results and
is tested without torch. Where the tables come from (rewards from the embedding cache, EPIC
distances saved by ``evalkit epic``) is :mod:`evalkit.pipeline.figures`; nothing here loads a model.

=====================================  ==============================================  =========
function                               table columns                                   paper
=====================================  ==============================================  =========
:func:`plot_landscape`                 ``state_value, alpha, reward``                  Fig. 2
:func:`plot_scaling_by_model`          ``model, alpha, distance, low, high``           Fig. 4a
:func:`plot_scaling_by_size`           ``model, params, alpha, distance, low, high``   Fig. 4b
:func:`plot_histogram`                 arrays ``rewards``, ``labels``                  Fig. 7
:func:`plot_histograms`                ``model, reward, label``                        Fig. 7
:func:`plot_distance_heatmap`          ``source_a, source_b, distance``                —
:func:`plot_learning_curves`           ``step, gt_return, …, fidelity_epic, …``        —
:func:`plot_label_curve`               ``n_frames, distance, low, high``               —
=====================================  ==============================================  =========

Each returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes PNG and SVG.
Every function takes ``random_weights=True`` to put a loud warning in the title.
"""

from evalkit.plots.heatmap import plot_distance_heatmap
from evalkit.plots.histogram import plot_histogram, plot_histograms
from evalkit.plots.label_curve import plot_label_curve
from evalkit.plots.landscape import landscape_caption, plot_landscape, rescale_per_alpha
from evalkit.plots.learning_curve import plot_learning_curves
from evalkit.plots.scaling import (
    LogLinearFit,
    fit_log_linear,
    plot_scaling_by_model,
    plot_scaling_by_size,
)
from evalkit.plots.style import close, paper_style, save_figure

__all__ = [
    "LogLinearFit",
    "close",
    "fit_log_linear",
    "landscape_caption",
    "paper_style",
    "plot_distance_heatmap",
    "plot_histogram",
    "plot_histograms",
    "plot_label_curve",
    "plot_landscape",
    "plot_learning_curves",
    "plot_scaling_by_model",
    "plot_scaling_by_size",
    "rescale_per_alpha",
    "save_figure",
]
