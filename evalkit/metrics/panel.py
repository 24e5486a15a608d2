"""The metric panel: every reward-quality metric of ``k`` reward columns on one dataset.

:data:`METRICS` names each metric, what it needs and the function that computes it;
:func:`metric_panel` computes the ones asked for, one result per metric × column (ERC gives
two per column: ``erc_pearson`` and ``erc_spearman``). :func:`check_available` says in one
sentence why a metric is not defined on a dataset (or ``None``); with
``skip_unavailable=True`` the panel returns a :class:`MetricUnavailable` for such a metric
instead of raising.

Example::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.random(200) < 0.3
    >>> rewards = labels + rng.normal(size=200)
    >>> res = metric_panel(rewards, labels=labels, episodes=np.arange(200) // 10,
    ...                    metrics=("epic", "auc"), n_bootstrap=200)
    >>> [r.metric for r in res]
    ['epic', 'auc']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.auc import DEFINITION as AUC_DEFINITION
from evalkit.metrics.average_precision import DEFINITION as AP_DEFINITION
from evalkit.metrics.cluster import SHARED_RESAMPLES_MAX, draw_resamples
from evalkit.metrics.detection import goal_detection
from evalkit.metrics.erc import MIN_EPISODES, erc
from evalkit.metrics.goal import as_labels
from evalkit.metrics.goal_metric import goal_epic
from evalkit.metrics.kendall import DEFINITION as KENDALL_DEFINITION
from evalkit.metrics.kendall import kendall_exact
from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
from evalkit.metrics.rank_agreement import rank_agreement
from evalkit.metrics.spearman import DEFINITION as SPEARMAN_DEFINITION
from evalkit.metrics.spearman import spearman_exact
from evalkit.metrics.stats import as_reward_matrix, check_finite
from evalkit.metrics.tables import (
    RESAMPLE_BINS_1D,
    RESAMPLE_BINS_2D,
    BootstrapOptions,
    ap_from_hist,
    auc_from_hist,
    frames,
    kendall_from_table,
    spearman_from_table,
)
from evalkit.metrics.voc import voc


@dataclass(frozen=True)
class Metric:
    """A panel metric: its name, the inputs it needs beyond rewards, and how it is computed.

    :ivar needs: a subset of ``("labels", "progress", "episodes", "gt_rewards")``.
    :ivar group: metrics of one group are computed together from the same tables (their
        results are the same as computing each alone).
    """

    name: str
    needs: tuple[str, ...]
    description: str
    group: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("epic", ("labels",), "goal EPIC distance to the goal labels", "epic"),
        Metric("auc", ("labels",), "ROC-AUC of the reward as a goal detector", "detection"),
        Metric(
            "ap", ("labels",), "average precision of the reward as a goal detector", "detection"
        ),
        Metric("spearman", ("progress",), "Spearman ρ with the progress variable", "rank"),
        Metric("kendall", ("progress",), "Kendall τ-b with the progress variable", "rank"),
        Metric("voc", ("episodes",), "value-order correlation (reward vs time per episode)", "voc"),
        Metric(
            "erc",
            ("episodes", "gt_rewards"),
            "episode-return correlation (results erc_pearson and erc_spearman)",
            "erc",
        ),
    )
}
"""The panel's metrics by name, in the order :func:`metric_panel` reports them."""

_DETECTION = {
    "auc": (auc_from_hist, AUC_DEFINITION),
    "ap": (ap_from_hist, AP_DEFINITION),
}
_RANK = {
    "spearman": (spearman_from_table, spearman_exact, SPEARMAN_DEFINITION),
    "kendall": (kendall_from_table, kendall_exact, KENDALL_DEFINITION),
}


def _compute_group(
    group: str, chosen: list[str], i: dict, options: BootstrapOptions, names
) -> list[MetricResult]:
    """The results of the chosen metrics of one group."""
    r, weights, episodes = i["rewards"], i["weights"], i["episodes"]
    if group == "epic":
        kwargs = options.as_kwargs()
        del kwargs["resamples"]
        return goal_epic(r, i["labels"], weights, episodes, **kwargs, names=names)
    if group == "detection":
        stats = {m: _DETECTION[m] for m in chosen}
        return goal_detection(
            stats, r, i["labels"], weights, episodes, options, names, RESAMPLE_BINS_1D
        )
    if group == "rank":
        stats = {m: _RANK[m] for m in chosen}
        return rank_agreement(
            stats, r, i["progress"], weights, episodes, options, names, RESAMPLE_BINS_2D
        )
    if group == "voc":
        return voc(r, episodes, weights, **options.as_kwargs(), names=names)
    return erc(r, i["gt_rewards"], episodes, weights, **options.as_kwargs(), names=names)


_NEEDS_TEXT = {
    "labels": "goal labels",
    "progress": "a progress variable (a state column or expression)",
    "episodes": "episode ids",
    "gt_rewards": "a ground-truth reward per frame (evaluation rollouts that store one)",
}


def metric_names(metrics: str | Sequence[str]) -> list[str]:
    """Validate and expand names (``"all"``, or a comma-separated string); registry order, no repeats."""
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    names = [m for m in names if m]
    if not names:
        raise DegenerateError(
            f"No metric was named; use one or more of {', '.join(METRICS)}, or all."
        )
    unknown = [m for m in names if m != "all" and m not in METRICS]
    if unknown:
        raise DegenerateError(
            f"Unknown metric {unknown[0]!r}; use one or more of {', '.join(METRICS)}, or all."
        )
    if "all" in names:
        return list(METRICS)
    return [m for m in METRICS if m in names]


def check_available(
    metric: str,
    rewards: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    progress: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    gt_rewards: np.ndarray | None = None,
) -> str | None:
    """Why ``metric`` is not defined on these inputs, in one sentence, or ``None`` when it is.

    Checks what the metric needs (inputs given, two classes of label, episodes of more than one
    frame, enough episodes for ERC); bad values (NaN, wrong lengths) still raise when computing.
    """
    spec = METRICS[metric_names([metric])[0]]
    given = {"labels": labels, "progress": progress, "episodes": episodes, "gt_rewards": gt_rewards}
    for need in spec.needs:
        if given[need] is None:
            return f"The metric {metric} needs {_NEEDS_TEXT[need]}, and none was given."
    n = len(np.asarray(rewards))
    if "labels" in spec.needs:
        y = as_labels(labels, n)
        if y.all() or not y.any():
            which = "goal" if y.all() else "non-goal"
            return f"The metric {metric} needs goal and non-goal frames, and all {n} frames are labelled {which}."
    if metric in ("voc", "erc"):
        _, frames_per = np.unique(np.asarray(episodes), return_counts=True)
        if metric == "voc" and frames_per.max() < 2:
            return "The metric voc correlates reward with time inside episodes, and every episode has one frame."
        if metric == "erc" and len(frames_per) < MIN_EPISODES:
            return f"The metric erc correlates returns over episodes and needs at least {MIN_EPISODES}; there are {len(frames_per)}."
    return None


def metric_panel(
    rewards: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    progress: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    gt_rewards: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    metrics: str | Sequence[str] = ("epic",),
    n_bootstrap: int = 2000,
    ci_method: str = "bca",
    confidence: float = 0.95,
    seed: int = 0,
    names: Sequence[str] | None = None,
    skip_unavailable: bool = False,
) -> list[MetricResult | MetricUnavailable]:
    """Every asked-for metric of every reward column, each with its episode-bootstrap interval.

    :param rewards: ``(n,)`` or ``(n, k)``: ``k`` reward columns (e.g. one per α) per frame.
    :param labels: 0/1 goal label per frame (epic, auc, ap).
    :param progress: progress variable per frame (spearman, kendall).
    :param episodes: episode id per frame: the bootstrap's unit (all), required by voc and erc.
    :param gt_rewards: ground-truth reward per frame (erc).
    :param weights: frame weights ``≥ 0`` (integers = repeated rows; voc and erc only drop zeros).
    :param metrics: names from :data:`METRICS`, ``"all"``, or a comma-separated string.
    :param n_bootstrap: resamples per interval (0: point estimates only). Every metric uses the
        same resamples (one draw; goal EPIC draws the same counts from the same seed).
    :param skip_unavailable: return a :class:`MetricUnavailable` (with the reason) for a metric
        whose inputs are missing or which is undefined on the dataset, instead of raising.
    :raises DegenerateError: an unknown metric name, NaN rewards, and (unless skipped) a metric
        that is not defined: one sentence each.
    :return: results ordered by metric (registry order), then column.
    """
    chosen = metric_names(metrics)
    r, _ = as_reward_matrix(rewards)
    check_finite(r, "rewards", list(names) if names is not None else None)
    inputs = {
        "rewards": r,
        "labels": labels,
        "progress": progress,
        "episodes": episodes,
        "gt_rewards": gt_rewards,
        "weights": weights,
    }
    reasons = {
        name: check_available(
            name, r, labels=labels, progress=progress, episodes=episodes, gt_rewards=gt_rewards
        )
        for name in chosen
    }
    missing = [reason for reason in reasons.values() if reason is not None]
    if missing and not skip_unavailable:
        raise DegenerateError(missing[0])
    available = [name for name in chosen if reasons[name] is None]
    resamples = None
    if n_bootstrap > 0 and available:
        n_episodes = frames(r, weights, episodes, names).n_episodes
        if n_bootstrap * n_episodes <= SHARED_RESAMPLES_MAX:
            resamples = draw_resamples(n_bootstrap, n_episodes, seed)
    options = BootstrapOptions(n_bootstrap, ci_method, confidence, seed, resamples)
    out: list[MetricResult | MetricUnavailable] = []
    done = set()
    for name in chosen:
        group = METRICS[name].group
        if reasons[name] is not None:
            out.append(MetricUnavailable(name, reasons[name]))
        elif group not in done:
            done.add(group)
            members = [m for m in available if METRICS[m].group == group]
            out += _compute_group(group, members, inputs, options, names)
    return out
