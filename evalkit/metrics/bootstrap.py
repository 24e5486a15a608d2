"""Bootstrap confidence intervals for a weighted Pearson correlation, resampling whole episodes.

Frames of one episode are correlated, so the unit of resampling is the episode (a cluster
bootstrap): each resample draws as many episodes as there are, with replacement, and keeps all
their frames. Nothing is resampled frame by frame. A Pearson correlation is a function of five
weighted sums, so the work is

1. per episode *e*, the sums of ``w``, ``w·y``, ``w·y²``, ``w·x``, ``w·x²``, ``w·x·y`` over its
   frames (one pass over the frames; ``x`` and ``y`` are first centred and scaled on the whole
   sample, so that the raw second moments below do not cancel catastrophically);
2. a ``(B, n_episodes)`` matrix of how often each resample drew each episode;
3. one matrix product of the two, giving every resample's sums at once, O(B × n_episodes).

Leave-one-episode-out sums (total minus one episode's row) give the jackknife that estimates
BCa's acceleration the same way. A resample is *degenerate* when the correlation is undefined
in it (for goal labels: it drew no goal frame or no non-goal frame; or the reward is constant
in it); degenerate resamples are left out and counted.

Example::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(500) < 0.3
    >>> x = y + rng.normal(size=500)
    >>> res = bootstrap_pearson(x, y, episodes=np.arange(500) // 10,
    ...                         bootstrap=BootstrapOptions(n_bootstrap=500), binary_y=True)
    >>> bool(res.low[0] < res.rho[0] < res.high[0])
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from evalkit.errors import DegenerateError
from evalkit.metrics.options import BootstrapOptions

_RESAMPLE_VARIANCE_TOL = 1e-10
"""Inside a resample, a (standardised) variance at most this fraction of its mean square is zero."""

_BLOCK_ENTRIES = 4_000_000
"""Resamples are drawn in blocks of at most this many (resample, episode) counts (32 MB)."""


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap interval of the Pearson correlation of each column of ``x`` with ``y``.

    Arrays have one entry per column of ``x``.

    :ivar rho: the point estimates on the full sample.
    :ivar low: lower ends of the intervals for ρ.
    :ivar high: upper ends of the intervals for ρ.
    :ivar ci_method: ``"bca"`` or ``"percentile"``.
    :ivar confidence: the nominal coverage, e.g. 0.95.
    :ivar n_bootstrap: resamples drawn (degenerate ones included).
    :ivar n_degenerate: resamples in which ρ was undefined, left out of the interval.
    :ivar z0: BCa's bias correction (0 for the percentile method).
    :ivar acceleration: BCa's acceleration from the episode jackknife (0 for percentile).
    :ivar resamples: ``(n_bootstrap, k)`` bootstrap values of ρ, NaN where degenerate.
    """

    rho: np.ndarray
    low: np.ndarray
    high: np.ndarray
    ci_method: str
    confidence: float
    n_bootstrap: int
    n_degenerate: np.ndarray
    z0: np.ndarray
    acceleration: np.ndarray
    resamples: np.ndarray


def episode_index(episodes: np.ndarray | None, n: int) -> tuple[np.ndarray, int]:
    """Map episode ids (any hashable values) to ``0..E-1``; ``None`` makes every frame its own."""
    if episodes is None:
        return np.arange(n), n
    ep = np.asarray(episodes)
    if ep.ndim != 1 or len(ep) != n:
        raise DegenerateError(
            f"There are {n} frames but {len(ep) if ep.ndim == 1 else ep.shape} episode ids; pass one episode id per frame."
        )
    if ep.dtype.kind == "f" and not np.all(np.isfinite(ep)):
        raise DegenerateError("Some episode ids are NaN; every frame needs an episode id.")
    uniq, inverse = np.unique(ep, return_inverse=True)
    return inverse.ravel(), len(uniq)


def _standardise(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Centre and scale columns on the whole weighted sample (a constant column is only centred)."""
    p = w / w.sum()
    c = v - v.T @ p  # (k, n) @ (n,): numpy's fast path, unlike (n,) @ (n, k)
    sd = np.sqrt((c * c).T @ p)
    return c / np.where(sd > 0, sd, 1.0)


def episode_sums(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    inverse: np.ndarray,
    n_episodes: int,
    goal: np.ndarray | None = None,
) -> np.ndarray:
    """Per-episode weighted sums, ``(n_episodes, 3 + 3k [+ 2])``.

    Columns: ``Σw, Σwy, Σwy², Σwx_j (k), Σwx_j² (k), Σwx_jy (k)`` and, when the boolean
    ``goal`` is given, the exact (non-negative) weights of goal frames and of non-goal frames.
    """
    k = x.shape[1]
    cols = [w, w * y, w * y * y]
    wx = w[:, None] * x
    cols += [wx[:, j] for j in range(k)]
    cols += [wx[:, j] * x[:, j] for j in range(k)]
    cols += [wx[:, j] * y for j in range(k)]
    if goal is not None:
        cols += [w * goal, w * ~goal]
    out = np.empty((n_episodes, len(cols)))
    for c, v in enumerate(cols):
        out[:, c] = np.bincount(inverse, weights=v, minlength=n_episodes)
    return out


def rho_from_sums(
    sums: np.ndarray, k: int, binary_y: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson ρ and a degenerate mask from sums laid out as by :func:`episode_sums`.

    :param sums: ``(..., 3 + 3k [+ 2])``.
    :return: ``rho (..., k)`` (NaN where degenerate) and ``degenerate (..., k)``.
    """
    W = sums[..., 0:1]
    with np.errstate(divide="ignore", invalid="ignore"):
        my = sums[..., 1:2] / W
        myy = sums[..., 2:3] / W
        mx = sums[..., 3 : 3 + k] / W
        mxx = sums[..., 3 + k : 3 + 2 * k] / W
        mxy = sums[..., 3 + 2 * k : 3 + 3 * k] / W
        vy = myy - my * my
        vx = mxx - mx * mx
        cov = mxy - mx * my
        degenerate = (
            ~(W > 0) | (vy <= _RESAMPLE_VARIANCE_TOL * myy) | (vx <= _RESAMPLE_VARIANCE_TOL * mxx)
        )
        if binary_y:
            degenerate = degenerate | (sums[..., -2:-1] <= 0) | (sums[..., -1:] <= 0)
        rho = np.clip(cov / np.sqrt(vx * vy), -1.0, 1.0)
    rho = np.where(degenerate, np.nan, rho)
    return rho, np.broadcast_to(degenerate, rho.shape)


def resample_counts(rng: np.random.Generator, n_draws: int, n_episodes: int) -> np.ndarray:
    """How often each of ``n_draws`` resamples drew each episode: ``(n_draws, n_episodes)`` floats."""
    idx = rng.integers(0, n_episodes, size=(n_draws, n_episodes), dtype=np.int64)
    idx += (np.arange(n_draws, dtype=np.int64) * n_episodes)[:, None]
    return (
        np.bincount(idx.ravel(), minlength=n_draws * n_episodes)
        .reshape(n_draws, n_episodes)
        .astype(np.float64)
    )


def bootstrap_pearson(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    bootstrap: BootstrapOptions = BootstrapOptions(),
    binary_y: bool = False,
) -> BootstrapResult:
    """Episode-bootstrap confidence intervals for the weighted Pearson ρ of each column of ``x`` with ``y``.

    All columns share the same resamples. Inputs are assumed checked (finite, matching lengths,
    non-negative weights; see :func:`evalkit.metrics.goal.epic_goal`).

    :param x: ``(n,)`` or ``(n, k)`` values (rewards).
    :param y: ``(n,)`` values (0/1 goal labels when ``binary_y``).
    :param weights: per-frame weights ``≥ 0`` (default equal).
    :param episodes: per-frame episode ids (default: every frame its own episode).
    :param bootstrap: ``n_bootstrap`` resamples (at least 1), ``ci_method``, ``confidence`` and
        ``seed`` (same seed, same data: same interval).
    :param binary_y: ``y`` is a 0/1 label: a resample is degenerate when it has no frame of a class.
    """
    n_resamples, method, confidence = (
        bootstrap.n_bootstrap,
        bootstrap.ci_method,
        bootstrap.confidence,
    )
    if n_resamples < 1:
        raise DegenerateError(
            f"The number of bootstrap resamples must be at least 1, not {n_resamples}."
        )
    x2 = np.asarray(x, dtype=float)
    x2 = x2[:, None] if x2.ndim == 1 else x2
    n, k = x2.shape
    y1 = np.asarray(y, dtype=float)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    inverse, n_ep = episode_index(episodes, n)
    keep = w > 0
    if not keep.all():
        x2, y1, w, inverse = x2[keep], y1[keep], w[keep], inverse[keep]
        used, inverse = np.unique(inverse, return_inverse=True)
        n_ep = len(used)

    goal = (y1 > 0.5) if binary_y else None
    sums = episode_sums(
        _standardise(x2, w), _standardise(y1[:, None], w)[:, 0], w, inverse, n_ep, goal
    )
    total = sums.sum(axis=0)
    rho_hat, deg_hat = rho_from_sums(total, k, binary_y)
    if deg_hat.any():
        raise DegenerateError(
            "The correlation is undefined on the full sample (a constant column or a single class)."
        )

    rng = np.random.default_rng(bootstrap.seed)
    block = max(1, _BLOCK_ENTRIES // max(n_ep, 1))
    boot = np.empty((n_resamples, k))
    for start in range(0, n_resamples, block):
        stop = min(n_resamples, start + block)
        boot[start:stop] = rho_from_sums(
            resample_counts(rng, stop - start, n_ep) @ sums, k, binary_y
        )[0]
    valid = np.isfinite(boot)
    n_degenerate = (~valid).sum(axis=0)

    alpha = 1.0 - confidence
    levels = np.tile([alpha / 2, 1 - alpha / 2], (k, 1))
    z0 = np.zeros(k)
    accel = np.zeros(k)
    if method == "bca":
        jack, _ = rho_from_sums(total[None, :] - sums, k, binary_y)
        for j in range(k):
            levels[j], z0[j], accel[j] = _bca_levels(
                boot[valid[:, j], j], rho_hat[j], jack[:, j], alpha
            )
    low = np.full(k, np.nan)
    high = np.full(k, np.nan)
    for j in range(k):
        vals = boot[valid[:, j], j]
        if len(vals):
            low[j], high[j] = np.quantile(vals, levels[j])
    return BootstrapResult(
        rho=rho_hat,
        low=low,
        high=high,
        ci_method=method,
        confidence=confidence,
        n_bootstrap=n_resamples,
        n_degenerate=n_degenerate,
        z0=z0,
        acceleration=accel,
        resamples=boot,
    )


def _bca_levels(
    boot: np.ndarray, theta: float, jack: np.ndarray, alpha: float
) -> tuple[np.ndarray, float, float]:
    """BCa's adjusted quantile levels, its bias correction z0 and acceleration a.

    z0 from the share of resamples below the estimate (ties count half, clipped so that z0 stays
    finite); a from the leave-one-episode-out jackknife (degenerate leave-outs left out).
    Falls back to the percentile levels when the adjustment is not defined.
    """
    plain = np.array([alpha / 2, 1 - alpha / 2])
    nb = len(boot)
    if nb == 0:
        return plain, 0.0, 0.0
    share = (np.sum(boot < theta) + 0.5 * np.sum(boot == theta)) / nb
    share = min(max(share, 0.5 / nb), 1 - 0.5 / nb)
    z0 = float(ndtri(share))
    jv = jack[np.isfinite(jack)]
    a = 0.0
    if len(jv) >= 2:
        d = jv.mean() - jv
        s2 = float(np.sum(d * d))
        if s2 > 0:
            a = float(np.sum(d**3) / (6.0 * s2**1.5))
    z = ndtri(plain)
    denom = 1.0 - a * (z0 + z)
    if np.any(denom <= 0):
        return plain, z0, a
    levels = ndtr(z0 + (z0 + z) / denom)
    if not np.all(np.isfinite(levels)):
        return plain, z0, a
    return np.clip(levels, 0.0, 1.0), z0, a
