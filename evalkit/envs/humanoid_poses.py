"""The humanoid's poses: hand-made keyframes, and putting a configuration on the floor.

Keyframes are written as joint angles in degrees and a root orientation (roll, pitch in
degrees): one for each of the eight humanoid tasks, plus neutral poses (walking, sitting,
crouching, bending, lying). :func:`keyframe_qpos` and :func:`compose_qpos` turn them into a
MuJoCo ``qpos``. :func:`place_on_floor` puts a configuration on the floor: ``mj_forward`` gives
the lowest point of the robot's geoms and the root is shifted so that it touches ``z = 0`` (no
interpenetration with the floor); :func:`settle` also tilts the root so that the pose's supports
touch the floor together.

A few keyframes go beyond the MuJoCo model's joint ranges where the pose needs it (the side
splits need ≈ 80° of hip abduction, the model allows 25°; the lotus needs outward hip rotation);
:func:`beyond_range` measures the largest excess over a joint range, in degrees.

Example::

    from evalkit.envs.humanoid_poses import keyframe_qpos
    qpos = keyframe_qpos("kneeling")
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

HUMANOID_TASKS = (
    "standing",
    "kneeling",
    "lotus",
    "splits",
    "arms_raised",
    "hands_on_hips",
    "arms_crossed",
    "one_leg",
)
"""The eight humanoid tasks, each with its own keyframe."""

JOINTS = (
    "abdomen_z",
    "abdomen_y",
    "abdomen_x",
    "right_hip_x",
    "right_hip_z",
    "right_hip_y",
    "right_knee",
    "left_hip_x",
    "left_hip_z",
    "left_hip_y",
    "left_knee",
    "right_shoulder1",
    "right_shoulder2",
    "right_elbow",
    "left_shoulder1",
    "left_shoulder2",
    "left_elbow",
)
"""Hinge joints in ``qpos`` order (``qpos[7 + i]``); ``qpos[0:3]`` is the root position and
``qpos[3:7]`` its quaternion (w, x, y, z)."""


@dataclass(frozen=True)
class Keyframe:
    """A hand-made pose.

    :param name: the pose's name (a task name for the task keyframes).
    :param joints: joint angles in degrees; joints not given are 0 (gymnasium's rest pose).
    :param roll: root (chest) roll in degrees, about the forward axis.
    :param pitch: root pitch in degrees, positive leans forward.
    :param jitter: standard deviation (degrees) of the random joint variation for this pose.
    :param supports: key points (:data:`evalkit.envs.humanoid.KEY_POINTS`) the body rests on;
        after random variation the root is tilted (by at most :data:`SETTLE_MAX_TILT`) so that
        they touch the floor together, as a real body would settle.
    """

    name: str
    joints: Mapping[str, float]
    roll: float = 0.0
    pitch: float = 0.0
    jitter: float = 6.0
    supports: tuple[str, ...] = ()


def _sym(**angles: float) -> dict[str, float]:
    """Mirror ``hip_x=…, knee=…, shoulder1=…`` onto both sides.

    The model's leg and elbow axes are mirrored so the same angle gives a mirrored pose; its
    shoulder axes are not, so a shoulder angle is negated for the left arm. Names with a side
    (``left_…``, ``right_…``) or ``abdomen_…`` are taken as they are.
    """
    out: dict[str, float] = {}
    for k, v in angles.items():
        if k.startswith(("abdomen", "left_", "right_")):
            out[k] = v
        else:
            out.setdefault(f"right_{k}", v)
            out.setdefault(f"left_{k}", -v if k.startswith("shoulder") else v)
    return out


# Arm and leg postures (right side, degrees), found by inverse kinematics on the model: each
# puts the elbow/knee and the hand/foot where the comment says (chest frame: x forward, y left).
_ARMS_DOWN = {"shoulder1": 41.0, "shoulder2": -30.0, "elbow": -97.0}  # hands beside the thighs
_ARMS_UP = {
    "shoulder1": -119.0,
    "shoulder2": 16.0,
    "elbow": -101.0,
}  # hands 0.6 m above the shoulders
_ARMS_OUT = {"shoulder1": -51.0, "shoulder2": -25.0, "elbow": -107.0}  # arms stretched sideways
_ARMS_FORWARD = {"shoulder1": 0.0, "shoulder2": 54.0, "elbow": -107.0}  # arms stretched forward
_HANDS_ON_HIPS = {
    "shoulder1": 51.0,
    "shoulder2": -68.0,
    "elbow": -20.0,
}  # hands on the hip joints, elbows out
_ARMS_CROSSED = {
    "right_shoulder1": 67.0,
    "right_shoulder2": -6.0,
    "right_elbow": -15.0,  # right hand left of chest
    "left_shoulder1": -71.0,
    "left_shoulder2": 12.0,
    "left_elbow": -21.0,
}  # left hand right, lower
_HANDS_ON_KNEES = {
    "shoulder1": 26.0,
    "shoulder2": -37.0,
    "elbow": -33.0,
}  # hands resting on lotus knees
_LOTUS_LEGS = {
    "hip_x": 105.0,
    "hip_z": 13.0,
    "hip_y": -120.0,
    "knee": -148.0,
}  # knees wide, feet tucked in
_SPLITS_LEGS = {
    "hip_x": -90.0,
    "hip_z": 0.0,
    "hip_y": 0.0,
    "knee": -2.0,
}  # legs straight out sideways

_FEET = ("left_foot", "right_foot")
_KNEES = ("left_knee", "right_knee")
_HANDS = ("left_hand", "right_hand")

KEYFRAMES: dict[str, Keyframe] = {
    k.name: k
    for k in [
        # -- the eight tasks --
        Keyframe("standing", _sym(knee=-3.0, **_ARMS_DOWN), jitter=5.0, supports=_FEET),
        Keyframe(
            "kneeling",
            _sym(hip_y=-5.0, knee=-95.0, **_ARMS_DOWN),
            jitter=5.0,
            supports=_KNEES + _FEET,
        ),
        Keyframe(
            "lotus",
            _sym(**_LOTUS_LEGS, **_HANDS_ON_KNEES),
            jitter=3.0,
            supports=("pelvis",) + _KNEES,
        ),
        Keyframe(
            "splits", _sym(**_SPLITS_LEGS, **_ARMS_OUT), jitter=4.0, supports=("pelvis",) + _FEET
        ),
        Keyframe("arms_raised", _sym(knee=-3.0, **_ARMS_UP), jitter=5.0, supports=_FEET),
        Keyframe("hands_on_hips", _sym(knee=-3.0, **_HANDS_ON_HIPS), jitter=3.0, supports=_FEET),
        Keyframe("arms_crossed", {**_sym(knee=-3.0), **_ARMS_CROSSED}, jitter=3.0, supports=_FEET),
        Keyframe(
            "one_leg",
            _sym(right_hip_y=-60.0, right_knee=-90.0, left_knee=-3.0, **_ARMS_OUT),
            jitter=5.0,
        ),
        # -- neutral and other poses --
        Keyframe(
            "walking",
            _sym(
                right_hip_y=-30.0, left_hip_y=15.0, right_knee=-10.0, left_knee=-25.0, **_ARMS_DOWN
            ),
            supports=_FEET,
        ),
        Keyframe(
            "sitting", _sym(hip_y=-95.0, knee=-10.0, **_ARMS_DOWN), supports=("pelvis",) + _FEET
        ),
        Keyframe(
            "crouching",
            _sym(hip_y=-110.0, knee=-150.0, **_ARMS_FORWARD),
            pitch=25.0,
            supports=_FEET,
        ),
        Keyframe(
            "bending",
            _sym(abdomen_y=-40.0, hip_y=-45.0, knee=-5.0, **_ARMS_FORWARD),
            pitch=80.0,
            supports=_FEET,
        ),
        Keyframe("lying_back", _sym(knee=-5.0, **_ARMS_DOWN), pitch=-90.0, jitter=8.0),
        Keyframe("lying_front", _sym(knee=-5.0, **_ARMS_DOWN), pitch=90.0, jitter=8.0),
        Keyframe(
            "all_fours",
            _sym(hip_y=-90.0, knee=-90.0, **_ARMS_FORWARD),
            pitch=90.0,
            jitter=5.0,
            supports=_KNEES + _HANDS,
        ),
    ]
}
"""Every keyframe by name: the eight tasks first, then the other poses."""

OTHER_POSES = tuple(k for k in KEYFRAMES if k not in HUMANOID_TASKS)
"""Keyframes that are no task's goal (negatives and context)."""


def _quat(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Quaternion (w, x, y, z) of yaw about z, then pitch about y, then roll about x (radians)."""
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    return np.array(
        [
            cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
        ]
    )


def joint_vector(keyframe: Keyframe) -> np.ndarray:
    """The keyframe's hinge angles in radians, in :data:`JOINTS` order."""
    unknown = set(keyframe.joints) - set(JOINTS)
    if unknown:
        raise ValueError(f"keyframe {keyframe.name!r} names unknown joints {sorted(unknown)}")
    return np.radians([keyframe.joints.get(j, 0.0) for j in JOINTS])


def keyframe_qpos(
    keyframe: Keyframe | str, yaw: float = 0.0, x: float = 0.0, y: float = 0.0
) -> np.ndarray:
    """The keyframe's ``qpos`` before it is put on the floor (root at z = 2 m)."""
    kf = KEYFRAMES[keyframe] if isinstance(keyframe, str) else keyframe
    return compose_qpos(joint_vector(kf), math.radians(kf.roll), math.radians(kf.pitch), yaw, x, y)


def compose_qpos(
    joints: np.ndarray, roll: float, pitch: float, yaw: float, x: float, y: float
) -> np.ndarray:
    qpos = np.zeros(7 + len(JOINTS))
    qpos[0:3] = (x, y, 2.0)
    qpos[3:7] = _quat(yaw, pitch, roll)
    qpos[7:] = joints
    return qpos


def place_on_floor(model: Any, data: Any, qpos: np.ndarray, forward: bool = True) -> np.ndarray:
    """Shift ``qpos``'s root vertically so that the robot's lowest point is at ``z = 0``.

    ``data`` is left in the placed configuration (after ``mj_forward``, or only
    ``mj_kinematics`` when ``forward`` is false).
    """
    from evalkit.envs.humanoid import robot_bottom
    from evalkit.envs.humanoid_scene import mujoco  # sets MUJOCO_GL=egl before MuJoCo loads

    qpos = qpos.copy()
    data.qpos[:] = qpos
    data.qvel[:] = 0.0
    mujoco.mj_kinematics(model, data)
    shift = robot_bottom(model, data)
    qpos[2] -= shift
    data.qpos[:] = qpos
    if forward:
        mujoco.mj_forward(model, data)
    else:
        data.geom_xpos[:, 2] -= shift
        data.xpos[:, 2] -= shift
    return qpos


SETTLE_MAX_TILT = 15.0
"""Largest root tilt (degrees) used to bring a pose's supports to the floor together."""


def settle(model: Any, data: Any, qpos: np.ndarray, supports: Sequence[str]) -> np.ndarray:
    """Put ``qpos`` on the floor, tilting the root so that all ``supports`` touch it if they can.

    Minimises the supports' heights above the floor over a small extra roll and pitch of the
    root (each within :data:`SETTLE_MAX_TILT`), the lowest point always at ``z = 0``.
    """
    from scipy.optimize import least_squares

    from evalkit.envs.humanoid import KEY_POINTS
    from evalkit.envs.humanoid_scene import mujoco

    if len(supports) < 2:
        return place_on_floor(model, data, qpos)
    base = qpos[3:7].copy()

    def tilted(angles: np.ndarray) -> np.ndarray:
        q = qpos.copy()
        extra = _quat(0.0, angles[1], angles[0])
        mujoco.mju_mulQuat(q[3:7], extra, base)
        return q

    geom_points = [KEY_POINTS[p] for p in supports if KEY_POINTS[p][0] == "geom"]
    body_points = [KEY_POINTS[p] for p in supports if KEY_POINTS[p][0] != "geom"]
    geoms = [model.geom(name).id for _, name, _ in geom_points]
    bodies = [model.body(name).id for _, name, _ in body_points]
    radii = np.array([r for _, _, r in geom_points + body_points])

    def heights(angles: np.ndarray) -> np.ndarray:
        place_on_floor(model, data, tilted(angles), forward=False)
        z = np.concatenate([data.geom_xpos[geoms, 2], data.xpos[bodies, 2]])
        return z - radii

    limit = math.radians(SETTLE_MAX_TILT)
    fit = least_squares(
        heights, np.zeros(2), bounds=([-limit, -limit], [limit, limit]), diff_step=1e-3
    )
    return place_on_floor(model, data, tilted(fit.x))


def beyond_range(model: Any, qpos: np.ndarray) -> float:
    """Largest excess (degrees) of a hinge angle over the model's joint range (0: within)."""
    lo, hi = model.jnt_range[1:, 0], model.jnt_range[1:, 1]
    q = qpos[7:]
    return float(np.degrees(max(0.0, np.max(lo - q), np.max(q - hi))))
