"""EPIC (and the metric panel) of a reward source on a dataset: what ``evalkit epic`` runs.

:func:`evaluate_rewards` measures each reward of a :class:`~evalkit.pipeline.sources.RewardSource`
against a label set with :func:`evalkit.metrics.epic_goal_columns` (episodes of the dataset as the
bootstrap unit) and, with ``metrics``, the other metrics of :func:`evalkit.metrics.metric_panel` on
the same frames: AUC and AP against the labels, Spearman and Kendall τ-b against the family's
progress variable (or ``progress``), VOC over episodes, ERC against the ground-truth reward a
dataset stores (``gt_reward``). When asked (``save=True``), the rows go to the dataset's results
table (:mod:`evalkit.pipeline.results`), one per metric and reward column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from evalkit import __version__
from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.envs.family import PROGRESS_HINT
from evalkit.errors import DatasetError, DegenerateError, EvalkitError
from evalkit.metrics.goal import epic_goal_columns
from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.panel import metric_panel
from evalkit.metrics.registry import FAMILY_NEEDS, metric_names, needing
from evalkit.metrics.results import GoalEpicResult
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.results import EPIC_METRIC, result_row, upsert_epic_results
from evalkit.pipeline.sources import RewardSource
from evalkit.tasks import get_task


@dataclass(frozen=True)
class DatasetEpic:
    """EPIC results of one reward source on one dataset, task and label set.

    :ivar results: one :class:`GoalEpicResult` per reward column (per α).
    :ivar saved_to: the results table written, or ``None`` if not saved.
    """

    dataset: str
    dataset_hash: str
    task: str
    label_set: str
    source: RewardSource
    results: list[GoalEpicResult]
    saved_to: Path | None = None
    labels_hash: str = ""
    panel: tuple[MetricResult | MetricUnavailable, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows, as saved in the results table."""
        s = self.source
        return [
            result_row(
                r,
                task=self.task,
                label_set=self.label_set,
                reward_source=s.source,
                model=s.model,
                pretrained=s.pretrained,
                alpha=math.nan if a is None else float(a),
                model_identity=s.model_identity,
                random_weights=s.random_weights,
                dataset=self.dataset,
                dataset_hash=self.dataset_hash,
                labels_hash=self.labels_hash,
                reward_identity=s.identity,
                evalkit_version=__version__,
            )
            for r, a in zip(self.results, s.alphas)
        ]

    def panel_rows(self) -> list[dict[str, Any]]:
        """Tidy rows of the panel's other metrics (skipped ones are not rows)."""
        s = self.source
        alpha_of = dict(zip(s.column_names(), s.alphas))
        rows = []
        for r in self.panel:
            if not isinstance(r, MetricResult):
                continue
            low, high = r.interval if r.interval is not None else (math.nan, math.nan)
            alpha = alpha_of.get(r.name or "", None)
            rows.append(
                {
                    "task": self.task,
                    "label_set": self.label_set,
                    "reward_source": s.source,
                    "model": s.model,
                    "pretrained": s.pretrained,
                    "alpha": math.nan if alpha is None else float(alpha),
                    "metric": r.metric,
                    "estimate": r.estimate,
                    "ci_low": low,
                    "ci_high": high,
                    "ci_method": r.ci_method or "",
                    "confidence": r.confidence,
                    "n_bootstrap": r.n_bootstrap,
                    "n_degenerate": r.n_degenerate,
                    "seed": r.seed,
                    "n_frames": r.n,
                    "n_episodes": r.n_episodes,
                    **{
                        k: v
                        for k, v in r.details.items()
                        if k in ("n_goal", "n_nongoal", "n_goal_episodes")
                    },
                    "model_identity": s.model_identity,
                    "random_weights": s.random_weights,
                    "dataset": self.dataset,
                    "dataset_hash": self.dataset_hash,
                    "labels_hash": self.labels_hash,
                    "reward_identity": s.identity,
                    "evalkit_version": __version__,
                }
            )
        return rows

    def skipped(self) -> list[MetricUnavailable]:
        """The asked-for metrics that are not defined on this dataset, with the reason."""
        seen: dict[str, MetricUnavailable] = {}
        for r in self.panel:
            if isinstance(r, MetricUnavailable):
                seen.setdefault(r.metric, r)
        return list(seen.values())

    def table(self) -> pd.DataFrame:
        """:meth:`rows` and :meth:`panel_rows` as a DataFrame."""
        return pd.DataFrame(self.rows() + self.panel_rows())


def evaluate_rewards(
    dataset: Dataset,
    task: str,
    source: RewardSource,
    *,
    label_set: str = RULE_LABELS,
    weights: np.ndarray | None = None,
    n_bootstrap: int = 2000,
    ci_method: str = "bca",
    confidence: float = 0.95,
    seed: int = 0,
    save: bool = False,
    metrics: str | Sequence[str] = (EPIC_METRIC,),
    progress: str | None = None,
) -> DatasetEpic:
    """EPIC distance of each reward of ``source`` to the dataset's goal labels for ``task``.

    :param label_set: ``"rule"`` (computed from states), ``"human"`` (majority vote of the human
        labellers), ``"human-NAME"`` or a labeller's name, or another stored set. Only the frames
        the set labels are evaluated (human labels rarely cover a whole dataset).
    :param weights: optional frame weights (the state distribution μ); default equal.
    :param save: upsert the rows into ``<dataset>/results/epic.parquet`` (default: write nothing).
    :param metrics: registered metric names (:func:`evalkit.metrics.metric_names`; ``"all"``, or
        a comma-separated string); a metric not defined on this dataset is skipped with its
        reason (see :meth:`DatasetEpic.skipped`).
    :param progress: the progress variable of the metrics that need one: a state column or an
        expression of them (default: the family's, :attr:`~evalkit.envs.family.Family.progress`).
    :raises DegenerateError: with the dataset, task and label set named, when EPIC (the only
        metric asked for) is undefined, or an unknown metric name; with other metrics, an
        undefined EPIC is skipped with its reason like them.
    """
    chosen = metric_names(metrics)
    bootstrap = BootstrapOptions(n_bootstrap, ci_method, confidence, seed)
    t = get_task(task)
    if t.family != dataset.family:
        raise DatasetError(
            f"Dataset {dataset.name!r} holds {dataset.family} states but task {task!r} runs on "
            f"{t.family}; pass a {t.family} dataset with --dataset (default: {t.dataset})."
        )
    values = np.asarray(source.values, dtype=float)
    if values.shape[0] != len(dataset):
        raise DegenerateError(
            f"There are {values.shape[0]} rewards but dataset {dataset.name!r} has {len(dataset)} frames."
        )
    # Human label sets usually cover part of the dataset: evaluate on the labelled frames.
    goal = dataset_labels(dataset, task, label_set)
    frame_ids, labels = goal.frame_ids, goal.labels[goal.mask]
    values = values[frame_ids]
    weights = None if weights is None else np.asarray(weights)[frame_ids]
    try:
        results = (
            []
            if EPIC_METRIC not in chosen
            else epic_goal_columns(
                values,
                labels,
                weights,
                dataset.episodes[frame_ids],
                bootstrap=bootstrap,
                names=source.column_names(),
            )
        )
    except DegenerateError as exc:
        reason = f"Task {task!r}, labels {label_set!r}, dataset {dataset.name!r}: {exc}"
        if chosen == [EPIC_METRIC]:
            raise DegenerateError(reason) from None
        results, epic_skipped = [], [MetricUnavailable(EPIC_METRIC, reason)]
    else:
        epic_skipped = []
    others = [m for m in chosen if m != EPIC_METRIC]
    panel = (
        _panel(
            dataset,
            t,
            frame_ids,
            values,
            labels,
            weights,
            others,
            progress,
            bootstrap=bootstrap,
            names=source.column_names(),
        )
        if others
        else []
    )
    if source.reward.episodic:  # an episode reward: success AUC over episodes, ERC, ranking
        from evalkit.metrics.policy_ranking import TARGET_OF
        from evalkit.pipeline.episode_metrics import episode_panel

        ranking = [m for m in TARGET_OF if m not in others]  # policy ranking of the returns
        if ranking:
            panel = [
                *panel,
                *_panel(
                    dataset, t, frame_ids, values, labels, weights, ranking, progress,
                    bootstrap=bootstrap, names=source.column_names(),
                ),
            ]  # fmt: skip

        states = dataset.states.iloc[frame_ids]
        gt = states[GT_REWARD_COLUMN].to_numpy(float) if GT_REWARD_COLUMN in states else None
        panel = [
            *panel,
            *episode_panel(
                values,
                labels,
                dataset.episodes[frame_ids],
                weights,
                gt,
                bootstrap=bootstrap,
                names=source.column_names(),
                with_erc="erc" not in others,
            ),
        ]
    run = DatasetEpic(
        dataset=dataset.name,
        dataset_hash=dataset.content_hash,
        task=task,
        label_set=label_set,
        source=source,
        results=list(results),
        labels_hash=goal.content_hash,
        panel=tuple(epic_skipped + list(panel)),
    )
    if save:
        run = replace(
            run, saved_to=upsert_epic_results(dataset.path, run.rows() + run.panel_rows())
        )
    return run


GT_REWARD_COLUMN = "gt_reward"
"""The state-table column of the ground-truth reward (evaluation rollouts store it): ERC's input."""


def need_for(
    need: str, metrics: Sequence[str], compute: Callable[[], np.ndarray], strict: bool = False
) -> tuple[np.ndarray | None, list[MetricUnavailable]]:
    """The per-frame input ``need`` (a key of :data:`~evalkit.metrics.registry.NEEDS`) when a
    chosen metric needs it (``None`` otherwise), and the metrics skipped because it could not be
    computed (with the reason).

    :param compute: computes the input; it may raise :class:`EvalkitError`.
    :param strict: raise that error instead of skipping (the user named the expression).
    """
    wanting = needing(need, metrics)
    if not wanting:
        return None, []
    try:
        return compute(), []
    except EvalkitError as exc:
        if strict:
            raise
        return None, [MetricUnavailable(m, str(exc)) for m in wanting]


def progress_for(
    metrics: Sequence[str], compute: Callable[[], np.ndarray], strict: bool = False
) -> tuple[np.ndarray | None, list[MetricUnavailable]]:
    """:func:`need_for` of the progress variable."""
    return need_for("progress", metrics, compute, strict)


def _panel(
    dataset: Dataset,
    task: Any,
    frame_ids: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None,
    metrics: list[str],
    progress: str | None,
    **options: Any,
) -> list[MetricResult | MetricUnavailable]:
    """The panel's other metrics on the evaluated frames; undefined ones come back skipped."""
    states = dataset.states.iloc[frame_ids]
    family = task.env
    given = {"progress": progress}  # expressions the user named (--progress)
    hints = {"progress": PROGRESS_HINT}  # how to name one when the family has none
    values_of: dict[str, np.ndarray | None] = {}
    skipped: list[MetricUnavailable] = []
    for need, attribute in FAMILY_NEEDS.items():
        expression = given.get(need)
        values_of[need], missing = need_for(
            need,
            [m for m in metrics if m not in {s.metric for s in skipped}],
            lambda a=attribute, e=expression, h=hints.get(need, ""): family.state_values(
                a, states, e, h
            ),
            strict=expression is not None,
        )
        skipped += missing
    metrics = [m for m in metrics if m not in {s.metric for s in skipped}]
    gt = states[GT_REWARD_COLUMN].to_numpy(dtype=float) if GT_REWARD_COLUMN in states else None
    results = (
        metric_panel(
            values,
            labels=labels,
            **values_of,
            episodes=dataset.episodes[frame_ids],
            gt_rewards=gt,
            weights=weights,
            metrics=metrics,
            skip_unavailable=True,
            **options,
        )
        if metrics
        else []
    )
    return skipped + list(results)
