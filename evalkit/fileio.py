"""Atomic file writes and file locks: a file appears whole under its name, or not at all.

Every writer in evalkit that replaces a file (datasets, caches, figures, checkpoints, label sets)
goes through :func:`atomic_path`, so a crash or Ctrl-C never leaves a half-written file behind;
a folder (a dataset, a report, a resume state) is published whole by :func:`atomic_folder`.
Writers that share a file across processes hold :func:`file_lock`. SIGTERM (what ``timeout``,
SLURM preemption and ``docker stop`` send) is made to act like Ctrl-C by
:func:`terminate_as_interrupt`, so the same clean-up runs for both.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop evalkit as Ctrl-C does (each clean-up and checkpoint-on-stop handles both)."""

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None  # type: ignore[assignment]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's ``KeyboardInterrupt`` would be (and caught like it)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def terminate_as_interrupt() -> None:
    """From now on SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in the main
    thread, so whatever cleans up after Ctrl-C also cleans up after ``kill``/``timeout``."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success fsync it and rename it to ``target``.

    On an exception (or Ctrl-C) the temporary file is deleted and ``target`` is left as it was.
    The temporary file is hidden (``.name.XXXX.tmp``) and created with the usual permissions.

    :param suffix: suffix of the temporary file (default ``.tmp``), for writers that insist on one.
    """
    target = Path(target)
    with _named_after(target):
        fd, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=suffix or ".tmp"
        )
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~umask())
    try:
        with _writing(target, tmp):
            yield tmp
            fsync_file(tmp)
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


_FULL = (errno.ENOSPC, errno.EDQUOT)

FULL_DISK_BYTES = 1 << 20
"""A file system with less room than this (for unprivileged writers) counts as full."""


def disk_is_full(folder: str | os.PathLike[str]) -> bool:
    """Whether the file system holding ``folder`` has less than :data:`FULL_DISK_BYTES` free."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # gone, or not POSIX
        return False
    return st.f_bavail * st.f_frsize < FULL_DISK_BYTES


@contextmanager
def _writing(target: Path, tmp: Path) -> Iterator[None]:
    """A writer's failure as an ``OSError`` about ``target`` (the place the user chose).

    Writers report a full disk in many ways: ``OSError(ENOSPC)`` without a file name (``write``,
    ``fsync``), numpy's errno-less "8192 requested and 4064 written", torch's and zipfile's own
    exceptions. Each is raised again as ``OSError(ENOSPC, ..., target)`` when the file system is
    full as the writer fails (checked before the temporary is deleted), so the CLI says so in one
    sentence; an ``OSError`` about the temporary, or a nameless ENOSPC/EDQUOT, is renamed to
    ``target``. Anything else,
    and evalkit's own errors, pass unchanged.
    """
    try:
        yield
    except Exception as exc:
        error = _place_error(exc, target, tmp)
        if error is None:
            raise
        raise error from exc


def _place_error(exc: Exception, target: Path, tmp: Path) -> OSError | None:
    if type(exc).__module__.startswith("evalkit"):
        return None
    if isinstance(exc, OSError) and exc.errno is not None:
        if str(exc.filename) == str(tmp) or (exc.filename is None and exc.errno in _FULL):
            return type(exc)(exc.errno, exc.strerror, str(target))
        return None
    if disk_is_full(tmp if tmp.is_dir() else tmp.parent):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    return None


@contextmanager
def _named_after(target: Path) -> Iterator[None]:
    """Report an ``OSError`` of making a temporary beside ``target`` under ``target``'s name
    (the place the user chose), not the hidden temporary's."""
    try:
        yield
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(target)) from None


def is_writable(folder: str | os.PathLike[str]) -> bool:
    """Whether a file can be created in ``folder`` (tried, so read-only mounts count too)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


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


def digest(*parts: bytes | str) -> str:
    """A short content hash (16 hex digits, BLAKE2b) of ``parts``, each kept apart from the next."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        data = part.encode() if isinstance(part, str) else bytes(part)
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def file_digest(path: str | os.PathLike[str]) -> str:
    """The content hash of a file (read in 1 MiB blocks)."""
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def file_lock(
    target: int | str | os.PathLike[str],
    shared: bool = False,
    on_wait: Callable[[], None] | None = None,
    wait: bool = True,
) -> Iterator[None]:
    """Hold an ``flock`` on ``target`` for the block (released at its end, even on an error).

    :param target: an open file descriptor to lock, or the path of a lock file (created if
        missing, ``0o644``, and closed at the end).
    :param shared: take a shared (reader) lock instead of an exclusive (writer) one.
    :param on_wait: called once, before waiting, if another process holds the lock (e.g. to
        say so); without it the lock is simply waited for.
    :param wait: ``False``: raise :class:`BlockingIOError` at once if another process holds it.

    Locks are advisory: they only order processes that take them. Without ``fcntl`` (not
    POSIX) nothing is locked.
    """
    owned = not isinstance(target, int)
    fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644) if owned else target
    try:
        if fcntl is not None:
            mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            if not wait:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            elif on_wait is None:
                fcntl.flock(fd, mode)
            else:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                except BlockingIOError:
                    on_wait()
                    fcntl.flock(fd, mode)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        if owned:
            os.close(fd)


@contextmanager
def transient_lock(
    target: str | os.PathLike[str], on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive lock on the lock file ``target``, which exists only while it is held
    (deleted before release, so nothing is left beside what it guards).

    :param on_wait: called once, before waiting, if another process holds the lock.
    """
    path = Path(target)
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if on_wait is not None and not told:
                        on_wait()
                        told = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
            try:  # the holder before us deleted the file: lock the new one instead
                if os.fstat(fd).st_ino == os.stat(path).st_ino:
                    break
            except FileNotFoundError:
                pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)  # releases the lock


@contextmanager
def atomic_folder(
    target: str | os.PathLike[str],
    temporary: str | os.PathLike[str] | None = None,
    trash: str | os.PathLike[str] | None = None,
) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; on success publish it as ``target``.

    Publishing fsyncs every file in the folder and renames it to ``target``; an existing
    ``target`` is first renamed to ``trash`` and deleted after the swap. On an exception (or
    Ctrl-C) the temporary folder is deleted and ``target`` is left as it was.

    :param temporary: the temporary folder (default: a new hidden ``.name.tmp-XXXX`` beside
        ``target``); one left there by a killed writer is deleted first.
    :param trash: where the old ``target`` goes during the swap (default ``.name.old-PID``).
    """
    target = Path(target)
    if temporary is None:
        with _named_after(target):
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700; a folder gets the usual permissions
    else:
        tmp = Path(temporary)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    old = (
        Path(trash) if trash is not None else target.with_name(f".{target.name}.old-{os.getpid()}")
    )
    try:
        with _writing(target, tmp):
            yield tmp
            for p in tmp.rglob("*"):
                if p.is_file():
                    fsync_file(p)
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
