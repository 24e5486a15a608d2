"""A representative subset (every 8th case) of ``scripts/bad_input_sweep.py``: each bad input
ends in one sentence with exit ≠ 0 and writes nothing (but finished embedding caches)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bad_input_sweep.py"

pytestmark = pytest.mark.slow


def _sweep_module():
    spec = importlib.util.spec_from_file_location("bad_input_sweep", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_sweep_has_at_least_150_cases():
    assert len(_sweep_module().cases()) >= 150


def test_every_eighth_bad_input_is_one_sentence(tmp_path, monkeypatch):
    sweep = _sweep_module()
    monkeypatch.chdir(tmp_path)
    for var in ("EVALKIT_DATASETS", "EVALKIT_RUNS", "EVALKIT_REPORTS"):
        monkeypatch.setenv(var, "")  # set by the sandbox; restored after the test
    values = sweep.build_sandbox(tmp_path)
    outcomes = {}
    for case in sweep.cases()[::8]:
        verdict, last, wrote = sweep.run_case(case, values, tmp_path)
        outcomes[case.why] = (verdict, last, wrote)
    bad = {why: o for why, o in outcomes.items() if not o[0].startswith("sentence")}
    assert bad == {}, bad
