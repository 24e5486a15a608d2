"""The humanoid pose dataset: kinematic configurations around hand-made keyframes.

No trained policy is needed: each frame is a configuration (``qpos``) drawn around a keyframe of
:mod:`evalkit.envs.humanoid_poses` — one for each of the eight humanoid tasks, plus neutral and
transitional poses (walking, sitting, crouching, bending, lying, and interpolations between
standing and each task) — with random variation in the joint angles, the body's yaw and its
position on the floor. Each configuration is put on the floor (:func:`~evalkit.envs.humanoid_poses.settle`).
Velocities are zero. The pose dataset is about what the camera sees: keyframes beyond the
model's joint ranges are kept, and the state table records ``beyond_range`` (the largest
excess over a joint range, degrees) so such frames can be filtered out.

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
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from evalkit.data.store import check_root, collect_into, resolve_root
from evalkit.envs.humanoid_poses import (
    HUMANOID_TASKS,
    JOINTS,
    KEYFRAMES,
    OTHER_POSES,
    beyond_range,
    compose_qpos,
    joint_vector,
    settle,
)
from evalkit.errors import EvalkitError
from evalkit.tasks import get_family

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
        return {
            "per_task": self.per_task,
            "yaw": self.yaw,
            "shift": self.shift,
            "tilt": self.tilt,
            "tasks": list(self.tasks),
        }


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
            qpos = compose_qpos(
                joints, math.radians(roll), math.radians(pitch), math.radians(yaw), x, y
            )
            qpos = settle(model, data, qpos, supports)
            rows.append(
                {
                    "pose": name,
                    "beyond_range": beyond_range(model, qpos),
                    **{f"qpos_{i}": float(v) for i, v in enumerate(qpos)},
                }
            )
    return pd.DataFrame(rows)


def qpos_columns(table: pd.DataFrame) -> np.ndarray:
    """The ``qpos_0 …`` columns of a table as an array ``(rows, nq)``."""
    cols = sorted(
        (c for c in table.columns if c.startswith("qpos_")), key=lambda c: int(c.split("_")[1])
    )
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
        env = HumanoidEnv(
            width=job.width,
            height=job.height,
            textured=job.textured,
            fixed_camera=job.fixed_camera,
            profile=job.profile,
        )
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
    out = HumanoidOutput(
        "poses", params, name, size, textured, fixed_camera, profile, root, overwrite, progress
    )
    table = sample_poses(spec, seed)
    qpos = qpos_columns(table)
    chunk = max(1, min(64, math.ceil(len(qpos) / max(1, workers * 4))))
    jobs = [
        RenderJob(qpos[i : i + chunk], size, size, textured, fixed_camera, profile)
        for i in range(0, len(qpos), chunk)
    ]

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
        from evalkit.envs.humanoid_scene import get_profile  # MuJoCo: only when a dataset is made

        if self.size <= 0:
            raise EvalkitError(f"--size must be positive, not {self.size}.")
        get_profile(self.profile)
        self.root_path = check_root(resolve_root(self.root))

    @property
    def render(self) -> dict[str, Any]:
        return {
            "width": self.size,
            "height": self.size,
            "textured": self.textured,
            "fixed_camera": self.fixed_camera,
            "profile": self.profile,
            "version": "v4",
        }

    def collect(
        self,
        n_frames: int,
        batches: Callable[[], Iterable[tuple[np.ndarray, pd.DataFrame]]],
        desc: str,
    ) -> Any:
        """Reuse the dataset if it was built with these parameters, else write ``batches()`` of
        (frames, state rows) atomically (rule labels come with publishing); a
        :class:`~evalkit.data.store.CollectResult`."""
        family = get_family("humanoid")

        def write(writer: Any) -> None:
            bar = _progress(n_frames, desc, self.progress)
            for frames, states in batches():
                writer.add(frames, states)
                bar.update(len(frames))
            bar.close()

        return collect_into(
            self.root_path,
            self.name,
            family=family.name,
            env_id=family.env_id,
            generator=self.generator,
            params=self.params,
            render=self.render,
            n_frames=n_frames,
            frame_shape=(self.size, self.size, 3),
            overwrite=self.overwrite,
            write=write,
        )


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from evalkit.progress import progress_bar

    return progress_bar(total, desc, "frame", enabled=enabled)
