"""Episode-level metrics of episode rewards (``evalkit epic`` adds them for an episode reward):
success AUC over episodes, and ERC where a ground-truth reward exists.

They are computed here rather than registered in :mod:`evalkit.metrics.registry`: the registry's
metrics all join the panel of ``--metrics all``, which must stay defined on the data it was
defined on, and success over episodes is undefined wherever every episode reaches the goal.

Success AUC, with an episode-bootstrap interval.

Definition. Per episode, the return of the reward ``Σ_t r_t`` (over the episode's evaluated
frames; for an episode-level reward, which is 0 but at the last step, its one episode reward)
and the episode's **success**: any of its frames is labelled a goal. ``success_auc`` is the
ROC-AUC of the returns as a detector of successful episodes, every episode counting once: the
probability that a successful episode's return exceeds a failed one's, ties counting ½ (the
Mann–Whitney statistic).

Interval: episode-cluster bootstrap, exact: a resample drawing episode *e* ``c_e`` times weights
every pair of a successful and a failed episode by the product of their counts.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.episode_values import episode_sum
from evalkit.metrics.erc import erc
from evalkit.metrics.metric_result import MetricResult, MetricUnavailable
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.tables import finish, frames, per_frame

DEFINITION = (
    "success AUC: ROC-AUC of per-episode reward returns as a detector of successful episodes "
    "(any goal label)"
)


def _episode_success(labels: np.ndarray, episode: np.ndarray, n_episodes: int) -> np.ndarray:
    return episode_sum((np.asarray(labels) > 0).astype(float), episode, n_episodes) > 0


def success_statistic(
    returns: np.ndarray, success: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """``counts (b, E) -> (b, k)``: the success AUC of each column of ``returns`` ``(E, k)``
    with every episode counted as often as the resample draws it (NaN: a resample without a
    successful or a failed episode)."""
    pos, neg = np.flatnonzero(success), np.flatnonzero(~success)
    wins = [
        (r[pos, None] > r[None, neg]) + 0.5 * (r[pos, None] == r[None, neg])
        for r in (returns[:, j] for j in range(returns.shape[1]))
    ]

    def stat(counts: np.ndarray) -> np.ndarray:
        cp, cn = counts[:, pos], counts[:, neg]
        pairs = cp.sum(axis=1) * cn.sum(axis=1)
        out = np.stack([np.einsum("bj,bj->b", cp @ w, cn) for w in wins], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pairs[:, None] > 0, out / pairs[:, None], np.nan)

    return stat


def success_auc(
    rewards: np.ndarray,
    labels: np.ndarray,
    episodes: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
) -> list[MetricResult]:
    """Success AUC over episodes of every reward column.

    :param labels: 0/1 goal label per frame (an episode succeeds when any is 1).
    :param episodes: episode id per frame.
    :raises DegenerateError: every episode succeeds, or none does.
    :return: one result per column; ``details``: the successful and failed episodes.
    """
    fr = frames(rewards, weights, episodes, names)
    success = _episode_success(per_frame(labels, fr, "goal label"), fr.episode, fr.n_episodes)
    if success.all() or not success.any():
        raise DegenerateError(
            f"{'Every' if success.all() else 'No'} episode reaches the goal, so the success AUC "
            "over episodes is undefined."
        )
    bootstrap.wanted(fr.n_episodes)
    returns = np.stack(
        [
            episode_sum(fr.rewards[:, j], fr.episode, fr.n_episodes)
            for j in range(fr.rewards.shape[1])
        ],
        axis=1,
    )
    stat = success_statistic(returns, success)
    estimates = stat(np.ones((1, fr.n_episodes)))[0][:, None]
    details = {
        "n_successful_episodes": int(success.sum()),
        "n_failed_episodes": int((~success).sum()),
    }
    return finish(
        [("success_auc", DEFINITION)], estimates, stat, fr, bootstrap, "success AUC", details
    )


def episode_panel(
    rewards: np.ndarray,
    labels: np.ndarray,
    episodes: np.ndarray,
    weights: np.ndarray | None,
    gt_rewards: np.ndarray | None,
    *,
    bootstrap: BootstrapOptions,
    names: Sequence[str] | None = None,
    with_erc: bool = True,
) -> list[MetricResult | MetricUnavailable]:
    """The episode-level metrics of an episode reward: success AUC over episodes and, where a
    ground-truth reward exists (and ``with_erc``), ERC (:func:`evalkit.metrics.erc.erc`: for a
    reward that is 0 but at the last step, the correlation of the episode rewards with the
    ground-truth returns); an undefined one comes back as :class:`MetricUnavailable`.
    """
    out: list[MetricResult | MetricUnavailable] = []
    computations: list[tuple[str, Callable[[], list[MetricResult]]]] = [
        (
            "success_auc",
            lambda: success_auc(
                rewards, labels, episodes, weights, bootstrap=bootstrap, names=names
            ),
        )
    ]
    if gt_rewards is not None and with_erc:
        computations.append(
            (
                "erc",
                lambda: erc(
                    rewards, gt_rewards, episodes, weights, bootstrap=bootstrap, names=names
                ),
            )
        )
    for metric, compute in computations:
        try:
            out += compute()
        except DegenerateError as exc:
            out.append(MetricUnavailable(metric, str(exc)))
    return out
