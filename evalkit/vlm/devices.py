"""Where the image tower runs and in which number format: device names (``"auto"``, ``"cpu"``,
``"cuda:0,cuda:1"``...), the torch dtypes and autocast of the precisions, the CPU cores this
process may use, and the glibc allocator tuning that speeds up the CPU forward."""

from __future__ import annotations

import contextlib
import ctypes
import os
from typing import Any, Sequence

import torch

from evalkit.errors import EvalkitError

PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
"""The torch dtype of each of :data:`evalkit.vlm.precision.PRECISIONS`."""


def autocast_for(device_type: str, precision: str) -> contextlib.AbstractContextManager[Any]:
    """Nothing for fp32; ``torch.autocast`` to bf16 or fp16 otherwise (outputs are cast back by the caller)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=PRECISION_DTYPES[precision])


def available_devices() -> list[str]:
    """The devices of this machine, as evalkit names them."""
    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def parse_devices(devices: str | Sequence[str] | None) -> list[torch.device]:
    """Devices from ``"auto"``, ``"cpu"``, ``"cuda:0,cuda:1"``, ``"cpu,cpu"`` (or a list).

    :raises EvalkitError: a device that does not exist on this machine.
    """
    if devices is None or (isinstance(devices, str) and devices.strip().lower() == "auto"):
        n = torch.cuda.device_count()
        return [torch.device(f"cuda:{i}") for i in range(n)] if n else [torch.device("cpu")]
    items = (
        [d.strip() for d in devices.split(",")]
        if isinstance(devices, str)
        else [str(d).strip() for d in devices]
    )
    items = [d for d in items if d]
    if not items:
        raise EvalkitError(
            "No device given; use --devices auto, cpu, cuda:0 or a comma-separated list."
        )
    out = []
    for item in items:
        try:
            dev = torch.device(item)
        except RuntimeError:
            raise EvalkitError(
                f"{item!r} is not a device; use auto, cpu, cuda:N or a comma-separated list "
                f"(this machine has: {', '.join(available_devices())})."
            ) from None
        if dev.type == "cuda":
            index = 0 if dev.index is None else dev.index
            if index >= torch.cuda.device_count():
                raise EvalkitError(
                    f"Device {item} does not exist; this machine has: {', '.join(available_devices())}."
                )
            dev = torch.device(f"cuda:{index}")
        elif dev.type == "cpu":
            dev = torch.device("cpu")
        else:
            raise EvalkitError(
                f"Device type {dev.type!r} is not supported; this machine has: {', '.join(available_devices())}."
            )
        out.append(dev)
    return out


def cpu_count() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.

    Big activation tensors are otherwise mapped and unmapped for every batch, and the page
    faults that follow are paid again each time (the reason PyTorch's CPU performance guide
    recommends jemalloc or tcmalloc). On the 2-core VM evalkit was developed on, ViT-B-32's
    forward took 54 ms/image without and 39 ms/image with this setting. It is process-wide and
    kept (up to 1 GiB of freed heap stays with the process). No effect where glibc is absent.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: serve allocations below 1 GiB from the heap
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB of free heap
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass
