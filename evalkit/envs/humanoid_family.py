"""The humanoid family: MuJoCo Humanoid-v4 with textures and a fixed camera (Section 4.3).

The environment is :class:`evalkit.envs.humanoid.HumanoidEnv` (``evalkit/Humanoid-v0``), made
only when needed (MuJoCo is not imported here). Its goals are judged by people in the paper
(Table 2); the rules of :mod:`evalkit.envs.humanoid_rules` approximate them from the state.
Datasets come from poses (``evalkit collect humanoid --poses``) or policy rollouts, not sweeps.
"""

from __future__ import annotations

from evalkit.envs.family import (
    Family,
    FamilyTask,
    SuccessCriterion,
    TrainingSettings,
    Variant,
    register_family,
)
from evalkit.envs.humanoid_rules import RULES

BASELINE = "a humanoid robot"
"""The baseline sentence of every humanoid task (goal-baseline regularisation)."""


def _pose_task(name: str, goal: str, criterion: str, paper_success: float) -> FamilyTask:
    """A humanoid task: its goal sentence (Table 3), criterion (Table 2), rule of the same name
    and the paper's success rate (Table 1)."""
    return FamilyTask(
        name, goal, BASELINE, criterion=criterion, rule=name, paper_success=paper_success
    )


TASKS = (
    _pose_task(
        "kneeling",
        "a humanoid robot kneeling",
        "Agent is kneeling with both knees touching the floor. Agent must be balanced "
        "(not kneeling in the air).",
        1.0,
    ),
    _pose_task(
        "lotus",
        "a humanoid robot seated down, meditating in the lotus position",
        "Agent is seated down with both knees touching the floor facing outwards and "
        "feet facing inwards.",
        1.0,
    ),
    _pose_task(
        "standing", "a humanoid robot standing up", "Agent is standing up without falling.", 1.0
    ),
    _pose_task(
        "arms_raised",
        "a humanoid robot standing up, with both arms raised",
        "Agent is standing with both arms raised.",
        1.0,
    ),
    _pose_task(
        "splits",
        "a humanoid robot practicing gymnastics, doing the side splits",
        "Agent is on the floor doing the side splits with legs stretched on the floor.",
        1.0,
    ),
    _pose_task(
        "hands_on_hips",
        "a humanoid robot standing up with hands on hips",
        "Agent is standing with both hands on the base of the hips (not on the chest).",
        0.64,
    ),
    _pose_task(
        "arms_crossed",
        "a humanoid robot standing up, with its arms crossed",
        "Agent is standing with its arms crossed (hands touching but not crossing is not valid).",
        0.0,
    ),
    _pose_task(
        "one_leg",
        "a humanoid robot standing up on one leg",
        "Agent is standing up with only one foot touching the floor, balanced.",
        0.0,
    ),
)
"""The paper's eight humanoid tasks (Tables 1-3)."""

HUMANOID = register_family(
    Family(
        name="humanoid",
        env_id="evalkit/Humanoid-v0",
        entry_point="evalkit.envs.humanoid:HumanoidEnv",
        episode_length=100,
        default_dataset="humanoid-poses",
        collect_command="evalkit collect humanoid --poses",
        rules=RULES,
        tasks=TASKS,
        human_labels=True,
        success=SuccessCriterion(
            "the agent is in the goal state in at least 50 % of the steps (paper Table 2)",
            lambda goal: bool(goal.mean() >= 0.5),
        ),
        training=TrainingSettings(
            "continuous",
            "sac",
            steps=10_000_000,
            checkpoint_every=128_000,
            algo_kwargs={
                "sac": {
                    "learning_starts": 50_000,
                    "train_freq": 100,
                    "gradient_steps": 100,
                    "learning_rate": 6e-4,
                    "tau": 0.005,
                    "gamma": 0.95,
                }
            },
        ),
        variants=(
            Variant(
                "textured",
                default=True,
                on_flag="--textured",
                off_flag="--plain",
                help="Realistic textures, or gymnasium's original look.",
            ),
            Variant(
                "fixed_camera",
                default=True,
                on_flag="--fixed-camera",
                off_flag="--tracking-camera",
                help="The paper's fixed camera, or gymnasium's tracking camera.",
            ),
        ),
        env_return_is_ground_truth=False,
        title="Humanoid",
        description="MuJoCo humanoid, textured, fixed camera; eight pose tasks judged by people",
    )
)
