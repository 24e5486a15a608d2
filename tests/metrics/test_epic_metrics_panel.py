"""The metric panel: registry, one call for every metric, bad input in one sentence each."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.bench.epic import bench_panel
from evalkit.errors import DegenerateError
from evalkit.metrics import METRICS, MetricUnavailable, check_available, metric_panel, roc_auc
from evalkit.metrics.goal import epic_goal_columns
from evalkit.metrics.options import BootstrapOptions


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    ep = np.repeat(np.arange(30), 10)
    y = rng.random(300) < 0.3
    progress = rng.random(300)
    r = np.stack([y + progress + rng.normal(size=300), rng.normal(size=300)], axis=1)
    gt = progress + y
    quality = np.repeat(np.arange(30) % 3 / 2, 10)  # three tiers of ten episodes
    return {
        "rewards": r,
        "labels": y,
        "progress": progress,
        "episodes": ep,
        "gt_rewards": gt,
        "quality": quality,
    }


def test_all_metrics_in_registry_order(data):
    res = metric_panel(
        data["rewards"],
        **{k: v for k, v in data.items() if k != "rewards"},
        metrics="all",
        names=["a", "b"],
        bootstrap=BootstrapOptions(n_bootstrap=200),
    )
    got = [(r.metric, r.name) for r in res]
    want = [(row.name, c) for m in METRICS.values() for row in m.rows for c in "ab"]
    assert got == want
    assert all(r.interval is not None and r.n_bootstrap == 200 for r in res)


def test_goal_epic_numbers_unchanged_and_shared_resamples_match_standalone(data):
    res = metric_panel(
        data["rewards"],
        labels=data["labels"],
        episodes=data["episodes"],
        metrics="epic,auc",
        bootstrap=BootstrapOptions(n_bootstrap=300, seed=5),
    )
    old = epic_goal_columns(
        data["rewards"],
        data["labels"],
        episodes=data["episodes"],
        bootstrap=BootstrapOptions(n_bootstrap=300, seed=5),
    )
    for new, ref in zip(res[:2], old):
        assert new.estimate == ref.distance and new.interval == ref.interval
        assert new.details["rho"] == ref.rho and new.details["rho_interval"] == ref.rho_interval
    alone = roc_auc(
        data["rewards"],
        data["labels"],
        episodes=data["episodes"],
        bootstrap=BootstrapOptions(n_bootstrap=300, seed=5),
    )
    assert res[2:] == alone


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"metrics": "auc,roc"},
            "Unknown metric 'roc'; use one or more of epic, auc, ap, spearman, kendall, voc, erc, rank_quality, rank_success, or all.",
        ),
        ({"metrics": "auc", "labels": np.ones(300, bool)}, "all 300 frames are labelled goal"),
        ({"metrics": "voc", "episodes": np.arange(300)}, "every episode has one frame"),
        ({"metrics": "erc", "gt_rewards": None}, "needs a ground-truth reward per frame"),
        ({"metrics": "spearman", "progress": None}, "needs a progress variable"),
        (
            {"metrics": "kendall", "progress": np.ones(5)},
            "300 frames but 5 progress variable values",
        ),
    ],
)
def test_bad_input_is_one_sentence(data, kwargs, message):
    args = {k: v for k, v in data.items() if k != "rewards"} | kwargs
    with pytest.raises(DegenerateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        metric_panel(data["rewards"], **args, bootstrap=BootstrapOptions(n_bootstrap=0))


def test_nan_rewards_are_refused(data):
    r = data["rewards"].copy()
    r[7, 1] = np.nan
    with pytest.raises(DegenerateError, match="NaN or infinite"):
        metric_panel(r, labels=data["labels"], metrics="auc")


def test_unavailable_metrics_are_skipped_with_a_reason(data):
    res = metric_panel(
        data["rewards"][:, 0],
        labels=data["labels"],
        episodes=data["episodes"],
        metrics=("auc", "spearman", "erc"),
        skip_unavailable=True,
        bootstrap=BootstrapOptions(n_bootstrap=0),
    )
    assert [r.metric for r in res] == ["auc", "spearman", "erc"]
    skipped = [r for r in res if not r.available]
    assert all(isinstance(r, MetricUnavailable) for r in skipped)
    assert "progress variable" in skipped[0].reason and "ground-truth" in skipped[1].reason
    assert check_available("auc", data["rewards"], labels=data["labels"]) is None
    assert res[0].to_dict()["interval"] is None


def test_bench_panel_times_every_metric_all_and_the_matrix():
    rows = bench_panel((2_000, 40, 2, 100), (2_000, 5), repeats=1)
    assert [r.what for r in rows] == [*METRICS, "all", "pairwise 5 sources"]
    assert all(r.best_s > 0 for r in rows) and rows[-2].target_s == 2.0
