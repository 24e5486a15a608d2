"""The metric panel's estimates against independent oracles (scipy, naive loops, known cases)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy.stats import kendalltau, mannwhitneyu, pearsonr, spearmanr

from evalkit.errors import DegenerateError
from evalkit.metrics.auc import roc_auc
from evalkit.metrics.average_precision import average_precision
from evalkit.metrics.erc import erc
from evalkit.metrics.kendall import kendall
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.pairwise import epic_pairwise
from evalkit.metrics.spearman import spearman
from evalkit.metrics.voc import voc

kendall_module = importlib.import_module(
    "evalkit.metrics.kendall"
)  # the package exports the function


def naive_ap(scores: np.ndarray, goal: np.ndarray) -> float:
    """Average precision with tied scores as one threshold (scikit-learn's definition), by a loop
    over the distinct thresholds in descending order: Σ (R_k − R_{k−1}) P_k."""
    ap, recall_before = 0.0, 0.0
    for t in sorted(set(scores.tolist()), reverse=True):
        above = scores >= t
        tp = float(np.sum(goal & above))
        recall = tp / goal.sum()
        ap += (recall - recall_before) * tp / above.sum()
        recall_before = recall
    return ap


def textbook_ap(scores: np.ndarray, goal: np.ndarray) -> float:
    """Untied scores: the mean over goal frames of the precision at that frame, descending order."""
    order = np.argsort(-scores)
    hits, total = 0, 0.0
    for rank, i in enumerate(order, start=1):
        if goal[i]:
            hits += 1
            total += hits / rank
    return total / goal.sum()


def tied_data(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    x = np.round(y + rng.normal(size=n), 1)  # many ties
    return x, y


@pytest.mark.parametrize("seed", range(4))
def test_auc_is_mann_whitney_u(seed):
    x, y = tied_data(seed)
    u = mannwhitneyu(x[y], x[~y]).statistic
    res = roc_auc(x, y, bootstrap=BootstrapOptions(n_bootstrap=0))[0]
    assert res.estimate == pytest.approx(u / (y.sum() * (~y).sum()), abs=1e-12)
    assert res.interval is None and res.details["n_goal"] == int(y.sum())


@pytest.mark.parametrize("seed", range(4))
def test_ap_ties_form_one_threshold(seed):
    x, y = tied_data(seed)
    assert average_precision(x, y, bootstrap=BootstrapOptions(n_bootstrap=0))[
        0
    ].estimate == pytest.approx(naive_ap(x, y), abs=1e-12)


def test_ap_without_ties_is_the_textbook_mean_of_precisions():
    rng = np.random.default_rng(5)
    y = rng.random(200) < 0.1
    x = y + rng.normal(size=200)
    assert average_precision(x, y, bootstrap=BootstrapOptions(n_bootstrap=0))[
        0
    ].estimate == pytest.approx(textbook_ap(x, y), abs=1e-12)


def test_ap_tie_convention_matters():
    # one goal and one non-goal frame tied at the top: one threshold gives precision ½ to the goal
    x = np.array([1.0, 1.0, 0.0, 0.5])
    y = np.array([True, False, False, True])
    assert average_precision(x, y, bootstrap=BootstrapOptions(n_bootstrap=0))[
        0
    ].estimate == pytest.approx((0.5 + 2 / 3) / 2)


@pytest.mark.parametrize("metric", [roc_auc, average_precision])
def test_detection_weights_are_repeated_rows(metric):
    x, y = tied_data(7, 120)
    w = np.random.default_rng(1).integers(0, 4, size=120)
    ep = np.arange(120) // 6
    weighted = metric(x, y, w, ep, bootstrap=BootstrapOptions(n_bootstrap=0))[0]
    repeated = metric(np.repeat(x, w), np.repeat(y, w), bootstrap=BootstrapOptions(n_bootstrap=0))[
        0
    ]
    assert weighted.estimate == pytest.approx(repeated.estimate, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_rank_agreement_matches_scipy_tau_b(seed):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(400), 1)
    x = np.round(p + 0.5 * rng.normal(size=400), 1)
    assert spearman(x, p, bootstrap=BootstrapOptions(n_bootstrap=0))[0].estimate == pytest.approx(
        spearmanr(x, p).statistic, abs=1e-12
    )
    tau = kendall(x, p, bootstrap=BootstrapOptions(n_bootstrap=0))[0].estimate
    assert tau == pytest.approx(kendalltau(x, p, variant="b").statistic, abs=1e-12)
    assert tau != pytest.approx(kendalltau(x, p, variant="c").statistic, abs=1e-6)


@pytest.mark.parametrize("metric", [spearman, kendall])
def test_rank_weights_are_repeated_rows(metric):
    rng = np.random.default_rng(3)
    p = np.round(rng.random(150), 1)
    x = np.round(p + rng.normal(size=150), 1)
    w = rng.integers(0, 4, size=150)
    weighted = metric(x, p, w, bootstrap=BootstrapOptions(n_bootstrap=0))[0].estimate
    assert weighted == pytest.approx(
        metric(np.repeat(x, w), np.repeat(p, w), bootstrap=BootstrapOptions(n_bootstrap=0))[
            0
        ].estimate
    )


def test_voc_known_cases():
    res = voc(
        np.array([25, 100, 0, 0, 100, 50, 3, 3, 7.0]),
        np.array([0, 0, 0, 1, 1, 1, 2, 2, 3]),
        bootstrap=BootstrapOptions(n_bootstrap=0),
    )[0]
    assert res.estimate == pytest.approx(0.0, abs=1e-12)  # mean of −0.5 and +0.5
    assert res.details == {
        "n_voc_episodes": 2,
        "n_constant_episodes": 1,
        "n_single_frame_episodes": 1,
    }
    assert voc(
        np.array([25, 100, 0.0]),
        np.zeros(3),
        bootstrap=BootstrapOptions(n_bootstrap=0),
    )[0].estimate == pytest.approx(-0.5)
    assert voc(
        np.array([0, 100, 50.0]),
        np.zeros(3),
        bootstrap=BootstrapOptions(n_bootstrap=0),
    )[0].estimate == pytest.approx(0.5)
    with pytest.raises(DegenerateError, match="constant within every episode"):
        voc(
            np.array([3, 3, 4, 4.0]),
            np.array([0, 0, 1, 1]),
            bootstrap=BootstrapOptions(n_bootstrap=0),
        )
    with pytest.raises(DegenerateError, match="one frame"):
        voc(
            np.arange(4.0),
            np.arange(4),
            bootstrap=BootstrapOptions(n_bootstrap=0),
        )


def test_voc_matches_per_episode_spearmanr():
    rng = np.random.default_rng(4)
    ep = np.repeat(np.arange(30), 12)
    x = np.round(rng.normal(size=len(ep)), 1)
    perm = rng.permutation(len(ep))  # episodes interleaved; time order = order of appearance
    x, ep = x[perm], ep[perm]
    want = np.mean([spearmanr(x[ep == e], np.arange(np.sum(ep == e))).statistic for e in range(30)])
    assert voc(x, ep, bootstrap=BootstrapOptions(n_bootstrap=0))[0].estimate == pytest.approx(
        want, abs=1e-12
    )


def test_erc_matches_scipy_on_episode_returns():
    rng = np.random.default_rng(2)
    ep = np.repeat(np.arange(25), 8)
    gt = rng.normal(size=200)
    x = np.stack([gt + rng.normal(size=200), -gt + 2 * rng.normal(size=200)], axis=1)
    res = erc(x, gt, ep, bootstrap=BootstrapOptions(n_bootstrap=0))
    ret_gt = np.bincount(ep, gt)
    assert [r.metric for r in res] == ["erc_pearson"] * 2 + ["erc_spearman"] * 2
    for j in range(2):
        ret = np.bincount(ep, x[:, j])
        assert res[j].estimate == pytest.approx(pearsonr(ret, ret_gt).statistic, abs=1e-12)
        assert res[2 + j].estimate == pytest.approx(spearmanr(ret, ret_gt).statistic, abs=1e-12)


def test_pairwise_matrix_matches_corrcoef_double_loop():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(500, 6)) + rng.normal(size=(500, 1))
    res = epic_pairwise(r)
    for a in range(6):
        for b in range(6):
            rho = np.corrcoef(r[:, a], r[:, b])[0, 1]
            assert res.rho[a, b] == pytest.approx(rho, abs=1e-12)
            want = 0.0 if a == b else np.sqrt(0.5 * (1 - rho))
            assert res.distance[a, b] == pytest.approx(want, abs=1e-12)


def test_pairwise_weights_are_repeated_rows_and_interval_brackets():
    rng = np.random.default_rng(1)
    r = rng.normal(size=(300, 3)) + rng.normal(size=(300, 1))
    w = rng.integers(0, 3, size=300)
    ep = np.arange(300) // 10
    res = epic_pairwise(r, w, ep, bootstrap=BootstrapOptions(n_bootstrap=300))
    rep = epic_pairwise(np.repeat(r, w, axis=0))
    assert np.allclose(res.distance, rep.distance, atol=1e-12)
    off = ~np.eye(3, dtype=bool)
    assert np.all(res.low[off] <= res.distance[off]) and np.all(res.distance[off] <= res.high[off])


def test_weighted_kendall_beyond_the_table_uses_repeated_rows(monkeypatch):
    rng = np.random.default_rng(6)
    p = rng.random(120)
    x = p + rng.normal(size=120)
    w = rng.integers(1, 4, size=120)
    want = kendalltau(np.repeat(x, w), np.repeat(p, w), variant="b").statistic
    monkeypatch.setattr(kendall_module, "MAX_WEIGHTED_CELLS", 100)
    assert kendall(x, p, w, bootstrap=BootstrapOptions(n_bootstrap=0))[0].estimate == pytest.approx(
        want, abs=1e-12
    )
    with pytest.raises(DegenerateError, match="non-integer weights"):
        kendall(x, p, w + 0.5, bootstrap=BootstrapOptions(n_bootstrap=0))
