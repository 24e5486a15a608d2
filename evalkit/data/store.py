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

from evalkit.data.catalog import (  # noqa: F401
    _DERIVED_DIRS,
    CollectResult,
    DatasetInfo,
    _describe_diff,
    collect_into,
    dataset_path,
    delete_dataset,
    existing_matching,
    iter_datasets,
    list_datasets,
    open_dataset,
    resolve_root,
    vanished_dataset_error,
)
from evalkit.data.dataset import (  # noqa: F401
    Dataset,
    atomic_write_parquet,
    corrupt_file_error,
    label_set_advice,
    read_table,
)
from evalkit.data.layout import (  # noqa: F401
    FORMAT_VERSION,
    FRAMES_FILE,
    LABELS_DIR,
    MANIFEST_FILE,
    MAX_DATASET_BYTES,
    REBUILD,
    RESULTS_ADVICE,
    RESULTS_DIR,
    RULE_LABELS,
    STATE_ROW_BYTES,
    STATES_FILE,
    TMP_PREFIX,
    TRASH_PREFIX,
    Manifest,
    _states_digest,
    content_hash,
    jsonable,
)
from evalkit.data.writer import (  # noqa: F401
    DatasetWriter,
    _pid_alive,
    _remove_stale_temporaries,
    check_dataset_size,
    check_root,
    dataset_bytes,
    rule_label_table,
    validate_name,
)
