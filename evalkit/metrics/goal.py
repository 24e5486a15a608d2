"""EPIC distance of a reward to goal labels: the closed form of the paper's Lemma 1.

For a goal-based ground truth ``R(s) = 1[s is a goal]`` and a reward that depends only on the
reached state, canonicalisation only subtracts a constant, so

    D_EPIC = sqrt(½ (1 − ρ)),    ρ = Pearson(reward, label) under the state distribution μ,

and ρ is the point-biserial correlation
``sqrt(p(1 − p)) / std(R) · (E[R | goal] − E[R | non-goal])`` with population moments
(``ddof = 0``) and ``p = P(goal)``. μ is the empirical distribution of the dataset's frames,
optionally weighted. Intervals come from :mod:`evalkit.metrics.bootstrap` (whole episodes resampled).

Example::

    >>> import numpy as np
    >>> labels = np.array([0, 0, 0, 1, 1, 0, 1, 0])
    >>> rewards = np.array([0.1, 0.2, 0.15, 0.9, 0.8, 0.3, 0.7, 0.2])
    >>> from evalkit.metrics.options import NO_INTERVAL
    >>> res = epic_goal(rewards, labels, bootstrap=NO_INTERVAL)
    >>> round(res.distance, 3), round(res.rho, 3)
    (0.12, 0.971)
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.bootstrap import bootstrap_pearson, episode_index
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.results import GoalEpicResult
from evalkit.metrics.stats import (
    as_reward_matrix,
    as_weights,
    check_finite,
    distance_from_rho,
    weighted_pearson,
)

if TYPE_CHECKING:
    from evalkit.metrics.metric_result import MetricResult
    from evalkit.metrics.registry import Metric, PanelInputs

MAX_DEGENERATE_SHARE = 0.25
"""If more than this share of bootstrap resamples is degenerate, the interval is refused (an
interval conditioned on the rare resamples where ρ is defined would mislead). With at least two
goal and two non-goal episodes, resamples without a class stay below about e⁻² ≈ 14 %."""


def as_labels(labels: np.ndarray, n: int) -> np.ndarray:
    """Goal labels as a boolean array of length ``n`` (bools, or numbers that are all 0 or 1)."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != n:
        got = len(y) if y.ndim == 1 else f"shape {y.shape}"
        raise DegenerateError(
            f"There are {n} rewards but {got} labels; pass one goal label per frame (same frames, same order)."
        )
    if y.dtype == bool:
        return y
    if not np.issubdtype(y.dtype, np.number):
        raise DegenerateError(f"Goal labels must be booleans or 0/1 numbers, not {y.dtype}.")
    yf = y.astype(float)
    if not np.all(np.isin(yf, (0.0, 1.0))):
        bad = yf[~np.isin(yf, (0.0, 1.0))][0]
        raise DegenerateError(f"Goal labels must be 0 or 1 (or booleans); found {bad!r}.")
    return yf == 1.0


def _check_classes(n_goal: int, n_nongoal: int) -> None:
    n = n_goal + n_nongoal
    if n_goal == 0 or n_nongoal == 0:
        which = "goal" if n_nongoal == 0 else "non-goal"
        raise DegenerateError(
            f"All {n} frames are labelled {which}, so the EPIC distance to the labels is undefined; "
            "it needs goal and non-goal frames (check the task, the label set and the dataset)."
        )
    for count, which in ((n_goal, "goal"), (n_nongoal, "non-goal")):
        if count < 2:
            raise DegenerateError(
                f"Only {count} of the {n} frames is labelled {which}; the EPIC distance needs at least "
                f"2 {which} frames (label more frames or use a dataset with more {which} states)."
            )


def epic_goal(
    rewards: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    name: str | None = None,
) -> GoalEpicResult:
    """EPIC distance between one reward and 0/1 goal labels (Lemma 1), with a bootstrap interval.

    :param rewards: one reward per frame, ``(n,)`` (several rewards at once, ``(n, k)``:
        :func:`epic_goal_columns`).
    :param name: what the reward is called (shown in messages and the result).

    The other parameters, the errors raised and the result are those of :func:`epic_goal_columns`.
    """
    r = np.asarray(rewards)
    if r.ndim == 2:
        raise DegenerateError(
            f"epic_goal takes one reward per frame (shape (n,)), not shape {r.shape}; "
            "evaluate several reward columns with epic_goal_columns."
        )
    return epic_goal_columns(
        r,
        labels,
        weights,
        episodes,
        bootstrap=bootstrap,
        names=None if name is None else [name],
    )[0]


def epic_goal_columns(
    rewards: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
) -> list[GoalEpicResult]:
    """EPIC distances between ``k`` rewards and 0/1 goal labels (Lemma 1), with bootstrap intervals.

    :param rewards: ``(n, k)``: ``k`` rewards (e.g. one per α) per frame, evaluated at once on the
        same bootstrap resamples (a 1-D ``(n,)`` array is one column).
    :param labels: goal label per frame (booleans or 0/1).
    :param weights: frame weights ``≥ 0`` defining the state distribution μ (default: equal).
        Zero-weight frames are ignored. Integer weights equal repeating frames.
    :param episodes: episode id per frame; the bootstrap resamples whole episodes. Default:
        every frame is its own episode (independent frames).
    :param bootstrap: resamples (``n_bootstrap=0``: point estimate only, ``interval=None``),
        ``ci_method`` (``"bca"``, bias-corrected and accelerated, or ``"percentile"``),
        ``confidence`` and ``seed`` of the resampling.
    :param names: a name per reward column (shown in messages and results).
    :raises DegenerateError: when the distance is undefined or the inputs do not match: all
        frames of one label, fewer than 2 frames of a class, a constant reward, NaN or infinite
        rewards, lengths that differ, negative weights, too few episodes to bootstrap.
    :return: one :class:`GoalEpicResult` per reward column, in order.
    """
    r, _ = as_reward_matrix(rewards)
    n, k = r.shape
    if n == 0:
        raise DegenerateError("There are no frames to evaluate.")
    names = list(names) if names is not None else None
    if names is not None and len(names) != k:
        raise ValueError(f"{k} reward columns but {len(names)} names")
    y = as_labels(labels, n)
    check_finite(r, "rewards", names)
    w = as_weights(weights, n)
    inverse, _ = episode_index(episodes, n)
    n_bootstrap, ci_method, seed = bootstrap.n_bootstrap, bootstrap.ci_method, bootstrap.seed

    used = w > 0
    weighted = bool(weights is not None and np.ptp(w[used]) > 0)
    r, y, w, inverse = r[used], y[used], w[used], inverse[used]
    n_goal = int(y.sum())
    n_nongoal = int(len(y) - n_goal)
    _check_classes(n_goal, n_nongoal)
    rho = weighted_pearson(r, y.astype(float), w, names=names, y_what="goal label")
    episode_ids = np.unique(inverse)
    goal_episodes = np.unique(inverse[y])
    nongoal_episodes = np.unique(inverse[~y])

    boot = None
    if n_bootstrap > 0:
        for count, which in ((len(goal_episodes), "goal"), (len(nongoal_episodes), "non-goal")):
            if count < 2:
                raise DegenerateError(
                    f"Only {count} episode contains {which} frames; a bootstrap over episodes needs at least 2 "
                    "(collect more episodes, or ask for the point estimate only: n_bootstrap=0, --bootstrap 0 on the command line)."
                )
        boot = bootstrap_pearson(
            r,
            y.astype(float),
            w,
            inverse,
            bootstrap=bootstrap,
            binary_y=True,
        )
        worst = int(boot.n_degenerate.max())
        if worst > MAX_DEGENERATE_SHARE * n_bootstrap:
            raise DegenerateError(
                f"{worst} of {n_bootstrap} bootstrap resamples are degenerate (no goal frame, no non-goal "
                f"frame, or a constant reward; {len(goal_episodes)} of {len(episode_ids)} episodes hold goal "
                "frames), so the interval would mislead; use a dataset with more episodes of each kind, "
                "or ask for the point estimate only (n_bootstrap=0, --bootstrap 0 on the command line)."
            )

    method = "closed form (Lemma 1: point-biserial ρ)"
    if boot is not None:
        method += f", {bootstrap.label} bootstrap over episodes (B={n_bootstrap})"
    results = []
    for j in range(k):
        interval = rho_interval = None
        n_deg = 0
        if boot is not None:
            lo, hi = float(boot.low[j]), float(boot.high[j])
            rho_interval = (lo, hi)
            interval = (distance_from_rho(hi), distance_from_rho(lo))
            n_deg = int(boot.n_degenerate[j])
        results.append(
            GoalEpicResult(
                distance=distance_from_rho(float(rho[j])),
                rho=float(rho[j]),
                interval=interval,
                rho_interval=rho_interval,
                method=method,
                ci_method=ci_method if boot is not None else None,
                confidence=bootstrap.confidence,
                n_frames=len(y),
                n_goal=n_goal,
                n_nongoal=n_nongoal,
                n_episodes=len(episode_ids),
                n_goal_episodes=len(goal_episodes),
                n_bootstrap=n_bootstrap if boot is not None else 0,
                n_degenerate=n_deg,
                seed=seed,
                weighted=weighted,
                name=names[j] if names else None,
            )
        )
    return results


def lemma1_rho(rewards: np.ndarray, labels: np.ndarray) -> float:
    """ρ written as in the paper's Lemma 1: ``sqrt(p(1−p)) / std(R) · (E[R|goal] − E[R|non-goal])``.

    Unweighted, population standard deviation (``ddof = 0``). Equal to :func:`epic_goal`'s ρ;
    kept as a readable cross-check of the formula.
    """
    r = np.asarray(rewards, dtype=float)
    y = as_labels(labels, len(r))
    p = y.mean()
    return float(np.sqrt(p * (1 - p)) / r.std(ddof=0) * (r[y].mean() - r[~y].mean()))


def panel_goal_epic(
    metrics: Sequence[Metric], inputs: PanelInputs, bootstrap: BootstrapOptions
) -> list[MetricResult]:
    """The registered ``epic`` metric: :func:`epic_goal_columns` of the panel's inputs, each
    result in the panel's form (:meth:`GoalEpicResult.to_metric_result`)."""
    results = epic_goal_columns(
        inputs.rewards,
        inputs.labels,
        inputs.weights,
        inputs.episodes,
        bootstrap=replace(bootstrap, resamples=None),
        names=inputs.names,
    )
    return [r.to_metric_result() for r in results]


def two_label_classes(metric: Metric, inputs: PanelInputs) -> str | None:
    """Why a metric of goal labels is undefined: every frame has the same label (or ``None``)."""
    n = len(np.asarray(inputs.rewards))
    y = as_labels(inputs.labels, n)
    if y.all() or not y.any():
        which = "goal" if y.all() else "non-goal"
        return f"The metric {metric.name} needs goal and non-goal frames, and all {n} frames are labelled {which}."
    return None
