"""How many labels do I need: a head's held-out EPIC against the labels it was fitted on.

:func:`label_curve` holds one episode-grouped fold of the labelled frames out for good (fold 0
of :func:`evalkit.heads.episode_folds`), then for each size ``s`` draws ``s`` of the other
episodes at random (several repeats), fits a head on their labelled frames only (λ by
cross-validation on them, :func:`evalkit.pipeline.heads.fit_head`) and scores it on the
held-out episodes. A point is the mean over repeats with a Student-t interval over them (which
episodes were labelled is what varies; the held-out episodes are the same for every point).
The largest size, every episode, is fitted once; its interval is a bootstrap over the held-out
episodes (how much its score would vary with other held-out episodes). More labels stop
helping at the first size from which on every score lies within that interval
(:attr:`LabelCurve.plateau`). A draw whose frames are too few to fit a head (too few of
a class, or of episodes for the cross-validation) is drawn again, and a size where no draw fits
is reported as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.errors import EvalkitError
from evalkit.heads import episode_folds
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import NO_INTERVAL, BootstrapOptions
from evalkit.pipeline.heads import fit_head, inner_folds, labelled_embeddings
from evalkit.pipeline.selection import FoldEstimate, mean_interval

if TYPE_CHECKING:
    from evalkit.vlm import ModelSpec

DEFAULT_POINTS = 8
REPEATS_INTERVAL = "Student-t over repeats"
BOOTSTRAP_INTERVAL = "bootstrap over held-out episodes"
MAX_DRAWS = 20
"""Draws tried per repeat before a size is given up (too few labels of a class to fit)."""


@dataclass(frozen=True)
class CurvePoint:
    """Heads fitted on ``n_episodes`` labelled episodes, scored on the held-out ones.

    :ivar subsets: the episodes each repeat was fitted on.
    :ivar n_frames: mean labelled frames fitted on; :ivar n_goal: mean goal frames among them.
    :ivar estimate: the held-out distances of the repeats, their mean and interval.
    :ivar interval_method: how the interval was made.
    """

    n_episodes: int
    n_frames: float
    n_goal: float
    subsets: tuple[np.ndarray, ...]
    estimate: FoldEstimate
    interval_method: str = REPEATS_INTERVAL


@dataclass(frozen=True)
class LabelCurve:
    """The points of a label curve, its held-out episodes and where more labels stop helping."""

    points: tuple[CurvePoint, ...]
    heldout_episodes: np.ndarray
    n_heldout_frames: int
    skipped: tuple[int, ...]
    repeats: int
    confidence: float

    @property
    def plateau(self) -> CurvePoint | None:
        """The fewest episodes from which on every score lies within the interval of the
        largest size's (a lucky small subset followed by worse scores does not count)."""
        if not self.points:
            return None
        last = self.points[-1].estimate
        bound = last.high if np.isfinite(last.high) else last.mean
        plateau = self.points[-1]
        for p in reversed(self.points):
            if p.estimate.mean > bound:
                break
            plateau = p
        return plateau

    def table(self) -> pd.DataFrame:
        """One row per point: ``n_episodes, n_frames, n_goal, distance, low, high, repeats``."""
        return pd.DataFrame(
            [
                {
                    "n_episodes": p.n_episodes,
                    "n_frames": p.n_frames,
                    "n_goal": p.n_goal,
                    "distance": p.estimate.mean,
                    "low": p.estimate.low,
                    "high": p.estimate.high,
                    "repeats": len(p.estimate.values),
                    "interval": p.interval_method,
                }
                for p in self.points
            ]
        )

    def sentence(self) -> str:
        """Where more labels stop helping, in words."""
        p = self.plateau
        if p is None:
            return "no size could be fitted."
        last = self.points[-1]
        if p is last:
            return (
                f"more labels still help: the most labels ({last.n_episodes} episodes, "
                f"{last.n_frames:.0f} frames) score best ({last.estimate.mean:.3f}); label more."
            )
        e = p.estimate
        return (
            f"more labels stop helping at about {p.n_episodes} labelled episodes ({p.n_frames:.0f} frames, "
            f"{p.n_goal:.0f} goal): from there on the held-out EPIC ({e.mean:.3f} there) stays within "
            f"the interval [{last.estimate.low:.3f}, {last.estimate.high:.3f}] of all "
            f"{last.n_episodes} episodes' {last.estimate.mean:.3f}."
        )


def default_sizes(n_pool: int, points: int = DEFAULT_POINTS) -> list[int]:
    """About ``points`` episode counts, evenly spaced on a log scale up to ``n_pool``."""
    low = max(2, n_pool // 32)
    return sorted({int(round(v)) for v in np.geomspace(low, n_pool, points)} | {n_pool})


def label_curve(
    x: np.ndarray,
    y: np.ndarray,
    episodes: np.ndarray,
    *,
    sizes: Sequence[int] | None = None,
    repeats: int = 5,
    folds: int = 5,
    seed: int = 0,
    confidence: float = 0.95,
    n_bootstrap: int = 1000,
    on_point: Callable[[int, int], None] | None = None,
) -> LabelCurve:
    """The held-out EPIC of heads fitted on more and more labelled episodes (module docstring).

    :param x: ``(m, d)`` embeddings of the labelled frames; :param y: their labels.
    :param sizes: episode counts to fit on (default: :func:`default_sizes`).
    :param folds: ``1/folds`` of the episodes are held out; λ is chosen by up to
        ``folds − 1``-fold cross-validation on each draw.
    :param n_bootstrap: resamples of the largest size's interval (0: none).
    :param on_point: called with ``(index, count)`` before each size (progress).
    :raises EvalkitError: too few episodes, or held-out episodes without 2 frames of a class.
    """
    if repeats < 1:
        raise EvalkitError(f"A label curve needs at least 1 repeat, not {repeats}.")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=bool)
    ep = np.asarray(episodes)
    test = episode_folds(ep, y, folds, seed) == 0
    for count, what in ((int(y[test].sum()), "goal"), (int((~y[test]).sum()), "non-goal")):
        if count < 2:
            raise EvalkitError(
                f"The held-out episodes hold {count} labelled {what} frames; a held-out EPIC distance "
                "needs at least 2: use fewer --folds or label more episodes."
            )
    pool = np.unique(ep[~test])
    wanted = default_sizes(len(pool)) if sizes is None else sorted(set(int(s) for s in sizes))
    bad = [s for s in wanted if not 1 <= s <= len(pool)]
    if bad:
        raise EvalkitError(
            f"A label curve fits on 1 to {len(pool)} episodes here (the others are held out), not {bad[0]}."
        )
    points, skipped = [], []
    for i, size in enumerate(wanted):
        if on_point is not None:
            on_point(i, len(wanted))
        point = _point(x, y, ep, test, pool, size, repeats, folds, seed, confidence, n_bootstrap)
        if point is None:
            skipped.append(size)
        else:
            points.append(point)
    return LabelCurve(
        tuple(points), np.unique(ep[test]), int(test.sum()), tuple(skipped), repeats, confidence
    )


def _point(
    x: np.ndarray,
    y: np.ndarray,
    ep: np.ndarray,
    test: np.ndarray,
    pool: np.ndarray,
    size: int,
    repeats: int,
    folds: int,
    seed: int,
    confidence: float,
    n_bootstrap: int,
) -> CurvePoint | None:
    """Heads fitted on ``size`` drawn episodes, ``repeats`` times (once when that is every one)."""
    subsets, scores, frames, goals, rewards = [], [], [], [], []
    for r in range(repeats if size < len(pool) else 1):
        rng = np.random.default_rng([seed, size, r])
        for _ in range(MAX_DRAWS):
            chosen = np.sort(rng.choice(pool, size, replace=False))
            fit_on = np.isin(ep, chosen) & ~test
            k = min(inner_folds(folds), size)
            try:
                head = fit_head(x[fit_on], y[fit_on], ep[fit_on], max(k, 2), seed + 1 + r)
            except EvalkitError:
                continue
            subsets.append(chosen)
            rewards.append(head.reward(x[test]))
            scores.append(epic_goal(rewards[-1], y[test], bootstrap=NO_INTERVAL).distance)
            frames.append(int(fit_on.sum()))
            goals.append(int(y[fit_on].sum()))
            break
    if not scores:
        return None
    estimate, method = mean_interval(scores, confidence), REPEATS_INTERVAL
    if size == len(pool) and n_bootstrap > 0:
        every = epic_goal(
            rewards[0],
            y[test],
            episodes=ep[test],
            bootstrap=BootstrapOptions(n_bootstrap, seed=seed, confidence=confidence),
        )
        assert every.interval is not None
        estimate = FoldEstimate(every.distance, *every.interval, (every.distance,))
        method = BOOTSTRAP_INTERVAL
    return CurvePoint(
        n_episodes=size,
        n_frames=float(np.mean(frames)),
        n_goal=float(np.mean(goals)),
        subsets=tuple(subsets),
        estimate=estimate,
        interval_method=method,
    )


def dataset_label_curve(
    dataset: Dataset,
    task: str,
    model: "ModelSpec | str",
    *,
    labels: str = RULE_LABELS,
    sizes: Sequence[int] | None = None,
    repeats: int = 5,
    folds: int = 5,
    seed: int = 0,
    n_bootstrap: int = 1000,
    precision: str = "fp32",
    on_point: Callable[[int, int], None] | None = None,
    **embed: Any,
) -> LabelCurve:
    """:func:`label_curve` of the labelled frames of ``dataset`` (embedded first if not cached)."""
    data = labelled_embeddings(dataset, task, model, labels, precision, folds=folds, **embed)
    return label_curve(
        data.x,
        data.y,
        data.episodes,
        sizes=sizes,
        repeats=repeats,
        folds=folds,
        seed=seed,
        n_bootstrap=n_bootstrap,
        on_point=on_point,
    )
