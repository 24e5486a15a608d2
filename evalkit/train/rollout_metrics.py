"""The training reward on evaluation rollouts: its column in the rollout dataset and its metrics.

``evalkit evaluate`` scores every rollout frame with the reward the run trained on (CLIP, a
frame prototype or a reward head) and stores it as :data:`REWARD_COLUMN` beside the
environment's ``gt_reward``; datasets written before kept it as ``clip_reward``
(:data:`LEGACY_REWARD_COLUMN`), which :func:`stored_rewards` still reads.

:func:`reward_metrics` measures that reward against the task's rule labels of the rollout
states with every registered metric (:func:`evalkit.metrics.panel.metric_panel`: goal EPIC,
AUC, AP, rank agreement with the family's progress variable, VOC, and ERC across episodes against
the ground-truth returns), each with its episode-bootstrap interval; a metric that is undefined on the rollouts (ERC when
every episode has the same ground-truth return, as a fixed-length CartPole episode does) is
skipped with its reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import DegenerateError
from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.panel import metric_panel
from evalkit.metrics.registry import metric_names
from evalkit.pipeline.episode_metrics import episode_panel
from evalkit.pipeline.evaluate import progress_for

REWARD_COLUMN = "train_reward"
"""The rollout-state column of the run's training reward per step."""
LEGACY_REWARD_COLUMN = "clip_reward"
"""Its name in rollout datasets written before any reward other than CLIP could train."""
GT_COLUMN = "gt_reward"
EVAL_BOOTSTRAP = 1000
"""Bootstrap resamples of the rollout metrics' intervals (episodes are few; 1000 is plenty)."""


def stored_rewards(states: pd.DataFrame) -> np.ndarray | None:
    """The training reward per step stored in rollout states (``None`` for ground-truth runs)."""
    for column in (REWARD_COLUMN, LEGACY_REWARD_COLUMN):
        if column in states.columns:
            return states[column].to_numpy(dtype=float)
    return None


def reward_metrics(
    states: pd.DataFrame,
    labels: np.ndarray,
    progress: Any,
    *,
    n_bootstrap: int = EVAL_BOOTSTRAP,
    seed: int = 0,
    episodic: bool = False,
) -> list[MetricResult | MetricUnavailable]:
    """Every registered metric of the stored training reward of ``states`` against ``labels``.

    :param states: rollout states with ``episode``, ``gt_reward`` and the reward column.
    :param labels: the task's rule label of every row.
    :param progress: a callable giving the family's progress variable of ``states``, computed
        when a metric needs it (it may raise :class:`EvalkitError`: those metrics are then
        skipped with its reason).
    :param episodic: the reward is one per episode (its last step): the episode-level
        metrics follow (:func:`evalkit.pipeline.episode_metrics.episode_panel`).
    :returns: empty when ``states`` hold no training reward (a ground-truth run).
    """
    rewards = stored_rewards(states)
    if rewards is None:
        return []
    names = metric_names()
    progress_values, skipped = progress_for(names, lambda: progress(states))
    reasons = {s.metric: s for s in skipped}
    bootstrap = BootstrapOptions(n_bootstrap=n_bootstrap, seed=seed)
    results: list[MetricResult | MetricUnavailable] = []
    for name in names:  # one at a time: one undefined on these rollouts skips only itself
        if name in reasons:  # the family's own reason, not "no progress variable was given"
            results.append(reasons[name])
            continue
        try:
            results += metric_panel(
                rewards,
                labels=np.asarray(labels, dtype=bool),
                progress=progress_values,
                episodes=states["episode"].to_numpy(),
                gt_rewards=states[GT_COLUMN].to_numpy(dtype=float),
                metrics=[name],
                bootstrap=bootstrap,
                skip_unavailable=True,
            )
        except DegenerateError as exc:  # e.g. ERC when every episode has the same return
            results.append(MetricUnavailable(name, str(exc)))
    if episodic:
        results += episode_panel(
            rewards,
            np.asarray(labels, dtype=bool),
            states["episode"].to_numpy(),
            None,
            None,  # ERC is in the panel above
            bootstrap=bootstrap,
        )
    return results
