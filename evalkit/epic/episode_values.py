"""Per-episode statistics correlated over episodes (ERC): under a resample drawing episode *e*
``c_e`` times, each episode's value counts ``c_e`` times, so the resample statistic is a
weighted statistic of the ``E`` per-episode values (cheap and exact)."""

from __future__ import annotations

import numpy as np


def episode_sum(values: np.ndarray, episode: np.ndarray, n_episodes: int) -> np.ndarray:
    """``(E,)`` sums of ``values`` per episode."""
    return np.bincount(episode, weights=values, minlength=n_episodes)


def counted_midranks(counts_t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-ranks of per-episode ``values`` ``(E,)`` when episode ``e`` appears ``counts_t[e, r]`` times.

    :param counts_t: ``(E, b)`` resample counts, one column per resample (rows are gathered).
    :return: ``(E, b)`` ranks ``C(< v_e) + ½ C(= v_e)`` (copies of an episode tie with it).
    """
    order = np.argsort(values, kind="stable")
    sorted_v = values[order]
    new = np.concatenate([[True], sorted_v[1:] != sorted_v[:-1]])
    mass = counts_t[order]
    if not new.all():
        mass = np.add.reduceat(mass, np.flatnonzero(new), axis=0)
    ranks = np.cumsum(mass, axis=0)
    ranks -= 0.5 * mass
    out = np.empty(counts_t.shape)
    out[order] = ranks if new.all() else ranks[np.cumsum(new) - 1]
    return out
