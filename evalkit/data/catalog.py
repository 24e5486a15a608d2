"""Finding datasets: the datasets root, opening one by name or path, reusing a dataset collected
with the same settings (:func:`collect_into`), listing and deleting them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from evalkit.config import datasets_root
from evalkit.data.dataset import Dataset
from evalkit.data.layout import (
    LABELS_DIR,
    MANIFEST_FILE,
    RESULTS_DIR,
    RULE_LABELS,
    TRASH_PREFIX,
    jsonable,
)
from evalkit.data.writer import DatasetWriter, check_root, validate_name
from evalkit.errors import DatasetError
from evalkit.fileio import (
    file_lock,
    transient_lock,
)


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """The datasets root: ``root`` if given, else :func:`evalkit.config.datasets_root`."""
    return Path(root) if root is not None else datasets_root()


def dataset_path(
    name_or_path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> Path:
    """Where the dataset called ``name_or_path`` lives (a path with a manifest is taken as is)."""
    p = Path(name_or_path)
    if (p / MANIFEST_FILE).is_file():
        return p
    return resolve_root(root) / validate_name(str(name_or_path))


def open_dataset(
    name_or_path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> Dataset:
    """Open a dataset by name (under ``root``) or by path, with a clear error if it is not there."""
    path = dataset_path(name_or_path, root)
    if not path.exists():
        available = [d.name for d in iter_datasets(resolve_root(root))]
        hint = f" Available: {', '.join(available)}." if available else " No datasets exist yet."
        raise DatasetError(
            f"No dataset called {str(name_or_path)!r} under {resolve_root(root)}.{hint} "
            "Make one with 'evalkit collect ...'."
        )
    return Dataset(path)


def existing_matching(
    root: Path, name: str, identity: Mapping[str, Any], overwrite: bool = False
) -> Dataset | None:
    """The dataset ``name`` if it exists and was built with ``identity``; ``None`` if absent.

    Raises :class:`DatasetError` if it exists with other parameters and ``overwrite`` is false;
    returns ``None`` (so the caller rebuilds) when it is corrupt or ``overwrite`` is set.
    """
    path = root / validate_name(name)
    if not path.exists():
        return None
    try:
        ds = Dataset(path)
    except DatasetError:
        if overwrite:
            return None
        raise
    if overwrite:
        return None
    if ds.manifest.identity() != jsonable(dict(identity)):
        raise DatasetError(
            f"Dataset {name!r} exists with different parameters ({_describe_diff(ds.manifest.identity(), jsonable(dict(identity)))}); "
            "choose another --name or pass --overwrite."
        )
    return ds


@dataclass(frozen=True)
class CollectResult:
    """What a collector did (every collector returns one).

    :param dataset: the dataset (new, or the existing one made with the same parameters).
    :param created: whether it was written now (``False``: it existed already).
    :param seconds: wall time of rendering and writing (0 when nothing was done).
    """

    dataset: Dataset
    created: bool
    seconds: float

    @property
    def goal_counts(self) -> dict[str, int]:
        """Goal frames per task in the dataset's rule labels (empty without rule labels)."""
        if RULE_LABELS not in self.dataset.label_sets():
            return {}
        counts = self.dataset.label_table(RULE_LABELS).groupby("task", sort=False)["label"].sum()
        return {str(task): int(n) for task, n in counts.items()}

    @property
    def frames_per_second(self) -> float:
        """Collection throughput (frames rendered and written per second); ``nan`` if none were."""
        return (
            len(self.dataset) / self.seconds if self.created and self.seconds > 0 else float("nan")
        )


def collect_into(
    root: Path,
    name: str,
    *,
    family: str,
    env_id: str,
    generator: str,
    params: Mapping[str, Any],
    render: Mapping[str, Any],
    n_frames: int,
    frame_shape: tuple[int, int, int],
    overwrite: bool,
    write: Callable[["DatasetWriter"], None],
) -> CollectResult:
    """The one "reuse or write" path of every collector.

    Returns the dataset ``name`` if it was made with the same family, environment, generator,
    parameters and render settings; otherwise opens a :class:`DatasetWriter` with them, lets
    ``write`` add the frames, and publishes it atomically (nothing is left on error or Ctrl-C).

    :raises DatasetError: the name is taken by a dataset made otherwise and ``overwrite`` is off.
    """
    identity = {
        "family": family,
        "env_id": env_id,
        "generator": generator,
        "params": dict(params),
        "render": dict(render),
    }
    say = f"Another evalkit process is collecting {name!r}; waiting for it to finish..."
    # one collector of a name at a time: a second one waits, then reuses (or refuses) its work
    lock = check_root(Path(root)) / f".{validate_name(name)}.lock"
    with transient_lock(lock, lambda: print(say, flush=True)):
        existing = existing_matching(root, name, identity, overwrite=overwrite)
        if existing is not None:
            return CollectResult(existing, created=False, seconds=0.0)
        start = time.perf_counter()
        with DatasetWriter(
            root,
            name,
            family=family,
            env_id=env_id,
            generator=generator,
            params=dict(params),
            render=dict(render),
            n_frames=n_frames,
            frame_shape=frame_shape,
            overwrite=overwrite,
        ) as writer:
            write(writer)
    assert writer.dataset is not None
    return CollectResult(writer.dataset, created=True, seconds=time.perf_counter() - start)


def _describe_diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> str:
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            inner = _describe_diff(a, b, f"{prefix}{key}.")
            if inner:
                diffs.append(inner)
        elif a != b:
            diffs.append(f"{prefix}{key}: {a!r} on disk, {b!r} asked")
    return "; ".join(diffs)


def iter_datasets(root: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """Folders under ``root`` that look like datasets (have a manifest), sorted by name."""
    r = resolve_root(root)
    if not r.is_dir():
        return iter(())
    return iter(
        sorted(
            p
            for p in r.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST_FILE).exists()
        )
    )


@dataclass(frozen=True)
class DatasetInfo:
    """One line of ``evalkit datasets``."""

    name: str
    family: str
    generator: str
    frames: int
    episodes: int
    frame_shape: tuple[int, int, int]
    label_sets: tuple[str, ...]
    size_bytes: int
    problem: str | None = None


def list_datasets(
    root: str | os.PathLike[str] | None = None, verify: bool = False
) -> list[DatasetInfo]:
    """Describe every dataset under ``root``; corrupt ones are listed with their problem.

    Every table is read (a corrupt one is a problem); ``verify`` also recomputes the content
    hash over frames and states (slower: it reads every pixel).
    """
    infos = []
    for path in iter_datasets(root):
        try:
            ds = Dataset(path)
            ds.check_tables()
            if verify:
                ds.validate(deep=True)
            m = ds.manifest
            infos.append(
                DatasetInfo(
                    path.name,  # the name commands take (a copied folder keeps its manifest's)
                    m.family,
                    m.generator,
                    m.n_frames,
                    m.n_episodes,
                    m.frame_shape,
                    tuple(ds.label_sets()),
                    ds.size_bytes(),
                )
            )
        except DatasetError as exc:
            infos.append(DatasetInfo(path.name, "?", "?", 0, 0, (0, 0, 0), (), 0, problem=str(exc)))
    return infos


def delete_dataset(name: str, root: str | os.PathLike[str] | None = None) -> None:
    """Delete a dataset folder (and its caches).

    :raises DatasetError: another process holds one of the dataset's locks (it is embedding
        into it or saving results): deleting now would crash it.
    """
    path = resolve_root(root) / validate_name(name)
    if not (path / MANIFEST_FILE).exists():
        raise DatasetError(f"No dataset called {name!r} under {resolve_root(root)}.")
    trash = path.with_name(f"{TRASH_PREFIX}{name}-{os.getpid()}")
    with contextlib.ExitStack() as locks:
        for lock in sorted(path.rglob(".*.lock")):
            try:
                locks.enter_context(file_lock(lock, wait=False))
            except BlockingIOError:
                raise DatasetError(
                    f"Dataset {name!r} is in use by another evalkit process (it holds "
                    f"{lock.relative_to(path)}); wait for it to finish or stop it, then delete again."
                ) from None
        os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


_DERIVED_DIRS = (LABELS_DIR, RESULTS_DIR, "embeddings")


def vanished_dataset_error(exc: OSError) -> DatasetError | None:
    """The sentence for a write into a dataset that was deleted meanwhile (``None`` if the
    missing file was not inside a dataset's labels, results or embeddings)."""
    if exc.errno != errno.ENOENT or not exc.filename:
        return None
    path = Path(os.fsdecode(exc.filename))
    for parent in path.parents:
        if parent.name in _DERIVED_DIRS and not parent.parent.exists():
            return DatasetError(
                f"Dataset {parent.parent.name!r} at {parent.parent} vanished while this command "
                "was writing into it (deleted by another process?); collect it again."
            )
    return None
