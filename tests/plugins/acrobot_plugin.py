"""An evalkit plugin: gymnasium's Acrobot as an environment family, with one task.

Load it with ``EVALKIT_PLUGINS=acrobot_plugin`` (its folder on ``PYTHONPATH``), then::

    evalkit collect acrobot --n 200          # a sweep of the first link's angle
    evalkit landscape acrobot --dark         # CLIP reward against that angle, white on black
    evalkit epic --task acrobot_up

It registers through evalkit's public functions only: :func:`evalkit.envs.register_family` and
:func:`evalkit.tasks.register_task`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium.envs.classic_control.acrobot import AcrobotEnv as GymAcrobot

from evalkit.envs import Family, StateSettable, SweepSpec, Variant, register_family
from evalkit.tasks import Task, register_task


class AcrobotEnv(StateSettable, GymAcrobot):
    """Gymnasium's Acrobot (its dynamics unchanged), drawn with numpy: two links from a pivot at
    the frame's centre, angle 0 hanging down."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}
    state_columns = ("theta1", "theta2", "dtheta1", "dtheta2")

    def __init__(
        self, render_mode: str | None = None, width: int = 64, height: int = 64, dark: bool = False
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.width, self.height, self.dark = int(width), int(height), bool(dark)

    def render(self) -> np.ndarray:
        """The links as a ``uint8 (height, width, 3)`` frame."""
        background, ink = (0, 255) if self.dark else (255, 40)
        frame = np.full((self.height, self.width, 3), background, dtype=np.uint8)
        theta1, theta2 = float(self.state[0]), float(self.state[1])
        elbow = (0.22 * math.sin(theta1), -0.22 * math.cos(theta1))
        tip = (
            elbow[0] + 0.22 * math.sin(theta1 + theta2),
            elbow[1] - 0.22 * math.cos(theta1 + theta2),
        )
        for start, end in (((0.0, 0.0), elbow), (elbow, tip)):
            t = np.linspace(0.0, 1.0, 2 * max(self.width, self.height))
            x = 0.5 + start[0] + t * (end[0] - start[0])
            y = 0.5 - (start[1] + t * (end[1] - start[1]))  # image rows grow downwards
            cols = np.clip(x * self.width, 0, self.width - 1).astype(int)
            rows = np.clip(y * self.height, 0, self.height - 1).astype(int)
            frame[rows, cols] = ink
        return frame

    def render_settings(self) -> dict[str, Any]:
        """What decides how frames look (stored in dataset manifests)."""
        return {
            "width": self.width,
            "height": self.height,
            "dark": self.dark,
            "renderer": "acrobot-plugin/1",
        }

    def _get_state_vector(self) -> np.ndarray | None:
        return None if self.state is None else np.asarray(self.state, dtype=np.float64)

    def _set_state_vector(self, vector: np.ndarray) -> None:
        self.state = vector


def tip_above_bar(states: Any, height: float = 1.0) -> np.ndarray:
    """Acrobot's goal (gymnasium's termination): the tip is ``height`` above the pivot."""
    theta1 = np.asarray(states["theta1"], dtype=float)
    theta2 = np.asarray(states["theta2"], dtype=float) if "theta2" in states else 0.0
    return -np.cos(theta1) - np.cos(theta1 + theta2) > height


register_family(
    Family(
        name="acrobot",
        env_id="evalkit-plugin/Acrobot-v0",
        entry_point=AcrobotEnv,
        episode_length=500,
        default_dataset="acrobot-sweep",
        sweep=SweepSpec(
            "theta1",
            0.0,
            2 * math.pi,
            {"theta2": 0.0, "dtheta1": 0.0, "dtheta2": 0.0},
            summary="first link angle uniform in [0, 2π], second link straight, at rest",
        ),
        axis_label="first link angle (rad)",
        goal_value=math.pi,
        rules={"tip_above_bar": tip_above_bar},
        default_rule="tip_above_bar",
        variants=(
            Variant(
                "dark",
                default=False,
                on_flag="--dark",
                off_flag="--light",
                help="White links on black, or dark links on white.",
                dataset_suffix=("", "-dark"),
            ),
        ),
        progress="-cos(theta1) - cos(theta1 + theta2)",
        title="Acrobot",
        description="gymnasium's Acrobot: swing the tip above the bar",
    )
)

register_task(
    Task(
        "acrobot_up",
        "acrobot",
        "a double pendulum pointing straight up",
        "a double pendulum",
        criterion="the tip is one link length above the pivot",
        rule="tip_above_bar",
    )
)
