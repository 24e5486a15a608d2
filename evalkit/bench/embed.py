"""``evalkit bench embed``: evalkit's embedding engine against a naive reference, same frames.

The **naive reference** is what one would write first, run in a fresh process of its own with
default settings: for each batch, open_clip's PIL preprocess frame by frame, ``torch.stack``,
``model.encode_image`` under ``torch.no_grad`` in fp32 (for a Hugging Face model: its image
processor on the batch's PIL images, ``get_image_features``;
:meth:`~evalkit.vlm.backend.LoadedModel.naive_pixels`). The **engine** is
:class:`~evalkit.vlm.embedder.ImageEmbedder` in this process: frames from a memory map,
``uint8`` batch preprocessing (torch's antialiased resize, one grey level from Pillow at most), ``inference_mode``, the chosen precision, glibc told to keep freed memory
(:func:`~evalkit.vlm.devices.keep_freed_memory`), class-token-only last ViT block, channels-last
convolutional towers.

On one device the two take turns batch by batch (same model weights, same batch size, the
reference waiting while the engine runs and vice versa), so that load from other processes on
the machine hits both alike. Each side times its preprocessing and its model separately and
reports its own peak memory. With several devices the engine (worker processes) runs after the
reference.

Between batches it times the dense matrix products of one transformer block at the tower's
shapes (:class:`MatmulProbe`; the best pass counts): the rate the device's matrix units deliver
here, hence a floor on the engine's time per image and a ceiling on any engine's speed-up over
the reference. On a GPU it also reports the engine's share of the data-sheet dense bf16 peak
(:data:`DENSE_BF16_PEAK_TFLOPS`), counting the FLOPs the engine does (:func:`image_gflop`, which
equals torch's own FLOP counter). The reference can run in fp16/bf16 autocast
(``reference_precision``) for the GPU comparison.

It also times a reward sweep (:func:`evalkit.rewards.reward_sweep`): 101 α × 10 prompt pairs
over 100 000 random unit embeddings of the model's dimension.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from PIL import Image

from evalkit.data.store import DatasetWriter
from evalkit.errors import ModelError
from evalkit.rewards import regularised_reward_naive, reward_sweep, unit
from evalkit.vlm import PRECISION_DTYPES, ImageEmbedder, autocast_for, embed_dataset, parse_devices
from evalkit.vlm.backend import ResolvedModel
from evalkit.vlm.models import ModelSpec, ensure_weights, load_model, resolve


@dataclass
class Side:
    """Time and memory of one side of the benchmark."""

    seconds_preprocess: float = 0.0
    seconds_model: float = 0.0
    peak_bytes: int | None = None

    @property
    def seconds(self) -> float:
        return self.seconds_preprocess + self.seconds_model


@dataclass
class EmbedBenchmark:
    """Figures of one ``evalkit bench embed`` run."""

    model: str
    random_weights: bool
    devices: tuple[str, ...]
    precision: str
    reference_precision: str
    frames: int
    frame_hw: tuple[int, int]
    batch_size: int
    naive: Side
    engine: Side
    max_abs_diff: float
    sweep_seconds: float
    sweep_shape: tuple[int, int, int]
    sweep_dim: int
    sweep_max_error: float
    gflop_per_image: float | None
    mode: str
    """``interleaved`` (CPU: engine and reference take turns batch by batch, preprocessing and
    model timed apart), ``pipelined`` (one GPU: the engine's real pipeline, host resizing on a
    thread beside the GPU, after the reference) or ``workers`` (several devices)."""
    machine: dict[str, Any] = field(default_factory=dict)
    matmul_tflops: float | None = None
    """Measured rate of this device's dense matrix products at the image tower's shapes."""
    engine_gflop_per_image: float | None = None
    """FLOPs the engine does per image (it skips most of the last block, see ``image_gflop``)."""
    naive_reference: str = ""
    """What the naive reference does, as its backend says (``PIL, encode_image``)."""

    @property
    def naive_images_per_s(self) -> float:
        return self.frames / self.naive.seconds

    @property
    def engine_images_per_s(self) -> float:
        return self.frames / self.engine.seconds

    @property
    def speedup(self) -> float:
        return self.engine_images_per_s / self.naive_images_per_s

    @property
    def engine_tflops(self) -> float | None:
        """The engine's rate in TFLOP/s, counting the FLOPs it does."""
        if not self.engine_gflop_per_image:
            return None
        return self.engine_images_per_s * self.engine_gflop_per_image / 1e3

    @property
    def peak_tflops(self) -> float | None:
        """The GPU's data-sheet dense bf16 peak (``None`` on the CPU or an unknown GPU)."""
        return dense_bf16_peak(self.machine.get("gpu"))

    @property
    def matmul_floor_seconds(self) -> float | None:
        """Seconds per image the engine's FLOPs take at :attr:`matmul_tflops` (a lower bound)."""
        if not self.engine_gflop_per_image or not self.matmul_tflops:
            return None
        return self.engine_gflop_per_image / (self.matmul_tflops * 1e3)

    @property
    def speedup_ceiling(self) -> float | None:
        """The most any engine could gain over the reference here: the reference's time per image
        over the matrix-product floor plus the engine's own preprocessing (every other op free)."""
        floor = self.matmul_floor_seconds
        if floor is None or self.mode != "interleaved":
            return None
        return (self.naive.seconds / self.frames) / (
            floor + self.engine.seconds_preprocess / self.frames
        )


def image_gflop(
    config: Mapping[str, Any], class_token_only_last_block: bool = False
) -> float | None:
    """Forward FLOPs (2 × multiply-adds) of a plain ViT image tower per image, in GFLOP.

    :param class_token_only_last_block: count the last block as the engine runs it
        (:func:`~evalkit.vlm.fast_forward.cls_only_image_forward`): keys and values of every token, the
        rest for the class token alone.
    """
    shape = _vit_shape(config)
    if shape is None:
        return None
    tokens, width, hidden, layers, embed_dim = shape
    grid = tokens - 1
    patch_inputs = 3 * int(config["vision_cfg"].get("patch_size", 16)) ** 2
    block = tokens * (4 * width * width + 2 * width * hidden) + 2 * tokens * tokens * width
    last = (
        tokens * 2 * width * width + 2 * width * width + 2 * width * hidden + 2 * tokens * width
        if class_token_only_last_block
        else block
    )
    macs = grid * patch_inputs * width + (layers - 1) * block + last + width * embed_dim
    return 2 * macs / 1e9


def _vit_shape(config: Mapping[str, Any]) -> tuple[int, int, int, int, int] | None:
    """(tokens, width, hidden, layers, embed_dim) of a plain ViT image tower, else ``None``."""
    v = config.get("vision_cfg", {})
    if isinstance(v.get("layers"), (list, tuple)) or "timm_model_name" in v:
        return None
    size = v.get("image_size", 224)
    h, w = (size, size) if isinstance(size, int) else size
    p, width = int(v.get("patch_size", 16)), int(v.get("width", 768))
    hidden = int(width * float(v.get("mlp_ratio", 4.0)))
    return (
        (h // p) * (w // p) + 1,
        width,
        hidden,
        int(v.get("layers", 12)),
        int(config.get("embed_dim", 512)),
    )


class MatmulProbe:
    """The dense products of one block of a plain ViT image tower (QKV, attention output, MLP in
    and out) at ``batch_size`` images, in ``dtype``: :meth:`measure` times one pass of them.

    The best of several passes is what the device's matrix units deliver at the tower's shapes.
    """

    def __init__(
        self, config: Mapping[str, Any], batch_size: int, device: torch.device, dtype: torch.dtype
    ) -> None:
        shape = _vit_shape(config)
        if shape is None:
            raise ValueError("not a plain ViT image tower")
        tokens, width, hidden, _, _ = shape
        rows = batch_size * tokens
        self.device = device
        gen = torch.Generator(device="cpu").manual_seed(0)
        x = torch.randn(rows, width, generator=gen).to(device, dtype)
        x_hidden = torch.randn(rows, hidden, generator=gen).to(device, dtype)
        self.products = [
            (x, torch.randn(n_out, width, generator=gen).to(device, dtype))
            for n_out in (3 * width, width, hidden)
        ]
        self.products.append(
            (x_hidden, torch.randn(width, hidden, generator=gen).to(device, dtype))
        )
        self.flop = sum(2 * rows * wt.shape[0] * wt.shape[1] for _, wt in self.products)
        self.best = 0.0
        self.measure()  # warm-up, not kept
        self.best = 0.0

    def measure(self) -> float:
        """TFLOP/s of one pass; :attr:`best` keeps the highest so far."""
        with torch.inference_mode():
            _sync(self.device)
            t0 = time.perf_counter()
            for inp, wt in self.products:
                F.linear(inp, wt)
            _sync(self.device)
        rate = self.flop / (time.perf_counter() - t0) / 1e12
        self.best = max(self.best, rate)
        return rate


DENSE_BF16_PEAK_TFLOPS: dict[str, float] = {
    "H200": 989.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
}
"""Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's data sheets, by a part of the device
name (the first that matches wins, so the more specific names come first)."""


def dense_bf16_peak(device_name: str | None) -> float | None:
    """The data-sheet dense bf16 peak of a GPU, in TFLOP/s, if it is in :data:`DENSE_BF16_PEAK_TFLOPS`."""
    if not device_name:
        return None
    return next((tf for key, tf in DENSE_BF16_PEAK_TFLOPS.items() if key in device_name), None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # Linux: peak RSS := current RSS
        except OSError:
            pass


def _peak(device: torch.device) -> int | None:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _naive_reference(
    resolved: ResolvedModel,
    device: str,
    frames_path: str,
    threads: int,
    conn: Any,
    precision: str = "fp32",
) -> None:
    """Child process: the naive loop, one batch per request ``(a, b)`` on ``conn``; ``None`` ends.

    ``precision`` other than fp32 wraps the image forward in ``torch.autocast`` (the usual way to
    run a model in half precision without touching it)."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    loaded = load_model(resolved, dev)
    frames = np.load(frames_path, mmap_mode="r")
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            break
        a, b = job
        _reset_peak(dev)
        _sync(dev)
        t0 = time.perf_counter()
        x = loaded.naive_pixels([Image.fromarray(np.asarray(f)) for f in frames[a:b]]).to(dev)
        _sync(dev)
        t1 = time.perf_counter()
        with torch.no_grad(), autocast_for(dev.type, precision):
            emb = F.normalize(loaded.encode_pixels(x).float(), dim=-1)
        _sync(dev)
        t2 = time.perf_counter()
        conn.send((emb.cpu().numpy(), t1 - t0, t2 - t1, _peak(dev)))
    conn.close()


def synthetic_frames(n: int, hw: Sequence[int], seed: int = 0) -> np.ndarray:
    """``n`` uint8 frames of size ``hw``: smooth colour fields with noise (like renders, not flat)."""
    rng = np.random.default_rng(seed)
    h, w = int(hw[0]), int(hw[1])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        f = rng.uniform(0.01, 0.05, size=(3, 2))
        phase = rng.uniform(0, 6.3, size=(3,))
        base = np.stack([np.sin(xx * f[c, 0] + yy * f[c, 1] + phase[c]) for c in range(3)], axis=-1)
        noise = rng.normal(0, 0.15, size=(h, w, 3)).astype(np.float32)
        out[i] = np.clip((base * 0.4 + 0.5 + noise) * 255, 0, 255).astype(np.uint8)
    return out


def _machine(device: torch.device) -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
    }
    try:
        info["load_average"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    return info


def time_reward_sweep(
    dim: int,
    n: int = 100_000,
    pairs: int = 10,
    n_alphas: int = 101,
    repeats: int = 3,
    seed: int = 0,
) -> tuple[float, tuple[int, int, int], float]:
    """Best-of-``repeats`` seconds of :func:`reward_sweep` on random unit vectors, and its max error
    against Definition 1 written naively (float64, 50 frames)."""
    rng = np.random.default_rng(seed)
    s = unit(rng.standard_normal((n, dim), dtype=np.float32))
    g = unit(rng.standard_normal((pairs, dim), dtype=np.float32))
    b = unit(rng.standard_normal((pairs, dim), dtype=np.float32))
    alphas = np.linspace(0.0, 1.0, n_alphas)
    best = float("inf")
    out = None
    for _ in range(repeats):
        out = None
        t = time.perf_counter()
        out = reward_sweep(s, g, b, alphas)
        best = min(best, time.perf_counter() - t)
    assert out is not None
    err = 0.0
    for i in range(min(pairs, 3)):
        for j in range(min(n, 50)):
            for k in (0, n_alphas // 3, n_alphas - 1):
                ref = regularised_reward_naive(
                    s[j].astype(np.float64),
                    g[i].astype(np.float64),
                    b[i].astype(np.float64),
                    alphas[k],
                )
                err = max(err, abs(float(out[i, j, k]) - ref))
    return best, tuple(out.shape), err  # type: ignore[return-value]


def run_embed_benchmark(
    spec: ModelSpec | str,
    devices: str | Sequence[str] | None = "auto",
    n: int = 128,
    batch_size: int | None = None,
    precision: str = "fp32",
    reference_precision: str = "fp32",
    frame_hw: Sequence[int] = (400, 600),
    frames: np.ndarray | None = None,
    sweep_n: int = 100_000,
    progress: Callable[[str], None] | None = None,
    pipelined: bool | None = None,
) -> EmbedBenchmark:
    """Measure the naive reference and the engine on the same frames (see the module docs).

    :param precision: the engine's precision.
    :param reference_precision: the naive reference's: ``fp32`` (the CPU target) or an autocast
        one (the GPU target compares bf16 with a reference in fp16 autocast).
    :param frames: frames to use (e.g. a dataset's); default: ``n`` synthetic ``frame_hw`` frames.
    :param progress: called with a line of text as the run goes.
    :param pipelined: on one device, time the engine's whole pipeline after the reference instead
        of interleaving batch by batch (default: on a GPU).
    """
    say = progress or (lambda s: None)
    resolved = resolve(spec)
    if resolved.naive_reference is None:
        raise ModelError(
            f"{resolved.label} has no naive reference path (its {resolved.backend} backend defines "
            "none), so there is nothing to compare the engine with."
        )
    ensure_weights(resolved)  # here: a missing-weights error before the reference process spawns
    device_list = parse_devices(devices)
    device = device_list[0]
    frames = synthetic_frames(n, frame_hw) if frames is None else np.asarray(frames[:n])
    n = len(frames)
    one_device = len(device_list) == 1
    if pipelined is None:
        pipelined = device.type == "cuda"
    mode = "workers" if not one_device else "pipelined" if pipelined else "interleaved"
    interleaved = mode == "interleaved"
    naive, engine = Side(), Side()
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
        frames_path = Path(tmp) / "frames.npy"
        np.save(frames_path, np.ascontiguousarray(frames))
        mapped = np.load(frames_path, mmap_mode="r")
        say(
            f"loading {resolved.label} on {device} (engine here, naive reference in a fresh process)..."
        )
        ctx = mp.get_context("spawn")
        here, there = ctx.Pipe()
        child = ctx.Process(
            target=_naive_reference,
            daemon=True,
            args=(
                resolved,
                str(device),
                str(frames_path),
                torch.get_num_threads(),
                there,
                reference_precision,
            ),
        )
        child.start()
        try:
            embedder = (
                ImageEmbedder(resolved, device, precision, batch_size) if one_device else None
            )
            bs = embedder.batch_size if embedder is not None else (batch_size or 32)
            if not here.poll(600) or here.recv() != "ready":
                raise RuntimeError("the naive reference process did not start")

            def run_naive(a: int, b: int) -> np.ndarray:
                here.send((a, b))
                emb, t_pre, t_model, peak = here.recv()
                naive.seconds_preprocess += t_pre
                naive.seconds_model += t_model
                naive.peak_bytes = max(naive.peak_bytes or 0, peak or 0) or None
                return emb

            def run_engine(a: int, b: int) -> np.ndarray:
                assert embedder is not None
                _reset_peak(device)
                _sync(device)
                t0 = time.perf_counter()
                x = embedder.preprocessor(mapped.shape[1:3])(mapped[a:b])
                _sync(device)
                t1 = time.perf_counter()
                emb = embedder.encode_pixels(x)
                _sync(device)
                t2 = time.perf_counter()
                engine.seconds_preprocess += t1 - t0
                engine.seconds_model += t2 - t1
                engine.peak_bytes = max(engine.peak_bytes or 0, _peak(device) or 0) or None
                return emb.cpu().numpy()

            say("warming up...")
            run_naive(0, min(n, 2))
            if embedder is not None:
                run_engine(
                    0, min(n, 2 if device.type == "cpu" else bs)
                )  # a GPU: a full batch, for its kernels' choices
            naive.seconds_preprocess = naive.seconds_model = engine.seconds_preprocess = (
                engine.seconds_model
            ) = 0.0
            # The matrix units' rate at the tower's shapes, measured between batches (best of them).
            shape = resolved.flop_config
            probe = (
                MatmulProbe(shape, bs, device, PRECISION_DTYPES[precision])
                if one_device and shape and _vit_shape(shape)
                else None
            )
            naive_out, engine_out = [], []
            for k, a in enumerate(range(0, n, bs)):
                b = min(n, a + bs)
                first_naive = k % 2 == 0
                if first_naive or not interleaved:
                    naive_out.append(run_naive(a, b))
                if interleaved:
                    engine_out.append(run_engine(a, b))
                    if not first_naive:
                        naive_out.append(run_naive(a, b))
                if probe is not None and interleaved:
                    probe.measure()
                say(
                    f"batch {k + 1}/{-(-n // bs)}: naive {b / naive.seconds:.2f} img/s"
                    + (f", engine {b / engine.seconds:.2f} img/s" if interleaved else "")
                )
            here.send(None)
            if mode == "pipelined":
                say(
                    f"engine on {device}: the whole pipeline (host resizing on a thread beside the GPU)..."
                )
                _reset_peak(device)
                _sync(device)
                t0 = time.perf_counter()
                engine_out = [emb.cpu().numpy() for _, _, emb in embedder.iter_batches(mapped)]
                _sync(device)
                engine.seconds_model = time.perf_counter() - t0
                engine.peak_bytes = _peak(device)
                for _ in range(5 if probe is not None else 0):
                    probe.measure()
        finally:
            child.join(timeout=30)
            if child.is_alive():
                child.terminate()
        naive_all = np.concatenate(naive_out)
        if one_device:
            engine_all = np.concatenate(engine_out)
            dim = embedder.embed_dim
        else:
            say(f"engine on {', '.join(map(str, device_list))} (worker processes)...")
            engine_all, seconds = _engine_with_workers(
                resolved, frames, device_list, bs, precision, Path(tmp)
            )
            engine.seconds_model = seconds
            dim = resolved.embed_dim
    diff = float(np.abs(engine_all - naive_all).max())
    say("timing the reward sweep...")
    sweep_s, sweep_shape, sweep_err = time_reward_sweep(dim, n=sweep_n)
    return EmbedBenchmark(
        model=resolved.label,
        random_weights=resolved.random_weights,
        devices=tuple(str(d) for d in device_list),
        precision=precision,
        reference_precision=reference_precision,
        frames=n,
        frame_hw=(int(frames.shape[1]), int(frames.shape[2])),
        batch_size=bs,
        naive=naive,
        engine=engine,
        max_abs_diff=diff,
        sweep_seconds=sweep_s,
        sweep_shape=sweep_shape,
        sweep_dim=dim,
        sweep_max_error=sweep_err,
        gflop_per_image=image_gflop(resolved.flop_config) if resolved.flop_config else None,
        mode=mode,
        machine=_machine(device),
        matmul_tflops=probe.best if probe is not None else None,
        engine_gflop_per_image=image_gflop(
            resolved.flop_config, resolved.class_token_only_last_block
        )
        if resolved.flop_config
        else None,
        naive_reference=resolved.naive_reference,
    )


def _engine_with_workers(
    resolved: ResolvedModel,
    frames: np.ndarray,
    devices: Sequence[torch.device],
    batch_size: int,
    precision: str,
    tmp: Path,
) -> tuple[np.ndarray, float]:
    """The engine on several devices: a temporary dataset through :func:`embed_dataset`."""
    n = len(frames)
    with DatasetWriter(
        tmp / "datasets",
        "bench",
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="bench",
        params={"n": n},
        render={},
        n_frames=n,
        frame_shape=tuple(frames.shape[1:]),
    ) as w:
        w.add(
            np.asarray(frames),
            pd.DataFrame({"episode": np.zeros(n, int), "step": np.arange(n), "angle": 0.0}),
        )
    assert w.dataset is not None
    result = embed_dataset(
        w.dataset,
        resolved,
        devices=[str(d) for d in devices],
        batch_size=batch_size,
        precision=precision,
        progress=False,
    )
    return np.asarray(result.values), result.seconds_embedding
