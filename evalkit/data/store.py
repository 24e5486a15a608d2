"""The dataset store: rendered states with their physical state and goal labels, on disk.

A dataset is a folder under the datasets root (``$EVALKIT_DATASETS`` or ``./datasets``)::

    <name>/
      manifest.json      format version, generator and parameters, env id, render settings,
                         frame count and shape, episodes, content hash
      states.parquet     one row per frame: frame_id, episode, step, physical state columns...
      frames.npy         uint8 array (frames, height, width, 3), memory-mappable
      labels/<set>.parquet   tidy goal labels: frame_id, task, label [, labeller, time]
      embeddings/        image-embedding caches (evalkit.vlm)
      results/           saved EPIC tables (evalkit.metrics)

Datasets are written by :class:`DatasetWriter` into a hidden temporary folder and published
with one ``rename``: a killed writer leaves no half dataset. A dataset's identity is its
generator, parameters and render settings; its content hash covers frames and states.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Mapping

import numpy as np
import pandas as pd

from evalkit import __version__
from evalkit.config import datasets_root
from evalkit.errors import DatasetError
from evalkit.fileio import (
    atomic_folder,
    atomic_path,
    atomic_write_text,
    file_lock,
    transient_lock,
)
from evalkit.text import byte_size

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
STATES_FILE = "states.parquet"
FRAMES_FILE = "frames.npy"
LABELS_DIR = "labels"
RULE_LABELS = "rule"
"""Name of the label set computed from each task's goal rule."""

MAX_DATASET_BYTES = 1 << 40
"""Largest dataset evalkit writes (1 TiB of frames): beyond it a typo in ``--n`` is likelier
than a wish."""
_STATE_ROW_BYTES = 128
"""Rough size of one state row on disk and in memory (a few float64 columns and ids)."""

RESULTS_DIR = "results"
REBUILD = "delete the dataset and collect it again"
RESULTS_ADVICE = "delete it and run 'evalkit epic' again (nothing else depends on it)"

_TMP_PREFIX = ".tmp-"
_TRASH_PREFIX = ".trash-"


@dataclass(frozen=True)
class Manifest:
    """What a dataset is: how it was made and what it holds (``manifest.json``)."""

    name: str
    family: str
    env_id: str
    generator: str
    params: dict[str, Any]
    render: dict[str, Any]
    n_frames: int
    frame_shape: tuple[int, int, int]
    n_episodes: int
    content_hash: str
    format_version: int = FORMAT_VERSION
    evalkit_version: str = __version__
    created: str = ""

    def identity(self) -> dict[str, Any]:
        """The fields that decide whether a re-run would build the same dataset."""
        return _jsonable(
            {
                "family": self.family,
                "env_id": self.env_id,
                "generator": self.generator,
                "params": self.params,
                "render": self.render,
            }
        )

    def to_json(self) -> str:
        return json.dumps(_jsonable(asdict(self)), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, path: Path) -> "Manifest":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{path} is not valid JSON ({exc}); delete the dataset and collect it again."
            ) from None
        version = data.get("format_version")
        if not isinstance(version, int):
            raise DatasetError(
                f"{path} has no format version; delete the dataset and collect it again."
            )
        if version > FORMAT_VERSION:
            raise DatasetError(
                f"{path} is format version {version}, made by a newer evalkit than this one "
                f"(which reads up to {FORMAT_VERSION}); upgrade evalkit."
            )
        known = {f for f in cls.__dataclass_fields__}
        missing = known - set(data) - {"evalkit_version", "created", "format_version"}
        if missing:
            raise DatasetError(
                f"{path} lacks {', '.join(sorted(missing))}; collect the dataset again."
            )
        data = {k: v for k, v in data.items() if k in known}
        data["frame_shape"] = tuple(data["frame_shape"])
        return cls(**data)


def _jsonable(obj: Any) -> Any:
    """Convert tuples and numpy scalars so that JSON round-trips compare equal."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


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


def content_hash(frames: np.ndarray, states: pd.DataFrame) -> str:
    """Hash of a dataset's frames (in order) and state table, hex, 16 bytes."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((frames.shape, str(frames.dtype))).encode())
    for start in range(0, len(frames), 256):
        h.update(np.ascontiguousarray(frames[start : start + 256]).tobytes())
    h.update(_states_digest(states))
    return h.hexdigest()


def _states_digest(states: pd.DataFrame) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(",".join(map(str, states.columns)).encode())
    h.update(pd.util.hash_pandas_object(states, index=False).to_numpy().tobytes())
    return h.digest()


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


def check_root(root: Path) -> Path:
    """Make sure the datasets root is a writable folder (creating it), or raise a clear error."""
    if root.exists() and not root.is_dir():
        raise DatasetError(
            f"The datasets root {root} is a file, not a folder; pass another --root."
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"Cannot create the datasets root {root} ({exc.strerror}); pass another --root."
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise DatasetError(f"The datasets root {root} is not writable; pass another --root.")
    return root


def dataset_bytes(n_frames: int, frame_shape: tuple[int, int, int]) -> int:
    """Bytes a dataset of ``n_frames`` frames of ``frame_shape`` takes on disk (frames and states)."""
    h, w, c = (int(x) for x in frame_shape)
    return int(n_frames) * (h * w * c + _STATE_ROW_BYTES)


def check_dataset_size(root: Path, n_frames: int, frame_shape: tuple[int, int, int]) -> int:
    """Refuse, before anything is written or built, a dataset larger than the free disk under
    ``root`` or than :data:`MAX_DATASET_BYTES`; returns its size in bytes."""
    need = dataset_bytes(n_frames, frame_shape)
    h, w, _ = frame_shape
    what = f"{n_frames:,} frames of {w}×{h} need {byte_size(need)}"
    advice = "collect fewer frames (--n) or smaller ones (--size)"
    if need > MAX_DATASET_BYTES:
        raise DatasetError(
            f"{what}, more than evalkit's limit of {byte_size(MAX_DATASET_BYTES)} for one dataset; {advice}."
        )
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("."))
    free = shutil.disk_usage(probe).free
    if need > free:
        raise DatasetError(
            f"{what}, more than the {byte_size(free)} free under {root}; {advice}, or pass another --root."
        )
    return need


def _validate_name(name: str) -> str:
    if not name or name.startswith(".") or "/" in name or "\\" in name or name in {"..", "."}:
        raise DatasetError(f"{name!r} is not a valid dataset name (no slashes, no leading dot).")
    return name


@dataclass
class DatasetWriter:
    """Build a dataset in a hidden temporary folder; publish it atomically on success.

    Use as a context manager::

        with DatasetWriter(root, "cartpole-sweep", family="cartpole", env_id=..., generator="sweep",
                           params={...}, render={...}, n_frames=n, frame_shape=(224, 224, 3)) as w:
            for frames, rows in batches:
                w.add(frames, rows)
        dataset = w.dataset

    If the block raises (or is interrupted), the temporary folder is deleted and nothing is
    published. Rule labels for every task of the family are computed and stored on success.

    :param overwrite: replace an existing dataset of the same name (otherwise it is an error).
    """

    root: Path
    name: str
    family: str
    env_id: str
    generator: str
    params: dict[str, Any]
    render: dict[str, Any]
    n_frames: int
    frame_shape: tuple[int, int, int]
    overwrite: bool = False
    dataset: Dataset | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.root = check_root(Path(self.root))
        _validate_name(self.name)
        if self.n_frames <= 0:
            raise DatasetError(f"A dataset needs at least one frame, not {self.n_frames}.")
        h, w, c = self.frame_shape
        if h <= 0 or w <= 0 or c != 3:
            raise DatasetError(
                f"Frames must be (height, width, 3) with positive sizes, not {self.frame_shape}."
            )
        check_dataset_size(self.root, self.n_frames, self.frame_shape)
        self._tmp: Path | None = None
        self._folder: ContextManager[Path] | None = None
        self._rows: list[pd.DataFrame] = []
        self._count = 0

    @property
    def final_path(self) -> Path:
        return self.root / self.name

    def __enter__(self) -> "DatasetWriter":
        _remove_stale_temporaries(self.root, self.name)
        # the writer's pid in the temporaries' names lets a later writer remove those of dead ones
        self._folder = atomic_folder(
            self.final_path,
            temporary=self.root / f"{_TMP_PREFIX}{self.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            trash=self.root / f"{_TRASH_PREFIX}{self.name}-{os.getpid()}",
        )
        self._tmp = self._folder.__enter__()
        self._frames = np.lib.format.open_memmap(
            self._tmp / FRAMES_FILE,
            mode="w+",
            dtype=np.uint8,
            shape=(self.n_frames, *self.frame_shape),
        )
        return self

    def add(self, frames: np.ndarray, rows: pd.DataFrame | list[dict[str, Any]]) -> None:
        """Append a batch of frames and their state rows (``episode``, ``step``, state columns)."""
        assert self._tmp is not None, "use DatasetWriter as a context manager"
        frames = np.asarray(frames)
        rows = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows
        if frames.ndim == 3:
            frames = frames[None]
        if frames.shape[1:] != tuple(self.frame_shape) or frames.dtype != np.uint8:
            raise ValueError(
                f"frames must be uint8 {tuple(self.frame_shape)}, got {frames.dtype}{frames.shape[1:]}"
            )
        if len(rows) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(rows)} state rows")
        if self._count + len(frames) > self.n_frames:
            raise ValueError(f"more than the announced {self.n_frames} frames")
        self._frames[self._count : self._count + len(frames)] = frames
        self._rows.append(rows.reset_index(drop=True))
        self._count += len(frames)

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._tmp is not None and self._folder is not None
        try:
            if exc_type is None:
                self._finish()
        except BaseException as error:
            exc_type, exc, tb = type(error), error, error.__traceback__
            raise
        finally:
            self._frames = None
            self._folder.__exit__(exc_type, exc, tb)  # publishes, or deletes the temporary folder
        if exc_type is None:
            self.dataset = Dataset(self.final_path)

    def _finish(self) -> None:
        """Write the state table, rule labels and manifest beside the frames (to be published)."""
        if self._count != self.n_frames:
            raise ValueError(f"announced {self.n_frames} frames but added {self._count}")
        self._frames.flush()
        del self._frames
        states = pd.concat(self._rows, ignore_index=True)
        for col in ("episode", "step"):
            if col not in states.columns:
                raise ValueError(f"state rows need an {col!r} column")
        states.insert(0, "frame_id", np.arange(len(states), dtype=np.int64))
        states["episode"] = states["episode"].astype(np.int64)
        states["step"] = states["step"].astype(np.int64)
        states.to_parquet(self._tmp / STATES_FILE, index=False)
        frames = np.load(self._tmp / FRAMES_FILE, mmap_mode="r")
        manifest = Manifest(
            name=self.name,
            family=self.family,
            env_id=self.env_id,
            generator=self.generator,
            params=_jsonable(self.params),
            render=_jsonable(self.render),
            n_frames=self.n_frames,
            frame_shape=tuple(int(x) for x in self.frame_shape),
            n_episodes=int(states["episode"].nunique()),
            content_hash=content_hash(frames, states),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        del frames
        (self._tmp / LABELS_DIR).mkdir()
        rule = rule_label_table(self.family, states)
        if not rule.empty:
            rule.to_parquet(self._tmp / LABELS_DIR / f"{RULE_LABELS}.parquet", index=False)
        atomic_write_text(manifest.to_json(), self._tmp / MANIFEST_FILE)
        if self.final_path.exists() and not self.overwrite:
            raise DatasetError(
                f"Dataset {self.name!r} already exists; pass --overwrite to replace it."
            )


def rule_label_table(family: str, states: pd.DataFrame) -> pd.DataFrame:
    """Tidy rule labels (``frame_id, task, label``) for every task of ``family`` that has a rule."""
    from evalkit.tasks import tasks_for_family

    frame_ids = states["frame_id"].to_numpy() if "frame_id" in states else np.arange(len(states))
    parts = [
        pd.DataFrame({"frame_id": frame_ids, "task": task.name, "label": task.rule_labels(states)})
        for task in tasks_for_family(family)
        if task.rule is not None
    ]
    if not parts:
        return pd.DataFrame(
            {
                "frame_id": pd.Series(dtype=np.int64),
                "task": pd.Series(dtype=str),
                "label": pd.Series(dtype=bool),
            }
        )
    return pd.concat(parts, ignore_index=True)


def _remove_stale_temporaries(root: Path, name: str) -> None:
    """Delete temporaries left by killed writers of ``name`` (their process is gone)."""
    for prefix in (_TMP_PREFIX, _TRASH_PREFIX):
        for p in root.glob(f"{prefix}{name}-*"):
            pid = p.name[len(prefix) + len(name) + 1 :].split("-")[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    return resolve_root(root) / _validate_name(str(name_or_path))


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
    path = root / _validate_name(name)
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
    if ds.manifest.identity() != _jsonable(dict(identity)):
        raise DatasetError(
            f"Dataset {name!r} exists with different parameters ({_describe_diff(ds.manifest.identity(), _jsonable(dict(identity)))}); "
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
    lock = check_root(Path(root)) / f".{_validate_name(name)}.lock"
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
    path = resolve_root(root) / _validate_name(name)
    if not (path / MANIFEST_FILE).exists():
        raise DatasetError(f"No dataset called {name!r} under {resolve_root(root)}.")
    trash = path.with_name(f"{_TRASH_PREFIX}{name}-{os.getpid()}")
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
