"""Plugins: the Acrobot plugin file (example_plugin.py beside this test) through the real
command line, loaded from $EVALKIT_PLUGINS and from an installed package's entry point, and
broken plugins as one sentence naming them."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers_registry import registries_restored

import evalkit
from evalkit.errors import EvalkitError

HERE = Path(__file__).resolve().parent
WORKTREE = Path(evalkit.__file__).resolve().parents[1]


def run_evalkit(*args: str, env: dict[str, str], timeout: float = 300):
    """``python -m evalkit ARGS`` in a fresh interpreter (its start-up loads the plugins)."""
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def plugin_env(tmp_path: Path, *path: Path, plugins: str | None = "example_plugin") -> dict:
    """The environment of a CLI run with ``path`` on PYTHONPATH and ``$EVALKIT_PLUGINS``."""
    env = {k: v for k, v in os.environ.items() if k not in ("EVALKIT_PLUGINS", "PYTHONPATH")}
    env.update(
        PYTHONPATH=os.pathsep.join(map(str, (WORKTREE, *path))),
        EVALKIT_DATASETS=str(tmp_path / "datasets"),
        EVALKIT_REPORTS=str(tmp_path / "reports"),
        OMP_NUM_THREADS="1",
        MPLBACKEND="Agg",
        HF_HUB_OFFLINE="1",
    )
    if plugins is not None:
        env["EVALKIT_PLUGINS"] = plugins
    return env


def grid_goal_count(n: int) -> int:
    """Frames of an n-state grid over [0, 2π] with the tip above the bar: with the second link
    straight the tip is at height -2 cos θ, above 1 exactly for θ strictly between 2π/3 and 4π/3."""
    theta = np.linspace(0.0, 2 * math.pi, n)
    return int(np.sum((theta > 2 * math.pi / 3 + 1e-12) & (theta < 4 * math.pi / 3 - 1e-12)))


def test_collect_acrobot_from_the_plugin_named_in_the_environment(tmp_path):
    env = plugin_env(tmp_path, HERE)
    r = run_evalkit("collect", "acrobot", "--n", "21", "--size", "32", "--dark", env=env)
    assert r.returncode == 0, r.stderr
    assert (
        f"acrobot-sweep-dark: 21 frames 32x32, goal frames: acrobot_up {grid_goal_count(21)} "
        in (r.stdout)
    )
    manifest = json.loads((tmp_path / "datasets/acrobot-sweep-dark/manifest.json").read_text())
    assert manifest["family"] == "acrobot"
    assert manifest["render"]["dark"] is True

    r = run_evalkit("collect", "--help", env=env)
    assert r.returncode == 0 and "acrobot" in r.stdout and "--dark" not in r.stdout


@pytest.mark.slow
def test_landscape_acrobot_with_a_tiny_random_model(tmp_path):
    out = tmp_path / "landscape.png"
    args = ("--model", "evalkit-tiny-vit", "--pretrained", "none", "--devices", "cpu")
    r = run_evalkit(
        "landscape", "acrobot", "--dark", *args, "--n", "21", "--size", "32",
        "--alpha", "0,1", "--out", str(out), env=plugin_env(tmp_path, HERE),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 5_000
    assert "first link angle (rad)" in r.stdout  # the family's axis label, in the caption
    assert (tmp_path / "datasets/acrobot-sweep-dark/manifest.json").exists()


def write_dist_info(folder: Path, entry_point: str) -> None:
    """An installed distribution (a .dist-info folder) exposing one ``evalkit.plugins`` entry."""
    info = folder / "acrobot_example-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acrobot-example\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[evalkit.plugins]\nacrobot = {entry_point}\n")


def test_an_entry_point_of_an_installed_package_is_loaded_once(tmp_path, monkeypatch):
    from evalkit.envs import get_family
    from evalkit.plugins import load_plugins
    from evalkit.tasks import get_task

    write_dist_info(tmp_path / "site", "example_plugin")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.syspath_prepend(str(HERE))
    with registries_restored("example_plugin"):
        assert load_plugins(environ={}) == ["example_plugin"]
        assert load_plugins(environ={}) == []  # idempotent
        assert get_family("acrobot").title == "Acrobot"
        assert get_task("acrobot_up").family == "acrobot"


def test_an_entry_point_naming_a_function_has_it_called(tmp_path, monkeypatch):
    (tmp_path / "site").mkdir()
    (tmp_path / "site/calls_plugin.py").write_text(
        "CALLS = []\n\ndef register():\n    CALLS.append(1)\n"
    )
    write_dist_info(tmp_path / "site", "calls_plugin:register")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    from evalkit.plugins import load_plugins

    with registries_restored("calls_plugin"):
        assert load_plugins(environ={}) == ["calls_plugin:register"]
        load_plugins(environ={})
        assert sys.modules["calls_plugin"].CALLS == [1]


def test_the_command_line_loads_an_entry_point_plugin(tmp_path):
    write_dist_info(tmp_path / "site", "example_plugin")
    r = run_evalkit("tasks", env=plugin_env(tmp_path, HERE, tmp_path / "site", plugins=None))
    assert r.returncode == 0, r.stderr
    assert "acrobot_up" in r.stdout


BAD_FAMILY = """
import gymnasium as gym

from evalkit.envs import Family, register_family


class NoFrames(gym.Env):
    def __init__(self, render_mode=None):
        pass

    def reset(self, seed=None):
        pass

    def step(self, action):
        pass

    def render(self):
        pass


register_family(Family("bad", "bad/Bad-v0", NoFrames, 10, "bad-sweep"))
"""


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("no_such_plugin", None, "The plugin 'no_such_plugin' (from $EVALKIT_PLUGINS) cannot be imported: there is no module 'no_such_plugin' on the Python path; add its folder to PYTHONPATH or install its package."),
        ("raising_plugin", "raise RuntimeError('boom')\n", "The plugin 'raising_plugin' (from $EVALKIT_PLUGINS) failed while loading: RuntimeError: boom."),
        ("typo_plugin", "import no_such_dependency\n", "The plugin 'typo_plugin' (from $EVALKIT_PLUGINS) failed while loading: ModuleNotFoundError: No module named 'no_such_dependency'."),
        ("bad_family_plugin", BAD_FAMILY, "The plugin 'bad_family_plugin' (from $EVALKIT_PLUGINS) was refused: Family 'bad': its environment NoFrames is not an evalkit environment (evalkit.envs.base.RenderableEnv): its constructor takes no width, height keyword arguments; it has no render_settings(), get_state(), set_state() methods; it names no state_columns."),
    ],
)  # fmt: skip
def test_a_broken_plugin_is_one_sentence_naming_it(
    name, source, message, tmp_path, monkeypatch, cli
):
    if source is not None:
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("EVALKIT_PLUGINS", f" {name} ,")
    with registries_restored(name):
        r = cli("tasks")
        assert r.exit_code == 2
        assert r.output.strip() == f"error: {message}"
        from evalkit.envs import FAMILIES

        assert "bad" not in FAMILIES


def test_a_broken_plugin_through_the_real_main_has_no_traceback(tmp_path):
    r = run_evalkit("tasks", env=plugin_env(tmp_path, plugins="example_plugin.py"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == (
        "error: The plugin 'example_plugin.py' (from $EVALKIT_PLUGINS) cannot be imported: there "
        "is no module 'example_plugin.py'; name a module (my_pkg.plugin), not a file."
    )


def test_help_loads_no_plugin_and_no_torch(tmp_path):
    code = (
        "import sys\nfrom evalkit.cli import main\nsys.argv = ['evalkit', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'example_plugin' in sys.modules, 'torch' in sys.modules)"
    )
    env = plugin_env(tmp_path, HERE)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "LOADED False False" in r.stdout


def test_plugins_that_need_no_torch_load_without_it(tmp_path):
    (tmp_path / "task_only_plugin.py").write_text(
        "from evalkit.tasks import Task, register_task\n"
        "register_task(Task('cartpole_left', 'cartpole', 'a cart on the left', 'a cart'))\n"
    )
    code = (
        "import sys\nfrom evalkit.plugins import load_plugins\nprint(load_plugins())\n"
        "print('torch' in sys.modules)"
    )
    env = plugin_env(tmp_path, tmp_path, plugins="task_only_plugin")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["['task_only_plugin']", "False"]


def test_load_plugins_raises_the_plugin_error(monkeypatch):
    from evalkit.plugins import PluginError, load_plugins

    with registries_restored():
        with pytest.raises(PluginError, match="'missing_mod'") as info:
            load_plugins(environ={"EVALKIT_PLUGINS": "missing_mod"})
    assert isinstance(info.value, EvalkitError)


def test_the_plugin_guide_shows_this_plugin_file():
    """The documentation's plugin guide includes this file, section by section, as it is."""
    guide = (WORKTREE / "docs" / "guides" / "plugins.md").read_text(encoding="utf-8")
    source = (HERE / "example_plugin.py").read_text(encoding="utf-8")
    includes = re.findall(r"```\{literalinclude\} (\S+)\n((?::.*\n)*)", guide)
    assert len(includes) == 3 and all(path.endswith("/example_plugin.py") for path, _ in includes)
    for _, options in includes:
        for marker in re.findall(r':(?:start-after|end-before): "(.*)"', options):
            assert marker in source
    for call in ("register_family(", "register_task(", "register_metric(", "register_backend("):
        assert call in source
