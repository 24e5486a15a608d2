"""VOC, value-order correlation (as in GVL, Ma et al. 2024), with an episode-bootstrap interval.

Definition. For each episode, the Spearman correlation between the reward in time order and
the frame index ``0, 1, …, m − 1`` (the order of the episode's frames in the arrays; reward
ties get mid-ranks); VOC is the mean over the episodes where it is defined. An episode whose
reward is constant, or that has one frame, has no defined correlation: it is **left out and
counted** (``details["n_constant_episodes"]``, ``details["n_single_frame_episodes"]``), never
counted as 0. Meant for expert or demonstration rollouts, where progress grows with time: +1
when the reward rises through every episode. Known cases: rewards ``[25, 100, 0]`` → −0.5,
``[0, 100, 50]`` → +0.5. Frame weights only drop zero-weight frames (every episode counts once).

Interval: episode-cluster bootstrap of the mean of the per-episode values (exact; a resample
drawing no defined episode is degenerate).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.cluster import SummedStatistic, stack
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.tables import finish, frames

DEFINITION = "VOC: mean over episodes of Spearman(reward, frame index); undefined episodes left out"


def left_out_note(n_episodes: int, constant: int, single: int) -> str:
    """One sentence: how many episodes VOC left out and why (GVL/OpenGVL count them as 0)."""
    left = constant + single
    if left == 0:
        return f"VOC used all {n_episodes} episodes (none left out)."
    why = [f"{constant} with a constant reward"] if constant else []
    why += [f"{single} of one frame"] if single else []
    return (
        f"VOC left out {left} of {n_episodes} episodes ({' and '.join(why)}: no defined "
        "correlation with time), where OpenGVL would count them as 0."
    )


def time_index(episode: np.ndarray, n_episodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's index ``0..m−1`` inside its episode (array order) and the frames per episode."""
    by_time = np.argsort(episode, kind="stable")
    length = np.bincount(episode, minlength=n_episodes)
    first = np.cumsum(length) - length
    t = np.empty(len(episode))
    t[by_time] = np.arange(len(episode)) - first[episode[by_time]]
    return t, length


def episode_voc(
    rewards: np.ndarray, episode: np.ndarray, t: np.ndarray, length: np.ndarray
) -> np.ndarray:
    """Per-episode Spearman of one reward column with the time index ``t``; NaN where undefined.

    Mid-ranks of the reward inside each episode come from one sort by (episode, reward).
    """
    n, n_episodes = len(rewards), len(length)
    first = np.cumsum(length) - length
    by_value = np.argsort(rewards, kind="stable")  # then by episode, stably (radix for uint16)
    small = episode.astype(np.uint16) if n_episodes <= 65536 else episode
    by_value = by_value[np.argsort(small[by_value], kind="stable")]
    ev, xv = episode[by_value], rewards[by_value]
    new = np.concatenate([[True], (ev[1:] != ev[:-1]) | (xv[1:] != xv[:-1])])
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    mid = 0.5 * (starts + ends - 1) - first[ev[starts]]
    r = np.empty(n)
    r[by_value] = mid[group]

    def mean(v: np.ndarray) -> np.ndarray:
        return np.bincount(episode, weights=v, minlength=n_episodes) / np.maximum(length, 1)

    mr, mt = mean(r), mean(t)
    cov = mean(r * t) - mr * mt
    vr = mean(r * r) - mr * mr
    vt = mean(t * t) - mt * mt
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.clip(cov / np.sqrt(vr * vt), -1.0, 1.0)
    return np.where((length >= 2) & (vr > 1e-9), rho, np.nan)


def _mean_of_defined(s: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s[:, 0] > 0, s[:, 1] / s[:, 0], np.nan)[:, None]


def voc(
    rewards: np.ndarray,
    episodes: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    names: Sequence[str] | None = None,
) -> list[MetricResult]:
    """VOC of each reward column (``metric="voc"``).

    :param episodes: episode id per frame (required: VOC is a within-episode statistic); the
        frames of an episode are taken in array order.
    :raises DegenerateError: no episode ids, every episode of one frame, every episode constant.
    :return: one :class:`MetricResult` per column; ``details``: ``n_voc_episodes`` (used),
        ``n_constant_episodes``, ``n_single_frame_episodes``; ``note``: :func:`left_out_note`.
    """
    if episodes is None:
        raise DegenerateError(
            "VOC needs episode ids (it correlates reward with time inside each episode)."
        )
    fr = frames(rewards, weights, episodes, names)
    bootstrap.wanted(fr.n_episodes)
    t, length = time_index(fr.episode, fr.n_episodes)
    single = int(np.sum(length < 2))
    if single == fr.n_episodes:
        raise DegenerateError(
            f"All {fr.n_episodes} episodes have one frame, so VOC (a correlation with time inside each "
            "episode) is undefined; pass the episode id of every frame."
        )
    k = fr.rewards.shape[1]
    estimates = np.empty((k, 1))
    parts, details = [], []
    for j in range(k):
        values = episode_voc(fr.rewards[:, j], fr.episode, t, length)
        defined = np.isfinite(values)
        if not defined.any():
            label = f" ({fr.names[j]})" if fr.names else ""
            raise DegenerateError(
                f"The reward{label} is constant within every episode, so VOC is undefined."
            )
        estimates[j, 0] = values[defined].mean()
        sums = np.stack([defined * 1.0, np.where(defined, values, 0.0)], axis=1)
        parts.append(SummedStatistic(sums, _mean_of_defined))
        constant = int(np.sum(~defined)) - single
        details.append(
            {
                "n_voc_episodes": int(defined.sum()),
                "n_constant_episodes": constant,
                "n_single_frame_episodes": single,
            }
        )
    results = finish([("voc", DEFINITION)], estimates, stack(parts), fr, bootstrap, "VOC", details)
    return [
        replace(r, note=left_out_note(fr.n_episodes, d["n_constant_episodes"], single))
        for r, d in zip(results, details)
    ]
