"""The MountainCar family: continuous MountainCar with an absorbing goal (Section 4.2), textured.

The environment is :class:`evalkit.envs.classic.MountainCarEnv` (``evalkit/MountainCar-v0``);
``textured`` (the default, as in the paper's Fig. 2c) draws the procedural scene of
:mod:`evalkit.envs.mountaincar_render`, ``--plain`` gymnasium's line drawing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.envs.family import (
    Family,
    FamilyTask,
    SuccessCriterion,
    SweepSpec,
    TrainingSettings,
    Variant,
    register_family,
)

MOUNTAINCAR_GOAL_POSITION = 0.45
"""``MountainCarContinuous``'s goal position (the yellow flag); x at or past it is the goal."""


def mountaincar_at_flag(
    states: Any, goal_position: float = MOUNTAINCAR_GOAL_POSITION
) -> np.ndarray:
    """MountainCar goal: the car is at or past the flag."""
    return np.asarray(states["position"], dtype=float) >= goal_position


TEXTURED = Variant(
    "textured",
    default=True,
    on_flag="--textured",
    off_flag="--plain",
    help="Textured scene, or gymnasium's line drawing.",
    dataset_suffix=("-plain", "-textured"),
)

MOUNTAINCAR = register_family(
    Family(
        name="mountaincar",
        env_id="evalkit/MountainCar-v0",
        entry_point="evalkit.envs.classic:MountainCarEnv",
        episode_length=200,
        default_dataset="mountaincar-sweep-textured",
        sweep=SweepSpec(
            "position",
            -1.2,
            0.6,
            {"velocity": 0.0},
            summary="car position uniform in [-1.2, 0.6] at rest",
            box={"position": (-1.2, 0.6), "velocity": (-0.07, 0.07)},
        ),
        axis_label="car position x",
        goal_value=MOUNTAINCAR_GOAL_POSITION,
        rules={"mountaincar_at_flag": mountaincar_at_flag},
        default_rule="mountaincar_at_flag",
        tasks=(
            FamilyTask(
                "mountaincar",
                "a car at the peak of the mountain, next to the yellow flag",
                "a car in the mountain",
                criterion="the car reaches the flag (x ≥ 0.45)",
                rule="mountaincar_at_flag",
                rule_params={"goal_position": MOUNTAINCAR_GOAL_POSITION},
            ),
        ),
        success=SuccessCriterion(
            "the car reaches the flag (the goal is absorbing)", lambda goal: bool(goal.any())
        ),
        training=TrainingSettings(
            "continuous",
            "sac",
            steps=3_000_000,
            checkpoint_every=64_000,
            env_kwargs={"textured": True},
            algo_kwargs={
                "sac": {
                    "learning_rate": 1e-4,
                    "tau": 0.01,
                    "gamma": 0.9999,
                    "ent_coef": 0.1,
                    "policy_kwargs": {"net_arch": [64, 64]},
                }
            },
        ),
        variants=(TEXTURED,),
        seed_kwarg="texture_seed",
        progress="position",
        title="MountainCar",
        description="continuous MountainCar with an absorbing goal, +1 per step at the flag",
    )
)
