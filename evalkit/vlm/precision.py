"""The precisions the image tower can run in, by name; imports no torch (``evalkit.train.config`` uses it).

Their torch dtypes and autocast are in :mod:`evalkit.vlm.devices`.
"""

from __future__ import annotations

from evalkit.errors import EvalkitError

PRECISIONS = ("fp32", "bf16", "fp16")
"""``fp32``, or ``bf16`` / ``fp16`` autocast (embeddings stay float32)."""


def check_precision(precision: str) -> None:
    """:raises EvalkitError: ``precision`` is not one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise EvalkitError(f"Unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}.")
