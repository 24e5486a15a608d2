"""Intervals over fewer than 50 episodes come with a one-line warning that they are optimistic."""

from __future__ import annotations

import warnings

import pytest
from helpers_epic import write_reward_module

from evalkit.data.sweeps import collect_sweep
from evalkit.errors import FewEpisodesWarning
from evalkit.pipeline.inputs import MIN_INTERVAL_EPISODES, warn_few_episodes


def test_the_warning_needs_an_interval_and_few_episodes():
    with pytest.warns(FewEpisodesWarning, match="rest on 20 episodes, fewer than 50"):
        warn_few_episodes(20, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_few_episodes(20, 0)  # no interval: nothing to warn about
        warn_few_episodes(MIN_INTERVAL_EPISODES, 1000)


@pytest.mark.parametrize(
    "n, bootstrap, warned", [(40, "200", True), (40, "0", False), (60, "200", False)]
)
def test_epic_warns_on_few_episodes(
    cli, datasets_root, tmp_path, monkeypatch, n, bootstrap, warned
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    collect_sweep("cartpole", n=n, size=16, progress=False)  # one episode per frame
    module = write_reward_module(tmp_path, f"few_episodes_rewards_{n}_{bootstrap}")
    result = cli(
        "epic", "-t", "cartpole", "--reward", f"{module}:neg_abs_angle",
        "--bootstrap", bootstrap, "--no-save",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert bool([line for line in lines if f"rest on {n} episodes" in line]) == warned, lines
