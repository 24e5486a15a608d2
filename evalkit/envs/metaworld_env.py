"""``evalkit/MetaWorld-v0``: one Meta-World task, rendered headless from a fixed named camera.

Example::

    from evalkit.envs.metaworld_env import MetaWorldEnv

    env = MetaWorldEnv(render_mode="rgb_array", task="drawer-open")
    obs, info = env.reset(seed=3)   # task variation 3: object and goal where Meta-World puts them
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    info["success"]           # Meta-World's own success flag (1.0 or 0.0)
    frame = env.render()      # uint8 (128, 128, 3) from the camera 'corner2', the right way up
    env.close()

The physics, the reward, the success flag and the task variations are Meta-World's own code
(package ``metaworld``, installed with ``pip install 'evalkit[metaworld]'``): a task variation is
``metaworld.MT1(task, seed=variation_seed).train_tasks[variation]`` (50 per seed, the object and
goal positions drawn by Meta-World; variation ``v ≥ 50`` is variation ``v mod 50`` of the seed
``variation_seed + v // 50``, :func:`variation_task`). Each reset chooses the episode's variation
(Meta-World freezes it at ``set_task``, so its own ``reset`` never changes it):
``reset(seed=s)`` uses variation ``s`` (the variation of episode ``s`` of ``evalkit collect
metaworld --seed variation_seed``), an unseeded reset one of the 50 variations of
``variation_seed``, drawn with the environment's own generator (seeded by the first seeded
reset); ``variation=v`` pins every episode to variation ``v``. The variation is part of the
state (the ``variation`` column), as it moves the objects and the goal (model body and site
positions, not joints). evalkit adds three things, all visual:

- frames come from one of Meta-World's named cameras (:data:`CAMERAS`), turned the right way up
  (:data:`CAMERA_TURN`: the corner cameras are defined upside down for an old renderer);
- a :class:`~evalkit.envs.humanoid_scene.RenderProfile` (``fast`` by default: no shadows,
  reflections or multisampling);
- ``close()`` frees the rendering context (an unclosed one makes EGL print errors at exit).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from evalkit.envs.base import RenderableEnv
from evalkit.envs.joint_state import JointStateMixin
from evalkit.errors import EvalkitError

MT10 = (
    "reach",
    "push",
    "pick-place",
    "door-open",
    "drawer-open",
    "drawer-close",
    "button-press-topdown",
    "peg-insert-side",
    "window-open",
    "window-close",
)
"""The MT10 tasks, in Meta-World's order (their ids without the ``-v3`` suffix)."""

VERSION_SUFFIX = "-v3"
"""Meta-World's environment version (3.x)."""

CAMERAS = ("corner2", "corner", "corner3", "corner4", "topview", "behindGripper", "gripperPOV")
"""Meta-World's named cameras; the first, ``corner2``, is the one most vision-reward work uses."""

DEFAULT_CAMERA = CAMERAS[0]

CAMERA_TURN: Mapping[str, int] = {
    "corner2": 2,
    "corner": 2,
    "corner3": 2,
    "corner4": 2,
    "topview": 0,
    "behindGripper": 0,
    "gripperPOV": 0,
}
"""Quarter turns (``numpy.rot90``'s ``k``) that put each camera's frame the right way up (the
table at the bottom); the corner cameras' axes point down in Meta-World's model."""

DEFAULT_SIZE = 128

MAX_REWARD = 10.0
"""Meta-World v3's dense reward lies in [0, 10]; ``progress`` is the reward divided by this."""
VARIATIONS_PER_SEED = 50
"""Task variations ``metaworld.MT1`` draws for one seed."""

INSTALL_HINT = "Meta-World is not installed; install it with: pip install 'evalkit[metaworld]'."


def import_metaworld() -> Any:
    """The ``metaworld`` package (MuJoCo set up for headless EGL first).

    :raises EvalkitError: it is not installed (one sentence saying how to install it).
    """
    import evalkit.envs.humanoid_scene  # noqa: F401 - chooses EGL before anything imports mujoco

    try:
        import metaworld
    except ImportError:
        raise EvalkitError(INSTALL_HINT) from None
    return metaworld


def check_task(task: str) -> str:
    """``task`` if it is an MT10 task (a clear error listing them otherwise)."""
    from evalkit.envs.family import unknown_name

    if task not in MT10:
        raise unknown_name("Meta-World task", task, list(MT10))
    return task


def check_camera(camera: str) -> str:
    """``camera`` if Meta-World has it (a clear error listing the cameras otherwise)."""
    from evalkit.envs.family import unknown_name

    if camera not in CAMERAS:
        raise unknown_name("Meta-World camera", camera, list(CAMERAS))
    return camera


def expert_policy(task: str) -> Any:
    """Meta-World's own scripted policy for ``task`` (``policy.get_action(obs)``)."""
    import_metaworld()
    from metaworld.policies import ENV_POLICY_MAP

    return ENV_POLICY_MAP[check_task(task) + VERSION_SUFFIX]()


@lru_cache(maxsize=32)
def task_variations(task: str, seed: int) -> tuple[type, tuple[Any, ...]]:
    """Meta-World's environment class of ``task`` and the task variations that
    ``metaworld.MT1`` draws with ``seed`` (cached: drawing them resets the environment 50 times)."""
    metaworld = import_metaworld()
    env_name = check_task(task) + VERSION_SUFFIX
    benchmark = metaworld.MT1(env_name, seed=seed)
    return benchmark.train_classes[env_name], tuple(benchmark.train_tasks)


def variation_task(task: str, variation_seed: int, variation: int) -> tuple[type, Any]:
    """Meta-World's environment class of ``task`` and its task variation number ``variation``
    for ``variation_seed``: ``metaworld.MT1`` train task ``variation mod 50`` drawn with the seed
    ``variation_seed + variation // 50`` (the numbering ``evalkit collect metaworld`` uses).

    :raises EvalkitError: a negative variation.
    """
    if variation < 0:
        raise EvalkitError(f"The task variation must be ≥ 0, not {variation}.")
    env_class, variations = task_variations(
        task, int(variation_seed) + int(variation) // VARIATIONS_PER_SEED
    )
    return env_class, variations[int(variation) % VARIATIONS_PER_SEED]


class MetaWorldEnv(JointStateMixin, RenderableEnv, gym.Env):
    """One MT10 task of Meta-World, a seeded task variation per episode, with a fixed named camera.

    :param render_mode: ``"rgb_array"`` or ``None``.
    :param width: frame width in pixels.
    :param height: frame height in pixels.
    :param task: an MT10 task (:data:`MT10`).
    :param camera: one of :data:`CAMERAS`.
    :param variation: pin every episode to this task variation of ``variation_seed`` (any whole
        number, :func:`variation_task`); ``None`` (default): each reset chooses one.
    :param variation_seed: seed of ``metaworld.MT1`` (variations ``0 … 49``).
    :param profile: render profile name (``fast`` or ``quality``).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 80}

    def __init__(
        self,
        render_mode: str | None = None,
        width: int = DEFAULT_SIZE,
        height: int = DEFAULT_SIZE,
        task: str = "drawer-open",
        camera: str = DEFAULT_CAMERA,
        variation: int | None = None,
        variation_seed: int = 0,
        profile: str = "fast",
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise EvalkitError(f"evalkit/MetaWorld renders only 'rgb_array', not {render_mode!r}.")
        if width <= 0 or height <= 0:
            raise EvalkitError(f"Render size must be positive, not {width}×{height}.")
        if variation is not None and variation < 0:
            raise EvalkitError(f"The task variation must be ≥ 0, not {variation}.")
        self.task, self.camera = check_task(task), check_camera(camera)
        from evalkit.envs.humanoid_scene import get_profile

        self.profile = get_profile(profile)
        import_metaworld()
        self.render_mode = render_mode
        self.width, self.height = int(width), int(height)
        self.pinned = None if variation is None else int(variation)
        self.variation_seed = int(variation_seed)
        self.variation = self.pinned or 0
        env_class, first = variation_task(task, self.variation_seed, self.variation)
        self._inner = env_class()
        self._inner.set_task(first)
        self.observation_space = self._inner.observation_space
        self.action_space = self._inner.action_space
        self._renderer: Any = None
        self._success = self._progress = 0.0

    @property
    def max_path_length(self) -> int:
        """Meta-World's episode length (steps after which it must be reset)."""
        return int(self._inner.max_path_length)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode in a task variation: the pinned one, variation ``seed`` when seeded,
        else one of the 50 of ``variation_seed`` drawn with the environment's generator."""
        super().reset(seed=seed)
        if self.pinned is not None:
            variation = self.pinned
        elif seed is not None:
            variation = int(seed)
        else:
            variation = int(self.np_random.integers(VARIATIONS_PER_SEED))
        self._success = self._progress = 0.0
        return self._use_variation(variation)

    def _use_variation(self, variation: int) -> tuple[Any, dict[str, Any]]:
        """Set Meta-World's task to ``variation`` and reset it (where the variation's object and
        goal positions are applied); Meta-World's ``(obs, info)``."""
        if variation != self.variation:
            self._inner.set_task(variation_task(self.task, self.variation_seed, variation)[1])
            self.variation = variation
        return self._inner.reset()

    def step(self, action):
        obs, reward, terminated, truncated, info = self._inner.step(
            np.asarray(action, dtype=np.float32)
        )
        self._success = float(info.get("success", 0.0))
        self._progress = float(reward) / MAX_REWARD
        return obs, float(reward), terminated, truncated, info

    def state_row(self) -> dict[str, float]:
        """The state (joint state and variation) with the columns the family's goal rule and
        progress variable read (``task_id``, the last step's ``success`` flag and ``progress``,
        its reward / 10), as a training run records every step."""
        return {
            **self.get_state(),
            "task_id": float(MT10.index(self.task)),
            "success": self._success,
            "progress": self._progress,
        }

    def render_frame(self) -> np.ndarray:
        """The current state as ``uint8 (height, width, 3)``, the right way up."""
        if self._renderer is None:
            from evalkit.envs.humanoid_scene import SceneRenderer

            self._renderer = SceneRenderer(
                self.model, self.width, self.height, self.profile, self.camera
            )
        frame = self._renderer.render(self.data)
        turn = CAMERA_TURN[self.camera]
        return np.ascontiguousarray(np.rot90(frame, k=turn)) if turn else frame

    # -- state access (RenderableEnv) --------------------------------------------------------

    @property
    def state_columns(self) -> tuple[str, ...]:
        """``qpos_i``, ``qvel_j`` (the joint state) and ``variation`` (the task variation)."""
        return super().state_columns + ("variation",)

    def get_state(self) -> dict[str, float]:
        """The joint state and the task variation (a whole number)."""
        return {**super().get_state(), "variation": self.variation}

    def set_state(self, state: Any) -> None:
        """Put the simulator in a state (a mapping of :attr:`state_columns`, names left out
        keeping their value, or all values in order) and run ``mj_forward``; another task
        variation resets Meta-World in it first. The gripper's mocap target is not part of it."""
        current = self.get_state()
        if isinstance(state, Mapping):
            unknown = set(state) - set(current)
            if unknown:
                raise ValueError(
                    f"Unknown state column(s) {', '.join(sorted(map(str, unknown)))} for Meta-World."
                )
            current.update({k: float(v) for k, v in state.items()})
            vector = np.array(list(current.values()))
        else:
            vector = np.asarray(state, dtype=float).reshape(-1)
            if vector.size != len(current):
                raise ValueError(
                    f"Meta-World's {self.task} state has {len(current)} values, got {vector.size}."
                )
        if not np.all(np.isfinite(vector)):
            raise ValueError("State values must be finite.")
        variation = vector[-1]
        if variation < 0 or variation != int(variation):
            raise ValueError(f"The task variation must be a whole number ≥ 0, not {variation}.")
        if int(variation) != self.variation:
            self._use_variation(int(variation))
        nq = self.model.nq
        self._inner.set_state(vector[:nq], vector[nq:-1])

    def render_settings(self) -> dict[str, Any]:
        """What decides how frames look (stored in dataset manifests)."""
        return {
            "width": self.width,
            "height": self.height,
            "task": self.task,
            "camera": self.camera,
            "turn": CAMERA_TURN[self.camera],
            "profile": self.profile.name,
            "metaworld": _version("metaworld"),
            "mujoco": _version("mujoco"),
        }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover - metaworld imported means it is there
        return "unknown"
