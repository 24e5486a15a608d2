"""Geoms outside a fixed camera's view are left out of the scene, and frames stay the same pixel
for pixel (a hand-made scene; Meta-World's cameras where the extra is installed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

needs_metaworld = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)

# the camera at the origin looks along −z (MuJoCo's camera frame), 45° vertical field of view
SCENE = """
<mujoco>
  <worldbody>
    <light pos="0 0 2" dir="0 0 -1"/>
    <camera name="eye" pos="0 0 0" fovy="45"/>
    <geom name="ahead" type="box" size="0.2 0.2 0.2" pos="0 0 -3" rgba="1 0 0 1"/>
    <geom name="edge" type="sphere" size="0.5" pos="1.6 0 -3" rgba="0 1 0 1"/>
    <geom name="far_left" type="box" size="0.2 0.2 0.2" pos="-4 0 -3" rgba="0 0 1 1"/>
    <geom name="behind" type="sphere" size="0.3" pos="0 0 3" rgba="1 1 0 1"/>
    <geom name="above" type="sphere" size="0.3" pos="0 4 -3" rgba="1 0 1 1"/>
    <geom name="floor" type="plane" size="0 0 1" pos="0 -1 0" zaxis="0 1 0"/>
  </worldbody>
</mujoco>
"""


def _render(model, data, cull: bool, size=(48, 64)):
    from evalkit.envs.frustum import cull_outside_view
    from evalkit.envs.humanoid_scene import mujoco, preload_triton

    preload_triton()  # before the first GL context, as SceneRenderer does (llvmpipe and triton)
    height, width = size
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
    camera.fixedcamid = 0
    with mujoco.Renderer(model, height, width) as renderer:
        renderer.update_scene(data, camera)
        names = []
        if cull:
            cull_outside_view(model, data, renderer.scene, 0, width, height)
            for i in range(renderer.scene.ngeom):
                g = renderer.scene.geoms[i]
                if g.type == 1001:
                    names.append(mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, g.objid))
        return renderer.render(), sorted(names)


def test_only_geoms_wholly_outside_the_view_are_left_out_and_the_frame_is_the_same():
    from evalkit.envs.humanoid_scene import mujoco

    model = mujoco.MjModel.from_xml_string(SCENE)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    culled_frame, culled = _render(model, data, cull=True)
    full_frame, _ = _render(model, data, cull=False)
    # the sphere at x = 1.6 pokes into the view (half-width at depth 3: 3·tan(22.5°)·64/48 ≈ 1.66)
    assert culled == ["above", "behind", "far_left"]
    np.testing.assert_array_equal(culled_frame, full_frame)
    assert (full_frame[..., 1] > 100).any()  # the edge sphere's green shows


@needs_metaworld
@pytest.mark.parametrize("camera", ["corner2", "topview", "gripperPOV"])
def test_metaworld_frames_are_the_same_with_culling(camera, monkeypatch):
    import evalkit.envs.humanoid_scene as scene
    from evalkit.envs.metaworld_env import MetaWorldEnv

    env = MetaWorldEnv(render_mode="rgb_array", width=48, height=32, camera=camera)
    try:
        env.reset()
        rng = np.random.default_rng(0)
        frames = {}
        states = []
        for _ in range(6):
            env.step(rng.uniform(-1, 1, 4))
            states.append(env.get_state())
        for cull in (True, False):
            if not cull:
                monkeypatch.setattr(scene, "cull_outside_view", lambda *args: 0)
            frames[cull] = []
            for state in states:
                env.set_state(state)
                frames[cull].append(env.render_frame())
    finally:
        env.close()
    np.testing.assert_array_equal(np.stack(frames[True]), np.stack(frames[False]))
