"""``evalkit train``'s options are made from the run's settings, and the run logs them whole."""

from __future__ import annotations

import dataclasses
import json
import re

from helpers_train import Recorder, one_torch_thread, tiny_config

from evalkit.cli.train import TRAIN_ONLY
from evalkit.train.config import CONFIG_FILE, TrainConfig
from evalkit.train.runner import train
from evalkit.train.settings import TrainSettings


def test_every_setting_with_a_flag_is_an_option_with_its_help():
    from typer.testing import CliRunner

    from evalkit.cli import app

    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "600"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    flagged = [f for f in dataclasses.fields(TrainSettings) if "flag" in f.metadata]
    assert len(flagged) == 23
    for f in flagged:
        flag, help_text = f.metadata["flag"], f.metadata["help"]
        (line,) = [x for x in lines if re.search(rf"│ {re.escape(flag)}\s", x)]  # exactly once
        if f.type == "bool":
            assert f"--no-{flag[2:]}" in line
        if help_text is not None:  # otherwise the option shared with other commands
            assert help_text in line
    for name in ("--out", "--config", "--resume", "--progress"):
        assert sum(bool(re.search(rf"│ {name}\s", x)) for x in lines) == 1
    assert len(TRAIN_ONLY) == 4


def test_a_flag_names_its_setting_in_errors():
    assert TrainConfig.flag("n_envs") == "--envs"
    assert TrainConfig.flag("reward_labelling") == "--labelling"
    assert TrainConfig.flag("checkpoint_every") == "checkpoint_every"  # a file key only


def test_the_run_logs_its_whole_resolved_config(tmp_path):
    config = tiny_config(steps=120, checkpoint_every=120, alpha=0.25)
    with one_torch_thread():
        result = train(config, tmp_path / "run", reward_fn=Recorder())
    saved = json.loads((tmp_path / "run" / CONFIG_FILE).read_text())
    assert list(saved["config"]) == [f.name for f in dataclasses.fields(TrainConfig)]
    assert saved["config"]["alpha"] == 0.25 and saved["config"]["n_envs"] == 2  # as given
    assert saved["config"]["metrics_every"] == 3200  # a default, filled in
    assert saved["config"]["reward_labelling"] == "batch"  # 'auto' as it ran (DQN: off-policy)
    assert saved["config"]["algo_kwargs"]["batch_size"] == 16
    assert saved["config"]["env_id"] == "evalkit/CartPole-v0"
    assert saved["config"] == json.loads(json.dumps(dataclasses.asdict(result.config)))
    assert saved["device"] == "cpu"
