"""The paper's success-rate protocol: a human rates whole episodes, evalkit counts successes.

A rater watches one episode at a time (a looping animation and a filmstrip of its frames) and
picks how much of it the agent spent in the goal state — 0, 25, 50, 75 or 100 % (paper
Appendix B, Figures 5 and 6). An episode is a **success** when rated at least 50 % (Table 2:
"the agent satisfies the condition for the task at least 50 % of the timesteps"); the success
rate is the fraction of rated episodes that are successes.

Ratings are journaled exactly like frame labels (:mod:`evalkit.labels.journal`), in
``<dataset>/labels/ratings.journal.jsonl``, one event per rating, undo included::

    store = RatingStore(open_dataset("kneeling-rollouts"))
    store.add(episode=3, task="kneeling", rating=75, labeller="alice")
    success_rates(store)        # one row per task and labeller
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.config import runs_root
from evalkit.data.store import MANIFEST_FILE, Dataset, open_dataset
from evalkit.errors import DatasetError, EvalkitError
from evalkit.labels.store import JournalStore, check_task_for_dataset

RATINGS = (0, 25, 50, 75, 100)
"""The five buckets of the paper's protocol: percent of the episode spent in the goal state."""
SUCCESS_THRESHOLD = 50
"""An episode rated at least this (percent) is a success."""
RATINGS_JOURNAL = "ratings.journal.jsonl"
RATING_KIND = "rating"


def check_rating(rating: Any) -> int:
    if (
        isinstance(rating, bool)
        or not isinstance(rating, (int, np.integer))
        or int(rating) not in RATINGS
    ):
        raise EvalkitError(
            f"{rating!r} is not a rating; use one of {', '.join(map(str, RATINGS))} (percent)."
        )
    return int(rating)


class RatingStore(JournalStore):
    """Episode ratings of one (rollout) dataset, keyed by ``(episode, task, labeller)``."""

    def __init__(self, dataset: Dataset, journal_name: str = RATINGS_JOURNAL) -> None:
        super().__init__(dataset, journal_name, RATING_KIND, ("episode", "task", "labeller"))
        self._episodes = set(int(e) for e in np.unique(dataset.episodes))

    def add(
        self,
        episode: int,
        task: str,
        rating: int,
        labeller: str,
        *,
        source: str = "api",
        time: str | None = None,
    ) -> dict[str, Any]:
        """Record one rating durably and return its event."""
        if (
            isinstance(episode, bool)
            or not isinstance(episode, (int, np.integer))
            or int(episode) not in self._episodes
        ):
            raise EvalkitError(
                f"Episode {episode!r} does not exist in dataset {self.dataset.name!r}."
            )
        check_task_for_dataset(self.dataset, task)
        event = self._event(
            {"episode": int(episode), "task": task, "rating": check_rating(rating)},
            labeller,
            source,
            time,
        )
        return self._append([event])[0]

    def ratings_of(self, task: str, labeller: str) -> dict[int, int]:
        """``{episode: rating}`` of one rater on one task."""
        return {
            e["episode"]: e["rating"]
            for e in self.live()
            if e["task"] == task and e["labeller"] == labeller
        }

    def current(self) -> pd.DataFrame:
        """Live ratings: ``episode, task, labeller, rating, time, event_id``."""
        rows = self.live()
        return pd.DataFrame(
            {
                "episode": pd.Series([e["episode"] for e in rows], dtype=np.int64),
                "task": pd.Series([e["task"] for e in rows], dtype=object),
                "labeller": pd.Series([e["labeller"] for e in rows], dtype=object),
                "rating": pd.Series([e["rating"] for e in rows], dtype=np.int64),
                "time": pd.Series([e.get("time", "") for e in rows], dtype=object),
                "event_id": pd.Series([e["id"] for e in rows], dtype=object),
            }
        )


def episode_frames(dataset: Dataset) -> dict[int, list[int]]:
    """``{episode: frame ids in step order}``."""
    states = dataset.states[["frame_id", "episode", "step"]].sort_values(
        ["episode", "step", "frame_id"]
    )
    return {
        int(ep): g["frame_id"].astype(int).tolist()
        for ep, g in states.groupby("episode", sort=True)
    }


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (sensible at 0/n and n/n, unlike the normal one)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def success_rates(store: RatingStore, task: str | None = None) -> pd.DataFrame:
    """Per task and rater: episodes rated, the histogram of ratings, successes and the rate.

    Columns: ``task, labeller, episodes, r0, r25, r50, r75, r100, successes, success_rate,
    ci_low, ci_high`` (a 95 % Wilson interval of the rate).
    """
    cur = store.current()
    if task is not None:
        cur = cur[cur["task"] == task]
    rows = []
    for (t, who), g in cur.groupby(["task", "labeller"], sort=True):
        n = len(g)
        k = int((g["rating"] >= SUCCESS_THRESHOLD).sum())
        lo, hi = wilson_interval(k, n)
        rows.append(
            {
                "task": t,
                "labeller": who,
                "episodes": n,
                **{f"r{r}": int((g["rating"] == r).sum()) for r in RATINGS},
                "successes": k,
                "success_rate": k / n,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    cols = [
        "task",
        "labeller",
        "episodes",
        *[f"r{r}" for r in RATINGS],
        "successes",
        "success_rate",
        "ci_low",
        "ci_high",
    ]
    return pd.DataFrame(rows, columns=cols)


def open_rollouts(run_or_dataset: str, root: str | os.PathLike[str] | None = None) -> Dataset:
    """The dataset to rate: a dataset name or path, or a training run folder holding one.

    A run (a folder given by path, or a name under ``$EVALKIT_RUNS`` / ``./runs``) is searched
    up to two levels deep for folders with a dataset manifest (``evalkit evaluate`` writes its
    rollout dataset inside the run); exactly one must be found.
    """
    p = Path(run_or_dataset)
    if (p / MANIFEST_FILE).is_file():
        return Dataset(p)
    for run in (p, runs_root() / run_or_dataset):
        if run.is_dir() and not (run / MANIFEST_FILE).is_file():
            found = sorted(
                {
                    m.parent
                    for pattern in ("*/" + MANIFEST_FILE, "*/*/" + MANIFEST_FILE)
                    for m in run.glob(pattern)
                    if not m.parent.name.startswith(".")
                }
            )
            if len(found) == 1:
                return Dataset(found[0])
            if len(found) > 1:
                raise DatasetError(
                    f"Run {run} holds several rollout datasets ({', '.join(str(f) for f in found)}); "
                    "pass the one to rate."
                )
            raise DatasetError(
                f"{run} holds no rollout dataset; make one with 'evalkit evaluate {run}'."
            )
    return open_dataset(run_or_dataset, root)
