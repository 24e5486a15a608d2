"""How well a metric ranks candidates by regret: Spearman and Kendall τ-b, with an interval
from a bootstrap that resamples MDPs (the study's independent unit), and the per-MDP average.

Rows are ``(problem, candidate)`` pairs with a finite metric value; all problems built on one
MDP (its ground truths) are resampled together.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Correlation:
    """Rank agreement of one metric with regret.

    :ivar metric: the metric's name.
    :ivar n_rows: ``(problem, candidate)`` rows with a finite metric value.
    :ivar spearman: Spearman ρ of metric and regret over all rows (positive: a larger distance
        goes with a larger regret, as it should).
    :ivar spearman_interval: percentile bootstrap interval over MDPs, or ``None``.
    :ivar kendall: Kendall τ-b over all rows.
    :ivar kendall_interval: its interval, or ``None``.
    :ivar per_mdp_spearman: the mean over problems of Spearman ρ within each problem's
        candidates (problems where it is undefined are left out).
    :ivar per_mdp_interval: its interval, or ``None``.
    :ivar n_bootstrap: resamples drawn (0: none).
    :ivar confidence: nominal coverage of the intervals.
    """

    metric: str
    n_rows: int
    spearman: float
    spearman_interval: tuple[float, float] | None
    kendall: float
    kendall_interval: tuple[float, float] | None
    per_mdp_spearman: float
    per_mdp_interval: tuple[float, float] | None
    n_bootstrap: int
    confidence: float

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def _rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(x)
    return x[ok], y[ok]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman ρ: the Pearson correlation of midranks (as ``scipy.stats.spearmanr``)."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(stats.rankdata(x), stats.rankdata(y))[0, 1])


def _kendall(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.kendalltau(x, y, variant="b").statistic)


def per_problem_spearman(values: np.ndarray, regret: np.ndarray) -> np.ndarray:
    """Spearman ρ within each problem's candidates ``(m,)`` over its finite metric values
    (NaN where fewer than 3, or where either side is constant)."""
    finite = np.isfinite(values)
    rx = stats.rankdata(np.where(finite, values, np.nan), axis=1, nan_policy="omit")
    ry = stats.rankdata(np.where(finite, regret, np.nan), axis=1, nan_policy="omit")
    rho = _weighted_pearson_rows(np.nan_to_num(rx), np.nan_to_num(ry), finite.astype(float))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without finite values
        varies = (np.nanmax(rx, axis=1) > np.nanmin(rx, axis=1)) & (
            np.nanmax(ry, axis=1) > np.nanmin(ry, axis=1)
        )
    return np.where((finite.sum(axis=1) >= 3) & varies, rho, np.nan)


def _mean(a: np.ndarray) -> float:
    finite = a[np.isfinite(a)]
    return float(finite.mean()) if len(finite) else float("nan")


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float] | None:
    s = samples[np.isfinite(samples)]
    if len(s) == 0:
        return None
    tail = 50 * (1 - confidence)
    low, high = np.percentile(s, [tail, 100 - tail])
    return float(low), float(high)


def _pair_sums(
    x: np.ndarray, y: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Between every two blocks of rows: Σ sign(Δx)·sign(Δy), Σ |sign(Δx)|, Σ |sign(Δy)|
    (one block of rows at a time, so memory stays linear in the rows)."""
    ends = np.append(starts[1:], len(x))
    out = np.zeros((3, len(starts), len(starts)))
    for a, (i0, i1) in enumerate(zip(starts, ends)):
        sx = np.sign(x[i0:i1, None] - x[None, :])
        sy = np.sign(y[i0:i1, None] - y[None, :])
        for j, m in enumerate((sx * sy, np.abs(sx), np.abs(sy))):
            out[j, a] = np.add.reduceat(m.sum(axis=0), starts)
    return out[0], out[1], out[2]


def _midranks(x: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Midrank of every row in each resample: ``(B, n)`` from block multiplicities ``(B, g)``."""
    ends = np.append(starts[1:], len(x))
    less = np.empty((len(x), len(starts)))
    equal = np.empty((len(x), len(starts)))
    for b, (i0, i1) in enumerate(zip(starts, ends)):
        block = np.sort(x[i0:i1])
        left = np.searchsorted(block, x, side="left")
        less[:, b] = left
        equal[:, b] = np.searchsorted(block, x, side="right") - left
    return counts @ (less + equal / 2).T + 0.5


def _weighted_pearson_rows(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson of ``a`` and ``b`` in each row under row weights ``w`` (all ``(B, n)``), from
    weighted sums (row dot products, no centred copies)."""

    def dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.einsum("bn,bn->b", x, y)

    total = w.sum(axis=1)
    wa, wb = w * a, w * b
    sa, sb = wa.sum(axis=1), wb.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = dot(wa, b) - sa * sb / total
        var = (dot(wa, a) - sa**2 / total) * (dot(wb, b) - sb**2 / total)
        return np.where(var > 0, cov / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)


def bootstrap_rank_correlations(
    x: np.ndarray, y: np.ndarray, block: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Spearman and Kendall τ-b of ``x`` and ``y`` in every block resample, exactly.

    A resample repeats each block (an MDP's rows) as often as ``counts`` says; both statistics
    follow from per-block sums, so no resample is materialised: τ-b's concordant-minus-discordant
    and untied pair counts are quadratic forms ``cᵀ M c`` of the block sums ``M`` (pairs of a row
    with itself count 0), and each row's midrank in a resample is linear in ``c``.

    :param x: ``(n,)`` finite values, rows grouped by block (contiguous).
    :param y: ``(n,)`` finite values.
    :param block: ``(n,)`` block index ``0 … g − 1`` of each row, non-decreasing.
    :param counts: ``(B, g)`` multiplicity of each block in each resample.
    :return: ``(B,)`` Spearman ρ and ``(B,)`` Kendall τ-b (NaN where undefined).
    """
    starts = np.searchsorted(block, np.arange(counts.shape[1]))
    present = np.bincount(block, minlength=counts.shape[1]) > 0
    starts, c = starts[present], counts[:, present].astype(float)
    concordance, untied_x, untied_y = _pair_sums(x, y, starts)

    def form(m: np.ndarray) -> np.ndarray:
        return np.einsum("bi,ij,bj->b", c, m, c)

    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(form(untied_x) * form(untied_y))
        kendall = np.where(denom > 0, form(concordance) / np.where(denom > 0, denom, 1.0), np.nan)
    sizes = np.diff(np.append(starts, len(x)))
    w = np.repeat(c, sizes, axis=1)
    spearman = _weighted_pearson_rows(_midranks(x, starts, c), _midranks(y, starts, c), w)
    return spearman, kendall


def mdp_resamples(n_mdps: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """``(n_bootstrap, n_mdps)`` multiplicities of each MDP in each bootstrap resample (the
    same for every metric of a study, so differences between metrics are paired)."""
    picks = np.random.default_rng(seed).integers(n_mdps, size=(n_bootstrap, n_mdps))
    counts = np.zeros((n_bootstrap, n_mdps), dtype=np.int64)
    np.add.at(counts, (np.arange(n_bootstrap)[:, None], picks), 1)
    return counts


@dataclass(frozen=True)
class Comparison:
    """How much better one metric ranks by regret than another, on the rows both score.

    :ivar metric: the metric compared.
    :ivar reference: the metric it is compared with.
    :ivar n_rows: rows where both are finite.
    :ivar kendall_difference: τ-b of ``metric`` minus τ-b of ``reference`` on those rows.
    :ivar interval: paired percentile bootstrap interval over MDPs, or ``None``.
    :ivar confidence: nominal coverage of the interval.
    """

    metric: str
    reference: str
    n_rows: int
    kendall_difference: float
    interval: tuple[float, float] | None
    confidence: float

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def compare(
    metric: tuple[str, np.ndarray],
    reference: tuple[str, np.ndarray],
    regret: np.ndarray,
    mdp_index: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Paired difference of Kendall τ-b with regret between two metrics ``(name, (m, K))``."""
    both = np.isfinite(metric[1]) & np.isfinite(reference[1])
    y = regret[both]
    a, b = metric[1][both], reference[1][both]
    mdps, block_of_problem = np.unique(mdp_index, return_inverse=True)
    block = np.repeat(block_of_problem, regret.shape[1])[both.ravel()]
    diff = _kendall(a, y) - _kendall(b, y)
    interval = None
    if n_bootstrap > 0 and len(y) >= 3:
        counts = mdp_resamples(len(mdps), n_bootstrap, seed)
        boot = (
            bootstrap_rank_correlations(a, y, block, counts)[1]
            - bootstrap_rank_correlations(b, y, block, counts)[1]
        )
        interval = _interval(boot, confidence)
    return Comparison(metric[0], reference[0], len(y), diff, interval, confidence)


def correlate(
    name: str,
    values: np.ndarray,
    regret: np.ndarray,
    mdp_index: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    per_problem: np.ndarray | None = None,
) -> Correlation:
    """Spearman, Kendall τ-b and the per-MDP mean Spearman of one metric with regret.

    :param values: ``(m, K)`` metric values (NaN: not applicable).
    :param regret: ``(m, K)`` normalised regret.
    :param mdp_index: ``(m,)`` the MDP each problem is built on (the resampling unit),
        non-decreasing.
    :param n_bootstrap: resamples of MDPs (0: no intervals).
    :param per_problem: :func:`per_problem_spearman` of these rows, if already computed.
    """
    x, y = _rows(values.ravel(), regret.ravel())
    per = per_problem_spearman(values, regret) if per_problem is None else per_problem
    mdps, block_of_problem = np.unique(mdp_index, return_inverse=True)
    counts = mdp_resamples(len(mdps), n_bootstrap, seed)
    block = np.repeat(block_of_problem, values.shape[1])[np.isfinite(values.ravel())]
    if len(x) >= 3 and n_bootstrap > 0:
        boot_s, boot_k = bootstrap_rank_correlations(x, y, block, counts)
    else:
        boot_s = boot_k = np.full(n_bootstrap, np.nan)
    finite = np.isfinite(per)
    per_sum = np.bincount(block_of_problem, np.where(finite, per, 0.0), minlength=len(mdps))
    per_n = np.bincount(block_of_problem, finite.astype(float), minlength=len(mdps))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_per = (counts @ per_sum) / (counts @ per_n)
    has = n_bootstrap > 0
    return Correlation(
        metric=name,
        n_rows=len(x),
        spearman=_spearman(x, y),
        spearman_interval=_interval(boot_s, confidence) if has else None,
        kendall=_kendall(x, y),
        kendall_interval=_interval(boot_k, confidence) if has else None,
        per_mdp_spearman=_mean(per),
        per_mdp_interval=_interval(boot_per, confidence) if has else None,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
    )
