"""Weighted Pearson correlation and the EPIC distance it gives, with input checks.

One variance convention throughout: population moments (``ddof = 0``) under the weights, which
are normalised to sum to one. Pearson's ρ is a ratio of such moments, so the convention only
matters for formulas that use a standard deviation on its own (the Lemma 1 form).
Every moment is computed from values centred on their weighted mean before squaring, which
keeps rewards such as ``0.2 ± 1e-4`` (CLIP cosine similarities) or ``1e8 + noise`` exact.
"""

from __future__ import annotations

import numpy as np

from evalkit.errors import DegenerateError

RELATIVE_VARIANCE_TOL = 1e-26
"""A column whose centred variance is at most this fraction of its mean square (a standard
deviation below 1e-13 of its root mean square: differences at the level of float64 rounding)
is treated as constant."""


def distance_from_rho(rho: np.ndarray | float) -> np.ndarray | float:
    """EPIC distance ``sqrt(½(1 − ρ))`` of a Pearson correlation (ρ clipped to [−1, 1])."""
    r = np.clip(rho, -1.0, 1.0)
    d = np.sqrt(np.maximum(0.5 * (1.0 - r), 0.0))
    return float(d) if np.ndim(d) == 0 else d


def as_weights(weights: np.ndarray | None, n: int, what: str = "weights") -> np.ndarray:
    """Per-frame weights as float64, checked: finite, non-negative, positive total, length ``n``."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) != n:
        raise DegenerateError(
            f"There are {n} frames but {len(w) if w.ndim == 1 else w.shape} {what}; pass one weight per frame."
        )
    if not np.all(np.isfinite(w)):
        raise DegenerateError(
            f"{int(np.sum(~np.isfinite(w)))} {what} are NaN or infinite; every weight must be a finite number ≥ 0."
        )
    if np.any(w < 0):
        i = int(np.argmax(w < 0))
        raise DegenerateError(
            f"{int(np.sum(w < 0))} {what} are negative (the first at frame {i}: {w[i]:g}); weights must be ≥ 0."
        )
    if not w.sum() > 0:
        raise DegenerateError(
            f"All {what} are zero; at least two frames of each class need a positive weight."
        )
    return w


def as_reward_matrix(rewards: np.ndarray, what: str = "rewards") -> tuple[np.ndarray, bool]:
    """``rewards`` as a float64 ``(n, k)`` matrix and whether it was given as one column (1-D)."""
    r = np.asarray(rewards)
    if r.dtype == object or not (np.issubdtype(r.dtype, np.number) or r.dtype == bool):
        raise DegenerateError(f"The {what} must be numbers, not {r.dtype}.")
    r = r.astype(float)
    if r.ndim == 1:
        return r[:, None], True
    if r.ndim == 2:
        return r, False
    raise DegenerateError(
        f"The {what} must be one value per frame (shape (n,) or (n, k)), not shape {r.shape}."
    )


def check_finite(r: np.ndarray, what: str = "rewards", names: list[str] | None = None) -> None:
    """Raise if any entry of the ``(n, k)`` matrix ``r`` is NaN or infinite, saying where."""
    bad = ~np.isfinite(r)
    if bad.any():
        frame, col = (int(v) for v in np.argwhere(bad)[0])
        where = f" ({names[col]})" if names else ""
        raise DegenerateError(
            f"{int(bad.sum())} of the {r.size} {what}{where} are NaN or infinite (the first at frame {frame}: "
            f"{r[frame, col]}); EPIC needs a finite reward for every frame."
        )


def weighted_moments(
    x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Centred weighted ``cov(x_j, y)``, ``var(x_j)`` per column and ``var(y)`` (``ddof = 0``).

    :param x: ``(n, k)`` values.
    :param y: ``(n,)`` values.
    :param w: ``(n,)`` non-negative weights with a positive sum.
    """
    p = w / w.sum()
    xc = x - x.T @ p  # (k, n) @ (n,) rather than (n,) @ (n, k): numpy's fast path
    yc = y - y @ p
    cov = (xc * yc[:, None]).T @ p
    var_x = (xc * xc).T @ p
    var_y = float((yc * yc) @ p)
    return cov, var_x, var_y


def is_constant(var: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Which columns of ``x`` (with centred variances ``var``) are constant up to rounding."""
    p = w / w.sum()
    mean_square = (x * x).T @ p
    return (
        (var <= RELATIVE_VARIANCE_TOL * mean_square) | (var <= 0) | (np.ptp(x[w > 0], axis=0) == 0)
    )


def weighted_pearson(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    names: list[str] | None = None,
    x_what: str = "reward",
    y_what: str = "reward",
) -> np.ndarray:
    """Weighted Pearson correlation of every column of ``x`` with ``y``, clipped to [−1, 1].

    :param x: ``(n,)`` or ``(n, k)`` values.
    :param y: ``(n,)`` values.
    :param weights: non-negative frame weights (default: equal).
    :raises DegenerateError: when a column of ``x`` or ``y`` is constant under the weights.
    :return: ``(k,)`` correlations (a 1-element array for 1-D ``x``).
    """
    x2, _ = as_reward_matrix(x)
    y1 = np.asarray(y, dtype=float)
    w = as_weights(weights, len(x2))
    cov, var_x, var_y = weighted_moments(x2, y1, w)
    const = is_constant(var_x, x2, w)
    if const.any():
        j = int(np.argmax(const))
        label = f" ({names[j]})" if names else ""
        raise DegenerateError(
            f"The {x_what}{label} is constant over the frames, so its correlation is undefined."
        )
    if is_constant(np.array([var_y]), y1[:, None], w)[0]:
        raise DegenerateError(
            f"The {y_what} is constant over the frames, so its correlation is undefined."
        )
    return np.clip(cov / np.sqrt(var_x * var_y), -1.0, 1.0)
