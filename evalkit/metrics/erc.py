"""ERC, episode-return correlation, with an episode-bootstrap interval.

Definition. Per episode, the return of the reward ``Σ_t r_t`` and the ground-truth return
``Σ_t R_t`` (sums over the episode's frames; frame weights only drop zero-weight frames); ERC is
their correlation over episodes, every episode counting once:

- ``erc_pearson``: Pearson's r of the two returns (``scipy.stats.pearsonr``);
- ``erc_spearman``: Spearman's ρ of the two returns (mid-ranks; ``scipy.stats.spearmanr``).

Meant for evaluation rollouts of varied quality that store a ground-truth reward.

Interval: episode-cluster bootstrap of the correlation of the per-episode returns, exact: a
resample drawing episode *e* ``c_e`` times weights its returns by ``c_e`` and, for Spearman,
recomputes the mid-ranks with those counts (copies of an episode tie).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.bootstrap import episode_sums, rho_from_sums
from evalkit.metrics.cluster import SummedStatistic
from evalkit.metrics.episode_values import CountedRanks, episode_sum
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.tables import finish, frames, per_frame

DEFINITIONS = {
    "erc_pearson": "ERC: Pearson r of per-episode reward returns and ground-truth returns",
    "erc_spearman": "ERC: Spearman ρ of per-episode reward returns and ground-truth returns",
}
MIN_EPISODES = 3


def _standard(v: np.ndarray) -> np.ndarray:
    sd = v.std()
    return (v - v.mean()) / (sd if sd > 0 else 1.0)


def pearson_statistic(returns: np.ndarray, gt: np.ndarray) -> SummedStatistic:
    """Pearson r of each column of ``returns`` ``(E, k)`` with ``gt``: a function of per-episode
    sums (the returns standardised first, so the raw moments do not cancel)."""
    k = returns.shape[1]
    z = np.stack([_standard(returns[:, j]) for j in range(k)], axis=1)
    n = len(gt)
    sums = episode_sums(z, _standard(gt), np.ones(n), np.arange(n), n)
    return SummedStatistic(sums, lambda s: rho_from_sums(s, k)[0])


def spearman_statistic(returns: np.ndarray, gt: np.ndarray):
    """``counts (b, E) -> (b, k)``: Spearman ρ of each column of ``returns`` with ``gt``, the
    mid-ranks recomputed with the episodes' counts (:class:`CountedRanks`)."""
    rank_gt = CountedRanks(gt)
    rank_returns = [CountedRanks(returns[:, j]) for j in range(returns.shape[1])]

    def stat(counts: np.ndarray) -> np.ndarray:
        counts_t = np.ascontiguousarray(counts.T)
        total = counts_t.sum(axis=0)
        rg = rank_gt(counts_t)
        wrg = counts_t * rg
        vg = np.einsum("ij,ij->j", wrg, rg)
        out = []
        for rank in rank_returns:
            rr = rank(counts_t)
            vr = np.einsum("ij,ij->j", counts_t * rr, rr)
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = np.einsum("ij,ij->j", wrg, rr) / np.sqrt(vr * vg)
            bad = ~(vr > 1e-12 * total**3) | ~(vg > 1e-12 * total**3)
            out.append(np.where(bad, np.nan, np.clip(rho, -1.0, 1.0)))
        return np.stack(out, axis=1)

    return stat


def erc(
    rewards: np.ndarray,
    gt_rewards: np.ndarray | None,
    episodes: np.ndarray | None,
    weights: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
) -> list[MetricResult]:
    """ERC of each reward column (Pearson and Spearman).

    :param gt_rewards: the ground-truth reward of every frame (summed per episode).
    :param episodes: episode id per frame (required).
    :raises DegenerateError: no ground-truth rewards or episode ids, fewer than 3 episodes,
        constant returns.
    :return: ``erc_pearson`` results (one per column), then ``erc_spearman`` results;
        ``details["n_return_episodes"]``: the episodes correlated.
    """
    if gt_rewards is None:
        raise DegenerateError(
            "ERC needs the ground-truth reward of every frame (a dataset of evaluation rollouts that stores one)."
        )
    if episodes is None:
        raise DegenerateError("ERC needs episode ids (it correlates per-episode returns).")
    fr = frames(rewards, weights, episodes, names)
    gt = episode_sum(per_frame(gt_rewards, fr, "ground-truth reward"), fr.episode, fr.n_episodes)
    if fr.n_episodes < MIN_EPISODES:
        raise DegenerateError(
            f"ERC correlates returns over episodes and needs at least {MIN_EPISODES}; there are {fr.n_episodes}."
        )
    if np.ptp(gt) == 0:
        raise DegenerateError(
            "The ground-truth return is the same in every episode, so ERC is undefined."
        )
    bootstrap.wanted(fr.n_episodes)
    returns = np.stack(
        [
            episode_sum(fr.rewards[:, j], fr.episode, fr.n_episodes)
            for j in range(fr.rewards.shape[1])
        ],
        axis=1,
    )
    statistics = {
        "erc_pearson": pearson_statistic(returns, gt),
        "erc_spearman": spearman_statistic(returns, gt),
    }
    ones = np.ones((1, fr.n_episodes))
    out = []
    for metric, stat in statistics.items():
        estimates = stat(ones)[0][:, None]
        bad = ~np.isfinite(estimates[:, 0])
        if bad.any():
            label = f" ({fr.names[int(np.argmax(bad))]})" if fr.names else ""
            raise DegenerateError(
                f"The reward return{label} is the same in every episode, so ERC is undefined."
            )
        definition = [(metric, DEFINITIONS[metric])]
        details = {"n_return_episodes": fr.n_episodes}
        out += finish(definition, estimates, stat, fr, bootstrap, "ERC", details)
    return out
