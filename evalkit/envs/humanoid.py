"""``evalkit/Humanoid-v0``: gymnasium's MuJoCo Humanoid with the paper's textures and fixed camera.

Example::

    import gymnasium as gym
    import evalkit.envs  # registers the ids

    env = gym.make("evalkit/Humanoid-v0", render_mode="rgb_array", width=224, height=224)
    obs, info = env.reset(seed=0)
    frame = env.render()                       # uint8 (224, 224, 3), textured, fixed camera

    # Fig. 3's ablation: original / textures / textures + camera
    gym.make("evalkit/Humanoid-v0", textured=False, fixed_camera=False)
    gym.make("evalkit/Humanoid-v0", textured=True, fixed_camera=False)
    gym.make("evalkit/Humanoid-v0", textured=True, fixed_camera=True)

Differences from gymnasium's ``Humanoid-v4`` (or ``-v5`` with ``version="v5"``), all documented
and all visual except the first:

- ``terminate_when_unhealthy=False``: an episode never ends when the humanoid falls; the
  registered id truncates it after 100 steps (the paper's episode length). gymnasium's reward
  (forward velocity + alive bonus − control cost) is returned unchanged; training with the CLIP
  reward replaces it.
- ``textured=True``: robot, floor and sky materials from :mod:`evalkit.envs.humanoid_scene`.
- ``fixed_camera=True``: frames come from the fixed camera ``evalkit_fixed`` (distance 3.5,
  lookat (0, 0, 1), elevation −10°, azimuth 180°) instead of the tracking camera ``track``.
- Rendering uses a :class:`~evalkit.envs.humanoid_scene.RenderProfile` (``fast`` by default:
  no shadows, reflections or multisampling).

The physics — bodies, joints, actuators, timestep, frame skip, observations — is gymnasium's
own code on gymnasium's own XML, which the test suite checks step by step.

Arbitrary poses can be rendered with :meth:`HumanoidEnv.set_state` (``qpos``, ``qvel``) and
:meth:`HumanoidEnv.render`; :func:`body_state` turns the simulator state into the named columns
that :mod:`evalkit.envs.humanoid_rules` reads.
"""

from __future__ import annotations

from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from evalkit.envs.base import RenderableEnv
from evalkit.envs.humanoid_scene import (
    DEFAULT_PROFILE,
    FIXED_CAMERA,
    FIXED_CAMERA_NAME,
    TRACKING_CAMERA_NAME,
    RenderProfile,
    SceneRenderer,
    get_profile,
    load_model,
    mujoco,
)
from evalkit.envs.joint_state import JointStateMixin
from evalkit.errors import EvalkitError

VERSIONS = ("v4", "v5")
"""gymnasium Humanoid versions whose dynamics and observations can be used."""

DEFAULT_SIZE = 224


def _gym_class(version: str) -> type:
    if version == "v4":
        from gymnasium.envs.mujoco.humanoid_v4 import HumanoidEnv as Base
    elif version == "v5":
        from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv as Base
    else:
        raise EvalkitError(
            f"Unknown Humanoid version {version!r}; valid versions: {', '.join(VERSIONS)}."
        )

    class _Inner(Base):  # type: ignore[misc, valid-type]
        """gymnasium's Humanoid, compiled from evalkit's XML instead of the asset file."""

        _evalkit_model: Any = None

        def _initialize_simulation(self):  # noqa: D401 - gymnasium hook
            model = self._evalkit_model
            model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
            model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
            return model, mujoco.MjData(model)

    _Inner.__name__ = f"_GymnasiumHumanoid{version.upper()}"
    return _Inner


class HumanoidEnv(JointStateMixin, RenderableEnv, gym.Env):
    """MuJoCo Humanoid with realistic textures and a fixed camera, each switchable.

    :param render_mode: ``"rgb_array"`` or ``None``.
    :param width: frame width in pixels.
    :param height: frame height in pixels.
    :param textured: realistic robot, floor and sky (the paper's first change).
    :param fixed_camera: render from the fixed camera (the paper's second change); otherwise
        from gymnasium's original tracking camera.
    :param profile: render profile name (``fast`` or ``quality``) or a
        :class:`~evalkit.envs.humanoid_scene.RenderProfile`.
    :param version: gymnasium Humanoid whose dynamics and observations are used (``v4``, ``v5``).
    :param texture_seed: seed of the procedural floor texture.
    :param gym_kwargs: passed on to gymnasium's Humanoid (``reset_noise_scale``, reward weights,
        ...). ``terminate_when_unhealthy`` defaults to ``False`` here.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 67}

    def __init__(
        self,
        render_mode: str | None = None,
        width: int = DEFAULT_SIZE,
        height: int = DEFAULT_SIZE,
        textured: bool = True,
        fixed_camera: bool = True,
        profile: str | RenderProfile = DEFAULT_PROFILE,
        version: str = "v4",
        texture_seed: int = 0,
        **gym_kwargs: Any,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise EvalkitError(f"evalkit/Humanoid renders only 'rgb_array', not {render_mode!r}.")
        if width <= 0 or height <= 0:
            raise EvalkitError(f"Render size must be positive, not {width}×{height}.")
        self.profile = get_profile(profile)
        self.version = version
        self.textured = bool(textured)
        self.fixed_camera = bool(fixed_camera)
        self.render_mode = render_mode
        self.width, self.height = int(width), int(height)
        gym_kwargs.setdefault("terminate_when_unhealthy", False)
        inner_cls = _gym_class(version)
        inner_cls._evalkit_model = load_model(
            textured=self.textured, camera=FIXED_CAMERA, seed=texture_seed
        )
        self._inner = inner_cls(width=self.width, height=self.height, **gym_kwargs)
        self.observation_space = self._inner.observation_space
        self.action_space = self._inner.action_space
        self.metadata = {**self.metadata, "render_fps": int(np.round(1.0 / self._inner.dt))}
        self._renderer: SceneRenderer | None = None

    # -- gymnasium API -----------------------------------------------------------------------

    @property
    def dt(self) -> float:
        return float(self._inner.dt)

    @property
    def camera_name(self) -> str:
        """The camera frames are rendered from."""
        return FIXED_CAMERA_NAME if self.fixed_camera else TRACKING_CAMERA_NAME

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        return self._inner.reset(seed=seed, options=options)

    def step(self, action):
        return self._inner.step(action)

    def render_frame(self) -> np.ndarray:
        """The current state as ``uint8 (height, width, 3)`` (whatever ``render_mode`` is)."""
        if self._renderer is None:
            self._renderer = SceneRenderer(
                self.model, self.width, self.height, self.profile, self.camera_name
            )
        return self._renderer.render(self.data)

    # -- state access (RenderableEnv) --------------------------------------------------------

    def set_state(self, state: Any, qvel: np.ndarray | None = None) -> None:
        """Put the simulator in a state and run ``mj_forward``.

        :param state: ``qpos`` (with ``qvel`` given, or zero velocities), the full vector
            ``qpos ‖ qvel``, or a mapping from :attr:`state_columns` names to values (names left
            out keep their current value).
        :param qvel: joint velocities when ``state`` is ``qpos``.
        """
        nq, nv = self.model.nq, self.model.nv
        if isinstance(state, Mapping):
            unknown = set(state) - set(self.state_columns)
            if unknown:
                raise ValueError(
                    f"Unknown state column(s) {', '.join(sorted(map(str, unknown)))} for the humanoid."
                )
            current = self.get_state()
            current.update({k: float(v) for k, v in state.items()})
            vector = np.array([current[c] for c in self.state_columns])
            qpos, qvel = vector[:nq], vector[nq:]
        else:
            vector = np.asarray(state, dtype=float).reshape(-1)
            if qvel is not None:
                qpos, qvel = vector, np.asarray(qvel, dtype=float).reshape(-1)
            elif vector.size == nq + nv:
                qpos, qvel = vector[:nq], vector[nq:]
            else:
                qpos, qvel = vector, np.zeros(nv)
        if qpos.shape != (nq,) or qvel.shape != (nv,):
            raise ValueError(
                f"The humanoid's state is qpos ({nq} values) and qvel ({nv} values); got {qpos.size} and {qvel.size}."
            )
        if not (np.all(np.isfinite(qpos)) and np.all(np.isfinite(qvel))):
            raise ValueError("State values must be finite.")
        self._inner.set_state(qpos, qvel)

    def state_row(self) -> dict[str, float]:
        """The current state as named columns (see :func:`body_state`)."""
        return body_state(self.model, self.data)

    def render_settings(self) -> dict[str, Any]:
        """What decides how frames look (stored in dataset manifests)."""
        return {
            "width": self.width,
            "height": self.height,
            "textured": self.textured,
            "fixed_camera": self.fixed_camera,
            "camera": self.camera_name,
            "profile": self.profile.name,
            "version": self.version,
        }


# -- named state columns -----------------------------------------------------------------------

KEY_POINTS: dict[str, tuple[str, str, float]] = {
    # name: (kind, MuJoCo name, radius of the geom around the point)
    "head": ("geom", "head", 0.09),
    "chest": ("body", "torso", 0.07),
    "pelvis": ("geom", "butt", 0.09),
    "right_hip": ("body", "right_thigh", 0.06),
    "left_hip": ("body", "left_thigh", 0.06),
    "right_knee": ("body", "right_shin", 0.049),
    "left_knee": ("body", "left_shin", 0.049),
    "right_foot": ("geom", "right_foot", 0.075),
    "left_foot": ("geom", "left_foot", 0.075),
    "right_shoulder": ("body", "right_upper_arm", 0.04),
    "left_shoulder": ("body", "left_upper_arm", 0.04),
    "right_elbow": ("body", "right_lower_arm", 0.031),
    "left_elbow": ("body", "left_lower_arm", 0.031),
    "right_hand": ("geom", "right_hand", 0.04),
    "left_hand": ("geom", "left_hand", 0.04),
}
"""Points of the body that the state table describes, with the radius of the limb there."""


def geom_bottoms(model: "mujoco.MjModel", data: "mujoco.MjData") -> np.ndarray:
    """Lowest z of every geom (planes: +inf). Spheres and capsules are exact."""
    z = data.geom_xpos[:, 2].copy()
    size = model.geom_size
    kinds = model.geom_type
    low = np.full(model.ngeom, np.inf)
    sphere = kinds == mujoco.mjtGeom.mjGEOM_SPHERE
    low[sphere] = z[sphere] - size[sphere, 0]
    capsule = kinds == mujoco.mjtGeom.mjGEOM_CAPSULE
    if capsule.any():
        axis_z = data.geom_xmat[capsule].reshape(-1, 3, 3)[:, 2, 2]  # z of the local z axis
        low[capsule] = z[capsule] - np.abs(axis_z) * size[capsule, 1] - size[capsule, 0]
    other = ~(sphere | capsule | (kinds == mujoco.mjtGeom.mjGEOM_PLANE))
    low[other] = z[other] - np.linalg.norm(size[other], axis=1)  # bounding sphere
    return low


def robot_bottom(model: "mujoco.MjModel", data: "mujoco.MjData") -> float:
    """Height of the robot's lowest point above the floor (negative: below it)."""
    return float(geom_bottoms(model, data).min())


def body_state(model: "mujoco.MjModel", data: "mujoco.MjData") -> dict[str, float]:
    """Everything the rule labels need, as flat named columns (after ``mj_forward`` or a step).

    - ``qpos_0 … qpos_23``, ``qvel_0 … qvel_22``: the full simulator state.
    - ``<point>_x/_y/_z`` for every :data:`KEY_POINTS` entry (world frame, metres).
    - ``<point>_fwd/_lat``: the point relative to the pelvis in the body's heading frame
      (``fwd`` along where the chest faces, projected on the floor; ``lat`` to the robot's left).
    - ``<point>_clear``: height of the limb's surface at that point above the floor.
    - ``torso_up``: z component of the chest's up axis (1 upright, 0 lying, −1 upside down).
    - ``heading``: yaw of the chest's facing direction (radians, 0 = facing +x, the camera).
    - ``lowest``: height of the robot's lowest point; ``floor_contacts``: MuJoCo contacts with
      the floor; ``com_x/_y/_z``: centre of mass.
    """
    row: dict[str, float] = {}
    for i, v in enumerate(data.qpos):
        row[f"qpos_{i}"] = float(v)
    for i, v in enumerate(data.qvel):
        row[f"qvel_{i}"] = float(v)
    torso = data.body("torso")
    rot = torso.xmat.reshape(3, 3)
    fwd = rot[:, 0].copy()
    fwd[2] = 0.0
    norm = np.linalg.norm(fwd)
    fwd = fwd / norm if norm > 1e-6 else np.array([1.0, 0.0, 0.0])
    left = np.array([-fwd[1], fwd[0], 0.0])
    pelvis = data.geom("butt").xpos.copy()
    for point, (kind, name, radius) in KEY_POINTS.items():
        pos = (data.geom(name).xpos if kind == "geom" else data.body(name).xpos).copy()
        row[f"{point}_x"], row[f"{point}_y"], row[f"{point}_z"] = (float(v) for v in pos)
        rel = pos - pelvis
        row[f"{point}_fwd"] = float(rel @ fwd)
        row[f"{point}_lat"] = float(rel @ left)
        row[f"{point}_clear"] = float(pos[2] - radius)
    bottoms = geom_bottoms(model, data)
    row["pelvis_clear"] = float(bottoms[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "butt")])
    row["torso_up"] = float(rot[2, 2])
    row["heading"] = float(np.arctan2(fwd[1], fwd[0]))
    row["lowest"] = float(bottoms.min())
    floor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
    geoms = data.contact.geom[: data.ncon]
    row["floor_contacts"] = float(np.sum((geoms[:, 0] == floor) | (geoms[:, 1] == floor)))
    com = data.subtree_com[1]
    row["com_x"], row["com_y"], row["com_z"] = (float(v) for v in com)
    return row
