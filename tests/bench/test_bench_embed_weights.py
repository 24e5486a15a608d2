"""``evalkit bench embed`` without the weights ends in the one clean sentence, and the spawned
reference process (which would print its own traceback) is never started: weights are
resolved in the parent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_missing_weights_are_one_sentence_before_any_process_spawns(tmp_path):
    from evalkit.vlm.open_clip_weights import cached_weights

    tag = "laion2b_s34b_b79k"
    assert cached_weights("ViT-B-32", tag) is None, "the test needs weights that are not cached"
    result = subprocess.run(
        [sys.executable, "-m", "evalkit", "bench", "embed", "--model", "ViT-B-32",
         "--pretrained", tag, "--n", "4", "--devices", "cpu"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("error: The weights of ViT-B-32")
    assert "naive reference in a fresh process" not in result.stdout + result.stderr
