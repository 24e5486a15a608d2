"""A generic episode-cluster bootstrap: a statistic of per-episode resample counts.

A cluster bootstrap resample draws as many episodes as there are, with replacement, and keeps
all their frames. Drawing episode *e* ``c_e`` times is the same as giving its frames the weight
``c_e`` (repeated rows), so every resample is a ``(n_episodes,)`` vector of counts and every
metric is written as a function ``statistic(counts (b, E)) -> values (b, k)`` (NaN where the
metric is undefined in a resample: *degenerate*, left out and counted). Counts are drawn exactly
as :mod:`evalkit.metrics.bootstrap` draws them (same seed: the same resamples as goal EPIC's).

Most metrics are a function of per-episode sums (:class:`SummedStatistic`): the resample values
are then ``reduce(counts @ summaries)``, one matrix product, and BCa's leave-one-episode-out
jackknife is ``reduce(total − summaries)``. Other statistics get the jackknife from counts with
one zero.

When a resample statistic approximates the estimate (binned tables, see
:mod:`evalkit.metrics.tables`) the resample values are re-centred: the interval is built from
``θ*_approx + (θ̂ − θ̂_approx)``, so that its centre is the exact estimate; with an exact
statistic the shift is zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from evalkit.errors import DegenerateError
from evalkit.metrics.bootstrap import _BLOCK_ENTRIES, _bca_levels, resample_counts
from evalkit.metrics.options import BootstrapOptions

SHARED_RESAMPLES_MAX = 4 * _BLOCK_ENTRIES
"""The panel shares one draw of resample counts up to this many entries (128 MB)."""
MAX_DEGENERATE_SHARE = 0.25
"""More degenerate resamples than this share and the interval is refused (as goal EPIC does)."""


_FLOAT32_EXACT = 2.0**24
"""Integers below this are exact in float32 (sums of integer counts × integer histograms)."""


class SummedStatistic:
    """A statistic that is a function of per-episode sums: ``reduce(counts @ summaries)``.

    :param summaries: ``(E, m)`` sums per episode.
    :param reduce: maps ``(b, m)`` aggregated sums to ``(b, k)`` values (NaN: degenerate).

    When the summaries are integers (histograms of unit-weight frames) and every product sum
    stays below 2²⁴, the matrix product runs in float32, which is then exact and twice as fast.
    """

    def __init__(self, summaries: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]):
        self.summaries = summaries
        self.reduce = reduce
        self._largest = float(np.abs(summaries).sum(axis=0).max(initial=0.0))
        self._integer = bool(np.all(summaries == np.round(summaries)))
        self._float32 = summaries.astype(np.float32) if self._integer else None

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        if (
            self._float32 is not None
            and float(counts.max(initial=0.0)) * self._largest < _FLOAT32_EXACT
        ):
            sums = (counts.astype(np.float32) @ self._float32).astype(np.float64)
        else:
            sums = counts @ self.summaries
        return self.reduce(sums)

    def leave_one_out(self) -> np.ndarray:
        """``(E, k)`` values with each episode left out once."""
        return self.reduce(self.summaries.sum(axis=0)[None, :] - self.summaries)


def stack(parts: Sequence[SummedStatistic]) -> SummedStatistic:
    """One :class:`SummedStatistic` whose values are those of ``parts`` side by side (one product)."""
    widths = np.cumsum([0] + [p.summaries.shape[1] for p in parts])

    def reduce(sums: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [p.reduce(sums[:, a:b]) for p, a, b in zip(parts, widths[:-1], widths[1:])], axis=1
        )

    return SummedStatistic(np.concatenate([p.summaries for p in parts], axis=1), reduce)


def draw_resamples(n_resamples: int, n_episodes: int, seed: int) -> np.ndarray:
    """``(n_resamples, n_episodes)`` episode counts, drawn as :func:`cluster_bootstrap` draws them.

    Draw once and pass as ``resamples=`` to evaluate several metrics on the same resamples
    (``n_resamples × n_episodes`` floats in memory; without it each metric draws them block by
    block; the panel shares a draw up to :data:`SHARED_RESAMPLES_MAX` counts).
    """
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ENTRIES // max(n_episodes, 1))
    return (
        np.concatenate(
            [
                resample_counts(rng, min(n_resamples, start + block) - start, n_episodes)
                for start in range(0, n_resamples, block)
            ]
        )
        if n_resamples > 0
        else np.zeros((0, n_episodes))
    )


@dataclass(frozen=True)
class ClusterInterval:
    """Episode-bootstrap intervals of ``k`` values (arrays have one entry per value).

    :ivar low: lower ends (NaN when every resample was degenerate).
    :ivar high: upper ends.
    :ivar n_degenerate: resamples left out per value.
    :ivar resamples: ``(n_resamples, k)`` re-centred resample values, NaN where degenerate.
    :ivar shift: what was added to the resample values (θ̂ − θ̂_approx; 0 for exact statistics).
    """

    low: np.ndarray
    high: np.ndarray
    n_degenerate: np.ndarray
    resamples: np.ndarray
    shift: np.ndarray


def cluster_bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray],
    n_episodes: int,
    estimate: np.ndarray,
    bootstrap: BootstrapOptions,
    what: str = "metric",
) -> ClusterInterval:
    """Episode-bootstrap intervals (BCa or percentile) of ``statistic`` around ``estimate``.

    :param statistic: ``counts (b, E) -> (b, k)``; a :class:`SummedStatistic` gets the fast jackknife.
    :param estimate: ``(k,)`` exact full-sample values.
    :param bootstrap: resamples, method, confidence and seed; its ``resamples`` (counts from
        :func:`draw_resamples` with the same ``n_bootstrap``, ``n_episodes`` and ``seed``: the
        same values as drawing them here) share one draw between metrics.
    :param what: the metric's name, for the error message.
    :raises DegenerateError: when more than a quarter of the resamples are degenerate.
    """
    n_resamples, resamples = bootstrap.n_bootstrap, bootstrap.resamples
    est = np.atleast_1d(np.asarray(estimate, dtype=float))
    full = np.asarray(statistic(np.ones((1, n_episodes))), dtype=float)[0]
    shift = np.where(np.isfinite(full), est - full, 0.0)
    shared = resamples is not None and resamples.shape == (n_resamples, n_episodes)
    rng = np.random.default_rng(bootstrap.seed)
    block = max(1, _BLOCK_ENTRIES // max(n_episodes, 1))
    boot = np.empty((n_resamples, len(est)))
    for start in range(0, n_resamples, block):
        stop = min(n_resamples, start + block)
        counts = resamples[start:stop] if shared else resample_counts(rng, stop - start, n_episodes)
        boot[start:stop] = statistic(counts)
    boot += shift
    valid = np.isfinite(boot)
    n_degenerate = (~valid).sum(axis=0)
    worst = int(n_degenerate.max())
    if worst > MAX_DEGENERATE_SHARE * n_resamples:
        raise DegenerateError(
            f"{worst} of {n_resamples} bootstrap resamples leave the {what} undefined, so its interval "
            "would mislead; use a dataset with more episodes, or ask for the point estimate only "
            "(n_bootstrap=0)."
        )
    alpha = 1.0 - bootstrap.confidence
    levels = np.tile([alpha / 2, 1 - alpha / 2], (len(est), 1))
    if bootstrap.ci_method == "bca":
        jack = _jackknife(statistic, n_episodes)
        for j in range(len(est)):
            levels[j] = _bca_levels(boot[valid[:, j], j], est[j], jack[:, j], alpha)[0]
    low = np.full(len(est), np.nan)
    high = np.full(len(est), np.nan)
    for j in range(len(est)):
        vals = boot[valid[:, j], j]
        if len(vals):
            low[j], high[j] = np.quantile(vals, levels[j])
    return ClusterInterval(low, high, n_degenerate, boot, shift)


def _jackknife(statistic: Callable[[np.ndarray], np.ndarray], n_episodes: int) -> np.ndarray:
    """Leave-one-episode-out values ``(E, k)``."""
    if isinstance(statistic, SummedStatistic):
        return statistic.leave_one_out()
    block = max(1, _BLOCK_ENTRIES // max(n_episodes, 1))
    parts = []
    for start in range(0, n_episodes, block):
        stop = min(n_episodes, start + block)
        counts = np.ones((stop - start, n_episodes))
        counts[np.arange(stop - start), np.arange(start, stop)] = 0.0
        parts.append(statistic(counts))
    return np.concatenate(parts)
