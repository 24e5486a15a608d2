"""Every command with ``--seed`` checks it with the one validator: a negative or too-large seed
is one sentence at parse time, not a numpy traceback later."""

from __future__ import annotations

import re

import pytest

from evalkit.cli._common import MAX_SEED

COMMANDS = [
    ["collect", "cartpole"],
    ["collect", "mountaincar"],
    ["collect", "humanoid"],
    ["epic", "--task", "cartpole", "--reward", "m:f"],
    ["label", "serve", "some-dataset", "--task", "cartpole"],
    ["label", "rate", "some-run", "--task", "cartpole"],
    ["train", "--task", "cartpole"],
    ["evaluate", "some-run"],
]


@pytest.mark.parametrize("seed", ["-1", str(MAX_SEED + 1)])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_bad_seed_is_one_sentence(cli, datasets_root, command, seed):
    result = cli(*command, "--seed", seed)
    assert result.exit_code == 2, result.output
    text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # rich's error box
    assert f"{seed} is not a seed; use a whole number from 0 to {MAX_SEED}" in text
    assert "Traceback" not in result.output
    assert not datasets_root.exists() or list(datasets_root.iterdir()) == []


def test_the_largest_seed_is_accepted():
    from evalkit.cli._common import check_seed

    assert check_seed(MAX_SEED) == MAX_SEED and check_seed(0) == 0 and check_seed(None) is None
