"""Reward kinds as objects: every built-in kind reads back from what it saves, reproduces itself
as command-line options, and a kind added with ``register_reward_kind`` works in ``evalkit
epic`` and the report's commands like a built-in one."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np
import pytest
from helpers_epic import build_cartpole_dataset

from evalkit.pipeline import load_epic_results
from evalkit.pipeline import reward_kinds as rk
from evalkit.pipeline.sources import RewardSource
from evalkit.report.commands import epic_commands

BUILT_IN = [
    (
        rk.TextPromptReward("ViT-B-32", "openai"),
        "clip",
        "--model ViT-B-32 --pretrained openai --alpha 0,0.5",
    ),
    (
        rk.FramePrototypeReward("ViT-B-32", "openai", (0.5,), "labels:rule", None, "prompt:a pole"),
        "prototype:labels:rule|prompt:a pole",
        "--model ViT-B-32 --pretrained openai --goal-frames labels:rule --alpha 0,0.5",
    ),
    (
        rk.FramePrototypeReward("ViT-B-32", "openai", (0.5,), "ids:1,2", "d@ids:3", "d@ids:3"),
        "prototype:ids:1,2|d@ids:3",
        "--model ViT-B-32 --pretrained openai --goal-frames ids:1,2 --baseline-frames d@ids:3 --alpha 0,0.5",
    ),
    (rk.HeadReward("heads/a b.json"), "head:heads/a b.json", "--reward 'head:heads/a b.json'"),
    (rk.FunctionReward("mod:fn"), "function:mod:fn", "--reward mod:fn"),
    (rk.ColumnReward("r.csv:x"), "column:r.csv:x", "--reward-column r.csv:x"),
    (rk.GroundTruthReward(), "ground-truth", "--reward ground-truth"),
]


@pytest.mark.parametrize(("reward", "canonical", "options"), BUILT_IN)
def test_each_kind_reads_back_what_it_saves(reward, canonical, options):
    assert reward.canonical == canonical
    again = rk.saved_reward(canonical, "ViT-B-32", "openai")
    assert type(again) is type(reward) and again.canonical == canonical
    assert again.command_options("ViT-B-32", "openai", [0.5, 0.0]) == options
    assert again.frame_sets() == reward.frame_sets()


def test_command_line_text_names_the_kinds():
    ctx = rk.RewardContext("ViT-B-32", None, (0.5,), None, None, "cartpole")
    assert isinstance(rk.model_rewards(ctx), rk.TextPromptReward)
    framed = rk.model_rewards(rk.RewardContext("ViT-B-32", None, (0.5,), "ids:1", None, "cartpole"))
    assert framed.frame_sets() == ("ids:1", None)
    assert framed.canonical.startswith("prototype:ids:1|prompt:")  # the task's baseline prompt
    assert isinstance(rk.parse_reward("my_rewards:upright"), rk.FunctionReward)
    assert isinstance(rk.parse_reward("head:h.json"), rk.HeadReward)
    with pytest.raises(rk.EvalkitError, match="--reward takes head:PATH"):
        rk.parse_reward("nothing-here")


@dataclass(frozen=True)
class StateColumnReward(rk.RewardKind):
    """A plugin's kind: ``state:COLUMN``, a column of the dataset's state table as the reward."""

    column: str
    name: ClassVar[str] = "state"

    @classmethod
    def accepts(cls, text: str, context: rk.RewardContext) -> bool:
        return text.startswith("state:")

    @classmethod
    def parse(cls, text: str, context: rk.RewardContext) -> StateColumnReward:
        return cls(text.split(":", 1)[1])

    @property
    def canonical(self) -> str:
        return f"state:{self.column}"

    def label(self, model: str = "") -> str:
        return f"state {self.column}"

    def command_options(self, model: str, pretrained: str, alphas: Sequence[float]) -> str:
        return f"--reward {self.canonical}"

    def dataset_rewards(self, dataset: Any, task: str, **embed: Any) -> RewardSource:
        values = -np.abs(dataset.states[self.column].to_numpy(dtype=float))
        return RewardSource(reward=self, values=values[:, None], alphas=(None,))


def test_a_registered_kind_works_in_epic_and_the_report(cli, datasets_root, monkeypatch):
    monkeypatch.setattr(rk, "_KINDS", list(rk._KINDS))  # registered for this test only
    rk.register_reward_kind(StateColumnReward)
    ds = build_cartpole_dataset(datasets_root, n=200)
    result = cli("epic", "--task", "cartpole", "--reward", "state:angle", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    rows = load_epic_results(ds.path)
    row = rows[rows["metric"] == "epic"].iloc[0]
    assert row["reward_source"] == "state:angle"
    # EPIC of -|angle| against the rule labels (|angle| <= 12°), from the definition: the
    # Pearson correlation of the reward with the labels, d = sqrt((1 - rho) / 2)
    r = -np.abs(ds.states["angle"].to_numpy())
    y = ds.labels("cartpole").astype(float)
    rho = np.corrcoef(r, y)[0, 1]
    assert row["estimate"] == pytest.approx(math.sqrt((1 - rho) / 2), abs=1e-9)
    (command,) = epic_commands(rows[rows["metric"] == "epic"])
    assert "--reward state:angle" in command


def test_ground_truth_is_the_stored_column_or_one_sentence(datasets_root):
    from evalkit.data.store import DatasetWriter

    ds = build_cartpole_dataset(datasets_root, n=20)
    with pytest.raises(rk.EvalkitError, match="stores no ground-truth reward"):
        rk.GroundTruthReward().dataset_rewards(ds, "cartpole")
    states = ds.states.drop(columns=["frame_id"]).assign(gt_reward=np.arange(20.0) % 3)
    with DatasetWriter(
        datasets_root,
        "rollouts",
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="test-rollouts",
        params={},
        render={"size": 8},
        n_frames=20,
        frame_shape=(8, 8, 3),
    ) as w:
        w.add(np.asarray(ds.frames), states)
    source = rk.GroundTruthReward().dataset_rewards(w.dataset, "cartpole")
    np.testing.assert_array_equal(source.values[:, 0], np.arange(20.0) % 3)
    assert source.source == "ground-truth" and source.alphas == (None,)
