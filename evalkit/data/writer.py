"""Writing a dataset: :class:`DatasetWriter` writes into a hidden temporary folder and publishes
it with one ``rename`` (a killed writer leaves no half dataset); the size check before a collect;
rule labels computed from the states.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ContextManager

import numpy as np
import pandas as pd

from evalkit.data.dataset import Dataset
from evalkit.data.layout import (
    FRAMES_FILE,
    LABELS_DIR,
    MANIFEST_FILE,
    MAX_DATASET_BYTES,
    RULE_LABELS,
    STATE_ROW_BYTES,
    STATES_FILE,
    TMP_PREFIX,
    TRASH_PREFIX,
    Manifest,
    content_hash,
    jsonable,
)
from evalkit.errors import DatasetError
from evalkit.fileio import (
    atomic_folder,
    atomic_write_text,
)
from evalkit.text import byte_size


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
    return int(n_frames) * (h * w * c + STATE_ROW_BYTES)


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


def validate_name(name: str) -> str:
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
        validate_name(self.name)
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
            temporary=self.root / f"{TMP_PREFIX}{self.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            trash=self.root / f"{TRASH_PREFIX}{self.name}-{os.getpid()}",
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
            params=jsonable(self.params),
            render=jsonable(self.render),
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
    for prefix in (TMP_PREFIX, TRASH_PREFIX):
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
