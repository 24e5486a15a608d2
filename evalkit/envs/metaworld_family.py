"""The Meta-World family: the MT10 robot-arm tasks with Meta-World's own success flag.

The environment is :class:`evalkit.envs.metaworld_env.MetaWorldEnv` (``evalkit/MetaWorld-v0``),
made only when needed: neither MuJoCo nor ``metaworld`` is imported here, so evalkit works
without the ``metaworld`` extra (``pip install 'evalkit[metaworld]'``) until a Meta-World
environment is made. Each task's goal label is the environment's ``success`` flag, stored per
frame by ``evalkit collect metaworld`` (:mod:`evalkit.data.metaworld_rollouts`), and its progress
variable the dense reward normalised to [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.envs.family import Family, FamilyTask, SuccessCriterion, register_family
from evalkit.envs.metaworld_env import DEFAULT_CAMERA, MT10

BASELINE = "a robot arm and a table"
"""The baseline sentence of every Meta-World task (goal-baseline regularisation, written the way
the paper writes the humanoid's: the scene without the goal)."""

GOALS = {
    "reach": "a robot arm reaching its gripper to a red target point",
    "push": "a robot arm pushing a red puck to a green target on the table",
    "pick-place": "a robot arm picking up a red puck and placing it at a target in the air",
    "door-open": "a robot arm opening a door by pulling its handle",
    "drawer-open": "a robot arm pulling a drawer open",
    "drawer-close": "a robot arm pushing a drawer closed",
    "button-press-topdown": "a robot arm pressing a red button down from above",
    "peg-insert-side": "a robot arm inserting a green peg sideways into a hole in a red box",
    "window-open": "a robot arm sliding a window open to the left",
    "window-close": "a robot arm sliding a window closed to the right",
}
"""One goal sentence per MT10 task."""

SUCCESS_RULE = "metaworld_success"


def success_rule(states: Any, task_id: float) -> np.ndarray:
    """Goal label of every frame: Meta-World's ``success`` flag on frames of the task with index
    ``task_id`` in :data:`~evalkit.envs.metaworld_env.MT10` (other tasks' frames: ``False``).

    :param states: a state table with the columns ``task_id`` and ``success``.
    :param task_id: the task's index in MT10.
    """
    own = states["task_id"].to_numpy() == int(task_id)
    return own & (states["success"].to_numpy() > 0.5)


TASKS = tuple(
    FamilyTask(
        name,
        GOALS[name],
        BASELINE,
        criterion=f"Meta-World's success flag of {name}-v3 is set.",
        rule=SUCCESS_RULE,
        rule_params={"task_id": float(i)},
    )
    for i, name in enumerate(MT10)
)
"""The MT10 tasks."""

REACHED = SuccessCriterion(
    "the success flag is set at some step of the episode (Meta-World's convention)",
    lambda goal: bool(np.any(goal)),
)
"""The family's success criterion."""

HALF_OF_STEPS = SuccessCriterion(
    "the success flag is set in at least 50 % of the steps (the paper's criterion)",
    lambda goal: bool(np.mean(goal) >= 0.5),
)
"""The paper's stricter criterion, for comparison."""

METAWORLD = register_family(
    Family(
        name="metaworld",
        env_id="evalkit/MetaWorld-v0",
        entry_point="evalkit.envs.metaworld_env:MetaWorldEnv",
        episode_length=500,
        default_dataset="metaworld-drawer-open",
        rules={SUCCESS_RULE: success_rule},
        default_rule=SUCCESS_RULE,
        tasks=TASKS,
        success=REACHED,
        progress="progress",
        title="Meta-World",
        description=f"Meta-World MT10 robot-arm tasks (camera {DEFAULT_CAMERA}); "
        "goal = the environment's success flag",
    )
)
