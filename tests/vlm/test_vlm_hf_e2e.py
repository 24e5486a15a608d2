"""Hugging Face models end to end: torchrun ranks, a short training run with the CLIP reward,
and the scaling figure mixing open_clip and Hugging Face models."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers_hf import save_tiny_clip
from helpers_train import SMALL, one_torch_thread
from helpers_vlm import make_dataset

from evalkit.vlm.embedder import ImageEmbedder

pytestmark = pytest.mark.slow


def test_torchrun_two_ranks_give_the_embeddings_of_one_process(datasets_root, tmp_path):
    model = save_tiny_clip(tmp_path / "clip", shortest_edge=37)
    ds = make_dataset(datasets_root, n=16)
    out = tmp_path / "rank0.npy"
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        import numpy as np, os
        from evalkit.vlm import embed_dataset
        e = embed_dataset({str(ds.path)!r}, "hf:{model}", shard_frames=4, progress=False)
        if os.environ["RANK"] == "0":
            np.save({str(out)!r}, np.asarray(e.values))
    """)
    )
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
        + [str(script)],
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=240,
        capture_output=True,
    )
    expected = ImageEmbedder(f"hf:{model}").embed_frames(np.asarray(ds.frames))
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)


def test_a_short_training_run_with_an_hf_clip_reward(cli, tmp_path):
    model = save_tiny_clip(tmp_path / "clip", image_size=32)
    config = tmp_path / "small.toml"
    config.write_text(SMALL)
    run = tmp_path / "runs" / "car"
    with one_torch_thread():
        result = cli(
            "train",
            "--task",
            "mountaincar",
            "--model",
            f"hf:{model}",
            "--pretrained",
            "none",
            "--steps",
            "120",
            "--envs",
            "2",
            "--config",
            str(config),
            "--out",
            str(run),
            "--no-progress",
        )
    assert result.exit_code == 0, result.output
    assert "RANDOM WEIGHTS" in result.output and (run / "config.json").is_file()


def test_scaling_mixes_open_clip_and_hf_models(cli, datasets_root, tmp_path):
    small = save_tiny_clip(tmp_path / "small", image_size=32)
    r = cli("collect", "cartpole", "--n", "20", "--size", "32")
    assert r.exit_code == 0, r.output
    out = tmp_path / "scaling.png"
    r = cli(
        "scaling",
        "--task",
        "cartpole",
        "--models",
        f"evalkit-tiny-vit,hf:{small}",
        "--pretrained",
        "none",
        "--devices",
        "cpu",
        "--out",
        str(out),
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "scaling_by_size.png").stat().st_size > 5_000  # parameters on the x axis
    assert "│      2 │" in r.output  # both families in the fit
