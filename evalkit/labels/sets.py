"""Label sets derived from the human label journal, and the labelled subset EPIC evaluates on.

From the live labels (:class:`evalkit.labels.store.LabelStore`) evalkit derives parquet label
sets in the dataset store (``Dataset.label_table`` / ``Dataset.labels`` read them):

``human-<labeller>``
    one labeller's ``goal`` / ``not_goal`` labels (skips left out).
``human``
    the majority vote across labellers for every frame at least one labeller labelled. A **tie**
    (as many ``goal`` as ``not_goal`` votes) is *excluded* from the set and reported: inventing
    a label would bias EPIC, and refusing the whole set for one disputed frame would block the
    rest. Resolve ties by adding a labeller (or with ``evalkit label stats`` to find them).

These parquet files are snapshots, rewritten atomically by :func:`sync_label_sets`; the journal
stays the source of truth and is never shortened. Human label sets usually cover only some
frames, so ``Dataset.labels(task, "human")`` (which needs every frame) raises for them; EPIC
evaluates on the labelled frames only with::

    frame_ids, labels = labelled_subset(dataset, "kneeling", "human")
    rewards = rewards[frame_ids]; episodes = dataset.episodes[frame_ids]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.errors import DatasetError
from evalkit.labels.journal import JournalWarning
from evalkit.labels.store import LabelStore

HUMAN = "human"
"""The majority-vote label set."""
HUMAN_PREFIX = "human-"
"""Prefix of the per-labeller label sets (``human-alice``)."""

SET_COLUMNS = ["frame_id", "task", "label", "n_goal", "n_votes", "labellers", "time"]


def labeller_set_name(labeller: str) -> str:
    """The label set holding one labeller's labels."""
    return f"{HUMAN_PREFIX}{labeller}"


def decided_labels(store: LabelStore, task: str | None = None) -> pd.DataFrame:
    """Live ``goal`` / ``not_goal`` labels (skips dropped) whose frame and task are valid.

    Events that no longer fit the dataset (a frame id out of range, e.g. from a hand-edited
    journal) are left out with a warning rather than failing every derived set.
    """
    table = store.current(task=task)
    table = table[table["label"] != "skip"]
    bad = (table["frame_id"] < 0) | (table["frame_id"] >= len(store.dataset))
    if bad.any():
        warnings.warn(
            f"{store.path}: {int(bad.sum())} labels name frames the dataset does not have; left out.",
            JournalWarning,
            stacklevel=2,
        )
        table = table[~bad]
    return table.reset_index(drop=True)


@dataclass
class MajorityVote:
    """The majority vote of several labellers: the decided frames and the ties left out."""

    table: pd.DataFrame
    """One row per decided ``(frame_id, task)``: :data:`SET_COLUMNS` (``label`` bool)."""
    ties: pd.DataFrame
    """One row per tied ``(frame_id, task)``: ``frame_id, task, n_goal, n_votes, labellers``."""


def majority_vote(decided: pd.DataFrame) -> MajorityVote:
    """Majority vote per ``(frame_id, task)`` over labellers' ``goal``/``not_goal`` labels.

    :param decided: live labels as from :func:`decided_labels` (one per frame, task, labeller).
    """
    if decided.empty:
        empty = pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in [
                    ("frame_id", np.int64),
                    ("task", object),
                    ("label", bool),
                    ("n_goal", np.int64),
                    ("n_votes", np.int64),
                    ("labellers", object),
                    ("time", object),
                ]
            }
        )
        return MajorityVote(empty, empty.drop(columns=["label", "time"]))
    d = decided.assign(is_goal=decided["label"] == "goal")
    grouped = d.groupby(["task", "frame_id"], sort=True)
    agg = grouped.agg(
        n_goal=("is_goal", "sum"),
        n_votes=("is_goal", "size"),
        labellers=("labeller", lambda s: ",".join(sorted(s))),
        time=("time", "max"),
    ).reset_index()
    agg["n_goal"] = agg["n_goal"].astype(np.int64)
    agg["n_votes"] = agg["n_votes"].astype(np.int64)
    tie = 2 * agg["n_goal"] == agg["n_votes"]
    table = agg[~tie].copy()
    table["label"] = 2 * table["n_goal"] > table["n_votes"]
    table = table[SET_COLUMNS].sort_values(["task", "frame_id"]).reset_index(drop=True)
    ties = agg[tie][["frame_id", "task", "n_goal", "n_votes", "labellers"]].reset_index(drop=True)
    return MajorityVote(table, ties)


def per_labeller_sets(decided: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``{"human-<labeller>": table}``: each labeller's labels as a tidy label table."""
    out = {}
    for labeller, rows in decided.groupby("labeller", sort=True):
        out[labeller_set_name(labeller)] = (
            pd.DataFrame(
                {
                    "frame_id": rows["frame_id"].to_numpy(np.int64),
                    "task": rows["task"].to_numpy(object),
                    "label": (rows["label"] == "goal").to_numpy(bool),
                    "labeller": rows["labeller"].to_numpy(object),
                    "time": rows["time"].to_numpy(object),
                }
            )
            .sort_values(["task", "frame_id"])
            .reset_index(drop=True)
        )
    return out


@dataclass
class SyncResult:
    """What :func:`sync_label_sets` wrote."""

    paths: dict[str, Path] = field(default_factory=dict)
    """Label set name → parquet file written."""
    ties: pd.DataFrame | None = None
    """Frames left out of ``human`` because their vote was tied."""


def sync_label_sets(dataset: Dataset, store: LabelStore | None = None) -> SyncResult:
    """Write the ``human`` and ``human-<labeller>`` label sets from the journal (atomically).

    Does nothing when there is no journal. Label sets of labellers whose labels were all undone
    are rewritten empty rather than deleted (a stale file would otherwise survive).
    """
    store = store or LabelStore(dataset)
    result = SyncResult()
    if not store.journal.exists():
        return result
    decided = decided_labels(store)
    vote = majority_vote(decided)
    sets = {HUMAN: vote.table, **per_labeller_sets(decided)}
    for existing in dataset.label_sets():
        if (
            existing.startswith(HUMAN_PREFIX)
            and existing not in sets
            and _labellers_in_journal(store, existing)
        ):
            sets[existing] = vote.table.iloc[:0][["frame_id", "task", "label"]]
    for name, table in sets.items():
        result.paths[name] = dataset.write_label_set(name, table)
    result.ties = vote.ties
    return result


def _labellers_in_journal(store: LabelStore, set_name: str) -> bool:
    name = set_name[len(HUMAN_PREFIX) :]
    return any(e.get("labeller") == name for e in store.log.events)


class LabelledSubset(NamedTuple):
    """The frames of a dataset that a label set labels for one task, and their labels."""

    frame_ids: np.ndarray
    """Sorted frame ids (int64) — index rewards, episodes and weights with them."""
    labels: np.ndarray
    """Goal label (bool) of each of those frames."""


def resolve_label_set(dataset: Dataset, label_set: str, store: LabelStore | None = None) -> str:
    """Canonical label-set name: a stored set, ``human``, ``human-<labeller>``, or a bare labeller.

    A bare name that is neither a stored set nor ``rule``/``human`` but is a labeller in the
    journal means that labeller's set (``--labels alice`` = ``--labels human-alice``).
    """
    if (
        label_set in (RULE_LABELS, HUMAN)
        or label_set.startswith(HUMAN_PREFIX)
        or label_set in dataset.label_sets()
    ):
        return label_set
    store = store or LabelStore(dataset)
    if any(e.get("labeller") == label_set for e in store.log.events):
        return labeller_set_name(label_set)
    sets = ", ".join(dataset.label_sets()) or "none"
    raise DatasetError(
        f"Dataset {dataset.name!r} has no label set or labeller {label_set!r} (label sets: {sets}); "
        "use rule, human, human-<labeller> or a labeller's name."
    )


def labelled_subset(dataset: Dataset, task: str, label_set: str = HUMAN) -> LabelledSubset:
    """The frames ``label_set`` labels for ``task`` and their goal labels (bool), by frame id.

    ``rule`` labels every frame. ``human`` (majority vote, ties excluded) and ``human-<labeller>``
    are derived from the journal when the dataset has one, so they are never stale; other sets
    (and human sets without a journal) are read from their parquet file. Raises
    :class:`DatasetError` when the set labels no frame for ``task`` (a set with one class only
    is returned as is: EPIC reports that degenerate case itself).
    """
    if label_set == RULE_LABELS:
        labels = dataset.labels(task, RULE_LABELS)
        return LabelledSubset(np.arange(len(dataset), dtype=np.int64), labels)
    store = LabelStore(dataset)
    name = resolve_label_set(dataset, label_set, store)
    if (name == HUMAN or name.startswith(HUMAN_PREFIX)) and store.journal.exists():
        decided = decided_labels(store, task=task)
        if name == HUMAN:
            table = majority_vote(decided).table
        else:
            table = per_labeller_sets(decided).get(
                name, pd.DataFrame(columns=["frame_id", "task", "label"])
            )
    else:
        table = dataset.label_table(name)
    rows = table[table["task"] == task]
    if rows.empty:
        raise DatasetError(
            f"Label set {name!r} of dataset {dataset.name!r} labels no frame for task {task!r}; label some "
            f"with 'evalkit label serve {dataset.name} --task {task}'."
        )
    rows = rows.sort_values("frame_id")
    ids = rows["frame_id"].to_numpy(np.int64)
    if len(np.unique(ids)) != len(ids):
        raise DatasetError(
            f"Label set {name!r} of dataset {dataset.name!r} labels some frames twice for task {task!r}."
        )
    return LabelledSubset(ids, rows["label"].to_numpy(bool))
