"""``evalkit bench render --env FAMILY``: any family's rendering speed through its own
environment (a few frames, small sizes), and its bad input in one sentence."""

from __future__ import annotations

import importlib.util

import pytest

from evalkit.errors import EvalkitError

needs_metaworld = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)


def test_a_family_without_a_render_profile_is_benchmarked_too():
    from evalkit.bench.render_env import bench_env_render

    r = bench_env_render("cartpole", size=24, frames=4)
    assert r.family == "cartpole" and r.task is None and r.profile is None
    assert r.render_fps > 0 and r.step_render_fps > 0


@needs_metaworld
def test_metaworld_renders_its_first_task_by_default_and_says_the_rates(cli):
    from evalkit.bench.render_env import bench_env_render

    r = bench_env_render("metaworld", size=16, frames=3)
    assert (r.task, r.profile, r.gl_backend) == ("reach", "fast", "egl")
    assert r.render_fps > 0 and r.step_render_fps > 0
    out = cli("bench", "render", "--env", "metaworld", "--task", "drawer-open", "--size", "16",
              "--frames", "3")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "metaworld render benchmark (drawer-open): 16x16, profile fast" in out.output
    assert "one process: render" in out.output


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"family": "metaworl"}, "Unknown environment family 'metaworl'"),
        ({"family": "cartpole", "task": "drawer-open"}, "runs on metaworld, not on cartpole"),
        ({"family": "cartpole", "frames": 0}, "must be positive"),
        ({"family": "metaworld", "profile": "shiny"}, "Unknown render profile 'shiny'"),
    ],
)
def test_bad_input_is_one_sentence(kwargs, message):
    from evalkit.bench.render_env import bench_env_render

    with pytest.raises(EvalkitError, match=message):
        bench_env_render(**kwargs)


def test_task_without_env_is_refused(cli):
    out = cli("bench", "render", "--task", "drawer-open")
    assert out.exit_code == 2 and "--task goes with --env FAMILY" in out.output
