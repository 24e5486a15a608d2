"""``evalkit bench render --env FAMILY``: how fast any family's environment renders headless.

The humanoid's benchmark (:mod:`evalkit.bench.render`) renders its keyframe poses; this one works
for every family the same way, through the family's own environment (``--task`` for a family
with one environment per task, such as Meta-World):

- **step + render + state**: a seeded random-action rollout of ``frames`` steps (reset when an
  episode ends), rendering every step and reading its state, as a collection does;
- **render**: the states of that rollout put back with ``set_state`` and rendered, so the
  physics is left out.

Rendering happens in one process; the first frame (context creation, texture upload) is left
out of both rates.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class EnvRenderBenchResult:
    """Result of :func:`bench_env_render`: frames per second of one process."""

    family: str
    task: str | None
    size: int
    profile: str | None
    render_fps: float
    step_render_fps: float
    gl_backend: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _env_kwargs(family: Any, task: str | None, profile: str) -> tuple[dict[str, Any], str | None]:
    """Keyword arguments of the family's environment for ``task`` and the render profile (only
    for an environment that takes one), and the task's name."""
    from evalkit.envs.humanoid_scene import get_profile
    from evalkit.tasks import get_task

    kwargs: dict[str, Any] = {}
    if task is not None:
        found = get_task(task)
        if found.family != family.name:
            raise EvalkitError(
                f"Task {task!r} runs on {found.family}, not on {family.name}; pass one of "
                f"{family.name}'s tasks (see 'evalkit tasks')."
            )
    elif family.task_kwarg is not None and family.tasks:
        task = family.tasks[0].name
    if task is not None:
        kwargs.update(family.task_env_kwargs(task))
    takes_profile = "profile" in inspect.signature(family.env_class()).parameters
    if takes_profile:
        kwargs["profile"] = get_profile(profile).name
    return kwargs, task


def bench_env_render(
    family: str,
    task: str | None = None,
    size: int = 128,
    frames: int = 300,
    profile: str = "fast",
    seed: int = 0,
) -> EnvRenderBenchResult:
    """Measure how fast ``family``'s environment renders; see the module docstring.

    :param family: an environment family (``metaworld``, ``humanoid``, ``cartpole``...).
    :param task: one of the family's tasks (default: its first where the environment depends on
        the task, as Meta-World's does).
    :param size: frame width and height in pixels.
    :param frames: frames per measurement.
    :param profile: render profile, for environments that take one (``fast``, ``quality``).
    :param seed: seed of the reset and of the random actions.
    :raises EvalkitError: an unknown family, profile or task, a task of another family, or a size
        or frame count that is not positive.
    """
    from evalkit.envs import get_family
    from evalkit.envs.humanoid_scene import mujoco_gl_backend

    if size <= 0 or frames <= 0:
        raise EvalkitError("--size and --frames must be positive.")
    fam = get_family(family)
    kwargs, task = _env_kwargs(fam, task, profile)
    env = fam.make_env(render_mode="rgb_array", width=size, height=size, **kwargs)
    inner = env.unwrapped
    try:
        env.action_space.seed(seed)
        env.reset(seed=seed)
        env.render()  # context creation and texture upload are not part of the rates
        states = []
        t0 = time.perf_counter()
        for _ in range(frames):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            env.render()
            states.append(inner.get_state())
            if terminated or truncated:
                env.reset()
        step_fps = frames / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for state in states:
            inner.set_state(state)
            frame = env.render()
        render_fps = frames / (time.perf_counter() - t0)
    finally:
        env.close()
    if np.asarray(frame).shape != (size, size, 3):  # pragma: no cover - the contract says so
        raise EvalkitError(
            f"{family} rendered frames of shape {np.shape(frame)}, not {size}×{size}."
        )
    return EnvRenderBenchResult(
        fam.name,
        task,
        size,
        kwargs.get("profile"),
        render_fps,
        step_fps,
        mujoco_gl_backend(),
    )
