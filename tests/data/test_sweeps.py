"""State sweeps and ``evalkit collect cartpole|mountaincar``."""

from __future__ import annotations

import inspect
import math
import os

import numpy as np
import pytest
from helpers_envs import small_sweep

from evalkit.data.store import open_dataset
from evalkit.data.sweeps import DEFAULT_N, DEFAULT_SIZE, collect_sweep, default_name, sweep_values
from evalkit.envs.classic import CartPoleEnv, MountainCarEnv
from evalkit.errors import EvalkitError
from evalkit.tasks import FAMILIES

# -- the states -----------------------------------------------------------------------------


def test_grid_is_evenly_spaced_over_the_whole_range():
    v = sweep_values(9, -math.pi / 2, math.pi / 2)
    assert v[0] == -math.pi / 2 and v[-1] == math.pi / 2
    np.testing.assert_allclose(np.diff(v), math.pi / 8)


def test_random_spacing_is_uniform_seeded_and_sorted():
    v = sweep_values(20000, -1.2, 0.6, "random", seed=5)
    np.testing.assert_array_equal(v, sweep_values(20000, -1.2, 0.6, "random", seed=5))
    assert not np.array_equal(v, sweep_values(20000, -1.2, 0.6, "random", seed=6))
    assert (np.diff(v) >= 0).all() and v.min() >= -1.2 and v.max() < 0.6
    counts, _ = np.histogram(v, bins=10, range=(-1.2, 0.6))
    # 2000 expected per bin; a uniform sample stays well within ±200 (≈ 4.7 standard deviations).
    assert np.abs(counts - 2000).max() < 200
    with pytest.raises(EvalkitError, match="spacing"):
        sweep_values(3, 0, 1, "sobol")


def test_default_names_match_the_task_registry():
    assert default_name("cartpole") == FAMILIES["cartpole"].default_dataset == "cartpole-sweep"
    assert (
        default_name("mountaincar")
        == FAMILIES["mountaincar"].default_dataset
        == "mountaincar-sweep-textured"
    )
    assert default_name("mountaincar", textured=True) == "mountaincar-sweep-textured"
    assert default_name("mountaincar", textured=False) == "mountaincar-sweep-plain"


def test_sweep_state_columns_are_the_environments():
    assert set(FAMILIES["cartpole"].sweep.states(3).columns) == set(CartPoleEnv.state_columns)
    assert set(FAMILIES["mountaincar"].sweep.states(3).columns) == set(MountainCarEnv.state_columns)


# -- datasets -------------------------------------------------------------------------------


def test_cartpole_sweep_dataset(datasets_root):
    result = small_sweep("cartpole", datasets_root, n=13, size=40)
    ds = result.dataset
    assert result.created and ds.path == datasets_root / "cartpole-sweep" and len(ds) == 13
    assert ds.frames.shape == (13, 40, 40, 3) and ds.manifest.generator == "sweep"
    s = ds.states
    np.testing.assert_allclose(s["angle"], np.linspace(-math.pi / 2, math.pi / 2, 13))
    assert (s[["cart_position", "cart_velocity", "angular_velocity"]] == 0).all().all()
    # every frame its own episode, step 0
    np.testing.assert_array_equal(s["episode"], np.arange(13))
    assert (s["step"] == 0).all() and ds.manifest.n_episodes == 13
    # rule labels stored on publish and equal to the predicate
    labels = ds.labels("cartpole")
    np.testing.assert_array_equal(labels, np.abs(s["angle"]) <= math.radians(12))
    assert labels.sum() == 1 and result.goal_counts == {"cartpole": 1}  # only angle 0 of 13
    assert "rule" in ds.label_sets()
    # frames are what the environment renders for that state
    env = CartPoleEnv(render_mode="rgb_array", width=40, height=40)
    for i in (0, 6, 12):
        env.set_state(s.loc[i, list(env.state_columns)].to_dict())
        np.testing.assert_array_equal(ds.frames[i], env.render())
    assert not np.array_equal(ds.frames[0], ds.frames[12])


@pytest.mark.parametrize("textured", [True, False])
def test_mountaincar_sweep_dataset(datasets_root, textured):
    result = small_sweep("mountaincar", datasets_root, n=19, size=48, textured=textured, seed=4)
    ds = result.dataset
    assert ds.name == ("mountaincar-sweep-textured" if textured else "mountaincar-sweep-plain")
    assert ds.manifest.render["textured"] is textured
    x = ds.states["position"].to_numpy()
    np.testing.assert_allclose(x, np.linspace(-1.2, 0.6, 19))
    assert (ds.states["velocity"] == 0).all()
    np.testing.assert_array_equal(ds.labels("mountaincar"), x >= 0.45)
    assert result.goal_counts["mountaincar"] == int((x >= 0.45).sum()) == 2  # 0.5 and 0.6
    env = MountainCarEnv(
        render_mode="rgb_array", width=48, height=48, textured=textured, texture_seed=4
    )
    env.set_state([x[7], 0.0])
    np.testing.assert_array_equal(ds.frames[7], env.render())


def test_same_arguments_are_a_no_op(datasets_root):
    first = small_sweep("cartpole", datasets_root)
    mtime = os.stat(first.dataset.path / "frames.npy").st_mtime_ns
    again = small_sweep("cartpole", datasets_root)
    assert not again.created and math.isnan(again.frames_per_second)
    assert again.dataset.content_hash == first.dataset.content_hash
    assert os.stat(first.dataset.path / "frames.npy").st_mtime_ns == mtime
    assert again.goal_counts == first.goal_counts


def test_other_arguments_need_overwrite(datasets_root):
    first = small_sweep("mountaincar", datasets_root, n=8)
    with pytest.raises(
        EvalkitError, match=r"different parameters \(params.n: 8 on disk, 9 asked\)"
    ):
        small_sweep("mountaincar", datasets_root, n=9)
    with pytest.raises(EvalkitError, match="render.textured"):
        small_sweep(
            "mountaincar", datasets_root, n=8, textured=False, name="mountaincar-sweep-textured"
        )
    replaced = small_sweep("mountaincar", datasets_root, n=9, overwrite=True)
    assert replaced.created and len(replaced.dataset) == 9
    assert replaced.dataset.content_hash != first.dataset.content_hash
    assert len(open_dataset("mountaincar-sweep-textured", datasets_root)) == 9


def test_an_interrupted_collect_leaves_nothing(datasets_root, monkeypatch):
    calls = {"n": 0}
    original = CartPoleEnv.render

    def failing_render(self):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(CartPoleEnv, "render", failing_render)
    with pytest.raises(KeyboardInterrupt):
        collect_sweep("cartpole", 10, 16, root=datasets_root, progress=False, batch_size=3)
    assert calls["n"] == 5
    assert list(datasets_root.iterdir()) == []  # no dataset, no temporary folder


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "number of states must be a positive"),
        ({"n": -3}, "number of states must be a positive"),
        ({"size": 0}, "image size must be"),
        ({"size": -1}, "image size must be"),
        ({"size": 5000}, "image size must be"),
        ({"spacing": "sobol"}, "Unknown spacing"),
        ({"textured": True}, "Only mountaincar has a textured renderer"),
    ],
)
def test_bad_arguments(datasets_root, kwargs, message):
    args = {"n": 4, "size": 16, **kwargs}
    with pytest.raises(EvalkitError, match=message):
        collect_sweep("cartpole", root=datasets_root, progress=False, **args)
    assert not datasets_root.exists() or list(datasets_root.iterdir()) == []


def test_unknown_family():
    with pytest.raises(
        EvalkitError, match="Unknown environment family 'cartpol'. Did you mean 'cartpole'"
    ):
        collect_sweep("cartpol")
    with pytest.raises(EvalkitError, match="no state sweep"):
        collect_sweep("humanoid")


# -- the command line -----------------------------------------------------------------------


def test_cli_collect_cartpole_and_rerun(cli, datasets_root):
    result = cli("collect", "cartpole", "--n", "8", "--size", "64")
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("cartpole-sweep: 8 frames 64x64, goal frames: cartpole 0 -> ")
    assert str(datasets_root / "cartpole-sweep") in line and line.endswith("frames/s)")
    ds = open_dataset("cartpole-sweep")
    assert len(ds) == 8 and ds.frames.shape[1:] == (64, 64, 3)
    again = cli("collect", "cartpole", "--states", "8", "--size", "64")
    assert again.exit_code == 0 and "already collected with these parameters" in again.stdout
    other = cli("collect", "cartpole", "--n", "9", "--size", "64")
    assert other.exit_code == 2
    assert "exists with different parameters" in other.stderr and "--overwrite" in other.stderr
    replaced = cli("collect", "cartpole", "--n", "9", "--size", "64", "--overwrite")
    assert replaced.exit_code == 0 and len(open_dataset("cartpole-sweep")) == 9


def test_cli_collect_mountaincar_textured_and_plain(cli, datasets_root, tmp_path):
    root = tmp_path / "elsewhere"
    for flag, name in (
        ("--textured", "mountaincar-sweep-textured"),
        ("--plain", "mountaincar-sweep-plain"),
    ):
        result = cli(
            "collect",
            "mountaincar",
            flag,
            "--n",
            "8",
            "--size",
            "32",
            "--root",
            str(root),
            "--seed",
            "2",
        )
        assert result.exit_code == 0, result.output
        assert f"{name}: 8 frames 32x32, goal frames: mountaincar 1" in result.stdout
        assert open_dataset(name, root).manifest.params["seed"] == 2
    named = cli("collect", "mountaincar", "--n", "8", "--size", "32", "--name", "mc-small")
    assert named.exit_code == 0 and (datasets_root / "mc-small" / "manifest.json").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "0"], "image size must be"),
        (["--size", "-4"], "image size must be"),
        (["--n", "0"], "number of states"),
        (["--name", "../x"], "not a valid dataset name"),
        (["--spacing", "halton"], "Unknown spacing"),
    ],
)
def test_cli_bad_input_is_one_sentence_and_exit_2(cli, datasets_root, args, message):
    result = cli("collect", "cartpole", *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_cli_root_that_is_a_file_or_cannot_be_made(cli, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for root, message in (
        (a_file, "is a file, not a folder"),
        (a_file / "sub", "Cannot create the datasets root"),
    ):
        result = cli("collect", "cartpole", "--n", "4", "--size", "16", "--root", str(root))
        assert result.exit_code == 2 and message in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_cli_unwritable_root(cli, tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o555)
    try:
        result = cli("collect", "cartpole", "--n", "4", "--size", "16", "--root", str(root))
        assert result.exit_code == 2 and "not writable" in result.stderr
    finally:
        root.chmod(0o755)


def test_cli_defaults_match_the_library():
    from evalkit.cli.collect_sweep import sweep_command

    for fn in (sweep_command(FAMILIES["cartpole"]), sweep_command(FAMILIES["mountaincar"])):
        params = inspect.signature(fn).parameters
        assert params["n"].default.default == DEFAULT_N
        assert params["size"].default.default == DEFAULT_SIZE
