"""``evalkit train`` on a Meta-World task: SAC with the ground truth and with a tiny random
model's reward, judged by the success flag (a few hundred steps; no learning is expected)."""

from __future__ import annotations

import importlib.util

import pytest

needs_metaworld = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)


def test_the_family_trains_with_sac_and_makes_the_task_environment():
    from evalkit.envs import get_family
    from evalkit.train.config import TrainConfig

    family = get_family("metaworld")
    settings = family.require_training()
    assert settings.default_algo == "sac" and settings.action_space == "continuous"
    sac = settings.algo_kwargs["sac"]
    assert sac["policy_kwargs"] == {"net_arch": [400, 400]} and sac["gamma"] == 0.99
    config = TrainConfig(task="drawer-close", reward="ground-truth").resolved()
    assert config.env_kwargs["task"] == "drawer-close" and config.algo == "sac"


@needs_metaworld
@pytest.mark.slow
@pytest.mark.parametrize(
    "reward",
    [
        ["--reward", "ground-truth"],
        ["--model", "evalkit-tiny-vit", "--pretrained", "none", "--render-size", "32"],
    ],
)
def test_a_short_run_trains_and_reports_the_success_rate(cli, tmp_path, reward):
    out = tmp_path / "run"
    result = cli(
        "train", "--task", "drawer-close", *reward, "--steps", "300", "--out", str(out),
        "--device", "cpu", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "drawer-close (evalkit/MetaWorld-v0, SAC, 1 env)" in result.output
    assert "success rate (recent training episodes, goal rule):" in result.output
    assert list((out / "checkpoints").glob("step_*.zip"))
