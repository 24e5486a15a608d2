"""Atomic file writes: a file appears whole under its name, or not at all.

Every writer in evalkit that replaces a file (datasets, caches, figures, checkpoints, label sets)
goes through :func:`atomic_path`, so a crash or Ctrl-C never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success fsync it and rename it to ``target``.

    On an exception (or Ctrl-C) the temporary file is deleted and ``target`` is left as it was.
    The temporary file is hidden (``.name.XXXX.tmp``) and created with the usual permissions.

    :param suffix: suffix of the temporary file (default ``.tmp``), for writers that insist on one.
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix or ".tmp")
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~umask())
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(text: str, target: str | os.PathLike[str]) -> None:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a file's data to disk."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
