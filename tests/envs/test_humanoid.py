"""The textured humanoid: scene, cameras, dynamics, rule labels, pose and rollout datasets."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_humanoid import SMALL, frame_spread, keyframe_states, make_env, save_tiny_policy

from evalkit.errors import EvalkitError

TASKS = (
    "standing",
    "kneeling",
    "lotus",
    "splits",
    "arms_raised",
    "hands_on_hips",
    "arms_crossed",
    "one_leg",
)
STANDING_VARIANTS = ("standing", "arms_raised", "hands_on_hips", "arms_crossed", "one_leg")


# -- scene and cameras ------------------------------------------------------------------------


def test_textured_and_plain_frames_differ_and_neither_is_blank():
    from evalkit.envs.humanoid_poses import keyframe_qpos

    frames = {}
    for textured in (True, False):
        env = make_env(textured=textured)
        env.set_state(keyframe_qpos("standing"))
        frames[textured] = env.render_frame().copy()
        env.close()
    for frame in frames.values():
        assert frame.shape == (SMALL, SMALL, 3) and frame.dtype == np.uint8
        assert frame_spread(frame) > 10
    assert np.abs(frames[True].astype(int) - frames[False].astype(int)).mean() > 10


def test_rendering_is_deterministic():
    env = make_env()
    env.reset(seed=1)
    a = env.render_frame().copy()
    b = env.render_frame().copy()
    env.close()
    assert np.array_equal(a, b)


def test_fixed_camera_stays_tracking_camera_follows():
    from evalkit.envs.humanoid_scene import mujoco  # sets MUJOCO_GL=egl before MuJoCo loads

    env = make_env()
    env.reset(seed=0)
    fixed = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_CAMERA, "evalkit_fixed")
    track = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_CAMERA, "track")
    qpos, qvel = env.data.qpos.copy(), env.data.qvel.copy()
    before_fixed, before_track = env.data.cam_xpos[fixed].copy(), env.data.cam_xpos[track].copy()
    frame_before = env.render_frame().copy()
    qpos[0] += 1.0  # walk one metre towards the fixed camera's side
    qpos[1] += 0.5
    env.set_state(qpos, qvel)
    assert np.allclose(env.data.cam_xpos[fixed], before_fixed)
    assert np.linalg.norm(env.data.cam_xpos[track] - before_track) > 0.5
    assert not np.array_equal(env.render_frame(), frame_before)  # the agent moved in the fixed view
    env.close()


def test_fixed_camera_is_the_published_setting():
    """The XML camera equals MuJoCo's free camera with distance 3.5, lookat (0,0,1), el −10°, az 180°."""
    from evalkit.envs.humanoid_scene import mujoco  # sets MUJOCO_GL=egl before MuJoCo loads

    env = make_env()
    env.reset(seed=0)
    renderer = mujoco.Renderer(env.model, SMALL, SMALL)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance, cam.elevation, cam.azimuth = 3.5, -10.0, 180.0
    cam.lookat[:] = (0.0, 0.0, 1.0)
    renderer.update_scene(env.data, cam)
    env.profile.apply_to_scene(renderer.scene)
    free = renderer.render().astype(int)
    renderer.close()
    ours = env.render_frame().astype(int)
    env.close()
    assert np.abs(free - ours).mean() < 2.0


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(EvalkitError, match="Unknown render profile 'shiny'.*fast, quality"):
        make_env(profile="shiny")


def test_profiles_set_the_model_and_scene():
    from evalkit.envs.humanoid_scene import PROFILES, load_model

    model = load_model(textured=True)
    PROFILES["fast"].apply_to_model(model)
    assert model.vis.quality.offsamples == 0 and model.vis.quality.shadowsize == 0
    PROFILES["quality"].apply_to_model(model)
    assert model.vis.quality.offsamples > 0 and model.vis.quality.shadowsize >= 2048


def test_missing_egl_names_the_library(monkeypatch):
    import ctypes.util

    from evalkit.envs import humanoid_scene

    real = ctypes.util.find_library
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: None if name == "EGL" else real(name)
    )
    monkeypatch.setenv("MUJOCO_GL", "egl")
    assert "libEGL.so.1" in humanoid_scene.missing_gl_library()
    with pytest.raises(EvalkitError, match="libEGL.so.1"):
        make_env().render_frame()


def test_textures_are_procedural_and_deterministic():
    from evalkit.envs.humanoid_scene import humanoid_xml, wood_floor_texture

    a, b = wood_floor_texture(seed=3), wood_floor_texture(seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, wood_floor_texture(seed=4))
    assert a.std() > 5
    xml, assets = humanoid_xml(textured=True)
    assert set(assets) == {"evalkit_wood.png", "evalkit_visor.png", "evalkit_shell.png"}
    assert 'builtin="gradient"' in xml and "evalkit_fixed" in xml
    plain, none = humanoid_xml(textured=False)
    assert none == {} and "evalkit_wood" not in plain


# -- dynamics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v4", "v5"])
def test_dynamics_equal_gymnasium_step_by_step(version):
    import gymnasium as gym

    ours = make_env(version=version)
    ref = gym.make(f"Humanoid-{version}", terminate_when_unhealthy=False).unwrapped
    o1, _ = ours.reset(seed=7)
    o2, _ = ref.reset(seed=7)
    assert np.array_equal(o1, o2)
    rng = np.random.default_rng(0)
    for _ in range(40):
        action = rng.uniform(-0.4, 0.4, ours.action_space.shape).astype(np.float32)
        s1, s2 = ours.step(action), ref.step(action)
        assert np.array_equal(s1[0], s2[0])
        assert s1[1] == s2[1] and s1[2] == s2[2]
        assert np.array_equal(ours.data.qpos, ref.data.qpos)
    ours.close()
    ref.close()


def test_no_termination_when_the_humanoid_falls():
    import gymnasium as gym

    import evalkit.envs  # noqa: F401

    env = gym.make("evalkit/Humanoid-v0", width=SMALL, height=SMALL)
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        _, _, terminated, truncated, _ = env.step(
            np.zeros(env.action_space.shape, dtype=np.float32)
        )
        assert not terminated
        steps += 1
    assert steps == 100
    assert env.unwrapped.data.qpos[2] < 0.8  # it fell, and the episode went on
    env.close()


def test_set_and_get_state_round_trip():
    from evalkit.envs.humanoid_poses import keyframe_qpos

    env = make_env()
    q = keyframe_qpos("kneeling")
    env.set_state(q)
    state = env.get_state()
    assert list(state)[:2] == ["qpos_0", "qpos_1"] and len(state) == env.model.nq + env.model.nv
    assert np.allclose([state[f"qpos_{i}"] for i in range(env.model.nq)], q)
    env.set_state({"qvel_0": 0.5})
    assert env.data.qvel[0] == 0.5 and np.allclose(env.data.qpos, q)
    with pytest.raises(ValueError):
        env.set_state(np.zeros(5))
    env.close()


# -- rule labels ------------------------------------------------------------------------------


def test_each_rule_is_true_on_its_keyframe_and_false_on_standing():
    from evalkit.tasks import get_task

    states = keyframe_states(list(TASKS))
    standing = states[states.pose == "standing"]
    for task in TASKS:
        rule = get_task(task).rule_labels
        own = states[states.pose == task]
        assert rule(own).all(), f"{task} rule is false on its own keyframe"
        if task != "standing":
            assert not rule(standing).any(), f"{task} rule is true on the neutral standing pose"


def test_standing_is_false_on_poses_that_are_not_standing():
    from evalkit.envs.humanoid_poses import OTHER_POSES
    from evalkit.tasks import get_task

    names = ["kneeling", "lotus", "splits"] + [p for p in OTHER_POSES if p != "walking"]
    states = keyframe_states(names)
    assert not get_task("standing").rule_labels(states).any()
    for task in TASKS:  # no goal on lying, sitting, crouching...
        lying = states[
            states.pose.isin(
                ["lying_back", "lying_front", "all_fours", "sitting", "crouching", "bending"]
            )
        ]
        assert not get_task(task).rule_labels(lying).any(), task


def test_each_task_keyframe_satisfies_no_other_non_standing_task():
    from evalkit.tasks import get_task

    states = keyframe_states(list(TASKS))
    for task in TASKS:
        labels = {t: bool(get_task(t).rule_labels(states[states.pose == task])[0]) for t in TASKS}
        expected = {task} | ({"standing"} if task in STANDING_VARIANTS else set())
        assert {t for t, v in labels.items() if v} == expected


def test_rule_thresholds_live_in_one_place_and_can_be_overridden():
    from evalkit.envs import humanoid_rules

    states = keyframe_states(["kneeling"])
    assert humanoid_rules.kneeling(states).all()
    assert not humanoid_rules.kneeling(states, on_floor=-1.0).any()
    assert "on_floor" in humanoid_rules.thresholds_dict()


# -- pose dataset -----------------------------------------------------------------------------


def test_poses_rest_on_the_floor_and_supports_touch_it():
    from evalkit.data.poses import PoseSpec, sample_poses
    from evalkit.envs.humanoid_poses import KEYFRAMES

    table = sample_poses(PoseSpec(per_task=3), seed=1)
    from evalkit.envs.humanoid import body_state
    from evalkit.envs.humanoid_scene import (
        load_model,
        mujoco,  # sets MUJOCO_GL=egl before MuJoCo loads
    )

    model = load_model(textured=False)
    data = mujoco.MjData(model)
    for _, row in table.iterrows():
        data.qpos[:] = [row[f"qpos_{i}"] for i in range(model.nq)]
        mujoco.mj_forward(model, data)
        state = body_state(model, data)
        assert abs(state["lowest"]) < 1e-6  # touches z = 0, no penetration
        kf = KEYFRAMES.get(row["pose"])
        if kf is not None and kf.supports:
            assert min(state[f"{p}_clear"] for p in kf.supports) < 0.05  # resting on its supports


def test_pose_sampling_is_deterministic_and_varied():
    from evalkit.data.poses import PoseSpec, qpos_columns, sample_poses

    a = sample_poses(PoseSpec(per_task=2), seed=5)
    b = sample_poses(PoseSpec(per_task=2), seed=5)
    c = sample_poses(PoseSpec(per_task=2), seed=6)
    assert a.equals(b) and not a.equals(c)
    q = qpos_columns(a[a.pose == "kneeling"])
    assert not np.allclose(q[0], q[1])


def test_unknown_task_for_poses_is_a_clear_error():
    from evalkit.data.poses import PoseSpec

    with pytest.raises(EvalkitError, match="Unknown humanoid task 'yoga'"):
        PoseSpec(tasks=("yoga",))
    with pytest.raises(EvalkitError, match="--per-task"):
        PoseSpec(per_task=0)


@pytest.mark.slow  # two spawned rendering processes, each setting up MuJoCo and OpenGL
def test_collect_poses_cli_makes_a_labelled_dataset(datasets_root, cli):
    from evalkit.data.store import open_dataset

    result = cli(
        "collect", "humanoid", "--poses", "--per-task", "2", "--size", "32", "--workers", "2"
    )
    assert result.exit_code == 0, result.output
    ds = open_dataset("humanoid-poses")
    assert ds.family == "humanoid" and ds.frames.shape[1:] == (32, 32, 3)
    labels = ds.label_table("rule")
    assert set(labels.task) >= set(TASKS)
    wide = labels.pivot(index="frame_id", columns="task", values="label")
    states = ds.states
    for task in TASKS:  # every task has goal frames, drawn around its own keyframe
        assert wide[task].any(), task
        assert wide.loc[states.index[states.pose == task], task].mean() >= 0.5
    assert len(ds) == ds.manifest.n_episodes
    assert {"qpos_0", "qvel_22", "head_z", "left_knee_clear", "pose", "beyond_range"} <= set(
        states.columns
    )
    again = cli("collect", "humanoid", "--poses", "--per-task", "2", "--size", "32")
    assert again.exit_code == 0 and "humanoid-poses" in again.output


def test_collect_humanoid_needs_exactly_one_source(datasets_root, cli):
    result = cli("collect", "humanoid")
    assert result.exit_code == 2 and "exactly one of --poses or --policy" in result.output


# -- rollouts ---------------------------------------------------------------------------------


def test_rollout_dataset_round_trips_through_the_store(tmp_path, datasets_root):
    from evalkit.data.rollouts import collect_rollouts, detect_algorithm
    from evalkit.data.store import open_dataset

    policy = save_tiny_policy(tmp_path / "ppo", "PPO")
    assert detect_algorithm(policy) == "PPO"
    ds = collect_rollouts(policy, episodes=2, steps=3, size=32, progress=False).dataset
    again = open_dataset("humanoid-rollouts")
    again.validate(deep=True)
    assert len(again) == 6 and again.manifest.n_episodes == 2
    states = again.states
    assert list(states.episode) == [0, 0, 0, 1, 1, 1] and list(states.step) == [0, 1, 2] * 2
    assert {"qpos_23", "qvel_0", "action_16", "reward_env", "pelvis_z"} <= set(states.columns)
    assert set(again.label_table("rule").task) >= set(TASKS)
    assert np.array_equal(np.asarray(again.frames), np.asarray(ds.frames))
    # replaying the stored state renders the stored frame
    env = make_env(width=32, height=32)
    env.set_state(
        states.loc[4, [f"qpos_{i}" for i in range(24)]].to_numpy(float),
        states.loc[4, [f"qvel_{i}" for i in range(23)]].to_numpy(float),
    )
    assert np.array_equal(env.render_frame(), again.frames[4])
    env.close()


def test_sac_checkpoint_is_detected(tmp_path):
    from evalkit.data.rollouts import detect_algorithm

    assert detect_algorithm(save_tiny_policy(tmp_path / "sac", "SAC")) == "SAC"


def test_bad_policy_checkpoints_are_clear_errors(tmp_path, datasets_root, cli):
    import zipfile

    import gymnasium as gym

    from evalkit.data.rollouts import load_policy

    with pytest.raises(EvalkitError, match="does not exist"):
        load_policy(tmp_path / "missing.zip")
    text = tmp_path / "notes.zip"
    text.write_text("not a zip")
    with pytest.raises(EvalkitError, match="not a zip"):
        load_policy(text)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(EvalkitError, match="not a stable-baselines3 checkpoint"):
        load_policy(other_zip)
    pendulum = save_tiny_policy(tmp_path / "pendulum", "PPO", env=gym.make("Pendulum-v1"))
    with pytest.raises(EvalkitError, match="trained on observations of shape"):
        load_policy(pendulum)
    result = cli("collect", "humanoid", "--policy", str(pendulum), "--episodes", "1")
    assert result.exit_code == 2 and "observations of shape" in result.output


# -- benchmark --------------------------------------------------------------------------------


def test_bench_render_reports_positive_rates():
    from evalkit.bench.render import bench_render

    r = bench_render(size=32, frames=5, workers=())
    assert r.render_fps > 0 and r.step_render_fps > 0 and r.gl_backend == "egl"
