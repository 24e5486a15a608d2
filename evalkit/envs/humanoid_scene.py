"""The humanoid's scene: procedural textures, the modified MuJoCo XML, cameras and render profiles.

The paper (Section 4, Appendix C) changes gymnasium's Humanoid in two ways that matter to CLIP:

1. **Textures** — realistic colours and textures for the robot, the floor and the sky instead of
   the original flat tan bodies, black-and-white checker floor and dark gradient sky;
2. **A fixed camera** pointing at the agent, slightly angled down, instead of the original camera
   that tracks the agent's centre of mass from the side.

:func:`humanoid_xml` applies either change (or both, or neither) to gymnasium's own
``humanoid.xml`` asset. Only visual elements are touched (materials, textures, a camera); the
bodies, joints, actuators and options — hence the dynamics — are gymnasium's. Every texture is
made here: the wooden floor is drawn with numpy (:func:`wood_floor_texture`), the sky is
MuJoCo's built-in ``gradient`` generator, the robot's shell uses built-in ``flat`` textures with
faint random marks, and its head has a numpy-drawn visor so the robot has a visible front. No
third-party image is used.

Rendering is headless through EGL (``MUJOCO_GL=egl``; software Mesa on a CPU-only machine, the
GPU where there is one). A :class:`RenderProfile` says what the renderer spends time on:
``fast`` (the default) turns off shadows, reflections and offscreen multisampling — the
humanoid's 4096² shadow map alone makes software rendering about ten times slower — and
``quality`` keeps them. Keep one profile and one GL backend per process.
"""

from __future__ import annotations

import ctypes.util
import io
import math
import os
import weakref
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.envs.frustum import cull_outside_view
from evalkit.errors import EvalkitError

# MuJoCo chooses its OpenGL backend when it is first imported: default to headless EGL.
os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"].lower() == "egl":
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import mujoco  # noqa: E402  (after the environment variables above)

# -- cameras ----------------------------------------------------------------------------------

FIXED_CAMERA_NAME = "evalkit_fixed"
"""Name of the fixed camera added to the XML."""

TRACKING_CAMERA_NAME = "track"
"""gymnasium's original camera: follows the centre of mass, looks from the side."""


@dataclass(frozen=True)
class OrbitCamera:
    """A camera given as MuJoCo's free-camera parameters (as in ``MjvCamera``).

    :param distance: metres from ``lookat``.
    :param lookat: the point the camera looks at (world frame).
    :param elevation: degrees; negative looks down.
    :param azimuth: degrees around the vertical; 180 looks along −x, i.e. at the front of a
        humanoid that faces +x.
    """

    distance: float = 3.5
    lookat: tuple[float, float, float] = (0.0, 0.0, 1.0)
    elevation: float = -10.0
    azimuth: float = 180.0

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Camera position and MuJoCo ``xyaxes`` (right and up vectors) in the world frame."""
        el, az = math.radians(self.elevation), math.radians(self.azimuth)
        forward = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        pos = np.asarray(self.lookat, dtype=float) - self.distance * forward
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return pos, np.concatenate([right, up])


FIXED_CAMERA = OrbitCamera()
"""The paper's published fixed camera: distance 3.5, lookat (0, 0, 1), elevation −10°, azimuth 180°."""

# -- render profiles --------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderProfile:
    """What the renderer spends time on.

    :param shadows: cast shadows (``mjRND_SHADOW``).
    :param reflections: reflective floor (``mjRND_REFLECTION``).
    :param offsamples: offscreen multisampling (``model.vis.quality.offsamples``; 0 is off).
    :param shadowsize: shadow map size in texels (``model.vis.quality.shadowsize``).
    """

    name: str
    shadows: bool
    reflections: bool
    offsamples: int
    shadowsize: int

    def apply_to_model(self, model: "mujoco.MjModel") -> None:
        """Set the model-side settings; must happen before the rendering context is made."""
        model.vis.quality.offsamples = self.offsamples
        model.vis.quality.shadowsize = self.shadowsize

    def apply_to_scene(self, scene: "mujoco.MjvScene") -> None:
        """Set the per-scene flags (call after every ``mjv_updateScene``)."""
        scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.shadows
        scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = self.reflections

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PROFILES: dict[str, RenderProfile] = {
    "fast": RenderProfile("fast", shadows=False, reflections=False, offsamples=0, shadowsize=0),
    "quality": RenderProfile(
        "quality", shadows=True, reflections=True, offsamples=4, shadowsize=4096
    ),
}
"""Render profiles by name. ``fast`` is the default (≈ 10× faster in software rendering)."""

DEFAULT_PROFILE = "fast"


def get_profile(name: str | RenderProfile) -> RenderProfile:
    """The render profile called ``name`` (a clear error listing valid names otherwise)."""
    if isinstance(name, RenderProfile):
        return name
    if name not in PROFILES:
        raise EvalkitError(
            f"Unknown render profile {name!r}; valid profiles: {', '.join(PROFILES)}."
        )
    return PROFILES[name]


# -- procedural textures ----------------------------------------------------------------------


def _value_noise(
    rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]
) -> np.ndarray:
    """Smooth noise in [0, 1]: random values on a coarse grid, bilinearly interpolated."""
    grid = rng.random((cells[0] + 1, cells[1] + 1))
    ys = np.linspace(0, cells[0], shape[0], endpoint=False)
    xs = np.linspace(0, cells[1], shape[1], endpoint=False)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)  # smoothstep
    a = grid[y0][:, x0]
    b = grid[y0][:, x0 + 1]
    c = grid[y0 + 1][:, x0]
    d = grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def wood_floor_texture(size: int = 512, planks: int = 8, seed: int = 0) -> np.ndarray:
    """A wooden plank floor, ``uint8 (size, size, 3)``, drawn with numpy.

    Planks run along the image's vertical axis; each has its own tone, grain and staggered
    end joints, with dark gaps between planks. Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    plank_w = size // planks
    plank = x // plank_w
    seg_len = size // 2
    offset = rng.integers(0, seg_len, planks)
    seg = (y + offset[plank]) // seg_len
    board = plank * 4 + seg % 4
    tone = rng.uniform(0.8, 1.15, planks * 4)[board]
    wobble = _value_noise(rng, (size, size), (6, 24))
    fine = _value_noise(rng, (size, size), (64, 256))
    phase = x / 3.5 + 9.0 * wobble + 4.0 * rng.random(planks)[plank] * 6
    grain = 0.5 + 0.5 * np.sin(phase)
    shade = tone * (0.78 + 0.14 * grain + 0.12 * fine)
    base = np.array([0.66, 0.45, 0.27])
    img = shade[..., None] * base
    gap = ((x % plank_w) < 2) | (((y + offset[plank]) % seg_len) < 2)
    img[gap] = base * 0.35
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def visor_face_texture(size: int = 128) -> np.ndarray:
    """The front face of the robot's head: a white shell with a dark, glossy visor band."""
    img = np.full((size, size, 3), 0.93)
    y, x = np.mgrid[0:size, 0:size] / size
    band = (np.abs(y - 0.42) < 0.16) & (np.abs(x - 0.5) < 0.42)
    img[band] = (0.08, 0.10, 0.14)
    glint = band & (np.abs(y - 0.33) < 0.025) & (np.abs(x - 0.36) < 0.12)
    img[glint] = (0.45, 0.55, 0.7)
    return (img * 255).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    """Encode an ``uint8 (h, w, 3)`` image as PNG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


# -- the XML ----------------------------------------------------------------------------------


def gymnasium_humanoid_xml() -> Path:
    """Path of gymnasium's ``humanoid.xml`` (the asset both Humanoid-v4 and -v5 load)."""
    import gymnasium.envs.mujoco as gm

    return Path(gm.__file__).parent / "assets" / "humanoid.xml"


_SHELL = "0.92 0.92 0.90"  # white plastic
_METAL = "0.55 0.58 0.62"  # brushed grey
_DARK = "0.16 0.17 0.19"  # rubber / joints

ROBOT_MATERIALS: dict[str, str] = {
    "torso1": "robot_shell",
    "uwaist": "robot_dark",
    "lwaist": "robot_shell",
    "butt": "robot_shell",
    "head": "robot_head",
    "right_thigh1": "robot_shell",
    "left_thigh1": "robot_shell",
    "right_shin1": "robot_metal",
    "left_shin1": "robot_metal",
    "right_foot": "robot_dark",
    "left_foot": "robot_dark",
    "right_uarm1": "robot_shell",
    "left_uarm1": "robot_shell",
    "right_larm": "robot_metal",
    "left_larm": "robot_metal",
    "right_hand": "robot_dark",
    "left_hand": "robot_dark",
}
"""Material of each robot geom in the textured scene (geoms not listed keep ``robot_shell``)."""


def _sub(parent: ET.Element, tag: str, **attrs: Any) -> ET.Element:
    return ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})


def humanoid_xml(
    textured: bool = True, camera: OrbitCamera = FIXED_CAMERA, seed: int = 0
) -> tuple[str, dict[str, bytes]]:
    """gymnasium's humanoid XML with the paper's visual changes, and the texture files it uses.

    :param textured: replace the robot, floor and sky materials with realistic ones.
    :param camera: the fixed camera added to the world as ``evalkit_fixed`` (always added; it
        changes nothing unless rendered from).
    :param seed: seed of the procedural floor texture.
    :returns: ``(xml, assets)`` for ``mujoco.MjModel.from_xml_string(xml, assets)``.
    """
    root = ET.parse(gymnasium_humanoid_xml()).getroot()
    world = root.find("worldbody")
    assert world is not None
    pos, xyaxes = camera.pose()
    _sub(
        world,
        "camera",
        name=FIXED_CAMERA_NAME,
        mode="fixed",
        pos=" ".join(f"{v:.6f}" for v in pos),
        xyaxes=" ".join(f"{v:.6f}" for v in xyaxes),
    )
    assets: dict[str, bytes] = {}
    if textured:
        assets = _texture_scene(root, seed)
    return ET.tostring(root, encoding="unicode"), assets


def _texture_scene(root: ET.Element, seed: int) -> dict[str, bytes]:
    asset = root.find("asset")
    world = root.find("worldbody")
    assert asset is not None and world is not None
    for child in list(asset):
        if child.get("type") == "skybox":
            asset.remove(child)
    # Sky: a pale horizon fading into blue.
    _sub(
        asset,
        "texture",
        name="evalkit_sky",
        type="skybox",
        builtin="gradient",
        rgb1="0.42 0.62 0.88",
        rgb2="0.93 0.95 0.98",
        width=256,
        height=256,
    )
    # Floor: numpy-drawn wooden planks, 20 cm wide boards (the texture spans 1.6 m).
    _sub(asset, "texture", name="evalkit_wood", type="2d", file="evalkit_wood.png")
    _sub(
        asset,
        "material",
        name="evalkit_floor",
        texture="evalkit_wood",
        texuniform="true",
        texrepeat="0.625 0.625",
        reflectance="0.08",
        specular="0.2",
        shininess="0.3",
    )
    # Robot: white plastic shell, brushed-metal shins and forearms, dark joints, visor head.
    for name, rgb, random in (
        ("shell", _SHELL, 0.01),
        ("metal", _METAL, 0.03),
        ("dark", _DARK, 0.02),
    ):
        _sub(
            asset,
            "texture",
            name=f"evalkit_{name}",
            type="cube",
            builtin="flat",
            width=64,
            height=64,
            rgb1=rgb,
            rgb2=rgb,
            mark="random",
            random=random,
            markrgb="1 1 1",
        )
    for name, spec, shine in (("shell", 0.5, 0.6), ("metal", 0.8, 0.8), ("dark", 0.2, 0.2)):
        _sub(
            asset,
            "material",
            name=f"robot_{name}",
            texture=f"evalkit_{name}",
            specular=spec,
            shininess=shine,
        )
    _sub(
        asset,
        "texture",
        name="evalkit_head",
        type="cube",
        fileright="evalkit_visor.png",
        fileleft="evalkit_shell.png",
        fileup="evalkit_shell.png",
        filedown="evalkit_shell.png",
        filefront="evalkit_shell.png",
        fileback="evalkit_shell.png",
    )
    _sub(
        asset,
        "material",
        name="robot_head",
        texture="evalkit_head",
        specular="0.5",
        shininess="0.6",
    )
    for geom in world.findall("geom"):
        if geom.get("name") == "floor":
            geom.set("material", "evalkit_floor")
            geom.set("rgba", "1 1 1 1")
    for body in world.iter("body"):
        for geom in body.findall("geom"):
            geom.set("material", ROBOT_MATERIALS.get(geom.get("name", ""), "robot_shell"))
            geom.set("rgba", "1 1 1 1")
    shell = np.full((128, 128, 3), [int(float(v) * 255) for v in _SHELL.split()], dtype=np.uint8)
    return {
        "evalkit_wood.png": png_bytes(wood_floor_texture(seed=seed)),
        "evalkit_visor.png": png_bytes(visor_face_texture()),
        "evalkit_shell.png": png_bytes(shell),
    }


@lru_cache(maxsize=8)
def _cached_xml(
    textured: bool, camera: OrbitCamera, seed: int
) -> tuple[str, tuple[tuple[str, bytes], ...]]:
    xml, assets = humanoid_xml(textured, camera, seed)
    return xml, tuple(sorted(assets.items()))


def load_model(
    textured: bool = True, camera: OrbitCamera = FIXED_CAMERA, seed: int = 0
) -> "mujoco.MjModel":
    """Compile the humanoid model with or without textures (the XML is built once per process)."""
    xml, assets = _cached_xml(textured, camera, seed)
    return mujoco.MjModel.from_xml_string(xml, dict(assets))


# -- headless rendering -----------------------------------------------------------------------


_EGL_LIBRARIES = (
    ("EGL", "libEGL.so.1", "libegl1"),
    ("OpenGL", "libOpenGL.so.0", "libopengl0"),
)


def missing_gl_library() -> str | None:
    """Why EGL rendering cannot work here, naming the missing library, or ``None``."""
    backend = os.environ.get("MUJOCO_GL", "").lower()
    if backend != "egl":
        return None
    for short, soname, package in _EGL_LIBRARIES:
        if ctypes.util.find_library(short) is None:
            return f"{soname} is missing (install the Debian package {package}, plus libegl-mesa0 for software rendering)"
    try:
        import OpenGL  # noqa: F401
    except ImportError:
        return "the Python package PyOpenGL is missing (pip install PyOpenGL)"
    return None


def mujoco_gl_backend() -> str:
    """The OpenGL backend MuJoCo chose when it was first imported (``egl``, ``glfw``, ...)."""
    try:
        from mujoco.rendering.classic import gl_context
    except ImportError:  # pragma: no cover - older MuJoCo
        from mujoco import gl_context  # type: ignore[no-redef]
    return getattr(gl_context, "_MUJOCO_GL", "") or "glfw"


def _gl_diagnosis(exc: BaseException) -> str:
    backend = mujoco_gl_backend()
    if backend not in ("egl", "osmesa") and not os.environ.get("DISPLAY"):
        return (
            f"MuJoCo was imported with the {backend!r} OpenGL backend, which needs a display; set "
            "MUJOCO_GL=egl in the environment (or import evalkit before mujoco) and start again."
        )
    problem = missing_gl_library() if backend == "egl" else None
    if problem:
        return f"EGL is not usable: {problem}."
    return f"{exc} (MUJOCO_GL={backend}); check that EGL works, e.g. install libegl1 libegl-mesa0."


def preload_triton() -> None:
    """Load triton's native library (if installed) before the first OpenGL context.

    Mesa's software renderer (llvmpipe) loads its own LLVM; if triton's LLVM-based library is
    loaded *after* it — which torch does lazily, e.g. when an optimiser or SB3 policy is built
    — the process crashes with a segmentation fault. Loading triton first avoids the clash,
    so rendering and training can share a process (about 0.5 s, once per process).
    """
    import importlib.util

    if importlib.util.find_spec("triton") is None:
        return
    try:
        importlib.import_module("triton._C.libtriton")
    except Exception:  # noqa: BLE001 - an unusable triton is torch's business, not ours
        pass


class SceneRenderer:
    """Offscreen renderer for one model with one render profile and one camera.

    :param model: the compiled model (its offscreen buffer is grown to ``width × height``).
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param profile: a :class:`RenderProfile` or its name (``fast``, ``quality``).
    :param camera: name of a camera in the model (``evalkit_fixed`` or ``track``).
    """

    def __init__(
        self,
        model: "mujoco.MjModel",
        width: int,
        height: int,
        profile: str | RenderProfile = DEFAULT_PROFILE,
        camera: str = FIXED_CAMERA_NAME,
    ) -> None:
        if width <= 0 or height <= 0:
            raise EvalkitError(f"Render size must be positive, not {width}×{height}.")
        self.profile = get_profile(profile)
        self.width, self.height = width, height
        self._model = model
        self.camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
        if self.camera_id < 0:
            raise EvalkitError(f"The humanoid model has no camera called {camera!r}.")
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        self.profile.apply_to_model(model)
        problem = missing_gl_library()
        if problem:
            raise EvalkitError(f"Cannot render the humanoid headless with EGL: {problem}.")
        preload_triton()
        try:
            self._renderer = mujoco.Renderer(model, height, width)
        except Exception as exc:  # the GL stack reports failures with assorted exception types
            raise EvalkitError(
                f"Cannot create a MuJoCo rendering context: {_gl_diagnosis(exc)}"
            ) from None
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._camera.fixedcamid = self.camera_id
        # frees the context when this renderer is collected or, at the latest, at interpreter exit
        # while EGL still works (a context left to the end makes EGL print errors)
        self._finalizer = weakref.finalize(self, self._renderer.close)

    def render(self, data: "mujoco.MjData", out: np.ndarray | None = None) -> np.ndarray:
        """Render ``data`` (after ``mj_forward`` or a step) as ``uint8 (height, width, 3)``."""
        self._renderer.update_scene(data, self._camera)
        scene = self._renderer.scene
        self.profile.apply_to_scene(scene)
        if not (self.profile.shadows or self.profile.reflections):  # same pixels, fewer vertices
            cull_outside_view(self._model, data, scene, self.camera_id, self.width, self.height)
        return self._renderer.render(out=out)

    def close(self) -> None:
        """Free the rendering context (again: nothing)."""
        if getattr(self, "_renderer", None) is not None:
            self._finalizer()
            self._renderer = None
