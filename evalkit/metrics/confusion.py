"""Instruction confusion: does an episode score highest under its own task's prompt?

Input: a matrix ``scores`` of shape ``(n_episodes, n_prompts)`` — the reward (return, or mean
reward) of every episode under every task's prompt — and each episode's own prompt ``own``.
As in ReWiND and Robometer:

- the **confusion matrix** ``C[i, j]``: the mean score under prompt ``j`` of the episodes whose
  own prompt is ``i`` (rows with no episode are NaN);
- the per-episode **accuracy**: 1 when the own prompt's score is the strict maximum of its row;
  a tie at the maximum between ``t`` prompts that include the own one counts ``1 / t`` (the
  expected accuracy of breaking the tie at random);
- the per-episode **margin**: own score − the highest score of another prompt (> 0: right).

The interval of the mean accuracy and margin is a percentile bootstrap over episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evalkit.errors import DegenerateError, EvalkitError


@dataclass(frozen=True)
class ConfusionResult:
    """Instruction confusion of one reward model.

    :ivar matrix: ``(n_prompts, n_prompts)`` mean score of own-prompt-``i`` episodes under ``j``.
    :ivar accuracy: per-episode accuracy (see the module docstring).
    :ivar margin: per-episode margin.
    :ivar accuracy_ci: ``(low, high)`` bootstrap interval of the mean accuracy.
    :ivar margin_ci: ``(low, high)`` bootstrap interval of the mean margin.
    """

    matrix: np.ndarray
    accuracy: np.ndarray
    margin: np.ndarray
    accuracy_ci: tuple[float, float]
    margin_ci: tuple[float, float]

    @property
    def mean_accuracy(self) -> float:
        return float(self.accuracy.mean())

    @property
    def mean_margin(self) -> float:
        return float(self.margin.mean())


def _check(scores: npt.ArrayLike, own: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=float)
    o = np.asarray(own)
    if s.ndim != 2 or s.shape[0] == 0:
        raise EvalkitError(
            f"Confusion needs a non-empty (episodes, prompts) score matrix, not shape {s.shape}."
        )
    if s.shape[1] < 2:
        raise DegenerateError(
            "Instruction confusion needs at least two prompts; with one there is nothing to confuse."
        )
    if not np.all(np.isfinite(s)):
        raise EvalkitError("Confusion scores must be finite.")
    if o.shape != (s.shape[0],) or not np.issubdtype(o.dtype, np.integer):
        raise EvalkitError("own must hold one whole-number prompt index per episode.")
    if o.min() < 0 or o.max() >= s.shape[1]:
        raise EvalkitError(f"own prompt indices must lie in [0, {s.shape[1] - 1}].")
    return s, o.astype(np.int64)


def confusion_matrix(scores: npt.ArrayLike, own: npt.ArrayLike) -> np.ndarray:
    """``C[i, j]``: mean score under prompt ``j`` of the episodes whose own prompt is ``i``."""
    s, o = _check(scores, own)
    k = s.shape[1]
    counts = np.bincount(o, minlength=k).astype(float)
    sums = np.zeros((k, k))
    np.add.at(sums, o, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def episode_accuracy(scores: npt.ArrayLike, own: npt.ArrayLike) -> np.ndarray:
    """Per episode: ``1 / t`` if its own prompt is among the ``t`` prompts at the row's maximum,
    else 0."""
    s, o = _check(scores, own)
    top = s == s.max(axis=1, keepdims=True)
    return top[np.arange(len(o)), o] / top.sum(axis=1)


def episode_margin(scores: npt.ArrayLike, own: npt.ArrayLike) -> np.ndarray:
    """Per episode: own prompt's score − the best other prompt's score."""
    s, o = _check(scores, own)
    rows = np.arange(len(o))
    others = s.copy()
    others[rows, o] = -np.inf
    return s[rows, o] - others.max(axis=1)


def _bootstrap_mean(
    values: np.ndarray, n_resamples: int, level: float, seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_resamples, len(values)))
    means = values[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def instruction_confusion(
    scores: npt.ArrayLike,
    own: npt.ArrayLike,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> ConfusionResult:
    """The confusion matrix, per-episode accuracy and margin, with bootstrap intervals.

    :param scores: ``(n_episodes, n_prompts)`` reward of every episode under every prompt.
    :param own: each episode's own prompt index.
    :param n_resamples: bootstrap resamples of episodes.
    :param level: confidence level of the intervals.
    :param seed: bootstrap seed.
    :raises DegenerateError: fewer than two prompts.
    """
    if n_resamples <= 0 or not 0 < level < 1:
        raise EvalkitError("n_resamples must be positive and level in (0, 1).")
    accuracy = episode_accuracy(scores, own)
    margin = episode_margin(scores, own)
    return ConfusionResult(
        matrix=confusion_matrix(scores, own),
        accuracy=accuracy,
        margin=margin,
        accuracy_ci=_bootstrap_mean(accuracy, n_resamples, level, seed),
        margin_ci=_bootstrap_mean(margin, n_resamples, level, seed),
    )
