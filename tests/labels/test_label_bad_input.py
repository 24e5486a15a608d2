"""``label serve`` and ``label rate`` refuse bad input in one sentence, before serving."""

from __future__ import annotations

import pytest

from evalkit.data.sweeps import collect_sweep


@pytest.fixture
def sweep(datasets_root):
    return collect_sweep("cartpole", n=20, size=16, progress=False).dataset


@pytest.mark.parametrize("command", ["serve", "rate"])
@pytest.mark.parametrize(
    "args, part",
    [
        (("",), "is empty"),
        (("nosuch",), "No dataset called 'nosuch'"),
        (("cartpole-sweep", "--host", ""), "--host is empty"),
        (("cartpole-sweep", "--labeller", " "), "--labeller is empty"),
        (("cartpole-sweep", "--port", "-1"), "not a TCP port"),
        (("cartpole-sweep", "--order", "sideways"), "Unknown --order"),
        (("cartpole-sweep", "--seed", "-3"), "not a seed"),
        (("cartpole-sweep", "-t", "mountaincar"), "is a mountaincar task"),
    ],
)
def test_bad_input_is_one_sentence(cli, sweep, command, args, part):
    task = () if "-t" in args else ("-t", "cartpole")
    result = cli("label", command, *args, *task)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert "Traceback" not in text and part in text, text
