"""Datasets of rendered environment states: the store, sweeps, rollouts and labels."""

from evalkit.data.store import (
    Dataset,
    DatasetInfo,
    DatasetWriter,
    delete_dataset,
    list_datasets,
    open_dataset,
)

__all__ = [
    "Dataset",
    "DatasetInfo",
    "DatasetWriter",
    "delete_dataset",
    "list_datasets",
    "open_dataset",
]
