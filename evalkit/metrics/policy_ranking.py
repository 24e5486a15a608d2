"""Policy ranking: does a reward's episode return order episodes as their quality does?

As in Robometer: Kendall **τ-b** (tie-corrected, ``scipy.stats.kendalltau``'s default) between
the per-episode reward return and

- the episode's **quality** (higher is better: for the tiers of a Meta-World dataset,
  ``1 − ε``, so expert > ε-noisy > random, ties within a tier), and
- its **success** (0/1: whether the episode reached the goal).

τ-b is undefined when either variable is constant (every episode of one tier, or the same
return everywhere); :func:`policy_ranking` then raises :class:`~evalkit.errors.DegenerateError`
saying which. The interval is a percentile bootstrap over episodes; resamples in which τ-b is
undefined are left out, and how many is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt
from scipy.stats import kendalltau

from evalkit.errors import DegenerateError, EvalkitError


@dataclass(frozen=True)
class RankingResult:
    """Kendall τ-b of episode returns with one episode variable.

    :ivar tau: τ-b on all episodes.
    :ivar ci: ``(low, high)`` percentile bootstrap interval.
    :ivar n_episodes: episodes used.
    :ivar n_undefined: bootstrap resamples left out because τ-b was undefined in them.
    """

    tau: float
    ci: tuple[float, float]
    n_episodes: int
    n_undefined: int


def episode_returns(
    rewards: npt.ArrayLike, episodes: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """The sum of ``rewards`` per episode: ``(episode ids in sorted order, returns)``."""
    r = np.asarray(rewards, dtype=float)
    e = np.asarray(episodes)
    if r.shape != e.shape or r.ndim != 1:
        raise EvalkitError("rewards and episodes must be 1-D arrays of the same length.")
    ids, inverse = np.unique(e, return_inverse=True)
    return ids, np.bincount(inverse, weights=r, minlength=len(ids))


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(kendalltau(x, y).statistic)


def kendall_ranking(
    returns: npt.ArrayLike,
    target: npt.ArrayLike,
    what: str = "quality",
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> RankingResult:
    """Kendall τ-b of per-episode ``returns`` with ``target`` (quality or success), with a
    bootstrap interval over episodes.

    :param returns: one reward return per episode.
    :param target: the episode variable (higher is better).
    :param what: the target's name, for messages.
    :raises DegenerateError: fewer than two episodes, or either variable constant.
    """
    x = np.asarray(returns, dtype=float)
    y = np.asarray(target, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise EvalkitError(f"returns and {what} must be 1-D arrays of the same length.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise EvalkitError(f"returns and {what} must be finite.")
    if n_resamples <= 0 or not 0 < level < 1:
        raise EvalkitError("n_resamples must be positive and level in (0, 1).")
    if len(x) < 2:
        raise DegenerateError(f"Policy ranking by {what} needs at least two episodes.")
    if np.ptp(y) == 0:
        raise DegenerateError(
            f"Policy ranking by {what} is undefined: every episode has the same {what}."
        )
    if np.ptp(x) == 0:
        raise DegenerateError(
            f"Policy ranking by {what} is undefined: every episode has the same return."
        )
    rng = np.random.default_rng(seed)
    taus = np.array([_tau(x[i], y[i]) for i in rng.integers(0, len(x), size=(n_resamples, len(x)))])
    defined = taus[np.isfinite(taus)]
    alpha = (1 - level) / 2
    ci = (
        (float(np.quantile(defined, alpha)), float(np.quantile(defined, 1 - alpha)))
        if len(defined)
        else (float("nan"), float("nan"))
    )
    return RankingResult(_tau(x, y), ci, len(x), int(len(taus) - len(defined)))


def tier_quality(epsilon: npt.ArrayLike) -> np.ndarray:
    """Quality of an episode collected with ε-random actions: ``1 − ε`` (expert 1, random 0)."""
    eps = np.asarray(epsilon, dtype=float)
    if np.any((eps < 0) | (eps > 1)):
        raise EvalkitError("ε must lie in [0, 1].")
    return 1.0 - eps


def policy_ranking(
    returns: npt.ArrayLike,
    epsilon: npt.ArrayLike,
    success: npt.ArrayLike,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, RankingResult]:
    """τ-b of the returns with the tier quality (``quality``) and with success (``success``).

    :param returns: one reward return per episode.
    :param epsilon: each episode's ε (0 expert, 1 random).
    :param success: each episode's success (0/1).
    """
    options = {"n_resamples": n_resamples, "level": level, "seed": seed}
    return {
        "quality": kendall_ranking(returns, tier_quality(epsilon), "quality", **options),
        "success": kendall_ranking(returns, np.asarray(success, dtype=float), "success", **options),
    }


# -- as registered metrics (``rank_quality``, ``rank_success``) -----------------------------------

RANKING_DEFINITION = (
    "Kendall τ-b of the per-episode reward return with the episode's {what} "
    "(percentile bootstrap over episodes; resamples where τ-b is undefined left out)"
)
"""How a policy-ranking result was computed, in words (``{what}``: quality or success)."""


def episode_targets(metric: str, inputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The episodes' target of ``metric`` on the panel's inputs (positive-weight frames).

    ``rank_quality``: the mean quality of the episode's frames; ``rank_success``: 1 when a frame
    of the episode is labelled goal (Meta-World's "reached the success flag"), else 0.

    :return: ``(episode index per kept frame, keep mask, target per episode)``.
    """
    w = np.ones(len(inputs.rewards)) if inputs.weights is None else np.asarray(inputs.weights)
    keep = w > 0
    _, inverse = np.unique(np.asarray(inputs.episodes)[keep], return_inverse=True)
    inverse = inverse.ravel()
    if metric == "rank_quality":
        q = np.asarray(inputs.quality, dtype=float)[keep]
        target = np.bincount(inverse, weights=q) / np.bincount(inverse)
    else:
        goal = np.asarray(inputs.labels, dtype=float)[keep]
        target = (np.bincount(inverse, weights=goal) > 0).astype(float)
    return inverse, keep, target


TARGET_OF = {"rank_quality": "quality", "rank_success": "success"}


def ranking_check(metric: Any, inputs: Any) -> str | None:
    """Why ``metric`` (policy ranking) is undefined: fewer than two episodes, episodes of one
    frame each (a sweep of states, not rollouts), or every episode has the same quality (one
    tier) or the same success."""
    what = TARGET_OF[metric.name]
    inverse, _, target = episode_targets(metric.name, inputs)
    if len(target) == len(inverse):
        return f"The metric {metric.name} ranks rollouts by their return, and every episode has one frame."
    if len(target) < 2:
        return f"The metric {metric.name} ranks episodes and needs at least two; there is {len(target)}."
    if np.ptp(target) == 0:
        return f"The metric {metric.name} is undefined: every episode has the same {what} ({target[0]:g})."
    return None


def panel_policy_ranking(metrics: Sequence[Any], inputs: Any, bootstrap: Any) -> list[Any]:
    """τ-b of every reward column's episode returns with each chosen metric's target; a column
    whose returns are all equal comes back as a :class:`MetricUnavailable` with the reason."""
    from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
    from evalkit.metrics.stats import as_reward_matrix

    r, _ = as_reward_matrix(inputs.rewards)
    w = np.ones(len(r)) if inputs.weights is None else np.asarray(inputs.weights, dtype=float)
    names = list(inputs.names) if inputs.names is not None else [None] * r.shape[1]
    out: list[Any] = []
    for metric in metrics:
        what = TARGET_OF[metric.name]
        inverse, keep, target = episode_targets(metric.name, inputs)
        for j, name in enumerate(names):
            returns = np.bincount(inverse, weights=(r[keep, j] * w[keep]))
            if np.ptp(returns) == 0:
                out.append(
                    MetricUnavailable(
                        metric.name,
                        f"The metric {metric.name} is undefined: every episode has the same return.",
                        name,
                    )
                )
                continue
            n_boot = bootstrap.n_bootstrap
            res = kendall_ranking(
                returns,
                target,
                what,
                n_resamples=max(n_boot, 1),
                level=bootstrap.confidence,
                seed=bootstrap.seed,
            )
            out.append(
                MetricResult(
                    metric.name,
                    res.tau,
                    res.ci if n_boot > 0 else None,
                    RANKING_DEFINITION.format(what=what),
                    "percentile" if n_boot > 0 else None,
                    bootstrap.confidence,
                    int(keep.sum()),
                    res.n_episodes,
                    n_boot,
                    res.n_undefined if n_boot > 0 else 0,
                    bootstrap.seed,
                    name,
                    {f"n_{what}_levels": int(len(np.unique(target)))},
                )
            )
    return out
