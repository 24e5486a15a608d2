"""Label counts and agreement (Cohen's κ) between labellers and with rule labels.

Cohen's kappa of two raters who labelled the same ``n`` items::

    p_o = fraction of items on which they agree
    p_e = Σ_k  (share of items rater A put in class k) · (share rater B put in class k)
    κ   = (p_o − p_e) / (1 − p_e)

κ is 1 for perfect agreement and 0 for agreement at chance level; it is undefined when
``p_e = 1`` (both raters used one and the same class for every item) — reported as ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Hashable, Sequence

import numpy as np
import pandas as pd

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.errors import EvalkitError
from evalkit.labels.sets import decided_labels, majority_vote
from evalkit.labels.store import LabelStore


@dataclass(frozen=True)
class Agreement:
    """Agreement of two raters on the items both labelled."""

    n: int
    """Items both labelled."""
    observed: float | None
    """Observed agreement ``p_o`` (``None`` when ``n == 0``)."""
    expected: float | None
    """Chance agreement ``p_e`` from the raters' marginals."""
    kappa: float | None
    """Cohen's κ; ``None`` when undefined (no common items, or ``p_e == 1``)."""


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> Agreement:
    """Cohen's κ of two equally long label sequences (any hashable categories)."""
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(
            f"cohen_kappa needs two sequences of one length, got {len(a)} and {len(b)}"
        )
    n = len(a)
    if n == 0:
        return Agreement(0, None, None, None)
    observed = sum(x == y for x, y in zip(a, b)) / n
    categories = set(a) | set(b)
    expected = sum((a.count(k) / n) * (b.count(k) / n) for k in categories)
    kappa = None if expected >= 1.0 else (observed - expected) / (1.0 - expected)
    return Agreement(n, observed, expected, kappa)


@dataclass
class LabelStats:
    """``evalkit label stats``: three tidy tables."""

    per_labeller: pd.DataFrame
    """task, labeller, labelled, goal, not_goal, skipped, rule_n, rule_agreement, rule_kappa."""
    pairs: pd.DataFrame
    """task, labeller_a, labeller_b, common, agreement, kappa."""
    majority: pd.DataFrame
    """task, decided, goal, ties, rule_agreement, rule_kappa (the ``human`` set)."""


def rule_labels_or_none(dataset: Dataset, task: str) -> np.ndarray | None:
    """The task's rule labels of every frame, or ``None`` for a task without rule labels."""
    try:
        return dataset.labels(task, RULE_LABELS)
    except (EvalkitError, ImportError, KeyError):
        return (
            None  # a task with human labels only, or an environment whose rules are not installed
        )


def _vs_rule(
    rule: np.ndarray | None, frame_ids: np.ndarray, is_goal: np.ndarray
) -> Agreement | None:
    if rule is None:
        return None
    return cohen_kappa(list(is_goal.astype(bool)), list(rule[frame_ids].astype(bool)))


def label_stats(
    dataset: Dataset, task: str | None = None, store: LabelStore | None = None
) -> LabelStats:
    """Counts and agreement of the human labels of ``dataset`` (all tasks, or one)."""
    store = store or LabelStore(dataset)
    current = store.current(task=task)
    decided = decided_labels(store, task=task)
    per, pairs, major = [], [], []
    for t in sorted(current["task"].unique()):
        rule = rule_labels_or_none(dataset, t)
        cur_t = current[current["task"] == t]
        dec_t = decided[decided["task"] == t]
        for labeller in sorted(cur_t["labeller"].unique()):
            rows = cur_t[cur_t["labeller"] == labeller]
            dec = dec_t[dec_t["labeller"] == labeller]
            ag = _vs_rule(rule, dec["frame_id"].to_numpy(), (dec["label"] == "goal").to_numpy())
            per.append(
                {
                    "task": t,
                    "labeller": labeller,
                    "labelled": len(dec),
                    "goal": int((rows["label"] == "goal").sum()),
                    "not_goal": int((rows["label"] == "not_goal").sum()),
                    "skipped": int((rows["label"] == "skip").sum()),
                    **_agreement_cols(ag, "rule_"),
                }
            )
        by_labeller = {
            w: dict(zip(g["frame_id"], g["label"])) for w, g in dec_t.groupby("labeller")
        }
        for x, y in combinations(sorted(by_labeller), 2):
            common = sorted(set(by_labeller[x]) & set(by_labeller[y]))
            ag = cohen_kappa(
                [by_labeller[x][f] for f in common], [by_labeller[y][f] for f in common]
            )
            pairs.append(
                {
                    "task": t,
                    "labeller_a": x,
                    "labeller_b": y,
                    "common": ag.n,
                    "agreement": ag.observed,
                    "kappa": ag.kappa,
                }
            )
        vote = majority_vote(dec_t)
        ag = _vs_rule(rule, vote.table["frame_id"].to_numpy(), vote.table["label"].to_numpy())
        major.append(
            {
                "task": t,
                "decided": len(vote.table),
                "goal": int(vote.table["label"].sum()),
                "ties": len(vote.ties),
                **_agreement_cols(ag, "rule_"),
            }
        )
    return LabelStats(
        per_labeller=pd.DataFrame(
            per,
            columns=[
                "task",
                "labeller",
                "labelled",
                "goal",
                "not_goal",
                "skipped",
                "rule_n",
                "rule_agreement",
                "rule_kappa",
            ],
        ),
        pairs=pd.DataFrame(
            pairs, columns=["task", "labeller_a", "labeller_b", "common", "agreement", "kappa"]
        ),
        majority=pd.DataFrame(
            major,
            columns=["task", "decided", "goal", "ties", "rule_n", "rule_agreement", "rule_kappa"],
        ),
    )


def _agreement_cols(ag: Agreement | None, prefix: str) -> dict:
    if ag is None:
        return {f"{prefix}n": None, f"{prefix}agreement": None, f"{prefix}kappa": None}
    return {f"{prefix}n": ag.n, f"{prefix}agreement": ag.observed, f"{prefix}kappa": ag.kappa}
