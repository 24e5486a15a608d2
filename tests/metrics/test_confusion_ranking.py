"""Instruction confusion and policy ranking against naive loops and scipy on hand-made cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import kendalltau

from evalkit.errors import DegenerateError, EvalkitError
from evalkit.metrics.confusion import (
    confusion_matrix,
    episode_accuracy,
    episode_margin,
    instruction_confusion,
)
from evalkit.metrics.policy_ranking import (
    episode_returns,
    kendall_ranking,
    policy_ranking,
    tier_quality,
)


def naive_confusion(scores, own, k):
    out = np.full((k, k), np.nan)
    for i in range(k):
        rows = [s for s, o in zip(scores, own) if o == i]
        if rows:
            for j in range(k):
                out[i, j] = sum(r[j] for r in rows) / len(rows)
    return out


def naive_accuracy(row, own):
    best = max(row)
    tied = [j for j, v in enumerate(row) if v == best]
    return (1.0 / len(tied)) if own in tied else 0.0


def naive_tau_b(x, y):
    """τ-b from its definition with a double loop over pairs."""
    nc = nd = tx = ty = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            tx += 1
        elif dy == 0:
            ty += 1
        elif dx == dy:
            nc += 1
        else:
            nd += 1
    return (nc - nd) / np.sqrt((nc + nd + tx) * (nc + nd + ty))


SCORES = np.array(
    [
        [3.0, 1.0, 0.0],  # own 0, right
        [2.0, 2.0, 1.0],  # own 0, tie of two at the top
        [0.0, 5.0, 5.5],  # own 1, wrong
        [1.0, 1.0, 1.0],  # own 2, three-way tie
        [0.0, 0.0, 9.0],  # own 2, right
    ]
)
OWN = np.array([0, 0, 1, 2, 2])


def test_confusion_matrix_equals_the_mean_per_own_prompt_with_an_empty_row_nan():
    scores = SCORES[[0, 1, 3, 4]]
    own = OWN[[0, 1, 3, 4]]  # no episode of prompt 1
    got = confusion_matrix(scores, own)
    np.testing.assert_allclose(got, naive_confusion(scores, own, 3), equal_nan=True)
    assert np.all(np.isnan(got[1]))


def test_accuracy_splits_ties_and_margin_is_own_minus_best_other():
    acc = episode_accuracy(SCORES, OWN)
    np.testing.assert_allclose(acc, [naive_accuracy(r, o) for r, o in zip(SCORES, OWN)])
    np.testing.assert_allclose(acc, [1.0, 0.5, 0.0, 1 / 3, 1.0])
    margin = episode_margin(SCORES, OWN)
    expect = [r[o] - max(v for j, v in enumerate(r) if j != o) for r, o in zip(SCORES, OWN)]
    np.testing.assert_allclose(margin, expect)


def test_confusion_interval_contains_the_mean_and_constant_scores_are_all_ties():
    res = instruction_confusion(SCORES, OWN, n_resamples=500)
    assert res.accuracy_ci[0] <= res.mean_accuracy <= res.accuracy_ci[1]
    assert res.margin_ci[0] <= res.mean_margin <= res.margin_ci[1]
    flat = instruction_confusion(np.ones((4, 4)), np.array([0, 1, 2, 3]), n_resamples=50)
    np.testing.assert_allclose(flat.accuracy, 0.25)  # chance level
    np.testing.assert_allclose(flat.margin, 0.0)
    assert flat.accuracy_ci == (0.25, 0.25)


def test_confusion_refuses_one_prompt_and_bad_input():
    with pytest.raises(DegenerateError, match="two prompts"):
        instruction_confusion(np.ones((3, 1)), np.zeros(3, dtype=int))
    with pytest.raises(EvalkitError, match="indices"):
        confusion_matrix(SCORES, np.array([0, 0, 1, 2, 3]))
    with pytest.raises(EvalkitError, match="finite"):
        episode_margin(np.array([[np.nan, 1.0]]), np.array([0]))


def test_kendall_ranking_equals_scipy_and_the_definition_with_ties():
    rng = np.random.default_rng(3)
    returns = np.round(rng.normal(size=30), 1)  # ties in the returns
    eps = rng.choice([0.0, 0.3, 1.0], size=30)  # ties in the quality
    res = kendall_ranking(returns, tier_quality(eps), n_resamples=200)
    assert res.tau == pytest.approx(kendalltau(returns, 1 - eps).statistic)
    assert res.tau == pytest.approx(naive_tau_b(returns, 1 - eps))
    assert res.ci[0] <= res.tau <= res.ci[1]
    assert res.n_episodes == 30


def test_policy_ranking_of_a_perfect_reward_is_one_and_success_is_binary():
    eps = np.array([0.0, 0.0, 0.5, 0.5, 1.0, 1.0])
    success = np.array([1, 1, 1, 0, 0, 0])
    returns = np.array([10.0, 9.0, 6.0, 5.0, 1.0, 0.0])
    out = policy_ranking(returns, eps, success, n_resamples=100)
    assert out["quality"].tau == pytest.approx(naive_tau_b(returns, 1 - eps))
    assert out["success"].tau == pytest.approx(naive_tau_b(returns, success))
    reversed_ = policy_ranking(-returns, eps, success, n_resamples=100)
    assert reversed_["quality"].tau == pytest.approx(-out["quality"].tau)


def test_policy_ranking_degenerate_cases_say_why():
    with pytest.raises(DegenerateError, match="same return"):
        kendall_ranking(np.ones(4), np.arange(4.0))
    with pytest.raises(DegenerateError, match="same quality"):
        kendall_ranking(np.arange(4.0), np.ones(4))
    with pytest.raises(DegenerateError, match="two episodes"):
        kendall_ranking(np.ones(1), np.ones(1))
    with pytest.raises(EvalkitError, match=r"\[0, 1\]"):
        tier_quality([0.5, 1.5])


def test_episode_returns_sum_rewards_per_episode():
    ids, returns = episode_returns([1.0, 2.0, 3.0, 4.0, 5.0], [7, 3, 7, 3, 9])
    np.testing.assert_array_equal(ids, [3, 7, 9])
    np.testing.assert_allclose(returns, [6.0, 4.0, 5.0])


def test_bootstrap_leaves_out_undefined_resamples_and_counts_them():
    res = kendall_ranking(np.array([0.0, 1.0]), np.array([0.0, 1.0]), n_resamples=400, seed=1)
    # a resample of two episodes draws the same one twice half the time: τ-b undefined there
    assert 100 < res.n_undefined < 300
    assert res.tau == 1.0 and res.ci == (1.0, 1.0)
