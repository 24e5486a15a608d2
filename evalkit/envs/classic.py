"""CartPole and continuous MountainCar as in the paper (Section 4, Appendix C).

Both subclass gymnasium's own environments and keep their physics untouched (``step`` calls
the parent's ``step``); only what the paper changes differs. Registered as
``evalkit/CartPole-v0`` and ``evalkit/MountainCar-v0`` with a 200-step time limit (truncation)::

    import gymnasium as gym
    import evalkit.envs  # registers the ids

    env = gym.make("evalkit/MountainCar-v0", render_mode="rgb_array", textured=True, width=224, height=224)
    obs, info = env.reset(seed=0)
    frame = env.render()              # uint8 (224, 224, 3)

**CartPole** (:class:`CartPoleEnv`), differences from gymnasium's ``CartPole``:

- never terminates: episodes end only by the time limit;
- reward ``+1`` while the pole is up and the cart on the track (``|angle| <= 12°`` and
  ``|cart_position| <= 2.4``, gymnasium's own failure thresholds), ``-1`` otherwise;
  ``info["is_success"]`` says which;
- the pole angle is wrapped to ``[-π, π)`` after every step, so a pole that swung round is
  upright again at 0 (the dynamics use only ``sin``/``cos`` of the angle, so this changes
  nothing physical); the observation space is unbounded except for the angle.

**MountainCar** (:class:`MountainCarEnv`), differences from ``MountainCarContinuous``:

- never terminates; the goal is *absorbing*: from the step on which gymnasium would terminate
  (``position >= 0.45`` and ``velocity >= goal_velocity``), the state no longer changes, whatever
  the actions. ``reset()`` clears it;
- reward ``+1`` on every step at the goal (the reaching step included), ``0`` otherwise (no
  action cost); ``info["is_success"]`` is whether the car is at the goal.

**Rendering** (``render_mode="rgb_array"`` only): frames are ``width`` x ``height`` (224 x 224
by default). Plain frames are gymnasium's own pygame drawing (600 x 400, headless through
``SDL_VIDEODRIVER=dummy``) brought to ``width`` x ``height`` by ``framing``: ``"crop"`` scales the
short side and centre-crops the long one (what CLIP's preprocessing does to the paper's frames;
CartPole's default: the cart and pole fill the frame), ``"fit"`` scales the whole frame to fit and
centres it on white (MountainCar's default: a crop would cut off the flag at x = 0.45).
CartPole draws the same picture with numpy by default (:mod:`evalkit.envs.cartpole_render`,
``renderer="numpy"``: 0.2 ms a frame instead of 4–20 ms); ``renderer="pygame"`` gives
gymnasium's pixels. ``CartPoleEnv(full_track=True)`` (numpy only) shows the whole track instead
of gymnasium's canvas (x in ±2.6 across the square, the ``track`` framing of
:mod:`evalkit.envs.cartpole_render`): the crop loses the cart past ``|x|`` ≈ 1.6. ``MountainCarEnv(textured=True)`` draws with
:mod:`evalkit.envs.mountaincar_render` instead.
Rendering depends only on the state (and ``texture_seed``), so it is deterministic.

Both implement :class:`evalkit.envs.base.StateSettable` (state columns ``cart_position,
cart_velocity, angle, angular_velocity`` and ``position, velocity``).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from gymnasium import logger, spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv as _GymCartPole
from gymnasium.envs.classic_control.continuous_mountain_car import (
    Continuous_MountainCarEnv as _GymMountainCar,
)
from PIL import Image

from evalkit.envs import cartpole_render
from evalkit.envs.base import StateSettable
from evalkit.envs.cartpole_family import CARTPOLE_MAX_POSITION, CARTPOLE_UPRIGHT_MAX_ANGLE
from evalkit.envs.mountaincar_render import RENDERER_VERSION, get_renderer

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame draws off-screen; no window, no display

DEFAULT_RENDER_SIZE = 224
"""Default frame width and height: CLIP's input size."""

PLAIN_RENDERER_VERSION = 2
"""Bumped whenever plain frames change (e.g. the fitting), so old datasets are not mistaken for new."""


def fit_frame(
    frame: np.ndarray, width: int, height: int, fill: tuple[int, int, int] = (255, 255, 255)
) -> np.ndarray:
    """Scale ``frame`` (``uint8 (h, w, 3)``) to fit in ``width`` x ``height`` keeping its aspect
    ratio, centred on ``fill``; the frame itself when the size already matches."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
    small = Image.fromarray(frame).resize((new_w, new_h), resample)
    canvas = Image.new("RGB", (width, height), fill)
    canvas.paste(small, ((width - new_w) // 2, (height - new_h) // 2))
    return np.asarray(canvas)


def crop_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``frame`` so it covers ``width`` x ``height`` and centre-crop the excess."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
    big = Image.fromarray(frame).resize((new_w, new_h), resample)
    left, top = (new_w - width) // 2, (new_h - height) // 2
    return np.asarray(big.crop((left, top, left + width, top + height)))


FRAMINGS = {"fit": fit_frame, "crop": crop_frame}
"""How a plain gymnasium frame (600 x 400) is brought to the requested size."""

CARTPOLE_RENDERERS = ("numpy", "pygame")
"""How CartPole frames are drawn: evalkit's numpy drawing of gymnasium's picture, or gymnasium's pygame."""


def _check_render_args(
    render_mode: str | None, width: int, height: int, framing: str = "fit"
) -> None:
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {sorted(FRAMINGS)}, not {framing!r}.")
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', not {render_mode!r}.")
    if int(width) <= 0 or int(height) <= 0:
        raise ValueError(f"Render size must be positive, got width={width}, height={height}.")


def _can_render(env: Any) -> bool:
    if env.render_mode is None:
        logger.warn("render() was called without a render mode; pass render_mode='rgb_array'.")
        return False
    return env.state is not None


def wrap_angle(theta: float) -> float:
    """``theta`` wrapped to ``[-π, π)``."""
    return float((theta + math.pi) % (2 * math.pi) - math.pi)


class CartPoleEnv(StateSettable, _GymCartPole):
    """Gymnasium's CartPole without termination, with ``±1`` reward for the pole being up.

    :param render_mode: ``None`` or ``"rgb_array"``.
    :param width: frame width in pixels.
    :param height: frame height in pixels.
    :param framing: ``"crop"`` (default) or ``"fit"``, see the module docstring.
    :param renderer: ``"numpy"`` (default, fast) or ``"pygame"`` (gymnasium's own drawing, resized).
    :param full_track: show the whole track and a margin (numpy only; ``framing`` is then unused).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}
    state_columns = ("cart_position", "cart_velocity", "angle", "angular_velocity")

    def __init__(
        self,
        render_mode: str | None = None,
        width: int = DEFAULT_RENDER_SIZE,
        height: int = DEFAULT_RENDER_SIZE,
        framing: str = "crop",
        renderer: str = "numpy",
        full_track: bool = False,
    ) -> None:
        _check_render_args(render_mode, width, height, framing)
        if renderer not in CARTPOLE_RENDERERS:
            raise ValueError(
                f"renderer must be one of {sorted(CARTPOLE_RENDERERS)}, not {renderer!r}."
            )
        if full_track and renderer != "numpy":
            raise ValueError("full_track=True draws with the numpy renderer only.")
        self.full_track = bool(full_track)
        super().__init__(render_mode=render_mode)
        self.width, self.height, self.framing, self.renderer = (
            int(width),
            int(height),
            framing,
            renderer,
        )
        high = np.array([np.inf, np.inf, math.pi, np.inf], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    def is_upright(self) -> bool:
        """Whether the pole is up and the cart on the track: gymnasium's non-failure condition,
        with the thresholds of the task registry's goal rule (12°, 2.4) so that reward and rule
        labels agree to the last bit."""
        assert self.state is not None
        x, _, theta, _ = self.state
        return bool(abs(theta) <= CARTPOLE_UPRIGHT_MAX_ANGLE and abs(x) <= CARTPOLE_MAX_POSITION)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        super().step(action)  # gymnasium's physics; its termination and reward are replaced
        self.steps_beyond_terminated = None  # stepping on after a "failure" is normal here
        self.state[2] = wrap_angle(self.state[2])
        upright = self.is_upright()
        obs = np.array(self.state, dtype=np.float32)
        return obs, (1.0 if upright else -1.0), False, False, {"is_success": upright}

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "is_success": self.is_upright()}

    def render(self) -> np.ndarray | None:
        """The current frame, ``uint8 (height, width, 3)`` (``None`` before the first reset)."""
        if not _can_render(self):
            return None
        if self.renderer == "numpy":
            x, _, theta, _ = self.state
            framing = "track" if self.full_track else self.framing
            return cartpole_render.get_renderer(self.width, self.height, framing).render(x, theta)
        return FRAMINGS[self.framing](super().render(), self.width, self.height)

    def render_settings(self) -> dict[str, Any]:
        """What decides how frames look (stored in dataset manifests)."""
        framing = "track" if self.full_track else self.framing
        name = (
            f"evalkit-cartpole-{framing}/{cartpole_render.RENDERER_VERSION}"
            if self.renderer == "numpy"
            else f"gymnasium-pygame-{framing}/{PLAIN_RENDERER_VERSION}"
        )
        settings = {"width": self.width, "height": self.height, "textured": False, "renderer": name}
        if self.full_track:  # only then, so that earlier datasets keep their identity
            settings["full_track"] = True
        return settings

    def _get_state_vector(self) -> np.ndarray | None:
        return None if self.state is None else np.asarray(self.state, dtype=np.float64)

    def _set_state_vector(self, vector: np.ndarray) -> None:
        self.state = vector
        self.steps_beyond_terminated = None


class MountainCarEnv(StateSettable, _GymMountainCar):
    """Gymnasium's continuous MountainCar with an absorbing goal and no termination.

    :param render_mode: ``None`` or ``"rgb_array"``.
    :param width: frame width in pixels.
    :param height: frame height in pixels.
    :param textured: draw the textured scene (sky, mountain, car, flag) instead of gymnasium's lines.
    :param texture_seed: seed of the procedural textures (the scene, not the dynamics).
    :param goal_velocity: gymnasium's minimum velocity at the goal.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}
    state_columns = ("position", "velocity")

    def __init__(
        self,
        render_mode: str | None = None,
        width: int = DEFAULT_RENDER_SIZE,
        height: int = DEFAULT_RENDER_SIZE,
        textured: bool = False,
        texture_seed: int = 0,
        goal_velocity: float = 0,
    ) -> None:
        _check_render_args(render_mode, width, height)
        super().__init__(render_mode=render_mode, goal_velocity=goal_velocity)
        self.width, self.height = int(width), int(height)
        self.textured, self.texture_seed = bool(textured), int(texture_seed)
        self.state: np.ndarray | None = None
        self.at_goal = False
        """Whether the goal was reached; the state is frozen while this holds."""

    def _goal_reached(self) -> bool:
        assert self.state is not None
        position, velocity = self.state
        return bool(position >= self.goal_position and velocity >= self.goal_velocity)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.at_goal:
            _, _, reached, _, _ = super().step(action)  # gymnasium's physics; "terminated" = goal
            self.at_goal = bool(reached)
        obs = np.array(self.state, dtype=np.float32)
        return obs, (1.0 if self.at_goal else 0.0), False, False, {"is_success": self.at_goal}

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        self.at_goal = self._goal_reached()  # False for the default start states
        return obs, {**info, "is_success": self.at_goal}

    def render(self) -> np.ndarray | None:
        """The current frame, ``uint8 (height, width, 3)`` (``None`` before the first reset)."""
        if not _can_render(self):
            return None
        if not self.textured:
            return fit_frame(super().render(), self.width, self.height)
        return get_renderer(self.width, self.height, self.texture_seed).render(float(self.state[0]))

    def render_settings(self) -> dict[str, Any]:
        """What decides how frames look (stored in dataset manifests)."""
        settings: dict[str, Any] = {
            "width": self.width,
            "height": self.height,
            "textured": self.textured,
        }
        if self.textured:
            settings.update(
                texture_seed=self.texture_seed, renderer=f"evalkit-textured/{RENDERER_VERSION}"
            )
        else:
            settings.update(renderer=f"gymnasium-pygame-fit/{PLAIN_RENDERER_VERSION}")
        return settings

    def _get_state_vector(self) -> np.ndarray | None:
        return None if self.state is None else np.asarray(self.state, dtype=np.float64)

    def _set_state_vector(self, vector: np.ndarray) -> None:
        self.state = vector
        self.at_goal = self._goal_reached()
