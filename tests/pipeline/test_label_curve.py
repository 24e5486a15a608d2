"""How many labels: label-curve points equal heads fitted independently here; the figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.heads import choose_l2, episode_folds, fit_logistic
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline.label_curve import BOOTSTRAP_INTERVAL, CurvePoint, LabelCurve, label_curve
from evalkit.pipeline.selection import FoldEstimate
from evalkit.plots import plot_label_curve
from evalkit.plots.label_curve import PLATEAU_GID

FOLDS = 4


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    episodes = np.repeat(np.arange(48), 5)
    y = rng.random(len(episodes)) < 0.35
    x = rng.normal(size=(len(y), 6)) + 1.2 * y[:, None] * np.array([1, 0.5, 0, 0, 0, 0])
    return x, y, episodes


def test_label_curve_points_equal_independent_fits():
    x, y, episodes = _data()
    curve = label_curve(x, y, episodes, sizes=(6, 12, 36), repeats=3, folds=FOLDS, n_bootstrap=200)
    test = episode_folds(episodes, y, FOLDS, 0) == 0
    assert np.array_equal(curve.heldout_episodes, np.unique(episodes[test]))
    pool = np.unique(episodes[~test])
    assert [p.n_episodes for p in curve.points] == [6, 12, 36] and len(pool) == 36
    for point in curve.points:
        assert len(point.subsets) == (1 if point.n_episodes == len(pool) else 3)
        for r, (subset, score) in enumerate(zip(point.subsets, point.estimate.values)):
            assert len(subset) == point.n_episodes and not np.isin(subset, episodes[test]).any()
            fit_on = np.isin(episodes, subset)
            inner = episode_folds(episodes[fit_on], y[fit_on], FOLDS - 1, 1 + r)
            l2 = choose_l2(x[fit_on], y[fit_on], inner).l2
            reward = fit_logistic(x[fit_on], y[fit_on], l2).reward(x[test])
            assert score == pytest.approx(
                epic_goal(reward, y[test], bootstrap=BootstrapOptions(n_bootstrap=0)).distance
            )
    last = curve.points[-1]
    assert last.interval_method == BOOTSTRAP_INTERVAL
    full = fit_logistic(
        x[~test],
        y[~test],
        choose_l2(x[~test], y[~test], episode_folds(episodes[~test], y[~test], 3, 1)).l2,
    ).reward(x[test])
    want = epic_goal(
        full, y[test], episodes=episodes[test], bootstrap=BootstrapOptions(n_bootstrap=200, seed=0)
    )
    assert (last.estimate.low, last.estimate.high) == pytest.approx(want.interval)
    within = [p.estimate.mean <= want.interval[1] for p in curve.points]
    plateau = curve.points[next(i for i in range(len(within)) if all(within[i:]))]
    assert (
        curve.plateau is plateau and f"{plateau.n_episodes} labelled episodes" in curve.sentence()
    )
    table = curve.table()
    assert list(table["n_episodes"]) == [6, 12, 36] and table["distance"].iloc[-1] == want.distance


def test_the_plateau_ignores_a_lucky_small_subset_followed_by_worse_scores():
    def point(n, mean, low=np.nan, high=np.nan):
        return CurvePoint(n, n, n / 4, (), FoldEstimate(mean, low, high, (mean,)))

    points = (point(5, 0.2), point(10, 0.4), point(20, 0.31), point(40, 0.3, 0.25, 0.35))
    curve = LabelCurve(points, np.arange(3), 30, (), 3, 0.95)
    assert curve.plateau is points[2] and "about 20 labelled episodes" in curve.sentence()


def test_sizes_too_small_to_fit_are_skipped_and_bad_sizes_refused():
    x, y, episodes = _data(1)
    curve = label_curve(x, y, episodes, sizes=(1, 36), repeats=2, folds=FOLDS, n_bootstrap=0)
    assert curve.skipped == (1,) and [p.n_episodes for p in curve.points] == [36]
    with pytest.raises(EvalkitError, match="fits on 1 to 36 episodes here .* not 40"):
        label_curve(x, y, episodes, sizes=(40,), folds=FOLDS)
    with pytest.raises(EvalkitError, match="fewer than the 4 folds"):
        label_curve(x[:15], y[:15], episodes[:15], folds=FOLDS)


def test_label_curve_figure_marks_where_more_labels_stop_helping():
    table = pd.DataFrame(
        {
            "n_frames": [20, 40, 80, 160],
            "distance": [0.5, 0.35, 0.3, 0.29],
            "low": [np.nan, 0.3, 0.26, 0.25],
            "high": [np.nan, 0.4, 0.34, 0.33],
        }
    )
    fig = plot_label_curve(table, plateau_frames=80, title="t", random_weights=True)
    ax = fig.axes[0]
    assert [line.get_gid() for line in ax.get_lines()].count(PLATEAU_GID) == 1
    assert "RANDOM WEIGHTS" in ax.get_title(loc="left")
    with pytest.raises(ValueError, match="lacks high"):
        plot_label_curve(table.drop(columns="high"))
