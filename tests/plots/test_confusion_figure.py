"""The instruction-confusion figure: one cell per task pair, the row maxima in bold."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.plots.confusion import plot_confusion
from evalkit.plots.style import close, save_figure


def test_cells_and_bold_row_maxima(tmp_path):
    m = np.array([[0.3, 0.1, 0.2], [0.0, 0.5, 0.6], [0.2, 0.2, 0.9]])
    fig = plot_confusion(m, ["a", "b", "c"], accuracy=2 / 3, random_weights=True)
    ax = fig.axes[0]
    texts = {t.get_text(): t.get_fontweight() for t in ax.texts}
    assert texts["0.3"] == "bold" and texts["0.6"] == "bold" and texts["0.9"] == "bold"
    assert texts["0.5"] == "normal" and len(ax.texts) == 9
    assert "67%" in ax.get_title(loc="left") and "RANDOM" in ax.get_title(loc="left")
    written = save_figure(fig, tmp_path / "conf")
    assert [p.suffix for p in written] == [".png", ".svg"]
    close(fig)


def test_a_matrix_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="2 × 2 matrix"):
        plot_confusion(np.zeros((3, 3)), ["a", "b"])
