"""``evalkit embed``, ``evalkit models`` and ``evalkit bench embed`` as a user runs them."""

from __future__ import annotations

import pytest
from helpers_vlm import make_dataset


def test_embed_twice_then_cached(datasets_root, cli):
    make_dataset(datasets_root, "toy", n=12)
    args = (
        "embed",
        "toy",
        "--model",
        "evalkit-tiny-vit",
        "--pretrained",
        "none",
        "--devices",
        "cpu",
        "--no-progress",
    )
    first = cli(*args)
    assert first.exit_code == 0, first.output
    assert "RANDOM WEIGHTS" in first.output
    assert (
        "Embedded 12 frames of toy with evalkit-tiny-vit/RANDOM-WEIGHTS (fp32) on cpu: 32-dim"
        in first.output
    )
    assert "cache: " + str(datasets_root / "toy" / "embeddings") in first.output
    second = cli(*args)
    assert (
        second.exit_code == 0
        and "Cached: 12 frames" in second.output
        and "nothing to compute" in second.output
    )


def test_embed_user_errors(datasets_root, cli):
    make_dataset(datasets_root, "toy", n=4)
    r = cli("embed", "toy", "--model", "ViT-B-23")
    assert r.exit_code == 2 and "Did you mean 'ViT-B-32'" in r.output
    r = cli("embed", "nope", "--model", "evalkit-tiny-vit", "--pretrained", "none")
    assert r.exit_code == 2 and "No dataset called 'nope'" in r.output
    r = cli(
        "embed", "toy", "--model", "evalkit-tiny-vit", "--pretrained", "none", "--devices", "cuda:7"
    )
    assert r.exit_code == 2 and "does not exist" in r.output
    r = cli(
        "embed", "toy", "--model", "evalkit-tiny-vit", "--pretrained", "none", "--precision", "fp8"
    )
    assert r.exit_code == 2 and "precision" in r.output
    r = cli("embed", "toy", "--model", "evalkit-tiny-vit", "--pretrained", "missing.safetensors")
    assert r.exit_code == 2 and "does not exist" in r.output


def test_models_lists_defaults_and_sizes(cli):
    r = cli("models")
    assert r.exit_code == 0, r.output
    lines = {
        line.split("│")[1].strip(): line for line in r.output.splitlines() if line.count("│") >= 4
    }
    assert "laion2b_s32b_b79k" in lines["ViT-H-14"].split("│")[3] and "986.1 M" in lines["ViT-H-14"]
    assert "openai" in lines["RN50"].split("│")[3] and "102.0 M" in lines["RN50"]
    assert "evalkit-tiny-vit" in lines and "--pretrained none" in lines["evalkit-tiny-vit"]


@pytest.mark.slow
def test_bench_embed_runs_with_random_weights(cli):
    r = cli(
        "bench",
        "embed",
        "--model",
        "evalkit-tiny-vit",
        "--pretrained",
        "none",
        "--n",
        "6",
        "--batch-size",
        "4",
        "--frame-size",
        "40x32",
        "--sweep-n",
        "2000",
        "--devices",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    for text in (
        "RANDOM WEIGHTS",
        "naive reference",
        "evalkit engine",
        "speed-up",
        "reward sweep: 101 alphas x 10 prompt pairs x 2000 embeddings (dim 32)",
    ):
        assert text in r.output
    diff = float(r.output.split("max |Δ| between the embeddings: ")[1].split()[0])
    assert (
        diff <= 1e-5
    )  # frames with the model's height are only cropped: same pixels, same embeddings
