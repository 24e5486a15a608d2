"""The saved EPIC results table of a dataset, ``<dataset>/results/epic.parquet``.

The table is tidy: one row per (task, label set, reward source, model, pretrained weights, α),
the key of :data:`KEY_COLUMNS`. Writing a row whose key is already there replaces it (upsert),
so re-running ``evalkit epic`` updates results instead of piling up duplicates. Every row
records what it was computed on (the dataset's content hash, the labels' content hash, the
reward's identity); plots and reports read the table through :func:`saved_results`, which
leaves out rows whose inputs changed since (stale) and says why. Rewards that are not CLIP rewards (a
``--reward`` function, a column of numbers) have an empty model and a missing (NaN) α.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data.store import Dataset, atomic_write_parquet, read_table
from evalkit.errors import EvalkitError
from evalkit.fileio import file_lock
from evalkit.metrics.results import GoalEpicResult
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.reward_kinds import saved_reward
from evalkit.tasks import get_task

RESULTS_DIR = "results"
EPIC_RESULTS_FILE = "epic.parquet"

KEY_COLUMNS = ("task", "label_set", "reward_source", "model", "pretrained", "alpha", "metric")
"""Columns that identify a row of the results table; a new row with the same key replaces the old.
Tables saved before the metric panel have no ``metric`` column: their rows are EPIC rows."""

EPIC_METRIC = "epic"

COLUMNS = (
    *KEY_COLUMNS,
    "estimate",
    "distance",
    "rho",
    "ci_low",
    "ci_high",
    "rho_low",
    "rho_high",
    "ci_method",
    "confidence",
    "n_bootstrap",
    "n_degenerate",
    "seed",
    "n_frames",
    "n_goal",
    "n_nongoal",
    "n_episodes",
    "n_goal_episodes",
    "weighted",
    "model_identity",
    "random_weights",
    "dataset",
    "dataset_hash",
    "labels_hash",
    "reward_identity",
    "evalkit_version",
)
"""Every column of the results table, in order."""


def results_path(dataset_path: str | os.PathLike[str]) -> Path:
    """Where the EPIC results of the dataset at ``dataset_path`` are saved."""
    return Path(dataset_path) / RESULTS_DIR / EPIC_RESULTS_FILE


def result_row(result: GoalEpicResult, **keys: Any) -> dict[str, Any]:
    """One row of the results table from a result and its keys (task, model, alpha, dataset ...)."""
    low, high = result.interval if result.interval is not None else (math.nan, math.nan)
    rlow, rhigh = result.rho_interval if result.rho_interval is not None else (math.nan, math.nan)
    row = {
        "metric": EPIC_METRIC,
        "estimate": result.distance,
        "distance": result.distance,
        "rho": result.rho,
        "ci_low": low,
        "ci_high": high,
        "rho_low": rlow,
        "rho_high": rhigh,
        "ci_method": result.ci_method or "",
        "confidence": result.confidence,
        "n_bootstrap": result.n_bootstrap,
        "n_degenerate": result.n_degenerate,
        "seed": result.seed,
        "n_frames": result.n_frames,
        "n_goal": result.n_goal,
        "n_nongoal": result.n_nongoal,
        "n_episodes": result.n_episodes,
        "n_goal_episodes": result.n_goal_episodes,
        "weighted": result.weighted,
    }
    row.update(keys)
    missing = set(KEY_COLUMNS) - set(row)
    if missing:
        raise ValueError(f"a results row needs the keys {', '.join(sorted(missing))}")
    order = [c for c in COLUMNS if c in row] + [c for c in row if c not in COLUMNS]
    return {c: row[c] for c in order}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    for c in COLUMNS:
        if c not in table.columns:
            table[c] = np.nan if c == "alpha" else None
    for c in ("task", "label_set", "reward_source", "model", "pretrained"):
        table[c] = table[c].fillna("").astype(str)
    table["metric"] = table["metric"].fillna(EPIC_METRIC).replace("", EPIC_METRIC).astype(str)
    epic = (table["metric"] == EPIC_METRIC).to_numpy()
    distance = pd.to_numeric(table["distance"], errors="coerce").to_numpy(dtype=float)
    estimate = pd.to_numeric(table["estimate"], errors="coerce").to_numpy(dtype=float)
    table["estimate"] = np.where(epic, distance, estimate)
    table["alpha"] = pd.to_numeric(table["alpha"], errors="coerce").astype(float)
    extra = [c for c in table.columns if c not in COLUMNS]
    return table[list(COLUMNS) + extra]


def _key(table: pd.DataFrame) -> pd.Series:
    alpha = table["alpha"].map(lambda a: "" if pd.isna(a) else repr(float(a)))
    parts = [table[c].astype(str) for c in KEY_COLUMNS if c != "alpha"] + [alpha]
    return pd.concat(parts, axis=1).agg("\x1f".join, axis=1)


def load_epic_results(dataset_path: str | os.PathLike[str]) -> pd.DataFrame:
    """The saved EPIC results of a dataset (an empty table with the right columns if none)."""
    path = results_path(dataset_path)
    if not path.is_file():
        return _empty()
    return _normalise(
        read_table(path, "delete it and run 'evalkit epic' again (nothing else depends on it)")
    )


def upsert_epic_results(
    dataset_path: str | os.PathLike[str], rows: pd.DataFrame | list[dict[str, Any]]
) -> Path:
    """Add rows to a dataset's results table, replacing rows with the same key; atomic and locked."""
    new = _normalise(pd.DataFrame(rows))
    if new.empty:
        return results_path(dataset_path)
    new_keys = _key(new)
    if new_keys.duplicated().any():
        raise ValueError(
            "rows to save repeat a key (task, label set, reward source, model, pretrained, alpha, metric)"
        )
    path = results_path(dataset_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.parent / f".{EPIC_RESULTS_FILE}.lock"):
        old = load_epic_results(dataset_path)
        if not old.empty:
            old = old[~_key(old).isin(set(new_keys))]
        table = new if old.empty else pd.concat([old, new], ignore_index=True)
        table = table.sort_values(
            list(KEY_COLUMNS), na_position="first", kind="stable"
        ).reset_index(drop=True)
        atomic_write_parquet(table, path)
    return path


@dataclass(frozen=True)
class SavedResults:
    """A dataset's saved results split into those whose inputs are unchanged and the stale ones.

    :ivar current: rows computed on the dataset's present content, labels and reward.
    :ivar stale: the other rows, with a ``stale_reason`` column saying what changed.
    """

    current: pd.DataFrame
    stale: pd.DataFrame

    def stale_note(self, dataset_name: str) -> str | None:
        """One sentence on the stale rows (``None`` when there are none)."""
        if self.stale.empty:
            return None
        reasons = "; ".join(sorted(set(self.stale["stale_reason"])))
        n = len(self.stale)
        return (
            f"{n} saved result{'s' if n != 1 else ''} of dataset {dataset_name} "
            f"{'are' if n != 1 else 'is'} stale ({reasons}) and left out; run the evalkit epic "
            "command again to refresh."
        )


def saved_results(dataset: Dataset, table: pd.DataFrame | None = None) -> SavedResults:
    """The saved results of ``dataset`` (or ``table``), checked against what they were made of.

    A row is stale when the dataset was rebuilt (its content hash differs), when the labels it
    was computed on changed (human labels added or changed since: the labels' content hash
    differs), when a CLIP row's prompts changed, when a reward head's file was rewritten or
    removed since, or when it was saved by an evalkit that did not record its labels. Stale rows
    are never shown as current.
    """
    rows = load_epic_results(dataset.path) if table is None else table
    reasons = pd.Series("", index=rows.index, dtype=object)
    reasons[rows["dataset_hash"].astype(str) != dataset.content_hash] = "the dataset was rebuilt"
    for (task, label_set), group in rows[reasons == ""].groupby(["task", "label_set"], sort=False):
        reasons[group.index] = _label_and_reward_changes(dataset, task, label_set, group)
    stale = reasons != ""
    return SavedResults(
        current=rows[~stale], stale=rows[stale].assign(stale_reason=reasons[stale].astype(str))
    )


def _label_and_reward_changes(
    dataset: Dataset, task: str, label_set: str, rows: pd.DataFrame
) -> pd.Series:
    """Why each row of one task and label set is stale ("" where it is current)."""
    out = pd.Series("", index=rows.index, dtype=object)
    recorded = rows["labels_hash"].fillna("").astype(str)
    out[recorded == ""] = "saved by an older evalkit that did not record its labels"
    try:
        goal = dataset_labels(dataset, task, label_set)
        get_task(task)
    except EvalkitError as exc:
        out[out == ""] = f"its labels cannot be read now: {exc}".rstrip(".")
        return out
    n_goal, n_nongoal = goal.counts()
    changed = (recorded != "") & (recorded != goal.content_hash)
    for i in rows.index[changed]:
        then = f"{int(rows.at[i, 'n_goal'])} goal / {int(rows.at[i, 'n_nongoal'])} non-goal"
        out[i] = f"the {label_set} labels changed: {then} then, {n_goal} / {n_nongoal} now"
    changes: dict[tuple[str, ...], str] = {}  # one look per reward (a head's files once)
    for i in rows.index[out == ""]:
        key = tuple(
            str(rows.at[i, c] or "") for c in ("reward_source", "reward_identity", "model_identity")
        )
        if key not in changes:
            changes[key] = reward_change(key[0], key[1], task, key[2])
        out[i] = changes[key]
    return out


def reward_change(source: str, recorded: str, task: str, model_identity: str = "") -> str:
    """Why a saved result of the reward ``source`` (recorded with identity ``recorded``) is stale
    (``""``: its reward is as it was, or its kind cannot tell)."""
    try:
        reward = saved_reward(source)
    except EvalkitError:
        return ""
    return reward.change("" if recorded == "None" else recorded, task, model_identity)
