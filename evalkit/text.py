"""Small helpers for the sentences evalkit prints: counts, numbers, sizes."""

from __future__ import annotations

import math
from typing import Any, Iterable


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 frame"``, ``"3 frames"``: a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else (plural_form or plural_noun(noun))}"


def plural_noun(noun: str) -> str:
    """The plural of an English noun or noun phrase (its last word changes): ``frame`` ->
    ``frames``, ``environment family`` -> ``environment families``, ``match`` -> ``matches``."""
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def fixed(x: Any, digits: int = 3, missing: str = "—") -> str:
    """``0.123``: a number with ``digits`` decimals, never ``nan``.

    A value that is not a finite number (``None``, NaN, ±inf, ``pd.NA``, text) prints as
    ``missing``.
    """
    try:
        value = float(x)
    except (TypeError, ValueError):
        return missing
    return f"{value:.{digits}f}" if math.isfinite(value) else missing


def significant(x: float | None, digits: int = 4, missing: str = "n/a") -> str:
    """``12.35``, ``1.235e+04``: a number with ``digits`` significant digits (``missing`` for ``None``)."""
    return missing if x is None else f"{x:.{digits}g}"


def short_count(value: float) -> str:
    """A large count for people: ``102M``, ``2.54B``, ``12k``, ``950`` (three significant digits)."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:g}"


def alpha_label(alpha: float) -> str:
    """``α = 0.25``: a regularisation strength with as few digits as the value needs."""
    return f"α = {float(alpha):g}"


def byte_size(n: int) -> str:
    """A file size for people in binary units: ``512 B``, ``1.5 KiB``, ``12.3 MiB``, ``2.0 GiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def number_list(values: Iterable[float]) -> str:
    """``0,0.5,1``: numbers as a command-line option takes them (``--alpha 0,0.5,1``)."""
    return ",".join(f"{float(v):g}" for v in values)
