"""A contact sheet of what a reward likes that is not the goal: where reward hacking shows first.

Two rows of frames visited in training: on top the non-goal frames with the highest reward
(what the agent may learn to seek instead of the goal), below the goal frames with the lowest
reward (goal states the reward misses), each captioned with its reward.
"""

from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from evalkit.plots.style import GOAL_COLOR, NON_GOAL_COLOR, paper_style

Candidates = tuple[np.ndarray, Sequence[np.ndarray]]
"""Rewards and frames of one row, in the order they are shown."""


def plot_contact_sheet(non_goal: Candidates, goal: Candidates, title: str = "") -> Figure:
    """Draw the highest-rewarded non-goal frames over the lowest-rewarded goal frames.

    :param non_goal: rewards and ``(H, W, 3)`` uint8 frames of the top row.
    :param goal: the same for the bottom row (either row may be empty).
    :param title: a line above the sheet (the run and step).
    """
    rows = [
        ("non-goal frames the reward likes most", non_goal, NON_GOAL_COLOR),
        ("goal frames the reward likes least", goal, GOAL_COLOR),
    ]
    cols = max(1, max(len(frames) for _, (_, frames), _ in rows))
    with paper_style():
        fig = Figure(figsize=(1.1 * cols, 2.6), layout="constrained")
        axes = fig.subplots(2, cols, squeeze=False)
        for r, (label, (rewards, frames), color) in enumerate(rows):
            for c in range(cols):
                ax = axes[r][c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c >= len(frames):
                    ax.set_axis_off()
                    continue
                ax.imshow(frames[c])
                ax.set_xlabel(f"r = {float(rewards[c]) + 0.0:.4g}", fontsize=6)  # no "-0"
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_edgecolor(color)
                    spine.set_linewidth(1.5)
            axes[r][0].set_title(
                label if len(frames) else f"{label}: none visited", loc="left", fontsize=7
            )
        if title:
            fig.suptitle("\n".join(textwrap.wrap(title, max(40, 16 * cols))), fontsize=7)
    return fig
