"""The metric panel: every registered reward-quality metric of ``k`` reward columns on one dataset.

The metrics are those of the registry (:mod:`evalkit.metrics.registry`); :func:`metric_panel`
computes the ones asked for, one result per result row × column (ERC gives two per column:
``erc_pearson`` and ``erc_spearman``), metrics that share a computation in one call.
:func:`check_available` says in one sentence why a metric is not defined on a dataset (or
``None``); with ``skip_unavailable=True`` the panel returns a :class:`MetricUnavailable` for such
a metric instead of raising.

Example::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.random(200) < 0.3
    >>> rewards = labels + rng.normal(size=200)
    >>> res = metric_panel(rewards, labels=labels, episodes=np.arange(200) // 10,
    ...                    metrics=("epic", "auc"), bootstrap=BootstrapOptions(n_bootstrap=200))
    >>> [r.metric for r in res]
    ['epic', 'auc']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.cluster import SHARED_RESAMPLES_MAX, draw_resamples
from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.registry import Metric, PanelInputs, get_metric, metric_names
from evalkit.metrics.stats import as_reward_matrix, check_finite
from evalkit.metrics.tables import frames


def check_available(
    metric: str,
    rewards: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    progress: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    gt_rewards: np.ndarray | None = None,
    quality: np.ndarray | None = None,
) -> str | None:
    """Why ``metric`` is not defined on these inputs, in one sentence, or ``None`` when it is.

    Checks what the metric needs (:attr:`Metric.needs`) and its own check (e.g. two classes of
    label, episodes of more than one frame, enough episodes); bad values (NaN, wrong lengths)
    still raise when computing.
    """
    inputs = PanelInputs(
        np.asarray(rewards),
        labels=labels,
        progress=progress,
        episodes=episodes,
        gt_rewards=gt_rewards,
        quality=quality,
    )
    return get_metric(metric).unavailable(inputs)


def metric_panel(
    rewards: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    progress: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    gt_rewards: np.ndarray | None = None,
    quality: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    metrics: str | Sequence[str] = ("epic",),
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
    skip_unavailable: bool = False,
) -> list[MetricResult | MetricUnavailable]:
    """Every asked-for metric of every reward column, each with its episode-bootstrap interval.

    :param rewards: ``(n,)`` or ``(n, k)``: ``k`` reward columns (e.g. one per α) per frame.
    :param labels: 0/1 goal label per frame (epic, auc, ap).
    :param progress: progress variable per frame (spearman, kendall).
    :param episodes: episode id per frame: the bootstrap's unit (all), required by voc and erc.
    :param gt_rewards: ground-truth reward per frame (erc).
    :param quality: the quality of each frame's episode, higher is better (rank_quality).
    :param weights: frame weights ``≥ 0`` (integers = repeated rows; voc and erc only drop zeros).
    :param metrics: registered names (:func:`~evalkit.metrics.registry.metric_names`),
        ``"all"``, or a comma-separated string.
    :param bootstrap: resamples per interval (``n_bootstrap=0``: point estimates only), method,
        confidence, seed. Every metric uses the same resamples (one draw; goal EPIC draws the
        same counts from the same seed).
    :param skip_unavailable: return a :class:`MetricUnavailable` (with the reason) for a metric
        whose inputs are missing or which is undefined on the dataset, instead of raising.
    :raises DegenerateError: an unknown metric name, NaN rewards, and (unless skipped) a metric
        that is not defined: one sentence each.
    :return: results ordered by metric (registry order), then column.
    """
    chosen = [get_metric(m) for m in metric_names(metrics)]
    r, _ = as_reward_matrix(rewards)
    check_finite(r, "rewards", list(names) if names is not None else None)
    inputs = PanelInputs(
        r,
        labels=labels,
        progress=progress,
        episodes=episodes,
        gt_rewards=gt_rewards,
        quality=quality,
        weights=weights,
        names=names,
    )
    reasons = {m.name: m.unavailable(inputs) for m in chosen}
    missing = [reason for reason in reasons.values() if reason is not None]
    if missing and not skip_unavailable:
        raise DegenerateError(missing[0])
    available = [m for m in chosen if reasons[m.name] is None]
    return _compute(chosen, available, reasons, inputs, _shared(bootstrap, available, inputs))


def _shared(
    bootstrap: BootstrapOptions, available: Sequence[Metric], inputs: PanelInputs
) -> BootstrapOptions:
    """``bootstrap`` with one draw of resample counts for every metric (when it fits in memory)."""
    if bootstrap.n_bootstrap == 0 or not available or bootstrap.resamples is not None:
        return bootstrap
    n_episodes = frames(inputs.rewards, inputs.weights, inputs.episodes, inputs.names).n_episodes
    if bootstrap.n_bootstrap * n_episodes > SHARED_RESAMPLES_MAX:
        return bootstrap
    return replace(
        bootstrap, resamples=draw_resamples(bootstrap.n_bootstrap, n_episodes, bootstrap.seed)
    )


def _compute(
    chosen: Sequence[Metric],
    available: Sequence[Metric],
    reasons: dict[str, str | None],
    inputs: PanelInputs,
    bootstrap: BootstrapOptions,
) -> list[MetricResult | MetricUnavailable]:
    """Results in registry order; metrics sharing a computation are computed in one call, its
    results placed at the first of them."""
    out: list[MetricResult | MetricUnavailable] = []
    done: list[object] = []
    for metric in chosen:
        reason = reasons[metric.name]
        if reason is not None:
            out.append(MetricUnavailable(metric.name, reason))
        elif not any(metric.compute is c for c in done):
            done.append(metric.compute)
            members = [m for m in available if m.compute is metric.compute]
            out += metric.compute(members, inputs, bootstrap)
    return out
