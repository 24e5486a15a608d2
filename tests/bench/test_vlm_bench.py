"""``evalkit bench embed``'s arithmetic: FLOP counts against torch's own counter, the matrix-
product probe, GPU peaks, and the reference in autocast."""

from __future__ import annotations

import open_clip
import pytest
import torch
from helpers_vlm import TINY_VIT
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from evalkit.bench.embed import MatmulProbe, dense_bf16_peak, image_gflop, run_embed_benchmark
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.fast_forward import cls_only_image_forward
from evalkit.vlm.models import resolve


def _counted_gflop(forward, size) -> float:
    """FLOPs per image as torch counts them, with attention in plain matrix products (the math
    SDPA kernel, no fused MHA fast path) so that every product is seen. On the meta device:
    shapes only, no arithmetic."""
    x = torch.randn(2, 3, *size, device="meta")
    counter = FlopCounterMode(display=False)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
            forward(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return counter.get_total_flops() / 2 / 1e9


def test_the_engine_runs_the_class_token_only_forward():
    assert (
        ImageEmbedder(TINY_VIT)._image_forward.__qualname__
        == "cls_only_image_forward.<locals>.forward"
    )


@pytest.mark.parametrize("model", [TINY_VIT, "ViT-B-32"])
def test_image_gflop_equals_torchs_flop_counter(model):
    resolved = resolve(model, "none")
    size, config = resolved.preprocess["size"], resolved.config
    with torch.device("meta"):  # the architecture without weights: built in no time
        tower = open_clip.create_model(resolved.arch, pretrained=None, device="meta")
    assert image_gflop(config) == pytest.approx(_counted_gflop(tower.encode_image, size), rel=1e-9)
    # the engine's forward skips most of the last block; the count says by how much
    engine = _counted_gflop(cls_only_image_forward(tower), size)
    assert image_gflop(config, class_token_only_last_block=True) == pytest.approx(engine, rel=1e-9)
    if model == "ViT-B-32":
        assert image_gflop(config) == pytest.approx(8.818, abs=1e-3)  # the usual "4.4 GMACs"
        assert 0.06 < 1 - engine / image_gflop(config) < 0.07


def test_matmul_probe_counts_one_blocks_products():
    config = {
        "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 2},
        "embed_dim": 32,
    }
    probe = MatmulProbe(config, batch_size=3, device=torch.device("cpu"), dtype=torch.float32)
    rows = 3 * (16 + 1)
    assert probe.flop == 2 * rows * 64 * (3 * 64 + 64 + 256 + 256)
    assert probe.best == 0.0 and probe.measure() > 0 and probe.best > 0


def test_dense_bf16_peaks_pick_the_specific_name_first():
    assert dense_bf16_peak("NVIDIA H100 PCIe") == 756.0
    assert dense_bf16_peak("NVIDIA H100 80GB HBM3") == 989.0
    assert dense_bf16_peak("NVIDIA H200") == 989.0
    assert dense_bf16_peak("NVIDIA A100-SXM4-80GB") == 312.0
    assert dense_bf16_peak("NVIDIA L40S") == 362.0 and dense_bf16_peak("NVIDIA L4") == 121.0
    assert dense_bf16_peak("Some Other GPU") is None and dense_bf16_peak(None) is None


@pytest.mark.slow
def test_reference_in_autocast_and_the_ceiling(tmp_path):
    r = run_embed_benchmark(
        TINY_VIT,
        devices="cpu",
        n=8,
        batch_size=4,
        reference_precision="bf16",
        frame_hw=(40, 48),
        sweep_n=1000,
    )
    assert r.reference_precision == "bf16" and r.precision == "fp32"
    assert 1e-4 < r.max_abs_diff < 0.1  # bf16 against fp32: close, not equal
    assert r.matmul_tflops and r.matmul_tflops > 0
    assert r.matmul_floor_seconds == pytest.approx(
        r.engine_gflop_per_image / (r.matmul_tflops * 1e3)
    )
    assert r.speedup_ceiling == pytest.approx(
        (r.naive.seconds / r.frames)
        / (r.matmul_floor_seconds + r.engine.seconds_preprocess / r.frames)
    )
    assert r.peak_tflops is None  # no GPU here


@pytest.mark.slow
def test_pipelined_engine_gives_the_interleaved_embeddings():
    """The GPU's way of timing (the engine's whole pipeline after the reference), run on the CPU."""
    r = run_embed_benchmark(
        TINY_VIT, devices="cpu", n=10, batch_size=4, frame_hw=(32, 40), sweep_n=1000, pipelined=True
    )
    assert r.mode == "pipelined" and r.engine.seconds_preprocess == 0 and r.engine.seconds_model > 0
    assert (
        r.max_abs_diff < 1e-5 and r.speedup_ceiling is None
    )  # frames of the model's height: only cropped
