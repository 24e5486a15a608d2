"""The on-disk format of a dataset: file names, the manifest and the content hash.

A dataset is a folder under the datasets root (``$EVALKIT_DATASETS`` or ``./datasets``)::

    <name>/
      manifest.json      format version, generator and parameters, env id, render settings,
                         frame count and shape, episodes, content hash
      states.parquet     one row per frame: frame_id, episode, step, physical state columns...
      frames.npy         uint8 array (frames, height, width, 3), memory-mappable
      labels/<set>.parquet   tidy goal labels: frame_id, task, label [, labeller, time]
      embeddings/        image-embedding caches (evalkit.vlm)
      results/           saved EPIC tables (evalkit.metrics)

A dataset's identity is its generator, parameters and render settings; its content hash covers
frames and states.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from evalkit import __version__
from evalkit.errors import DatasetError

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


STATE_ROW_BYTES = 128
"""Rough size of one state row on disk and in memory (a few float64 columns and ids)."""


RESULTS_DIR = "results"


REBUILD = "delete the dataset and collect it again"


RESULTS_ADVICE = "delete it and run 'evalkit epic' again (nothing else depends on it)"


TMP_PREFIX = ".tmp-"


TRASH_PREFIX = ".trash-"


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
        return jsonable(
            {
                "family": self.family,
                "env_id": self.env_id,
                "generator": self.generator,
                "params": self.params,
                "render": self.render,
            }
        )

    def to_json(self) -> str:
        return json.dumps(jsonable(asdict(self)), indent=2, sort_keys=True)

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


def jsonable(obj: Any) -> Any:
    """Convert tuples and numpy scalars so that JSON round-trips compare equal."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


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
