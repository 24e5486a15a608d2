"""The Meta-World family: graded collection, goal labels from the success flag, frames upright.

Needs the ``metaworld`` extra (``pip install -e '.[metaworld]'``); skipped without it. The
bad-input tests of the family that need no environment run everywhere.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from evalkit.errors import EvalkitError

HAS_METAWORLD = importlib.util.find_spec("metaworld") is not None
needs_metaworld = pytest.mark.skipif(
    not HAS_METAWORLD,
    reason="Meta-World is not installed (pip install -e '.[metaworld]'; it pins mujoco 3.3.0)",
)

SMALL = {"episodes": 1, "epsilons": (0.5,), "steps": 100, "size": 32, "progress": False}


def test_family_registers_mt10_tasks_without_importing_metaworld():
    import sys

    from evalkit.envs import get_family
    from evalkit.tasks import tasks_for_family

    family = get_family("metaworld")
    names = [t.name for t in tasks_for_family("metaworld")]
    assert len(names) == 10 and "drawer-open" in names
    assert family.require_success().judge(np.array([False, True, False]))
    assert not family.require_success().judge(np.zeros(5, dtype=bool))
    if not HAS_METAWORLD:
        assert "metaworld" not in sys.modules


def test_bad_task_camera_and_epsilon_are_one_sentence(tmp_path):
    from evalkit.data.metaworld_rollouts import collect_metaworld

    with pytest.raises(EvalkitError, match="Valid Meta-World tasks: reach, push"):
        collect_metaworld("drawer-opn", root=str(tmp_path))
    with pytest.raises(EvalkitError, match="Valid Meta-World cameras: corner2"):
        collect_metaworld("reach", camera="side", root=str(tmp_path))
    with pytest.raises(EvalkitError, match=r"ε must lie in \[0, 1\]"):
        collect_metaworld("reach", epsilons=(0.2, 1.5), root=str(tmp_path))
    with pytest.raises(EvalkitError, match="--episodes must be positive"):
        collect_metaworld("reach", episodes=0, root=str(tmp_path))


def test_a_dataset_too_big_for_the_disk_is_refused_before_rolling_out(tmp_path):
    from evalkit.data.metaworld_rollouts import collect_metaworld

    with pytest.raises(EvalkitError, match="GiB"):
        collect_metaworld("reach", episodes=10**7, steps=500, size=512, root=str(tmp_path))


@needs_metaworld
@pytest.mark.slow
def test_collection_is_deterministic_and_tiers_are_graded(tmp_path):
    from evalkit.data.metaworld_rollouts import collect_metaworld

    first = collect_metaworld("drawer-open", root=str(tmp_path / "a"), **SMALL).dataset
    second = collect_metaworld("drawer-open", root=str(tmp_path / "b"), **SMALL).dataset
    assert first.content_hash == second.content_hash
    np.testing.assert_array_equal(first.frames, second.frames)
    states = first.states
    reached = states.groupby("tier")["success"].max()
    assert reached["expert"] == 1.0 and reached["random"] == 0.0
    assert set(states["epsilon"]) == {0.0, 0.5, 1.0}
    np.testing.assert_allclose(states["progress"], states["reward_env"] / 10.0)
    labels = first.labels("drawer-open")
    np.testing.assert_array_equal(labels, states["success"].to_numpy() > 0.5)
    assert not first.labels("reach").any()  # other tasks' goals are not judged on these frames
    again = collect_metaworld("drawer-open", root=str(tmp_path / "a"), **SMALL)
    assert not again.created  # resumable: the same parameters reuse the dataset


@needs_metaworld
@pytest.mark.slow
def test_goal_labels_equal_the_success_flags_of_a_replayed_episode(tmp_path):
    from evalkit.data.metaworld_rollouts import collect_metaworld
    from evalkit.envs.metaworld_env import MetaWorldEnv

    ds = collect_metaworld("drawer-open", root=str(tmp_path), **SMALL).dataset
    states = ds.states
    labels = ds.labels("drawer-open")
    for episode in (0, 1):  # the expert and the noisy episode
        rows = states[states["episode"] == episode]
        env = MetaWorldEnv(task="drawer-open", variation=int(rows["variation"].iloc[0]))
        try:
            env.reset()
            flags = []
            for _, row in rows.iterrows():
                action = row[[f"action_{i}" for i in range(4)]].to_numpy(dtype=float)
                flags.append(env.step(action)[4]["success"] > 0.5)
        finally:
            env.close()
        np.testing.assert_array_equal(labels[rows.index.to_numpy()], flags)
        assert any(flags) == (episode == 0)


@needs_metaworld
@pytest.mark.parametrize("camera", ["corner2", "corner", "corner3", "corner4"])
def test_frames_are_the_right_way_up(camera):
    """The frame agrees with an upright free camera placed where the named camera is (a free
    camera's image up is the world's +z) better than any other orientation does. The cameras
    looking straight down (topview) have no such up; Meta-World shows the robot at the bottom."""
    from evalkit.envs.humanoid_scene import mujoco
    from evalkit.envs.metaworld_env import CAMERA_TURN, MetaWorldEnv

    env = MetaWorldEnv(render_mode="rgb_array", width=64, height=64, camera=camera)
    try:
        env.reset()
        frame = env.render().astype(float)
        cam = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
        forward = -env.data.cam_xmat[cam].reshape(3, 3)[:, 2]
        free = mujoco.MjvCamera()
        free.type = mujoco.mjtCamera.mjCAMERA_FREE
        free.distance = 1.0
        free.lookat[:] = env.data.cam_xpos[cam] + forward
        free.azimuth = np.degrees(np.arctan2(forward[1], forward[0]))
        free.elevation = np.degrees(np.arcsin(np.clip(forward[2], -1, 1)))
        env.model.vis.global_.fovy = env.model.cam_fovy[cam]
        with mujoco.Renderer(env.model, 64, 64) as renderer:
            renderer.update_scene(env.data, free)
            upright = renderer.render().astype(float)
    finally:
        env.close()
    raw = np.rot90(frame, k=-CAMERA_TURN[camera])
    candidates = {k: np.rot90(raw, k=k) for k in range(4)} | {"flip": raw[::-1]}

    def corr(a: np.ndarray) -> float:
        return float(np.corrcoef(a.ravel(), upright.ravel())[0, 1])

    scores = {k: corr(v) for k, v in candidates.items()}
    assert max(scores, key=scores.get) == CAMERA_TURN[camera], scores


@pytest.mark.parametrize(
    "env_id",
    [
        "evalkit/Humanoid-v0",
        pytest.param("evalkit/MetaWorld-v0", marks=needs_metaworld),
    ],
)
def test_an_environment_left_open_exits_without_egl_errors(env_id):
    import subprocess
    import sys

    script = (
        "import gymnasium as gym, evalkit.envs\n"
        f"env = gym.make({env_id!r}, render_mode='rgb_array', width=16, height=16)\n"
        "env.reset(seed=0)\n"
        "assert env.render().shape == (16, 16, 3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "EGL" not in done.stderr and "Traceback" not in done.stderr, done.stderr
