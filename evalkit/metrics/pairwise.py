"""Pairwise EPIC distances between ``k`` reward sources on one dataset, with episode intervals.

Definition. For state rewards (each a function of the reached frame), EPIC's canonicalisation
only subtracts a constant, so the distance between sources *a* and *b* is goal EPIC's Pearson
distance between the rewards themselves::

    D(a, b) = sqrt(½ (1 − ρ_ab)),   ρ_ab = weighted Pearson(r_a, r_b) over the frames

(population moments under the frame weights; integer weights equal repeated rows). 0: the
same reward up to scale and shift; √½: uncorrelated; 1: opposite. The matrix is symmetric
with a zero diagonal, ready for a heat map.

Computed as one Gram matrix of the weighted, standardised columns (``k × n @ n × k``).
Interval (optional, ``n_bootstrap > 0``): the episode-cluster bootstrap of every ρ_ab from
per-episode sums (exact), BCa or percentile, mapped to distances.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.cluster import SummedStatistic, cluster_bootstrap
from evalkit.metrics.options import NO_INTERVAL, BootstrapOptions
from evalkit.metrics.stats import distance_from_rho
from evalkit.metrics.tables import frames


@dataclass(frozen=True)
class PairwiseEpic:
    """EPIC distances between every pair of ``k`` reward sources.

    :ivar distance: ``(k, k)`` distances (zero diagonal).
    :ivar rho: ``(k, k)`` Pearson correlations.
    :ivar low: ``(k, k)`` lower interval ends of the distance, or ``None`` without bootstrap.
    :ivar high: ``(k, k)`` upper ends.
    :ivar n_degenerate: ``(k, k)`` resamples left out per pair (``None`` without bootstrap).
    :ivar names: the sources' names (or ``None``).
    """

    distance: np.ndarray
    rho: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None
    n_degenerate: np.ndarray | None
    names: list[str] | None
    method: str
    ci_method: str | None
    confidence: float
    n: int
    n_episodes: int
    n_bootstrap: int
    seed: int


def _standardised(r: np.ndarray, w: np.ndarray, names: list[str] | None) -> np.ndarray:
    p = w / w.sum()
    c = r - r.T @ p
    sd = np.sqrt((c * c).T @ p)
    scale = np.sqrt((r * r).T @ p)
    const = ~(sd > 1e-13 * np.maximum(scale, 1e-300))
    if const.any():
        j = int(np.argmax(const))
        label = f" ({names[j]})" if names else f" (column {j})"
        raise DegenerateError(
            f"The reward{label} is constant over the frames, so its EPIC distances are undefined."
        )
    return c / sd


def _pair_rho(sums: np.ndarray, k: int, iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """ρ of every pair from aggregated ``[W, Σwz (k), Σwz_az_b (upper triangle)]``."""
    w = sums[:, :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        m = sums[:, 1 : 1 + k] / w
        second = np.zeros((len(sums), k, k))
        second[:, iu[0], iu[1]] = sums[:, 1 + k :] / w
        var = np.diagonal(second, axis1=1, axis2=2) - m * m
        ii, jj = iu[0], iu[1]
        off = ii != jj
        a, b = ii[off], jj[off]
        cov = second[:, a, b] - m[:, a] * m[:, b]
        rho = cov / np.sqrt(var[:, a] * var[:, b])
        bad = ~(var[:, a] > 1e-10) | ~(var[:, b] > 1e-10)
    return np.where(bad, np.nan, np.clip(rho, -1.0, 1.0))


def epic_pairwise(
    rewards: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = NO_INTERVAL,
    names: Sequence[str] | None = None,
) -> PairwiseEpic:
    """EPIC distance matrix of the ``k`` columns of ``rewards`` ``(n, k)``.

    :param bootstrap: intervals per pair (default ``n_bootstrap=0``: the matrix only).
    :raises DegenerateError: a constant or NaN column, fewer than 2 columns.
    """
    fr = frames(rewards, weights, episodes, names)
    k = fr.rewards.shape[1]
    if k < 2:
        raise DegenerateError("A pairwise distance matrix needs at least 2 reward sources.")
    boot = bootstrap.wanted(fr.n_episodes)
    z = _standardised(fr.rewards, fr.weights, fr.names)
    p = fr.weights / fr.weights.sum()
    rho = (z * p[:, None]).T @ z
    np.fill_diagonal(rho, 1.0)
    rho = np.clip(0.5 * (rho + rho.T), -1.0, 1.0)
    low = high = n_deg = None
    if boot:
        iu = np.triu_indices(k)
        order = np.argsort(fr.episode, kind="stable")
        zs, ws = z[order], fr.weights[order]
        bounds = np.searchsorted(fr.episode[order], np.arange(fr.n_episodes + 1))
        sums = np.empty((fr.n_episodes, 1 + k + len(iu[0])))
        for e in range(fr.n_episodes):
            ze, we = zs[bounds[e] : bounds[e + 1]], ws[bounds[e] : bounds[e + 1]]
            sums[e, 0] = we.sum()
            sums[e, 1 : 1 + k] = we @ ze
            sums[e, 1 + k :] = ((ze * we[:, None]).T @ ze)[iu]
        off = iu[0] != iu[1]
        a, b = iu[0][off], iu[1][off]
        ci = cluster_bootstrap(
            SummedStatistic(sums, lambda s: _pair_rho(s, k, iu)),
            fr.n_episodes,
            rho[a, b],
            replace(bootstrap, resamples=None),
            "pairwise EPIC distance",
        )
        low, high, n_deg = np.zeros((k, k)), np.zeros((k, k)), np.zeros((k, k), dtype=int)
        for out, vals in ((low, distance_from_rho(ci.high)), (high, distance_from_rho(ci.low))):
            out[a, b] = out[b, a] = vals
        n_deg[a, b] = n_deg[b, a] = ci.n_degenerate
    method = "EPIC distance sqrt(½(1 − ρ)) of every pair of rewards (weighted Pearson ρ)"
    if boot:
        method += f"; {bootstrap.label} bootstrap over episodes (B={bootstrap.n_bootstrap})"
    dist = np.asarray(distance_from_rho(rho))
    np.fill_diagonal(dist, 0.0)
    return PairwiseEpic(
        distance=dist,
        rho=rho,
        low=low,
        high=high,
        n_degenerate=n_deg,
        names=fr.names,
        method=method,
        ci_method=bootstrap.ci_method if boot else None,
        confidence=bootstrap.confidence,
        n=fr.n,
        n_episodes=fr.n_episodes,
        n_bootstrap=bootstrap.n_bootstrap if boot else 0,
        seed=bootstrap.seed,
    )
