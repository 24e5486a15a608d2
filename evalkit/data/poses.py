"""The humanoid pose dataset: kinematic configurations around hand-made keyframes.

No trained policy is needed: each frame is a configuration (``qpos``) drawn around a keyframe —
one for each of the eight humanoid tasks, plus neutral and transitional poses (walking, sitting,
crouching, bending, lying, and interpolations between standing and each task) — with random
variation in the joint angles, the body's yaw and its position on the floor. Each configuration
is put on the floor: ``mj_forward`` gives the lowest point of the robot's geoms and the root is
shifted so that it touches ``z = 0`` (no interpenetration with the floor). Velocities are zero.

Keyframes are written as joint angles in degrees and a root orientation (roll, pitch in
degrees). A few keyframes go beyond the MuJoCo model's joint ranges where the pose needs it
(the side splits need ≈ 80° of hip abduction, the model allows 25°; the lotus needs outward hip
rotation): the pose dataset is about what the camera sees, and the state table records
``beyond_range`` (the largest excess over a joint range, degrees) so such frames can be
filtered out.

Episodes: every sample is its own episode (``episode`` = sample index, ``step`` = 0) — samples
are independent draws, so bootstrap resampling over episodes is resampling over frames. The
``pose`` column names the keyframe a sample was drawn around (``transition:standing>kneeling``
for interpolations).

Example::

    from evalkit.data.poses import collect_poses
    dataset = collect_poses(per_task=40, size=224, seed=0).dataset
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.errors import EvalkitError

HUMANOID_TASKS = ("standing", "kneeling", "lotus", "splits", "arms_raised", "hands_on_hips", "arms_crossed", "one_leg")
"""The eight humanoid tasks, each with its own keyframe."""

JOINTS = (
    "abdomen_z", "abdomen_y", "abdomen_x",
    "right_hip_x", "right_hip_z", "right_hip_y", "right_knee",
    "left_hip_x", "left_hip_z", "left_hip_y", "left_knee",
    "right_shoulder1", "right_shoulder2", "right_elbow",
    "left_shoulder1", "left_shoulder2", "left_elbow",
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
_ARMS_UP = {"shoulder1": -119.0, "shoulder2": 16.0, "elbow": -101.0}  # hands 0.6 m above the shoulders
_ARMS_OUT = {"shoulder1": -51.0, "shoulder2": -25.0, "elbow": -107.0}  # arms stretched sideways
_ARMS_FORWARD = {"shoulder1": 0.0, "shoulder2": 54.0, "elbow": -107.0}  # arms stretched forward
_HANDS_ON_HIPS = {"shoulder1": 51.0, "shoulder2": -68.0, "elbow": -20.0}  # hands on the hip joints, elbows out
_ARMS_CROSSED = {"right_shoulder1": 67.0, "right_shoulder2": -6.0, "right_elbow": -15.0,  # right hand left of chest
                 "left_shoulder1": -71.0, "left_shoulder2": 12.0, "left_elbow": -21.0}  # left hand right, lower
_HANDS_ON_KNEES = {"shoulder1": 26.0, "shoulder2": -37.0, "elbow": -33.0}  # hands resting on lotus knees
_LOTUS_LEGS = {"hip_x": 105.0, "hip_z": 13.0, "hip_y": -120.0, "knee": -148.0}  # knees wide, feet tucked in
_SPLITS_LEGS = {"hip_x": -90.0, "hip_z": 0.0, "hip_y": 0.0, "knee": -2.0}  # legs straight out sideways

_FEET = ("left_foot", "right_foot")
_KNEES = ("left_knee", "right_knee")
_HANDS = ("left_hand", "right_hand")

KEYFRAMES: dict[str, Keyframe] = {k.name: k for k in [
    # -- the eight tasks --
    Keyframe("standing", _sym(knee=-3.0, **_ARMS_DOWN), jitter=5.0, supports=_FEET),
    Keyframe("kneeling", _sym(hip_y=-5.0, knee=-95.0, **_ARMS_DOWN), jitter=5.0, supports=_KNEES + _FEET),
    Keyframe("lotus", _sym(**_LOTUS_LEGS, **_HANDS_ON_KNEES), jitter=3.0, supports=("pelvis",) + _KNEES),
    Keyframe("splits", _sym(**_SPLITS_LEGS, **_ARMS_OUT), jitter=4.0, supports=("pelvis",) + _FEET),
    Keyframe("arms_raised", _sym(knee=-3.0, **_ARMS_UP), jitter=5.0, supports=_FEET),
    Keyframe("hands_on_hips", _sym(knee=-3.0, **_HANDS_ON_HIPS), jitter=3.0, supports=_FEET),
    Keyframe("arms_crossed", {**_sym(knee=-3.0), **_ARMS_CROSSED}, jitter=3.0, supports=_FEET),
    Keyframe("one_leg", _sym(right_hip_y=-60.0, right_knee=-90.0, left_knee=-3.0, **_ARMS_OUT), jitter=5.0),
    # -- neutral and other poses --
    Keyframe("walking", _sym(right_hip_y=-30.0, left_hip_y=15.0, right_knee=-10.0, left_knee=-25.0, **_ARMS_DOWN),
             supports=_FEET),
    Keyframe("sitting", _sym(hip_y=-95.0, knee=-10.0, **_ARMS_DOWN), supports=("pelvis",) + _FEET),
    Keyframe("crouching", _sym(hip_y=-110.0, knee=-150.0, **_ARMS_FORWARD), pitch=25.0, supports=_FEET),
    Keyframe("bending", _sym(abdomen_y=-40.0, hip_y=-45.0, knee=-5.0, **_ARMS_FORWARD), pitch=80.0,
             supports=_FEET),
    Keyframe("lying_back", _sym(knee=-5.0, **_ARMS_DOWN), pitch=-90.0, jitter=8.0),
    Keyframe("lying_front", _sym(knee=-5.0, **_ARMS_DOWN), pitch=90.0, jitter=8.0),
    Keyframe("all_fours", _sym(hip_y=-90.0, knee=-90.0, **_ARMS_FORWARD), pitch=90.0, jitter=5.0,
             supports=_KNEES + _HANDS),
]}
"""Every keyframe by name: the eight tasks first, then the other poses."""

OTHER_POSES = tuple(k for k in KEYFRAMES if k not in HUMANOID_TASKS)
"""Keyframes that are no task's goal (negatives and context)."""

TRANSITIONS = tuple(("standing", task) for task in HUMANOID_TASKS if task != "standing")
"""Pairs of keyframes whose interpolations are transitional poses (half-way between)."""


@dataclass(frozen=True)
class PoseSpec:
    """How many samples to draw and how much to vary them.

    :param per_task: samples around each task keyframe; other keyframes and each transition
        get half as many (at least one).
    :param yaw: maximum yaw in degrees either side of facing the camera (uniform).
    :param shift: maximum displacement in metres from the origin along x and y (uniform).
    :param tilt: standard deviation (degrees) of random root roll and pitch.
    :param tasks: restrict the task keyframes to these (others and transitions follow).
    """

    per_task: int = 40
    yaw: float = 60.0
    shift: float = 0.3
    tilt: float = 3.0
    tasks: Sequence[str] = field(default_factory=lambda: HUMANOID_TASKS)

    def __post_init__(self) -> None:
        if self.per_task <= 0:
            raise EvalkitError(f"--per-task must be positive, not {self.per_task}.")
        unknown = [t for t in self.tasks if t not in HUMANOID_TASKS]
        if unknown:
            raise EvalkitError(
                f"Unknown humanoid task {unknown[0]!r} for pose generation; valid tasks: {', '.join(HUMANOID_TASKS)}."
            )

    def plan(self) -> list[tuple[str, str | None, int]]:
        """``(pose, interpolation target or None, count)`` for every group of samples."""
        half = max(1, self.per_task // 2)
        groups: list[tuple[str, str | None, int]] = [(t, None, self.per_task) for t in self.tasks]
        groups += [(k, None, half) for k in OTHER_POSES]
        groups += [(a, b, half) for a, b in TRANSITIONS if b in self.tasks]
        return groups

    def to_params(self) -> dict[str, Any]:
        return {"per_task": self.per_task, "yaw": self.yaw, "shift": self.shift, "tilt": self.tilt,
                "tasks": list(self.tasks)}


def _quat(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Quaternion (w, x, y, z) of yaw about z, then pitch about y, then roll about x (radians)."""
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    return np.array([
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    ])


def joint_vector(keyframe: Keyframe) -> np.ndarray:
    """The keyframe's hinge angles in radians, in :data:`JOINTS` order."""
    unknown = set(keyframe.joints) - set(JOINTS)
    if unknown:
        raise ValueError(f"keyframe {keyframe.name!r} names unknown joints {sorted(unknown)}")
    return np.radians([keyframe.joints.get(j, 0.0) for j in JOINTS])


def keyframe_qpos(keyframe: Keyframe | str, yaw: float = 0.0, x: float = 0.0, y: float = 0.0) -> np.ndarray:
    """The keyframe's ``qpos`` before it is put on the floor (root at z = 2 m)."""
    kf = KEYFRAMES[keyframe] if isinstance(keyframe, str) else keyframe
    return compose_qpos(joint_vector(kf), math.radians(kf.roll), math.radians(kf.pitch), yaw, x, y)


def compose_qpos(joints: np.ndarray, roll: float, pitch: float, yaw: float, x: float, y: float) -> np.ndarray:
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
    from evalkit.envs.humanoid_scene import mujoco  # sets MUJOCO_GL=egl before MuJoCo loads

    from evalkit.envs.humanoid import robot_bottom

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
    fit = least_squares(heights, np.zeros(2), bounds=([-limit, -limit], [limit, limit]), diff_step=1e-3)
    return place_on_floor(model, data, tilted(fit.x))


def beyond_range(model: Any, qpos: np.ndarray) -> float:
    """Largest excess (degrees) of a hinge angle over the model's joint range (0: within)."""
    lo, hi = model.jnt_range[1:, 0], model.jnt_range[1:, 1]
    q = qpos[7:]
    return float(np.degrees(max(0.0, np.max(lo - q), np.max(q - hi))))


def sample_poses(spec: PoseSpec, seed: int, model: Any | None = None) -> pd.DataFrame:
    """Draw the configurations of a pose dataset: one row per sample with ``pose`` and ``qpos_*``.

    Deterministic for ``(spec, seed)``. Rows come grouped by pose, in :meth:`PoseSpec.plan` order.
    """
    from evalkit.envs.humanoid_scene import load_model, mujoco

    model = model if model is not None else load_model(textured=False)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(seed)
    rows = []
    for pose, target, count in spec.plan():
        a = KEYFRAMES[pose]
        b = KEYFRAMES[target] if target else None
        for _ in range(count):
            if b is None:
                name, jitter, supports = pose, a.jitter, a.supports
                joints = joint_vector(a)
                roll, pitch = a.roll, a.pitch
            else:
                t = rng.uniform(0.25, 0.75)
                name, jitter = f"transition:{pose}>{target}", max(a.jitter, b.jitter)
                supports = a.supports if t < 0.5 else b.supports
                joints = (1 - t) * joint_vector(a) + t * joint_vector(b)
                roll, pitch = (1 - t) * a.roll + t * b.roll, (1 - t) * a.pitch + t * b.pitch
            joints = joints + np.radians(rng.normal(0.0, jitter, len(JOINTS)))
            roll += rng.normal(0.0, spec.tilt)
            pitch += rng.normal(0.0, spec.tilt)
            yaw = rng.uniform(-spec.yaw, spec.yaw)
            x, y = rng.uniform(-spec.shift, spec.shift, 2)
            qpos = compose_qpos(joints, math.radians(roll), math.radians(pitch), math.radians(yaw), x, y)
            qpos = settle(model, data, qpos, supports)
            rows.append({"pose": name, "beyond_range": beyond_range(model, qpos),
                         **{f"qpos_{i}": float(v) for i, v in enumerate(qpos)}})
    return pd.DataFrame(rows)


def qpos_columns(table: pd.DataFrame) -> np.ndarray:
    """The ``qpos_0 …`` columns of a table as an array ``(rows, nq)``."""
    cols = sorted((c for c in table.columns if c.startswith("qpos_")), key=lambda c: int(c.split("_")[1]))
    return table[cols].to_numpy(dtype=float)


# -- rendering (one process or several) --------------------------------------------------------


@dataclass(frozen=True)
class RenderJob:
    """What a worker needs to render a slice of configurations."""

    qpos: np.ndarray
    width: int
    height: int
    textured: bool = True
    fixed_camera: bool = True
    profile: str = "fast"


_WORKER_ENV: Any = None


def _worker_env(job: RenderJob) -> Any:
    """One environment per process, reused across jobs with the same settings."""
    global _WORKER_ENV
    from evalkit.envs.humanoid import HumanoidEnv

    key = (job.width, job.height, job.textured, job.fixed_camera, job.profile)
    if _WORKER_ENV is None or _WORKER_ENV[0] != key:
        if _WORKER_ENV is not None:
            _WORKER_ENV[1].close()
        env = HumanoidEnv(width=job.width, height=job.height, textured=job.textured,
                          fixed_camera=job.fixed_camera, profile=job.profile)
        _WORKER_ENV = (key, env)
    return _WORKER_ENV[1]


def render_configurations(job: RenderJob) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Render each ``qpos`` of ``job`` and describe it with :func:`~evalkit.envs.humanoid.body_state`."""
    env = _worker_env(job)
    frames = np.empty((len(job.qpos), job.height, job.width, 3), dtype=np.uint8)
    rows = []
    for i, q in enumerate(job.qpos):
        env.set_state(q)
        frames[i] = env.render_frame()
        rows.append(env.state_row())
    return frames, rows


def map_jobs(fn: Any, jobs: Iterable[Any], workers: int) -> Iterable[Any]:
    """``fn`` over ``jobs`` in order, in ``workers`` fresh processes (1: in this process).

    Worker processes are started with ``spawn`` so each sets up its own OpenGL context.
    """
    jobs = list(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield fn(job)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(processes=min(workers, len(jobs))) as pool:
        yield from pool.imap(fn, jobs)


def collect_poses(
    per_task: int = 40,
    size: int = 224,
    seed: int = 0,
    name: str = "humanoid-poses",
    root: str | None = None,
    overwrite: bool = False,
    workers: int = 1,
    textured: bool = True,
    fixed_camera: bool = True,
    profile: str = "fast",
    tasks: Sequence[str] = HUMANOID_TASKS,
    progress: bool = True,
) -> Any:
    """Build (or reuse) the pose dataset ``name``; a :class:`~evalkit.data.store.CollectResult`.

    Rule labels for every humanoid task are computed by the store on publish. Re-running with
    the same arguments returns the existing dataset; other arguments need ``overwrite``.

    :param per_task: samples around each task keyframe (see :class:`PoseSpec`).
    :param size: frame width and height in pixels.
    :param workers: rendering processes.
    """
    if workers <= 0:
        raise EvalkitError(f"--workers must be positive, not {workers}.")
    spec = PoseSpec(per_task=per_task, tasks=tuple(tasks))
    params = {**spec.to_params(), "seed": seed}
    out = HumanoidOutput("poses", params, name, size, textured, fixed_camera, profile, root, overwrite, progress)
    table = sample_poses(spec, seed)
    qpos = qpos_columns(table)
    chunk = max(1, min(64, math.ceil(len(qpos) / max(1, workers * 4))))
    jobs = [RenderJob(qpos[i : i + chunk], size, size, textured, fixed_camera, profile) for i in range(0, len(qpos), chunk)]

    def batches() -> Iterable[tuple[np.ndarray, pd.DataFrame]]:
        done = 0
        for frames, rows in map_jobs(render_configurations, jobs, workers):
            meta = table.iloc[done : done + len(frames)]
            states = pd.DataFrame(rows)
            states.insert(0, "episode", np.arange(done, done + len(frames)))
            states.insert(1, "step", 0)
            states.insert(2, "pose", meta["pose"].to_numpy())
            states.insert(3, "beyond_range", meta["beyond_range"].to_numpy())
            done += len(frames)
            yield frames, states

    return out.collect(len(qpos), batches, "rendering poses")


@dataclass
class HumanoidOutput:
    """Where and how a humanoid dataset is written (shared by pose and rollout collection).

    :param generator: ``poses`` or ``rollouts`` (stored in the manifest).
    :param params: the generator's parameters (with the render settings, the dataset's identity).
    """

    generator: str
    params: dict[str, Any]
    name: str
    size: int
    textured: bool
    fixed_camera: bool
    profile: str
    root: str | None
    overwrite: bool
    progress: bool = True

    def __post_init__(self) -> None:
        from evalkit.data.store import check_root, resolve_root
        from evalkit.envs.humanoid_scene import get_profile

        if self.size <= 0:
            raise EvalkitError(f"--size must be positive, not {self.size}.")
        get_profile(self.profile)
        self.root_path = check_root(resolve_root(self.root))

    @property
    def render(self) -> dict[str, Any]:
        return {"width": self.size, "height": self.size, "textured": self.textured,
                "fixed_camera": self.fixed_camera, "profile": self.profile, "version": "v4"}

    def collect(self, n_frames: int, batches: Callable[[], Iterable[tuple[np.ndarray, pd.DataFrame]]],
                desc: str) -> Any:
        """Reuse the dataset if it was built with these parameters, else write ``batches()`` of
        (frames, state rows) atomically (rule labels come with publishing); a
        :class:`~evalkit.data.store.CollectResult`."""
        from evalkit.data.store import collect_into
        from evalkit.tasks import get_family

        family = get_family("humanoid")

        def write(writer: Any) -> None:
            bar = _progress(n_frames, desc, self.progress)
            for frames, states in batches():
                writer.add(frames, states)
                bar.update(len(frames))
            bar.close()

        return collect_into(self.root_path, self.name, family=family.name, env_id=family.env_id,
                            generator=self.generator, params=self.params, render=self.render, n_frames=n_frames,
                            frame_shape=(self.size, self.size, 3), overwrite=self.overwrite, write=write)


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled)
