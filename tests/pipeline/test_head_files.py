"""A head's files: fields checked on load (one sentence naming the field), ``head:`` without a
file or with a folder, and two processes writing the same head at once (a reader never pairs the
``.json`` of one with the ``.safetensors`` of the other, and what is left is one writer's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from evalkit.errors import EvalkitError
from evalkit.heads import LogisticHead, head_paths, load_head, save_head
from evalkit.pipeline.reward_kinds import parse_reward

DIM = 4096  # weights big enough that writing them takes a while


def _save(path: Path, value: float) -> Path:
    """A head whose every weight, and its bias, is ``value`` (so a torn pair shows)."""
    return save_head(LogisticHead(np.full(DIM, value), bias=value, l2=0.01, meta={}), path)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("bias", "x", "bias = 'x', not a finite number"),
        ("bias", float("nan"), "bias = nan, not a finite number"),
        ("l2", float("inf"), "l2 = inf, not a finite number"),
        ("dim", "8", "dim = '8', not a positive whole number"),
        ("model", 3, "model = 3, not a text"),
        ("embedding", [1], r"embedding = \[1\], not a table"),
    ],
)
def test_head_fields_are_checked_on_load(tmp_path, field, value, says):
    path = _save(tmp_path / "h.json", 0.5)
    doc = json.loads(path.read_text())
    doc[field] = value
    path.write_text(json.dumps(doc))  # NaN and Infinity as Python's json writes them
    with pytest.raises(EvalkitError, match=f"The head {path} has {says}"):
        load_head(path)


def test_head_without_a_file_or_with_a_folder_is_one_sentence(tmp_path):
    with pytest.raises(EvalkitError, match=r"names no head file; write head:PATH.json"):
        parse_reward("head:")
    with pytest.raises(EvalkitError, match=r"names a folder; name the head's .json file in it"):
        parse_reward(f"head:{tmp_path}")
    with pytest.raises(EvalkitError, match=r"is a folder; name a head's .json file in it"):
        load_head(tmp_path)


def test_the_cli_says_so_in_one_sentence(cli, datasets_root):
    result = cli("epic", "--task", "cartpole", "--reward", "head:")
    assert result.exit_code == 2
    assert "names no head file" in result.output and "Traceback" not in result.output


def test_a_pair_torn_by_a_writer_that_does_not_lock_is_refused(tmp_path):
    _save(tmp_path / "h.json", 1.0)
    weights, _ = head_paths(tmp_path / "h.json")
    other = _save(tmp_path / "other.json", 2.0)
    weights.write_bytes(head_paths(other)[0].read_bytes())  # as an old evalkit could leave them
    with pytest.raises(EvalkitError, match="come from different fits"):
        load_head(tmp_path / "h.json")


WRITER = f"""
import sys, numpy as np
from evalkit.heads import LogisticHead, save_head
path, value, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
for _ in range(n):
    save_head(LogisticHead(np.full({DIM}, value), bias=value, l2=0.01, meta={{}}), path)
"""


@pytest.mark.slow
def test_two_writers_at_once_publish_one_unit(tmp_path):
    path = tmp_path / "h.json"
    _save(path, 1.0)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(v), "150"], env=env)
        for v in (1.0, 2.0)
    ]
    seen = set()
    deadline = time.monotonic() + 120
    while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
        head = load_head(path)  # never a torn pair: the weights are the bias of the same writer
        assert np.all(head.weights == head.bias), "a reader paired two writers' files"
        seen.add(head.bias)
    assert all(w.wait(timeout=60) == 0 for w in writers)
    final = load_head(path)
    assert np.all(final.weights == final.bias) and final.bias in (1.0, 2.0)
    assert seen  # the reader read while they wrote
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("h.json", "h.safetensors")]
    assert leftovers == []
