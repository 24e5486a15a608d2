"""Small helpers for the sentences evalkit prints."""

from __future__ import annotations


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 frame"``, ``"3 frames"``: a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else (plural_form or noun + 's')}"
