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
