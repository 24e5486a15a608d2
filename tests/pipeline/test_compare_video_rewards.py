"""The guide's comparison of a single-frame reward, frame averaging and X-CLIP windows on
Meta-World expert, ε-noisy and random episodes, run end to end through the CLI with tiny
random-weight models: the metrics side by side with intervals, the instruction confusion matrix
and the reward curves of an episode over its steps."""

from __future__ import annotations

import importlib.util
import io
import math
import re

import pandas as pd
import pytest

needs_metaworld = pytest.mark.skipif(
    importlib.util.find_spec("metaworld") is None,
    reason="Meta-World is not installed (pip install -e '.[metaworld]')",
)

TASKS = ("drawer-open", "drawer-close")
SMALL = ["--episodes", "2", "--epsilons", "0.5", "--steps", "12", "--size", "32"]
METRICS = "epic,spearman,rank_quality"


def _rewards(xclip: str) -> dict[str, str]:
    """The three rewards of the comparison, by the label ``epic`` gives each."""
    return {
        "clip:evalkit-tiny-vit:none": "clip",
        "window:4:1:avg:evalkit-tiny-vit:none": "window:4:1:avg:evalkit-tiny-vit:none",
        f"window:4:1:hf:{xclip}": f"window:4:1:hf:{xclip}",
    }


@needs_metaworld
@pytest.mark.slow
def test_single_frame_frame_averaging_and_xclip_side_by_side(cli, datasets_root, tmp_path):
    pytest.importorskip("transformers")
    from helpers_video import NUM_FRAMES, save_tiny_xclip

    assert NUM_FRAMES == 4  # the windows below are X-CLIP's own length
    xclip = str(save_tiny_xclip(tmp_path / "xclip"))
    for task in TASKS:
        r = cli("collect", "metaworld", "--task", task, *SMALL)
        assert r.exit_code == 0, r.output
    rewards = _rewards(xclip)
    flags = [x for text in rewards for x in ("--reward", text)]
    common = ["epic", "--task", "drawer-open", *flags, "--metrics", METRICS]
    common += ["--bootstrap", "200", "--ci", "percentile", "--devices", "cpu", "--no-save"]

    # every reward's rows, with finite estimates and intervals around them
    r = cli(*common, "--format", "csv")
    assert r.exit_code == 0, r.output
    table = pd.read_csv(io.StringIO(r.stdout))
    assert list(dict.fromkeys(table["reward_source"])) == list(rewards.values())
    for source in rewards.values():
        rows = table[table["reward_source"] == source]
        assert {"spearman", "rank_quality"} <= set(rows["metric"])
        for row in rows.itertuples():
            assert math.isfinite(row.estimate) and row.ci_low <= row.estimate <= row.ci_high
        # the panel is computed for each α: the same rows for every reward
        assert len(rows) == len(table[table["reward_source"] == "clip"])
    tiers = table[table["metric"] == "rank_quality"]
    assert len(tiers) == 3 * 5  # three rewards, five α each
    # the same numbers as one table, a column per reward
    r = cli(*common)
    assert r.exit_code == 0, r.output
    assert "Rewards side by side" in r.stdout
    for label in ("reward 1:", "reward 2:", "reward 3:", "RANDOM"):
        assert label in r.output
    line = next(x for x in r.stdout.splitlines() if x.lstrip("│ ").startswith("rank_quality"))
    assert len(re.findall(r"-?\d\.\d+ \[-?\d\.\d+, -?\d\.\d+\]", line)) == 3

    # the instruction confusion matrix of each reward: 2 tasks × 2 prompts, and its figure
    for text in rewards:
        figure = tmp_path / f"confusion-{len(text)}.png"
        r = cli(
            "confusion", "--tasks", ",".join(TASKS), "--reward", text, "--alpha", "0",
            "--bootstrap", "100", "--devices", "cpu", "--figure", str(figure),
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        rows = [x for x in r.stdout.splitlines() if x.lstrip("│ ").startswith(TASKS)]
        assert len(rows) == 2
        for row in rows:  # two prompts' mean rewards and the episode count (6 each)
            cells = re.findall(r"-?\d+\.\d+|\b\d+\b", row.split("│", 2)[2])
            assert len(cells) == 3 and cells[-1] == "6"
        assert "own prompt highest:" in r.stdout and "of 12 episodes" in r.stdout
        assert figure.stat().st_size > 0

    # one episode's rewards over its steps, the three rewards on one figure
    curves = tmp_path / "curves.png"
    r = cli(
        "landscape", "metaworld", "--task", "drawer-open", "--dataset", "metaworld-drawer-open",
        "--episode", "0", "--model", "evalkit-tiny-vit", "--pretrained", "none", "--alpha", "0",
        "--reward", list(rewards)[1], "--reward", list(rewards)[2], "--devices", "cpu",
        "--out", str(curves),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert curves.stat().st_size > 0 and "step of episode 0" in r.output


def test_a_clip_reward_names_its_model_in_the_text():
    from evalkit.errors import EvalkitError
    from evalkit.pipeline import parse_reward
    from evalkit.pipeline.reward_kinds import RewardContext, TextPromptReward

    kind = parse_reward("clip:ViT-B-32:openai", RewardContext(alphas=(0.0, 0.5)))
    assert kind == TextPromptReward("ViT-B-32:openai", None, (0.0, 0.5))
    assert kind.canonical == "clip" and kind.label() == "ViT-B-32:openai"
    context = RewardContext(model="RN50", pretrained="openai")
    assert parse_reward("clip", context) == TextPromptReward("RN50", "openai")
    with pytest.raises(EvalkitError, match="names no model"):
        parse_reward("clip:", context)
