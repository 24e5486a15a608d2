"""CartPole's ``full_track`` render variant: the whole track in the square frame, collect's box
over it, and the default centre crop unchanged."""

from __future__ import annotations

import hashlib

import gymnasium as gym
import numpy as np
import pytest

import evalkit.envs  # noqa: F401  (registers the ids)
from evalkit.data.store import open_dataset
from evalkit.data.sweeps import collect_sweep
from evalkit.envs.classic import CartPoleEnv
from evalkit.envs.family import get_family

VIEW_HALF_WIDTH = 2.6
"""World units either side of the centre that a full-track frame is documented to show."""
CART_HALF_WIDTH = 0.2
"""Gymnasium's cart: 50 of the canvas's 600 pixels, which span 4.8 world units."""

DEFAULT_FRAMES_SHA256 = "84d44fddd47f10b9af39dc05e3b75d16f10aa821627aa72f1f80c8a6ba85473b"
"""The 64-pixel default frames of three states (see the test), from main before the variant."""


def _frame(x: float, angle: float = 0.0, size: int = 80, **kwargs) -> np.ndarray:
    env = CartPoleEnv(render_mode="rgb_array", width=size, height=size, **kwargs)
    env.set_state([x, 0.0, angle, 0.0])
    return env.render()


def _cart_columns(frame: np.ndarray) -> np.ndarray:
    """Columns with cart pixels (black; the thin track line is light grey)."""
    return np.flatnonzero((frame.sum(-1) < 200).any(axis=0))


def _pole_pixels(frame: np.ndarray) -> int:
    return int((np.abs(frame.astype(int) - (202, 152, 101)).sum(-1) < 150).sum())


@pytest.mark.parametrize("x", [-2.3, 2.3, 0.0])
def test_a_full_track_frame_shows_the_cart_where_the_state_says(x):
    size = 80
    frame = _frame(x, size=size, full_track=True)
    cols = _cart_columns(frame)
    expected = (x / (2 * VIEW_HALF_WIDTH) + 0.5) * size  # the cart's centre, in pixels
    half = CART_HALF_WIDTH / (2 * VIEW_HALF_WIDTH) * size
    assert cols.size and abs(cols.mean() + 0.5 - expected) < 1.0
    assert cols.min() >= expected - half - 1.5 and cols.max() <= expected + half + 1.5
    assert _pole_pixels(frame) >= 8  # the upright pole is in the picture too
    assert _pole_pixels(_frame(x, np.pi, size=size, full_track=True)) >= 8  # and hanging down
    crop = _cart_columns(_frame(x, size=size)).size  # the default view: zoomed in, ±1.6
    assert crop > cols.size if x == 0 else crop == 0


def test_past_the_track_the_cart_is_cut_then_gone():
    whole = _cart_columns(_frame(0.0, full_track=True)).size
    assert 0 < _cart_columns(_frame(2.6, full_track=True)).size < whole
    for x in (-2.9, 2.9, 3.0):
        assert _cart_columns(_frame(x, full_track=True)).size == 0


def test_the_default_rendering_is_unchanged():
    env = CartPoleEnv(render_mode="rgb_array", width=64, height=64)
    env.reset(seed=0)
    digest = hashlib.sha256()
    for state in ([0.0, 0, 0.0, 0], [1.2, 0, 0.5, 0], [-2.3, 0, -2.0, 0]):
        env.set_state(state)
        digest.update(env.render().tobytes())
    assert digest.hexdigest() == DEFAULT_FRAMES_SHA256
    assert env.render_settings() == {
        "width": 64,
        "height": 64,
        "textured": False,
        "renderer": "evalkit-cartpole-crop/1",
    }
    settings = CartPoleEnv(render_mode="rgb_array", width=64, height=64, full_track=True)
    assert settings.render_settings()["renderer"] == "evalkit-cartpole-track/1"
    assert settings.render_settings()["full_track"] is True


def test_full_track_needs_the_numpy_renderer_and_passes_through_gym_make():
    with pytest.raises(ValueError, match="numpy renderer"):
        CartPoleEnv(render_mode="rgb_array", renderer="pygame", full_track=True)
    env = gym.make(
        "evalkit/CartPole-v0", render_mode="rgb_array", width=48, height=48, **{"full_track": True}
    )
    env.reset(seed=0)
    env.unwrapped.set_state([2.3, 0.0, 0.0, 0.0])
    assert _cart_columns(env.render()).size > 0
    env.close()


def test_the_variant_names_its_flags_dataset_and_box():
    fam = get_family("cartpole")
    v = fam.variant("full_track")
    assert (v.default, v.flag(True), v.flag(False)) == (False, "--full-track", "--centre-crop")
    assert fam.sweep_dataset_name({}) == "cartpole-sweep"
    assert fam.sweep_dataset_name({"full_track": True}) == "cartpole-sweep-track"
    assert fam.sweep_for({}).box["cart_position"] == (-1.6, 1.6)
    wide = fam.sweep_for({"full_track": True}).box
    assert wide["cart_position"] == (-3.0, 3.0)
    assert {k: b for k, b in wide.items() if k != "cart_position"} == {
        k: b for k, b in fam.sweep.box.items() if k != "cart_position"
    }
    assert fam.env_kwargs({"full_track": True}) == {"full_track": True}


def test_a_full_track_box_dataset_spans_the_track_and_past_it(datasets_root):
    result = collect_sweep(
        "cartpole", 300, 32, spacing="box", variants={"full_track": True}, progress=False
    )
    ds = open_dataset("cartpole-sweep-track-box", datasets_root)
    assert ds.path == result.dataset.path
    assert ds.manifest.render["full_track"] is True
    assert ds.manifest.params["box"]["cart_position"] == [-3.0, 3.0]
    x = ds.states["cart_position"].to_numpy()
    assert x.min() < -2.8 and x.max() > 2.8 and np.abs(x).max() <= 3.0
    labels = ds.labels("cartpole")
    assert not labels[np.abs(x) > 2.4].any()  # off the track is never the goal
    frames = ds.frames
    gone = np.abs(x) > 2.8 + 0.05
    assert all(_cart_columns(frames[i]).size == 0 for i in np.flatnonzero(gone))


def test_cli_collect_full_track(cli, datasets_root):
    result = cli("collect", "cartpole", "--n", "20", "--size", "32", "--full-track")
    assert result.exit_code == 0, result.output
    ds = open_dataset("cartpole-sweep-track", datasets_root)
    assert ds.manifest.render["renderer"] == "evalkit-cartpole-track/1"
