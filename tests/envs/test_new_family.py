"""A new environment family from this file alone: gymnasium's Pendulum, registered as a
:class:`evalkit.envs.family.Family`, runs collect -> embed -> epic -> landscape through the CLI."""

from __future__ import annotations

import json
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.pendulum import PendulumEnv as _GymPendulum

from evalkit.envs.base import StateSettable
from evalkit.envs.family import FAMILIES, Family, SweepSpec, register_family
from evalkit.errors import EvalkitError
from evalkit.tasks import TASKS, Task, register_task


class PendulumEnv(StateSettable, _GymPendulum):
    """Gymnasium's Pendulum (it never terminates), drawn with numpy: a dark rod on white."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}
    state_columns = ("theta", "theta_dot")

    def __init__(self, render_mode: str | None = None, width: int = 64, height: int = 64) -> None:
        super().__init__(render_mode=render_mode)
        self.width, self.height = int(width), int(height)

    def render(self) -> np.ndarray:
        frame = np.full((self.height, self.width, 3), 255, dtype=np.uint8)
        theta = float(self.state[0])  # 0 = upright
        t = np.linspace(0.0, 0.45, 4 * max(self.width, self.height))
        cols = np.clip((0.5 + t * math.sin(theta)) * self.width, 0, self.width - 1).astype(int)
        rows = np.clip((0.5 - t * math.cos(theta)) * self.height, 0, self.height - 1).astype(int)
        frame[rows, cols] = (40, 40, 160)
        return frame

    def render_settings(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "renderer": "test-pendulum/1"}

    def _get_state_vector(self) -> np.ndarray | None:
        return None if self.state is None else np.asarray(self.state, dtype=np.float64)

    def _set_state_vector(self, vector: np.ndarray) -> None:
        self.state = vector


def pendulum_up(states: Any, max_angle: float = 0.3) -> np.ndarray:
    return np.abs(np.asarray(states["theta"], dtype=float)) <= max_angle


PENDULUM = Family(
    name="pendulum",
    env_id="evalkit-test/Pendulum-v0",
    entry_point=PendulumEnv,
    episode_length=200,
    default_dataset="pendulum-sweep",
    sweep=SweepSpec("theta", -math.pi, math.pi, {"theta_dot": 0.0}),
    axis_label="pendulum angle (rad)",
    goal_value=0.0,
    rules={"pendulum_up": pendulum_up},
    default_rule="pendulum_up",
    title="Pendulum",
)


@pytest.fixture
def pendulum():
    register_family(PENDULUM)
    task = register_task(
        Task(
            "pendulum_up",
            "pendulum",
            "a pendulum pointing straight up",
            "a pendulum",
            rule="pendulum_up",
        )
    )
    yield task
    FAMILIES.pop("pendulum", None)
    TASKS.pop("pendulum_up", None)
    gym.registry.pop(PENDULUM.env_id, None)


@pytest.mark.slow
def test_a_family_from_a_test_file_runs_collect_embed_epic_landscape(
    pendulum, cli, datasets_root, tmp_path
):
    model = ("--model", "evalkit-tiny-vit", "--pretrained", "none")
    r = cli("collect", "pendulum", "--n", "41", "--size", "32")
    assert r.exit_code == 0, r.output
    assert "pendulum-sweep: 41 frames 32x32, goal frames: pendulum_up 3" in r.output
    assert cli("collect", "--help").output.count("pendulum") >= 1

    r = cli("embed", "pendulum-sweep", *model, "--devices", "cpu", "--no-progress")
    assert r.exit_code == 0, r.output

    r = cli(
        "epic",
        "--task",
        "pendulum_up",
        *model,
        "--alpha",
        "0,1",
        "--bootstrap",
        "100",
        "--devices",
        "cpu",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("[") :])
    assert [row["alpha"] for row in rows] == [0.0, 1.0]
    assert all(0.0 <= row["distance"] <= 1.0 for row in rows)

    out = tmp_path / "landscape.png"
    r = cli(
        "landscape", "pendulum", *model, "--alpha", "0,1", "--out", str(out), "--devices", "cpu"
    )
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 5_000


def test_a_family_without_training_or_success_says_so(pendulum):
    from evalkit.train.config import TrainConfig

    with pytest.raises(
        EvalkitError, match="no training settings for the environment family 'pendulum'"
    ):
        TrainConfig(task="pendulum_up").resolved()
    with pytest.raises(EvalkitError, match="'pendulum' defines no success criterion"):
        PENDULUM.require_success()


def test_sweep_states_and_rule_come_from_the_family(pendulum):
    from evalkit.data.sweeps import collect_sweep, default_name

    assert default_name("pendulum") == "pendulum-sweep"
    with pytest.raises(
        EvalkitError, match="Only mountaincar has a textured renderer, not pendulum"
    ):
        collect_sweep("pendulum", 3, 8, textured=True, progress=False)
    assert pendulum.rule_labels({"theta": np.array([0.0, 0.2, 1.0])}).tolist() == [
        True,
        True,
        False,
    ]
