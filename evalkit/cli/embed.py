"""``evalkit embed``, ``evalkit models`` and ``evalkit bench embed``: the VLM reward engine."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import app, bench_app, console
from evalkit.cli._common import BATCH_SIZE, DEVICES, MODEL, PRETRAINED, ROOT
from evalkit.errors import EvalkitError

ModelOption = MODEL(
    default=...,
    help="open_clip architecture (see 'evalkit models'), a model config JSON, or a Hugging Face "
    "CLIP/SigLIP model: hf:ORG/NAME[@REVISION] or hf:/path/to/save_pretrained/folder.",
)
PretrainedOption = PRETRAINED(
    flags=("-p",),
    help="Pretrained tag, path to a checkpoint (.safetensors / state dict), or 'none' for random weights "
    "(default: evalkit's tag for the model; an hf: model takes only 'none').",
)
DevicesOption = DEVICES(
    default="auto",
    flags=("-d",),
    help="auto (every GPU, else the CPU), cpu, cuda:0, or a comma-separated list: one worker per entry "
    "(cpu,cpu = two CPU workers sharing the cores).",
)
BatchOption = BATCH_SIZE(
    flags=("-b",),
    min=None,
    help="Frames per forward pass (default 32 on CPU, 256 on GPU; halved if it does not fit).",
)
PrecisionOption = typer.Option(
    "fp32", "--precision", help="fp32, or bf16 / fp16 autocast (outputs stay float32)."
)


def _random_banner(label: str, random_weights: bool) -> None:
    if random_weights:
        from evalkit.vlm.registry import RANDOM_WEIGHTS_WARNING

        console(stderr=True).print(f"[bold red]{RANDOM_WEIGHTS_WARNING.format(label=label)}[/]")


def _is_main_rank() -> bool:
    import os

    return os.environ.get("RANK", "0") in ("", "0")


@app.command("embed")
def embed_command(
    dataset: str = typer.Argument(..., help="Dataset name (under --root) or path."),
    model: str = ModelOption,
    pretrained: Optional[str] = PretrainedOption,
    devices: str = DevicesOption,
    batch_size: Optional[int] = BatchOption,
    precision: str = PrecisionOption,
    root: Optional[Path] = ROOT(),
    allow_upscale: bool = typer.Option(
        False, "--allow-upscale", help="Embed frames smaller than the model's input (upsampled)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Compute the normalised image embedding of every frame once and cache it with the dataset.

    A second call is instant; an interrupted call resumes from the last finished shard. Under
    torchrun (torchrun --nproc-per-node N --no-python evalkit embed ...) every rank embeds a
    share and rank 0 merges.
    """
    from evalkit.data.store import open_dataset
    from evalkit.vlm.engine import embed_dataset
    from evalkit.vlm.models import ModelSpec, resolve

    ds = open_dataset(dataset, root)
    resolved = resolve(ModelSpec.coerce(model, pretrained))
    main = _is_main_rank()
    if main:
        _random_banner(resolved.label, resolved.random_weights)
    result = embed_dataset(
        ds,
        resolved,
        devices=devices,
        batch_size=batch_size,
        precision=precision,
        progress=progress and main,
        allow_upscale=allow_upscale,
    )
    if not main:
        return
    out = console()
    what = f"{result.n} frames of {ds.name} with {result.model} ({result.precision})"
    if result.computed == 0:
        out.print(f"Cached: {what}, {result.dim}-dim; nothing to compute ({result.seconds:.2f} s).")
    else:
        speed = f", {result.images_per_second:.1f} images/s" if result.images_per_second else ""
        done = (
            what
            if result.computed == result.n
            else (f"{result.computed} of the {what} ({result.n - result.computed} were cached)")
        )
        out.print(
            f"Embedded {done} on {', '.join(result.devices)}: {result.dim}-dim, "
            f"{result.seconds:.1f} s in all{speed}, batch size {result.batch_size}."
        )
    out.print(f"cache: {result.path}")
    _random_banner(result.model, result.random_weights)


@app.command("models")
def models_command(
    all_models: bool = typer.Option(
        False, "--all", help="Also list architectures without pretrained weights."
    ),
    cached: bool = typer.Option(
        False, "--cached", help="Only models with weights on this machine."
    ),
) -> None:
    """List the models of every registered backend: open_clip's (evalkit's default weights,
    parameters, pretrained tags), well-known Hugging Face CLIP/SigLIP repositories (parameters),
    and those of any plugin's backend, with what is cached here."""
    from evalkit.vlm.registry import registered_backends

    out = console()
    listed = 0
    unlisted = []
    for backend in registered_backends():
        catalogue = backend.catalogue(include_all=all_models)
        if catalogue is None:
            unlisted.append(backend)
            continue
        if cached:
            catalogue = catalogue.only_cached()
        if catalogue.rows:
            _print_catalogue(catalogue)
            listed += 1
    if cached and not listed:
        out.print(
            "No model weights are cached on this machine yet: they download on first use "
            "(evalkit embed DATASET --model NAME), or load from files: --pretrained PATH for "
            "open_clip, --model hf:/path/to/folder for Hugging Face."
        )
    for backend in unlisted:
        out.print(f"{backend.name} models (no list): {backend.usage}")


def _print_catalogue(catalogue) -> None:
    from rich.table import Table

    table = Table(title=catalogue.title, show_lines=False)
    for i, column in enumerate(catalogue.columns):
        table.add_column(
            column,
            justify="right" if column == "parameters" else "left",
            overflow="fold" if i == len(catalogue.columns) - 1 else "ellipsis",
        )
    for row in catalogue.rows:
        table.add_row(*row)
    out = console()
    out.print(table)
    out.print(catalogue.footer)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise EvalkitError(
            f"--frame-size must look like 600x400 (width x height), not {text!r}."
        ) from None
    if w <= 0 or h <= 0:
        raise EvalkitError(f"--frame-size must be positive, not {text!r}.")
    return h, w


@bench_app.command("embed")
def bench_embed_command(
    model: str = MODEL(
        default="ViT-B-32",
        help="open_clip architecture, or hf:ORG/NAME[@REVISION] / hf:/path (Hugging Face CLIP/SigLIP).",
    ),
    pretrained: Optional[str] = PretrainedOption,
    devices: str = DevicesOption,
    n: int = typer.Option(128, "--n", help="Frames to embed."),
    batch_size: Optional[int] = BatchOption,
    precision: str = PrecisionOption,
    reference_precision: str = typer.Option(
        "fp32",
        "--reference-precision",
        help="The naive reference's precision: fp32 (the CPU target), or fp16 / bf16 autocast (the GPU target compares --precision bf16 with an fp16-autocast reference).",
    ),
    frame_size: str = typer.Option(
        "600x400",
        "--frame-size",
        help="Synthetic frame size, width x height (gymnasium's CartPole renders 600x400).",
    ),
    dataset: Optional[str] = typer.Option(
        None, "--dataset", help="Use the first --n frames of this dataset instead."
    ),
    root: Optional[Path] = ROOT(),
    sweep_n: int = typer.Option(100_000, "--sweep-n", help="Embeddings in the timed reward sweep."),
) -> None:
    """Naive reference (the model library's own path, as its backend defines it: PIL +
    encode_image for open_clip, the image processor on PIL images + get_image_features for
    Hugging Face; fp32) vs evalkit's engine on the same frames, and a reward sweep."""
    import numpy as np

    from evalkit.bench.embed import run_embed_benchmark
    from evalkit.vlm.models import ModelSpec

    if n < 1:
        raise EvalkitError("--n must be at least 1.")
    frames = None
    if dataset is not None:
        from evalkit.data.store import open_dataset

        frames = np.asarray(open_dataset(dataset, root).frames[:n])
    err = console(stderr=True)
    spec = ModelSpec.coerce(model, pretrained)
    for name, value in (("--precision", precision), ("--reference-precision", reference_precision)):
        if value not in ("fp32", "bf16", "fp16"):
            raise EvalkitError(f"{name} must be fp32, bf16 or fp16, not {value!r}.")
    r = run_embed_benchmark(
        spec,
        devices=devices,
        n=n,
        batch_size=batch_size,
        precision=precision,
        reference_precision=reference_precision,
        frame_hw=_parse_size(frame_size),
        frames=frames,
        sweep_n=sweep_n,
        progress=lambda s: err.print(f"[dim]{s}[/]"),
    )
    out = console()
    m = r.machine

    def gib(b: int | None) -> str:
        return f"{b / 2**30:.2f} GiB" if b else "n/a"

    if r.random_weights:
        out.print(
            f"[bold red]RANDOM WEIGHTS: {r.model} (--pretrained none); speed is real, embeddings are not.[/]"
        )
    where = ", ".join(r.devices)
    load = " / ".join(f"{v:.1f}" for v in m.get("load_average", ()))
    out.print(
        f"evalkit bench embed: {r.model} on {where}, {r.precision}, {r.frames} frames of "
        f"{r.frame_hw[1]}x{r.frame_hw[0]}, batch size {r.batch_size}"
    )
    out.print(
        f"machine: {m.get('cpu')}, {m.get('cores')} cores, torch {m.get('torch')} with {m.get('torch_threads')} threads, "
        f"GPU: {m.get('gpu') or 'none'}; load average {load}"
    )

    def line(name: str, side, ips: float) -> str:
        split = (
            f"preprocess {1e3 * side.seconds_preprocess / r.frames:6.2f} ms/img, model {1e3 * side.seconds_model / r.frames:6.2f} ms/img"
            if side.seconds_preprocess
            else f"{1e3 * side.seconds_model / r.frames:6.2f} ms/img, {r.mode}"
        )
        return f"  {name:<44}{ips:8.2f} images/s   ({split})   peak memory {gib(side.peak_bytes)}"

    ref = "fp32" if r.reference_precision == "fp32" else f"{r.reference_precision} autocast"
    out.print(line(f"naive reference ({r.naive_reference}, {ref}):", r.naive, r.naive_images_per_s))
    out.print(line(f"evalkit engine ({r.precision}):", r.engine, r.engine_images_per_s))
    how = {
        "interleaved": "interleaved batch by batch",
        "pipelined": "the engine's whole pipeline, after the reference",
        "workers": "engine workers, after the reference",
    }[r.mode]
    out.print(f"  speed-up: {r.speedup:.2f}x   ({how})")
    out.print(f"  max |Δ| between the embeddings: {r.max_abs_diff:.2e}")
    if r.gflop_per_image:
        tflops = r.engine_images_per_s * r.gflop_per_image / 1e3
        out.print(
            f"  image tower: {r.gflop_per_image:.1f} GFLOP/image (2 x multiply-adds; the engine does "
            f"{r.engine_gflop_per_image:.1f}) -> engine at {tflops:.3f} TFLOP/s of the tower's FLOPs"
        )
    if r.peak_tflops and r.engine_tflops:
        out.print(
            f"  {m.get('gpu')}: data-sheet dense bf16 peak {r.peak_tflops:.0f} TFLOP/s; the engine's "
            f"{r.engine_gflop_per_image:.1f} GFLOP/image run at {r.engine_tflops:.1f} TFLOP/s = "
            f"{r.engine_tflops / r.peak_tflops:.1%} of it"
        )
    if r.matmul_floor_seconds:
        floor_ms = 1e3 * r.matmul_floor_seconds
        naive_floor_ms = floor_ms * r.gflop_per_image / r.engine_gflop_per_image
        out.print(
            f"  dense matrix products at the tower's shapes ({r.precision}, best between batches): "
            f"{r.matmul_tflops:.3f} TFLOP/s, a floor of {floor_ms:.2f} ms/img for the engine's FLOPs; "
            f"the reference's model part runs at {naive_floor_ms / (1e3 * r.naive.seconds_model / r.frames):.0%} of that rate"
        )
        if r.speedup_ceiling:
            out.print(
                f"  ceiling: no engine doing the engine's FLOPs can beat the reference by more than "
                f"{r.speedup_ceiling:.2f}x here (that floor plus the engine's preprocessing, every other op free)"
            )
    p, nn, k = r.sweep_shape
    out.print(
        f"reward sweep: {k} alphas x {p} prompt pairs x {nn} embeddings (dim {r.sweep_dim}): {r.sweep_seconds:.3f} s "
        f"(best of 3; max error vs Definition 1 written naively: {r.sweep_max_error:.1e})"
    )
