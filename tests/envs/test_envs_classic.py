"""CartPole and MountainCar variants: gymnasium's physics, the paper's changes, rendering."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv as GymCartPole
from gymnasium.envs.classic_control.continuous_mountain_car import (
    Continuous_MountainCarEnv as GymMountainCar,
)
from helpers_envs import changed_columns, distinct_colours, pump_energy

import evalkit.envs  # noqa: F401  (registers the ids)
from evalkit.envs.base import StateSettable
from evalkit.envs.cartpole_family import CARTPOLE_UPRIGHT_MAX_ANGLE
from evalkit.envs.classic import CartPoleEnv, MountainCarEnv, crop_frame, fit_frame, wrap_angle
from evalkit.envs.mountaincar_family import MOUNTAINCAR_GOAL_POSITION
from evalkit.envs.mountaincar_render import TexturedMountainCarRenderer, get_renderer, track_height

# -- CartPole -------------------------------------------------------------------------------


def test_cartpole_physics_match_gymnasium_step_by_step():
    ours, theirs = CartPoleEnv(), GymCartPole()
    o1, _ = ours.reset(seed=7)
    o2, _ = theirs.reset(seed=7)
    np.testing.assert_array_equal(o1, o2)
    actions = np.random.default_rng(3).integers(0, 2, 200)
    fell, wrapped = False, False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium warns about stepping after termination
        for t, a in enumerate(actions):
            o1, r1, term1, trunc1, info = ours.step(int(a))
            o2, _, term2, _, _ = theirs.step(int(a))
            assert term1 is False and trunc1 is False, t
            # Gymnasium's state, with the documented angle wrap, equals ours.
            expected = np.array(theirs.state, dtype=np.float64)
            wrapped |= abs(expected[2]) > math.pi
            expected[2] = wrap_angle(expected[2])
            np.testing.assert_allclose(ours.state, expected, rtol=0, atol=1e-9, err_msg=f"step {t}")
            # Reward: +1 exactly when gymnasium would not have failed, -1 when it would
            # (judged on the wrapped angle once the pole has swung past the bottom).
            fell |= term2
            if abs(theirs.state[2]) <= math.pi:
                assert r1 == (-1.0 if term2 else 1.0), t
            up = bool(abs(expected[2]) <= math.radians(12) and abs(expected[0]) <= 2.4)
            assert r1 == (1.0 if up else -1.0) and info["is_success"] is up, t
    assert fell and wrapped, (
        "this seed drops the pole and swings it past the bottom within 200 steps"
    )
    assert o1.dtype == np.float32 and ours.observation_space.contains(o1)


def test_cartpole_reward_thresholds_are_documented_ones():
    env = CartPoleEnv()
    env.reset(seed=0)
    cases = [
        ([0.0, 0, CARTPOLE_UPRIGHT_MAX_ANGLE, 0], True),
        ([0.0, 0, -CARTPOLE_UPRIGHT_MAX_ANGLE, 0], True),
        ([0.0, 0, 0.2095, 0], False),
        ([2.4, 0, 0.0, 0], True),
        ([-2.41, 0, 0.0, 0], False),
        ([0.0, 0, 2 * math.pi, 0], True),
    ]  # a full turn is upright again after wrapping
    for state, upright in cases:
        env.set_state(state)
        env.state[2] = wrap_angle(env.state[2])
        assert env.is_upright() is upright, state
    assert env.theta_threshold_radians == pytest.approx(math.radians(12), abs=1e-15)


def test_cartpole_angle_wraps_after_a_full_turn():
    env = CartPoleEnv()
    env.reset(seed=0)
    env.set_state(
        {
            "cart_position": 0.0,
            "cart_velocity": 0.0,
            "angle": math.pi - 0.01,
            "angular_velocity": 5.0,
        }
    )
    obs, reward, *_ = env.step(0)
    assert -math.pi <= obs[2] < -math.pi + 0.2  # passed through the bottom: wrapped to -π + ...
    assert reward == -1.0


def test_cartpole_never_terminates_and_truncates_at_200():
    env = gym.make("evalkit/CartPole-v0")
    env.reset(seed=0)
    for t in range(1, 201):
        _, reward, terminated, truncated, _ = env.step(0)  # always push left: the pole falls
        assert not terminated
        assert truncated == (t == 200)
    assert reward == -1.0


# -- MountainCar ----------------------------------------------------------------------------


def test_mountaincar_physics_match_gymnasium_until_the_goal_then_absorb():
    ours, theirs = MountainCarEnv(), GymMountainCar()
    o1, _ = ours.reset(seed=11)
    o2, _ = theirs.reset(seed=11)
    np.testing.assert_array_equal(o1, o2)
    reached_at = None
    for t in range(400):
        action = pump_energy(o2 if reached_at is None else o1)
        o1, r1, term1, trunc1, info = ours.step(action)
        if reached_at is None:
            o2, _, term2, _, _ = theirs.step(action)
            np.testing.assert_array_equal(o1, o2, err_msg=f"step {t}")
            assert r1 == (1.0 if term2 else 0.0) and info["is_success"] is term2
            if term2:
                reached_at, goal_obs = t, o1.copy()
        else:
            # Absorbing: the state stays, whatever the action, and the reward stays positive.
            o1, r1, term1, _, info = ours.step(-action)
            np.testing.assert_array_equal(o1, goal_obs)
            assert r1 == 1.0 and info["is_success"]
        assert term1 is False and trunc1 is False
    assert reached_at is not None and reached_at < 300
    assert goal_obs[0] >= MOUNTAINCAR_GOAL_POSITION


def test_mountaincar_reset_clears_the_goal():
    env = MountainCarEnv()
    env.reset(seed=0)
    env.set_state({"position": 0.5, "velocity": 0.01})
    assert env.at_goal
    _, reward, *_ = env.step(np.array([-1.0], dtype=np.float32))
    assert reward == 1.0 and env.get_state() == {"position": 0.5, "velocity": 0.01}
    obs, info = env.reset(seed=0)
    assert not env.at_goal and not info["is_success"]
    assert -0.6 <= obs[0] <= -0.4
    _, reward, _, _, info = env.step(np.array([0.0], dtype=np.float32))
    assert reward == 0.0 and not info["is_success"]


def test_mountaincar_registered_with_time_limit_and_no_termination():
    env = gym.make("evalkit/MountainCar-v0")
    obs, _ = env.reset(seed=1)
    rewards = []
    for t in range(1, 201):
        obs, reward, terminated, truncated, _ = env.step(pump_energy(obs))
        rewards.append(reward)
        assert not terminated and truncated == (t == 200)
    assert rewards[-1] == 1.0 and rewards[0] == 0.0  # reached the goal and stayed


# -- state access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, columns",
    [
        (CartPoleEnv, ("cart_position", "cart_velocity", "angle", "angular_velocity")),
        (MountainCarEnv, ("position", "velocity")),
    ],
)
def test_state_round_trip_and_errors(cls, columns):
    env = cls()
    assert isinstance(env, StateSettable) and env.state_columns == columns
    with pytest.raises(RuntimeError, match="no state yet"):
        env.get_state()
    values = [0.1 * (i + 1) for i in range(len(columns))]
    env.set_state(values)
    assert env.get_state() == dict(zip(columns, values))
    env.set_state({columns[0]: -0.3})  # partial: the others keep their values
    assert env.get_state() == dict(zip(columns, [-0.3, *values[1:]]))
    with pytest.raises(ValueError, match="Unknown state column"):
        env.set_state({"nope": 1.0})
    with pytest.raises(ValueError, match=f"needs {len(columns)} state values"):
        env.set_state([0.0] * (len(columns) + 1))
    with pytest.raises(ValueError, match="finite"):
        env.set_state([math.nan] * len(columns))


def test_partial_state_on_a_fresh_env_starts_from_zero():
    env = CartPoleEnv()
    env.set_state({"angle": 0.5})
    assert env.get_state() == {
        "cart_position": 0.0,
        "cart_velocity": 0.0,
        "angle": 0.5,
        "angular_velocity": 0.0,
    }


# -- rendering ------------------------------------------------------------------------------


def test_plain_frames_are_gymnasiums_at_native_size_and_fitted_otherwise():
    ours = CartPoleEnv(render_mode="rgb_array", width=600, height=400, renderer="pygame")
    theirs = GymCartPole(render_mode="rgb_array")
    for env in (ours, theirs):
        env.reset(seed=0)
        env.state = np.array([0.3, 0.0, 0.4, 0.0])
    native = ours.render()
    np.testing.assert_array_equal(native, theirs.render())
    for framing, fn in (("fit", fit_frame), ("crop", crop_frame)):
        small = CartPoleEnv(
            render_mode="rgb_array", width=64, height=48, framing=framing, renderer="pygame"
        )
        small.set_state([0.3, 0.0, 0.4, 0.0])
        frame = small.render()
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        np.testing.assert_array_equal(frame, fn(native, 64, 48))
    square = fit_frame(native, 90, 90)  # 600x400 into 90x90: 90x60 centred, white bands
    assert (
        (square[:15] == 255).all()
        and (square[-15:] == 255).all()
        and not (square[15:75] == 255).all()
    )
    # Crop: 600x400 -> 135x90, the central 90 columns kept (those of gymnasium's pixels 100..500).
    cropped = crop_frame(native, 90, 90)
    from PIL import Image

    expected = np.asarray(Image.fromarray(native).resize((135, 90), Image.Resampling.BOX))[
        :, 22:112
    ]
    np.testing.assert_array_equal(cropped, expected)


def _pole_mask(frame: np.ndarray) -> np.ndarray:
    """Pixels that are mostly the pole's brown (202, 152, 101)."""
    return np.abs(frame.astype(int) - (202, 152, 101)).sum(-1) < 60


@pytest.mark.parametrize(
    "framing, size",
    [("crop", (224, 224)), ("fit", (224, 224)), ("crop", (600, 400)), ("crop", (96, 64))],
)
def test_numpy_cartpole_draws_gymnasiums_picture(framing, size):
    w, h = size
    fast = CartPoleEnv(render_mode="rgb_array", width=w, height=h, framing=framing)
    slow = CartPoleEnv(
        render_mode="rgb_array", width=w, height=h, framing=framing, renderer="pygame"
    )
    assert (
        fast.renderer == "numpy"
        and fast.render_settings()["renderer"] != slow.render_settings()["renderer"]
    )
    for state in (
        [0.0, 0, 0.0, 0],
        [0.5, 0, 0.3, 0],
        [-1.2, 0, -1.0, 0],
        [1.4, 0, 2.5, 0],
        [0.1, 0, 3.1, 0],
        [-2.3, 0, 0.7, 0],
    ):
        fast.set_state(state)
        slow.set_state(state)
        a, b = fast.render(), slow.render()
        assert a.shape == b.shape == (h, w, 3) and a.dtype == np.uint8
        assert (
            np.abs(a.astype(int) - b.astype(int)).mean() < 0.6
        )  # grey levels, over the whole frame
        dark_a, dark_b = (
            a.sum(-1) < 200,
            b.sum(-1) < 200,
        )  # the cart (and the track where it is thick)
        assert (dark_a & dark_b).sum() >= 0.9 * max(dark_a.sum(), dark_b.sum())
        pole_a, pole_b = _pole_mask(a), _pole_mask(b)
        if pole_b.sum() > 50:  # big enough to have a solid core
            assert (pole_a & pole_b).sum() >= 0.75 * (pole_a | pole_b).sum()
            centre = lambda m: np.argwhere(m).mean(axis=0)  # noqa: E731
            assert np.abs(centre(pole_a) - centre(pole_b)).max() < 2.0  # pixels


def test_numpy_cartpole_is_deterministic_and_refuses_unknown_renderers():
    env = CartPoleEnv(render_mode="rgb_array", width=64, height=64)
    env.set_state([0.2, 0.0, -0.4, 0.0])
    np.testing.assert_array_equal(env.render(), env.render())
    env.set_state([0.2, 5.0, -0.4, -3.0])  # velocities are not drawn
    first = env.render()
    env.set_state([0.2, 0.0, -0.4 + 2 * np.pi, 0.0])  # a pole that swung round looks the same
    np.testing.assert_array_equal(env.render(), first)
    with pytest.raises(ValueError, match="renderer must be one of"):
        CartPoleEnv(render_mode="rgb_array", renderer="opengl")


def test_cartpole_frames_are_cropped_by_default_and_framing_is_checked():
    assert CartPoleEnv(render_mode="rgb_array").framing == "crop"
    with pytest.raises(ValueError, match="framing must be one of"):
        CartPoleEnv(render_mode="rgb_array", framing="zoom")


@pytest.mark.parametrize(
    "make",
    [
        lambda: CartPoleEnv(render_mode="rgb_array", width=80, height=60),
        lambda: MountainCarEnv(render_mode="rgb_array", width=80, height=60),
        lambda: MountainCarEnv(
            render_mode="rgb_array", width=80, height=60, textured=True, texture_seed=3
        ),
    ],
)
def test_rendering_is_deterministic_and_depends_on_the_state(make):
    a, b = make(), make()
    a.reset(seed=1)
    b.reset(seed=2)  # different start states...
    first = a.state[0]
    b.set_state(a.get_state())  # ...until set equal
    fa, fb = a.render(), b.render()
    assert fa.shape == (60, 80, 3)
    np.testing.assert_array_equal(fa, fb)
    a.set_state({a.state_columns[0]: first + 0.3})
    assert not np.array_equal(a.render(), fb)


def test_render_without_a_state_or_mode():
    assert CartPoleEnv(render_mode="rgb_array").render() is None
    env = MountainCarEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="without a render mode"):
        assert env.render() is None
    with pytest.raises(ValueError, match="render_mode"):
        MountainCarEnv(render_mode="human")
    with pytest.raises(ValueError, match="positive"):
        CartPoleEnv(render_mode="rgb_array", width=0)


def test_textured_frames_are_rich_and_differ_from_plain():
    kw = dict(render_mode="rgb_array", width=128, height=128)
    plain, textured = MountainCarEnv(**kw), MountainCarEnv(textured=True, **kw)
    for env in (plain, textured):
        env.set_state([-0.5, 0.0])
    p, t = plain.render(), textured.render()
    assert t.shape == p.shape == (128, 128, 3)
    assert t.std() > 30 and distinct_colours(t) > 2000
    assert distinct_colours(p) < distinct_colours(t) / 5
    assert np.abs(t.astype(int) - p.astype(int)).mean() > 50
    # Sky on top (blue dominant), ground at the bottom (not blue dominant).
    top, bottom = t[:10].reshape(-1, 3).mean(0), t[-5:].reshape(-1, 3).mean(0)
    assert top[2] > top[0] + 40 and bottom[2] < bottom[0] + 20


def _red(frame: np.ndarray) -> np.ndarray:
    f = frame.astype(int)
    return (f[..., 0] > 140) & (f[..., 1] < 90) & (f[..., 2] < 90)


def test_textured_car_is_drawn_where_the_state_says_and_the_flag_at_the_goal():
    r = TexturedMountainCarRenderer(160, 160, seed=0)
    bg = r.background
    assert not _red(bg).any()  # only the car is red
    for x in (-1.2, -0.5, 0.0, 0.3, 0.6):
        frame = r.render(x)
        cols = np.nonzero(_red(frame).any(axis=0))[0]
        # The car stands on the track at x, tilted with the slope: the middle of its body is
        # about 0.35 car lengths "up" from the point between the wheels.
        tilt = math.atan(1.35 * math.cos(3 * x))
        centre_col = float(r.to_pixel(x, 0.0)[0]) - math.sin(tilt) * 0.35 * 0.28 * r.scale
        assert len(cols) > 0
        assert abs(0.5 * (cols.min() + cols.max()) - centre_col) < 0.12 * 0.28 * r.scale, x
        # about one car length wide (the projection of a tilted car is shorter)
        width = cols.max() - cols.min() + 1
        assert 0.8 * math.cos(tilt) * 0.28 * r.scale < width < 1.1 * 0.28 * r.scale, x
        assert len(changed_columns(frame, bg)) < 1.2 * 0.28 * r.scale  # nothing else changed
    # The flag: saturated yellow pixels, at the goal column, above the track.
    yellow = (bg[..., 0] > 200) & (bg[..., 1] > 160) & (bg[..., 2] < 80)
    ys, xs = np.nonzero(yellow)
    assert len(xs) > 40
    goal_col, goal_row = (
        float(v)
        for v in r.to_pixel(MOUNTAINCAR_GOAL_POSITION, track_height(MOUNTAINCAR_GOAL_POSITION))
    )
    assert goal_col - 2 <= xs.min() and xs.max() < goal_col + 0.25 * r.scale
    assert ys.max() < goal_row


def test_textured_renderer_is_seeded_and_cached():
    a = TexturedMountainCarRenderer(64, 64, seed=0).render(0.1)
    b = TexturedMountainCarRenderer(64, 64, seed=0).render(0.1)
    c = TexturedMountainCarRenderer(64, 64, seed=1).render(0.1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert get_renderer(64, 64, 0) is get_renderer(64, 64, 0)
    frame = get_renderer(64, 64, 0).render(0.1)
    assert (
        frame.flags.c_contiguous
    )  # (height, width, 3) in memory order: what batching code expects
    frame[:] = 0  # frames are copies: the cached scene is not touched
    np.testing.assert_array_equal(get_renderer(64, 64, 0).render(0.1), a)


def test_track_is_gymnasiums():
    xs = np.linspace(-1.2, 0.6, 50)
    np.testing.assert_allclose(track_height(xs), GymMountainCar()._height(xs))


def test_make_accepts_render_kwargs():
    env = gym.make(
        "evalkit/MountainCar-v0", render_mode="rgb_array", width=48, height=32, textured=True
    )
    env.reset(seed=0)
    assert env.render().shape == (32, 48, 3)
    assert env.unwrapped.render_settings()["textured"] is True
