"""The Meta-World family: the MT10 robot-arm tasks with Meta-World's own success flag.

The environment is :class:`evalkit.envs.metaworld_env.MetaWorldEnv` (``evalkit/MetaWorld-v0``),
made only when needed: neither MuJoCo nor ``metaworld`` is imported here, so evalkit works
without the ``metaworld`` extra (``pip install 'evalkit[metaworld]'``) until a Meta-World
environment is made. Each task's goal label is the environment's ``success`` flag, stored per
frame by ``evalkit collect metaworld`` (:mod:`evalkit.data.metaworld_rollouts`), and its progress
variable the dense reward normalised to [0, 1]; an episode's quality (policy ranking) is
``1 − ε`` of its tier (expert 1, ε-noisy, random 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.envs.family import (
    Family,
    FamilyTask,
    SuccessCriterion,
    TrainingSettings,
    register_family,
)
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


def dataset_name(task: str) -> str:
    """The name ``evalkit collect metaworld --task TASK`` gives its dataset by default."""
    return f"metaworld-{task}"


def collect_command(task: str) -> str:
    """The command that collects the default dataset of ``task``."""
    return f"evalkit collect metaworld --task {task}"


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
        default_dataset=dataset_name(name),
        collect_command=collect_command(name),
    )
    for i, name in enumerate(MT10)
)
"""The MT10 tasks, each evaluated on its own collected dataset by default (a dataset holds one
task's episodes: other tasks' goals are not judged on it)."""

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

TRAINING = TrainingSettings(
    "continuous",
    "sac",
    steps=1_000_000,
    checkpoint_every=50_000,
    algo_kwargs={
        "sac": {
            "learning_rate": 3e-4,
            "buffer_size": 1_000_000,
            "batch_size": 1280,
            "learning_starts": 500,
            "train_freq": 500,
            "gradient_steps": 500,
            "tau": 5e-3,
            "gamma": 0.99,
            "policy_kwargs": {"net_arch": [400, 400]},
        }
    },
)
"""SAC as Meta-World's own benchmark runs it: the MT10 SAC baseline of Yu et al. (2019), in garage
(``src/garage/examples/torch/mtsac_metaworld_mt10.py`` and :class:`garage.torch.algos.MTSAC`'s
defaults): two hidden layers of 400 units for the policy and both Q-functions, learning rate
3·10⁻⁴, a replay buffer of 10⁶ transitions, batches of 1 280 transitions, γ = 0.99, τ = 5·10⁻³,
one gradient step per environment step (taken as 500 after every 500-step episode, as garage
samples one episode per task and iteration), and learning from the first full episode on.
The step budget is evalkit's: the benchmark runs 5·10⁸ steps over ten tasks (5·10⁷ per task);
10⁶ steps is the usual single-task budget of the vision-reward work built on Meta-World."""

METAWORLD = register_family(
    Family(
        name="metaworld",
        env_id="evalkit/MetaWorld-v0",
        entry_point="evalkit.envs.metaworld_env:MetaWorldEnv",
        episode_length=500,
        default_dataset=dataset_name("drawer-open"),
        collect_command=collect_command("drawer-open"),
        rules={SUCCESS_RULE: success_rule},
        default_rule=SUCCESS_RULE,
        tasks=TASKS,
        success=REACHED,
        training=TRAINING,
        task_kwarg="task",
        progress="progress",
        quality="1 - epsilon",
        title="Meta-World",
        description=f"Meta-World MT10 robot-arm tasks (camera {DEFAULT_CAMERA}); "
        "goal = the environment's success flag",
    )
)
