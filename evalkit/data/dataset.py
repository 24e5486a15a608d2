"""Reading a dataset (:class:`Dataset`): frames, states, episodes and label sets, checked when
opened (:meth:`Dataset.validate` verifies the files against the manifest); corrupt tables are one
sentence with the advice that fixes them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.layout import (
    FRAMES_FILE,
    LABELS_DIR,
    MANIFEST_FILE,
    REBUILD,
    RESULTS_ADVICE,
    RESULTS_DIR,
    RULE_LABELS,
    STATES_FILE,
    Manifest,
    content_hash,
)
from evalkit.errors import DatasetError
from evalkit.fileio import (
    atomic_path,
)


class Dataset:
    """An opened, validated dataset. Frames are memory-mapped; states load on first use.

    :param path: the dataset folder.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        manifest_path = self.path / MANIFEST_FILE
        if not self.path.is_dir():
            raise DatasetError(f"No dataset at {self.path}; list datasets with 'evalkit datasets'.")
        if not manifest_path.is_file():
            raise DatasetError(
                f"{self.path} has no {MANIFEST_FILE}; it is not a dataset (or is corrupt)."
            )
        self.manifest = Manifest.from_json(manifest_path.read_text(), manifest_path)
        self._states: pd.DataFrame | None = None
        self._frames: np.ndarray | None = None
        self._check_files()

    def __repr__(self) -> str:
        m = self.manifest
        return f"Dataset({self.name!r}, family={m.family!r}, frames={m.n_frames}, episodes={m.n_episodes})"

    @property
    def name(self) -> str:
        """The name commands take: the folder's (a copied or renamed dataset keeps its old name
        in its manifest, which commands would not find)."""
        return self.path.name

    @property
    def family(self) -> str:
        return self.manifest.family

    @property
    def content_hash(self) -> str:
        return self.manifest.content_hash

    def __len__(self) -> int:
        return self.manifest.n_frames

    def _check_files(self) -> None:
        frames_path = self.path / FRAMES_FILE
        if not frames_path.is_file():
            raise DatasetError(
                f"Dataset {self.name!r} is missing {FRAMES_FILE}; delete it and collect it again."
            )
        try:
            frames = np.load(frames_path, mmap_mode="r")
        except (ValueError, OSError) as exc:
            raise corrupt_file_error(frames_path, exc, REBUILD) from None
        expected = (self.manifest.n_frames, *self.manifest.frame_shape)
        if frames.shape != expected or frames.dtype != np.uint8:
            raise DatasetError(
                f"{frames_path} holds {frames.dtype}{list(frames.shape)} but the manifest says "
                f"uint8{list(expected)}; delete the dataset and collect it again."
            )
        if not (self.path / STATES_FILE).is_file():
            raise DatasetError(
                f"Dataset {self.name!r} is missing {STATES_FILE}; delete it and collect it again."
            )
        self._frames = frames

    @property
    def frames(self) -> np.ndarray:
        """All frames, ``uint8 (n, height, width, 3)``, memory-mapped read-only."""
        assert self._frames is not None
        return self._frames

    @property
    def states(self) -> pd.DataFrame:
        """One row per frame: ``frame_id``, ``episode``, ``step`` and physical state columns."""
        if self._states is None:
            table = read_table(self.path / STATES_FILE, REBUILD)
            if len(table) != self.manifest.n_frames:
                raise DatasetError(
                    f"Dataset {self.name!r} has {len(table)} state rows but {self.manifest.n_frames} "
                    "frames; delete it and collect it again."
                )
            if not np.array_equal(table["frame_id"].to_numpy(), np.arange(len(table))):
                raise DatasetError(
                    f"Dataset {self.name!r} has frame ids out of order; collect it again."
                )
            self._states = table
        return self._states

    @property
    def episodes(self) -> np.ndarray:
        """Episode id of every frame (frames of one episode are correlated)."""
        return self.states["episode"].to_numpy()

    def subdir(self, name: str) -> Path:
        """A folder inside the dataset for derived data (``embeddings``, ``results``), created."""
        d = self.path / name
        d.mkdir(exist_ok=True)
        return d

    # -- labels -------------------------------------------------------------------------------

    def label_sets(self) -> list[str]:
        """Names of the stored label sets (``rule``, ``human``, imported ones...)."""
        d = self.path / LABELS_DIR
        return sorted(p.stem for p in d.glob("*.parquet")) if d.is_dir() else []

    def label_table(self, label_set: str = RULE_LABELS) -> pd.DataFrame:
        """The tidy table of one label set: ``frame_id, task, label`` (+ provenance columns)."""
        path = self.path / LABELS_DIR / f"{label_set}.parquet"
        if not path.is_file():
            sets = ", ".join(self.label_sets()) or "none"
            raise DatasetError(
                f"Dataset {self.name!r} has no label set {label_set!r} (it has: {sets})."
            )
        return read_table(path, label_set_advice(label_set))

    def labels(self, task: str, label_set: str = RULE_LABELS) -> np.ndarray:
        """Goal label (bool) of every frame for ``task``, in frame order.

        Rule labels for a task that was registered after the dataset was made are computed
        from the state table. Other label sets must cover every frame.
        """
        from evalkit.tasks import get_task

        if label_set == RULE_LABELS:
            table = self.label_table(label_set) if RULE_LABELS in self.label_sets() else None
            if table is None or task not in set(table["task"]):
                return get_task(task).rule_labels(self.states)
        table = self.label_table(label_set)
        rows = table[table["task"] == task]
        if rows.empty:
            raise DatasetError(
                f"Label set {label_set!r} of dataset {self.name!r} has no labels for task {task!r}."
            )
        if len(rows) != len(self) or not np.array_equal(
            np.sort(rows["frame_id"].to_numpy()), np.arange(len(self))
        ):
            raise DatasetError(
                f"Label set {label_set!r} labels {len(rows)} of the {len(self)} frames of {self.name!r} "
                f"for task {task!r}; label the rest or evaluate on a subset."
            )
        return rows.sort_values("frame_id")["label"].to_numpy(dtype=bool)

    def write_label_set(self, label_set: str, table: pd.DataFrame) -> Path:
        """Store a tidy label table (``frame_id, task, label`` ...) atomically, replacing the old one."""
        missing = {"frame_id", "task", "label"} - set(table.columns)
        if missing:
            raise DatasetError(
                f"A label table needs columns frame_id, task, label; it lacks {', '.join(sorted(missing))}."
            )
        ids = table["frame_id"].to_numpy()
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise DatasetError(
                f"Label frame ids must lie in [0, {len(self)}) for dataset {self.name!r}."
            )
        d = self.path / LABELS_DIR
        d.mkdir(exist_ok=True)
        target = d / f"{label_set}.parquet"
        atomic_write_parquet(table.reset_index(drop=True), target)
        return target

    # -- integrity ----------------------------------------------------------------------------

    def validate(self, deep: bool = False) -> None:
        """Check the files agree with the manifest; ``deep`` also recomputes the content hash."""
        self._check_files()
        _ = self.states
        if deep:
            actual = content_hash(self.frames, self.states)
            if actual != self.content_hash:
                raise DatasetError(
                    f"Dataset {self.name!r} does not match its content hash (files changed after "
                    "it was written); collect it again."
                )

    def check_tables(self) -> None:
        """Read every table of the dataset (states, label sets, saved results) once, so that a
        corrupt one is found now: raises :class:`DatasetError` naming it."""
        _ = self.states
        for name in self.label_sets():
            self.label_table(name)
        for path in sorted((self.path / RESULTS_DIR).glob("*.parquet")):
            read_table(path, RESULTS_ADVICE)

    def size_bytes(self) -> int:
        """Bytes on disk, caches included."""
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def corrupt_file_error(path: Path, exc: BaseException, advice: str) -> DatasetError:
    """The one sentence for a dataset file that cannot be read: ``PATH is corrupt (why); advice.``"""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatasetError(f"{path} is corrupt ({reason}); {advice}.")


def read_table(path: Path, advice: str) -> pd.DataFrame:
    """Read one parquet table of a dataset; a corrupt file is :func:`corrupt_file_error`."""
    try:
        return pd.read_parquet(path)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise corrupt_file_error(path, exc, advice) from None


def label_set_advice(label_set: str) -> str:
    """What to do about a corrupt label set."""
    if label_set == RULE_LABELS:
        return "delete it (rule labels are then computed from the states)"
    return f"delete it and import or label the {label_set!r} set again"


def atomic_write_parquet(table: pd.DataFrame, target: Path) -> None:
    """Write a parquet file atomically."""
    with atomic_path(target) as tmp:
        table.to_parquet(tmp, index=False)
