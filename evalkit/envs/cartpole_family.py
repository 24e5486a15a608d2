"""The CartPole family: the paper's CartPole (Section 4.2), its sweep, goal rule, task and settings.

The environment is :class:`evalkit.envs.classic.CartPoleEnv` (``evalkit/CartPole-v0``).
"""

from __future__ import annotations

import math
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

CARTPOLE_UPRIGHT_MAX_ANGLE = math.radians(12.0)  # ≈ 0.2094 rad
"""The pole counts as upright while ``|angle|`` is at most this: gymnasium's CartPole fails an
episode at 12°, and the paper's ground-truth reward penalises exactly that, so the rule label
agrees with the training signal."""

CARTPOLE_MAX_POSITION = 2.4
"""The cart counts as on the track while ``|cart_position|`` is at most this (gymnasium's other
failure threshold, also part of the ground-truth reward). Frames are centre-cropped to a square as
CLIP's preprocessing would crop gymnasium's 600×400 picture, so a cart past about ±1.6 is out of
the frame."""

CARTPOLE_VISIBLE_POSITION = 1.6
"""The largest ``|cart_position|`` at which the cart and pole are inside a centre-cropped square
frame (the crop keeps 400 of the 600 canvas pixels, 4.8 world units wide): the state box of
``--spacing box`` stops there, since a frame without the cart cannot show whether it is up."""


CARTPOLE_TRACK_BOX_POSITION = 3.0
"""The largest ``|cart_position|`` of ``--spacing box`` with ``--full-track``: the whole track
and past its ends (``2.4``), so the data shows a cart cut by the frame's edge and an empty track
(the ``full_track`` frame loses the cart past ±2.8), both off the track and not the goal."""

FULL_TRACK = Variant(
    "full_track",
    default=False,
    on_flag="--full-track",
    off_flag="--centre-crop",
    help="Show the whole track (x in ±2.6) in the square frame, or centre-crop gymnasium's "
    "picture (the cart leaves it past |x| ≈ 1.6).",
    dataset_suffix=("", "-track"),
    box={"cart_position": (-CARTPOLE_TRACK_BOX_POSITION, CARTPOLE_TRACK_BOX_POSITION)},
)


def cartpole_upright(
    states: Any,
    max_angle: float = CARTPOLE_UPRIGHT_MAX_ANGLE,
    max_position: float = CARTPOLE_MAX_POSITION,
) -> np.ndarray:
    """CartPole goal: the pole is within ``max_angle`` radians of vertical and the cart within
    ``max_position`` of the centre (where the ground-truth reward is +1; states without a
    ``cart_position`` column count as centred)."""
    upright = np.abs(np.asarray(states["angle"], dtype=float)) <= max_angle
    if "cart_position" in states:
        upright &= np.abs(np.asarray(states["cart_position"], dtype=float)) <= max_position
    return upright


CARTPOLE = register_family(
    Family(
        name="cartpole",
        env_id="evalkit/CartPole-v0",
        entry_point="evalkit.envs.classic:CartPoleEnv",
        episode_length=200,
        default_dataset="cartpole-sweep",
        sweep=SweepSpec(
            "angle",
            -math.pi / 2,
            math.pi / 2,
            {"cart_position": 0.0, "cart_velocity": 0.0, "angular_velocity": 0.0},
            summary="pole angle uniform in [-π/2, π/2], cart centred at rest",
            box={
                "cart_position": (-CARTPOLE_VISIBLE_POSITION, CARTPOLE_VISIBLE_POSITION),
                "cart_velocity": (-2.0, 2.0),
                "angle": (-math.pi, math.pi),
                "angular_velocity": (-4.0, 4.0),
            },
        ),
        axis_label="pole angle (rad)",
        goal_value=0.0,
        rules={"cartpole_upright": cartpole_upright},
        default_rule="cartpole_upright",
        tasks=(
            FamilyTask(
                "cartpole",
                "pole vertically upright on top of the cart",
                "pole and cart",
                criterion="the pole stays upright (|angle| ≤ 12°) with the cart on the track "
                "(|x| ≤ 2.4)",
                rule="cartpole_upright",
                rule_params={
                    "max_angle": CARTPOLE_UPRIGHT_MAX_ANGLE,
                    "max_position": CARTPOLE_MAX_POSITION,
                },
            ),
        ),
        success=SuccessCriterion(
            "the pole stays upright in every step", lambda goal: bool(goal.all())
        ),
        training=TrainingSettings(
            "discrete",
            "dqn",
            steps=3_000_000,
            checkpoint_every=64_000,
            algo_kwargs={
                "dqn": {
                    "learning_starts": 75_000,
                    "train_freq": 200,
                    "gradient_steps": 200,
                    "learning_rate": 2.3e-3,
                    "policy_kwargs": {"net_arch": [256, 256]},
                }
            },
        ),
        variants=(FULL_TRACK,),
        progress="-abs(angle)",
        title="CartPole",
        description="CartPole without termination, +1 while the pole is up and -1 while it is down",
    )
)
