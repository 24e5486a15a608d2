"""EPIC result objects, and the saved results table ``<dataset>/results/epic.parquet``.

The table is tidy: one row per (task, label set, reward source, model, pretrained weights, α),
the key of :data:`KEY_COLUMNS`. Writing a row whose key is already there replaces it (upsert),
so re-running ``evalkit epic`` updates results instead of piling up duplicates. Plots and
reports read this table instead of recomputing. Rewards that are not CLIP rewards (a
``--reward`` function, a column of numbers) have an empty model and a missing (NaN) α.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.fileio import file_lock
from evalkit.text import fixed, plural

RESULTS_DIR = "results"
EPIC_RESULTS_FILE = "epic.parquet"

KEY_COLUMNS = ("task", "label_set", "reward_source", "model", "pretrained", "alpha")
"""Columns that identify a row of the results table; a new row with the same key replaces the old."""

COLUMNS = (
    *KEY_COLUMNS,
    "distance", "rho", "ci_low", "ci_high", "rho_low", "rho_high", "ci_method", "confidence",
    "n_bootstrap", "n_degenerate", "seed", "n_frames", "n_goal", "n_nongoal", "n_episodes",
    "n_goal_episodes", "weighted", "model_identity", "random_weights", "dataset", "dataset_hash",
    "evalkit_version",
)
"""Every column of the results table, in order."""


def _interval_text(interval: tuple[float, float] | None, confidence: float) -> str:
    if interval is None:
        return "no interval"
    return f"{confidence:.0%} CI [{fixed(interval[0])}, {fixed(interval[1])}]"


@dataclass(frozen=True)
class GoalEpicResult:
    """EPIC distance of a reward to 0/1 goal labels (paper Lemma 1), with a bootstrap interval.

    :ivar distance: ``sqrt(½(1 − ρ))``: 0 separates goal from non-goal frames perfectly,
        √½ ≈ 0.707 carries no information, 1 is perfectly inverted.
    :ivar rho: weighted Pearson (point-biserial) correlation of reward and label, in [−1, 1].
    :ivar interval: ``(low, high)`` confidence interval of the distance, or ``None`` without bootstrap.
    :ivar rho_interval: the same interval expressed for ρ, ``(low, high)``.
    :ivar method: how it was computed, in words.
    :ivar ci_method: ``"bca"``, ``"percentile"`` or ``None`` (no bootstrap).
    :ivar confidence: nominal coverage of the interval.
    :ivar n_frames: frames used (with a positive weight).
    :ivar n_goal: goal frames among them.
    :ivar n_nongoal: non-goal frames among them.
    :ivar n_episodes: episodes (the bootstrap's resampling unit).
    :ivar n_goal_episodes: episodes with at least one goal frame.
    :ivar n_bootstrap: bootstrap resamples drawn (0: none).
    :ivar n_degenerate: resamples left out because ρ was undefined in them (no goal frame, no
        non-goal frame, or a constant reward).
    :ivar seed: seed of the resampling.
    :ivar weighted: whether frame weights other than equal ones were used.
    :ivar name: which reward column this is (e.g. ``"alpha=0.5"``), if named.
    """

    distance: float
    rho: float
    interval: tuple[float, float] | None
    rho_interval: tuple[float, float] | None
    method: str
    ci_method: str | None
    confidence: float
    n_frames: int
    n_goal: int
    n_nongoal: int
    n_episodes: int
    n_goal_episodes: int
    n_bootstrap: int
    n_degenerate: int
    seed: int
    weighted: bool = False
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (intervals as two-element lists)."""
        d = asdict(self)
        for key in ("interval", "rho_interval"):
            d[key] = None if d[key] is None else [float(v) for v in d[key]]
        return d

    def __str__(self) -> str:
        name = f"{self.name}: " if self.name else ""
        return (
            f"{name}EPIC distance {fixed(self.distance)} ({_interval_text(self.interval, self.confidence)}), "
            f"ρ = {fixed(self.rho)}; {self.n_goal} goal / {self.n_nongoal} non-goal frames in {plural(self.n_episodes, 'episode')}"
        )


@dataclass(frozen=True)
class EpicResult:
    """EPIC distance between two reward functions of transitions (Gleave et al. 2021).

    :ivar distance: ``sqrt(½(1 − ρ))`` of the canonicalised rewards.
    :ivar rho: Pearson correlation of the canonicalised rewards under the transition distribution.
    :ivar method: ``"tabular"`` (exact expectations) or ``"sample"`` (sample-based canonicalisation).
    :ivar gamma: the discount used in the canonicalisation.
    :ivar n_transitions: transitions the correlation was taken over (tabular: states² × actions).
    :ivar n_coverage: coverage samples of the expectations (tabular: 0, they are exact).
    :ivar interval: bootstrap interval of the distance over transitions (episodes), if asked for.
    :ivar rho_interval: the same interval for ρ.
    :ivar ci_method: ``"bca"``, ``"percentile"`` or ``None``.
    :ivar confidence: nominal coverage of the interval.
    :ivar n_bootstrap: resamples drawn (0: none).
    :ivar n_degenerate: resamples left out because ρ was undefined in them.
    """

    distance: float
    rho: float
    method: str
    gamma: float
    n_transitions: int
    n_coverage: int
    interval: tuple[float, float] | None = None
    rho_interval: tuple[float, float] | None = None
    ci_method: str | None = None
    confidence: float = 0.95
    n_bootstrap: int = 0
    n_degenerate: int = 0

    def __str__(self) -> str:
        return (
            f"EPIC distance {fixed(self.distance)} ({_interval_text(self.interval, self.confidence)}), "
            f"ρ = {fixed(self.rho)} ({self.method}, γ = {self.gamma:g})"
        )


def results_path(dataset_path: str | os.PathLike[str]) -> Path:
    """Where the EPIC results of the dataset at ``dataset_path`` are saved."""
    return Path(dataset_path) / RESULTS_DIR / EPIC_RESULTS_FILE


def result_row(result: GoalEpicResult, **keys: Any) -> dict[str, Any]:
    """One row of the results table from a result and its keys (task, model, alpha, dataset ...)."""
    low, high = result.interval if result.interval is not None else (math.nan, math.nan)
    rlow, rhigh = result.rho_interval if result.rho_interval is not None else (math.nan, math.nan)
    row = {
        "distance": result.distance, "rho": result.rho, "ci_low": low, "ci_high": high,
        "rho_low": rlow, "rho_high": rhigh, "ci_method": result.ci_method or "",
        "confidence": result.confidence, "n_bootstrap": result.n_bootstrap,
        "n_degenerate": result.n_degenerate, "seed": result.seed, "n_frames": result.n_frames,
        "n_goal": result.n_goal, "n_nongoal": result.n_nongoal, "n_episodes": result.n_episodes,
        "n_goal_episodes": result.n_goal_episodes, "weighted": result.weighted,
    }
    missing = set(KEY_COLUMNS) - set(keys)
    if missing:
        raise ValueError(f"a results row needs the keys {', '.join(sorted(missing))}")
    row.update(keys)
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
    return _normalise(pd.read_parquet(path))


def upsert_epic_results(dataset_path: str | os.PathLike[str], rows: pd.DataFrame | list[dict[str, Any]]) -> Path:
    """Add rows to a dataset's results table, replacing rows with the same key; atomic and locked."""
    from evalkit.data.store import atomic_write_parquet

    new = _normalise(pd.DataFrame(rows))
    if new.empty:
        return results_path(dataset_path)
    new_keys = _key(new)
    if new_keys.duplicated().any():
        raise ValueError("rows to save repeat a key (task, label set, reward source, model, pretrained, alpha)")
    path = results_path(dataset_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.parent / f".{EPIC_RESULTS_FILE}.lock"):
        old = load_epic_results(dataset_path)
        if not old.empty:
            old = old[~_key(old).isin(set(new_keys))]
        table = new if old.empty else pd.concat([old, new], ignore_index=True)
        table = table.sort_values(list(KEY_COLUMNS), na_position="first", kind="stable").reset_index(drop=True)
        atomic_write_parquet(table, path)
    return path
