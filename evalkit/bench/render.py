"""``evalkit bench render``: how fast the humanoid renders headless, in one process and in N.

Two measurements, both on the textured humanoid from the fixed camera:

- **single process**: frames/s of :meth:`HumanoidEnv.render_frame` alone, and of a full
  collection step (``env.step`` + render + :func:`~evalkit.envs.humanoid.body_state`);
- **scaling**: N worker processes (``spawn``) render the pose keyframes at the same time; the
  aggregate frames/s is the total frame count over the span from the first worker's start to
  the last worker's end (process start-up and context creation excluded), and the speed-up is
  relative to one worker. On a machine with C cores, expect close to min(N, C)×.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from evalkit.envs.humanoid_poses import KEYFRAMES, keyframe_qpos, place_on_floor
from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class ScalingPoint:
    """Throughput of ``workers`` processes rendering together."""

    workers: int
    frames: int
    seconds: float
    fps: float
    speedup: float


@dataclass(frozen=True)
class RenderBenchResult:
    """Result of :func:`bench_render`."""

    size: int
    profile: str
    textured: bool
    render_fps: float
    step_render_fps: float
    scaling: list[ScalingPoint] = field(default_factory=list)
    gl_backend: str = ""
    renderer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _poses(n: int) -> np.ndarray:
    # MuJoCo loads only when a benchmark runs (humanoid_scene sets MUJOCO_GL=egl before it does)
    from evalkit.envs.humanoid_scene import load_model, mujoco

    model = load_model(textured=False)
    data = mujoco.MjData(model)
    keys = [place_on_floor(model, data, keyframe_qpos(k)) for k in KEYFRAMES]
    return np.array([keys[i % len(keys)] for i in range(n)])


def _render_loop(args: tuple[int, int, str, bool]) -> tuple[int, float, float]:
    """Worker: render ``frames`` poses; returns (frames, start, end) wall-clock times."""
    frames, size, profile, textured = args
    from evalkit.envs.humanoid import (
        HumanoidEnv,  # MuJoCo: loaded in each worker, after MUJOCO_GL is set
    )

    env = HumanoidEnv(width=size, height=size, profile=profile, textured=textured)
    poses = _poses(frames)
    env.set_state(poses[0])
    env.render_frame()  # warm-up: context, textures
    start = time.time()
    for q in poses:
        env.set_state(q)
        env.render_frame()
    end = time.time()
    env.close()
    return frames, start, end


def bench_render(
    size: int = 224,
    frames: int = 300,
    profile: str = "fast",
    textured: bool = True,
    workers: Sequence[int] = (1, 2),
) -> RenderBenchResult:
    """Measure rendering speed; see the module docstring.

    :param size: frame width and height.
    :param frames: frames per measurement (and per worker in the scaling runs).
    :param workers: worker counts for the scaling runs (empty: skip them).
    """
    import multiprocessing as mp

    # MuJoCo loads only when the benchmark runs (humanoid_scene sets MUJOCO_GL=egl before it does)
    from evalkit.envs.humanoid import HumanoidEnv
    from evalkit.envs.humanoid_scene import get_profile, mujoco_gl_backend

    if size <= 0 or frames <= 0:
        raise EvalkitError("--size and --frames must be positive.")
    if any(w <= 0 for w in workers):
        raise EvalkitError("--workers must be positive numbers, e.g. --workers 1,2.")
    get_profile(profile)
    env = HumanoidEnv(width=size, height=size, profile=profile, textured=textured)
    poses = _poses(frames)
    env.set_state(poses[0])
    env.render_frame()
    t0 = time.perf_counter()
    for q in poses:
        env.set_state(q)
        env.render_frame()
    render_fps = frames / (time.perf_counter() - t0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.4, 0.4, (frames, env.action_space.shape[0])).astype(np.float32)
    t0 = time.perf_counter()
    for a in actions:
        env.step(a)
        env.render_frame()
        env.state_row()
    step_fps = frames / (time.perf_counter() - t0)
    renderer = _gl_renderer_name()
    env.close()

    scaling: list[ScalingPoint] = []
    base = None
    ctx = mp.get_context("spawn")
    for n in workers:
        with ctx.Pool(n) as pool:
            results = pool.map(_render_loop, [(frames, size, profile, textured)] * n)
        total = sum(r[0] for r in results)
        span = max(r[2] for r in results) - min(r[1] for r in results)
        fps = total / span
        base = base if base is not None else fps / n
        scaling.append(ScalingPoint(n, total, span, fps, fps / base if base else float("nan")))
    return RenderBenchResult(
        size, profile, textured, render_fps, step_fps, scaling, mujoco_gl_backend(), renderer
    )


def _gl_renderer_name() -> str:
    """The OpenGL renderer string of the current context (e.g. ``llvmpipe``), if it can be read."""
    try:
        from OpenGL import GL

        name = GL.glGetString(GL.GL_RENDERER)
        return name.decode() if isinstance(name, bytes) else str(name or "")
    except Exception:  # noqa: BLE001 - informational only
        return ""
