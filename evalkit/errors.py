"""Errors a user can cause.

:class:`EvalkitError` carries one sentence that says what went wrong and what to do; the CLI
prints it without a traceback and exits with status 2. Anything else is an internal bug and
keeps its traceback.
"""

from __future__ import annotations

import errno


class EvalkitError(Exception):
    """A problem caused by the user's input or environment, with advice on how to fix it."""


class DatasetError(EvalkitError):
    """A dataset is missing, corrupt, or does not match what was asked for."""


class ModelError(EvalkitError):
    """A model or its weights cannot be loaded."""


class DegenerateError(EvalkitError):
    """A statistic is undefined for the given data (e.g. every frame has the same label)."""


class OptionWarning(UserWarning):
    """An option the user gave that does nothing in this combination (printed as one line)."""


class FewEpisodesWarning(UserWarning):
    """A bootstrap interval over too few episodes to cover as often as it says."""


class RewardError(EvalkitError, ValueError):
    """Rewards cannot be computed from these embeddings or prompts (e.g. a goal equal to its baseline)."""


_PLACE_ERRNOS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "it is on a read-only file system",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOENT: "no such file or folder",
    errno.EEXIST: "something of that name is in the way",
}


def unusable_path_error(exc: OSError) -> EvalkitError | None:
    """The one sentence for an :class:`OSError` about a place the user chose (unwritable,
    read-only, full disk, a folder where a file goes), or ``None`` for any other error."""
    reason = _PLACE_ERRNOS.get(exc.errno) if exc.errno is not None else None
    if reason is None:
        return None
    if not exc.filename:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        return EvalkitError(
            f"Cannot write: {reason}; free some space (finished work is kept and reused when you "
            "run the command again) or choose another place (--out, --root or "
            "$EVALKIT_DATASETS/$EVALKIT_RUNS/$EVALKIT_REPORTS)."
        )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return EvalkitError(
            f"Cannot write {exc.filename}: {reason}; free some space (finished work is kept and "
            "reused when you run the command again) or choose another place (--out, --root or "
            "$EVALKIT_DATASETS/$EVALKIT_RUNS/$EVALKIT_REPORTS)."
        )
    return EvalkitError(
        f"Cannot write or read {exc.filename}: {reason}; choose another place (--out, --root or "
        "$EVALKIT_DATASETS/$EVALKIT_RUNS/$EVALKIT_REPORTS) or fix its permissions."
    )
