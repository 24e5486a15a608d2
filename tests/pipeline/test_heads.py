"""Reward heads: the fit against an independent minimiser of the same objective, folds that never
split an episode, regularisation by held-out log-loss, files that refuse another model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from evalkit.errors import EvalkitError
from evalkit.heads import (
    MIN_PER_CLASS,
    LogisticHead,
    check_head_fits,
    choose_l2,
    episode_folds,
    fit_logistic,
    load_head,
    log_loss,
    out_of_fold_logits,
    save_head,
)


def _data(n=300, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    true_w = rng.normal(size=d) * 4
    y = rng.random(n) < 1 / (1 + np.exp(-(x @ true_w - 0.5)))
    episodes = np.arange(n) // 10
    return x, y, episodes


def _oracle(x, y, l2):
    """The objective written out independently, minimised by scipy's BFGS with numerical
    gradients (no analytic gradient, no shared code)."""

    def loss(theta):
        w, b = theta[:-1], theta[-1]
        p = 1 / (1 + np.exp(-(x @ w + b)))
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * l2 * np.sum(w**2)

    res = minimize(loss, np.zeros(x.shape[1] + 1), method="BFGS", options={"gtol": 1e-9})
    return res.x[:-1], res.x[-1]


@pytest.mark.parametrize("l2", [1e-3, 1e-1, 1.0])
def test_fit_equals_an_independent_minimiser(l2):
    x, y, _ = _data()
    head = fit_logistic(x, y, l2)
    w, b = _oracle(x, y.astype(float), l2)
    np.testing.assert_allclose(head.weights, w, atol=2e-4)
    assert head.bias == pytest.approx(b, abs=2e-4)
    np.testing.assert_allclose(head.reward(x), 1 / (1 + np.exp(-(x @ w + b))), atol=1e-4)


def test_log_loss_matches_the_formula():
    z = np.array([-3.0, 0.0, 2.0, 50.0])
    y = np.array([0, 1, 1, 0], dtype=bool)
    p = 1 / (1 + np.exp(-z))
    want = -np.mean([np.log(1 - p[0]), np.log(p[1]), np.log(p[2]), -50.0 - np.log1p(np.exp(-50.0))])
    assert log_loss(z, y) == pytest.approx(want, rel=1e-12)


def test_folds_never_split_an_episode_and_balance_goals():
    rng = np.random.default_rng(1)
    episodes = np.repeat(rng.permutation(40), rng.integers(3, 12, size=40))
    labels = rng.random(len(episodes)) < 0.2
    folds = episode_folds(episodes, labels, k=5, seed=3)
    for e in np.unique(episodes):
        assert len(np.unique(folds[episodes == e])) == 1
    goal_per_fold = np.bincount(folds, weights=labels, minlength=5)
    assert goal_per_fold.min() > 0 and goal_per_fold.max() - goal_per_fold.min() <= 12
    assert np.array_equal(folds, episode_folds(episodes, labels, k=5, seed=3))  # seeded
    with pytest.raises(EvalkitError, match="fewer than the 5 folds"):
        episode_folds(np.arange(4), np.zeros(4, bool), k=5)


def test_out_of_fold_logits_come_from_heads_that_never_saw_the_frame():
    x, y, episodes = _data()
    folds = episode_folds(episodes, y, k=4)
    oof = out_of_fold_logits(x, y, folds, 1e-2)
    test = folds == 2
    alone = fit_logistic(x[~test], y[~test], 1e-2).logit(x[test])
    np.testing.assert_allclose(oof[test], alone)


def test_choose_l2_takes_the_lowest_held_out_loss():
    x, y, episodes = _data(seed=2)
    folds = episode_folds(episodes, y, k=3)
    choice = choose_l2(x, y, folds, grid=(1e-3, 1.0, 100.0))
    assert choice.l2 == min(choice.losses, key=choice.losses.get)
    assert choice.losses[100.0] > choice.losses[choice.l2]  # strong shrinkage underfits


def test_too_few_frames_of_a_class_say_how_many_are_needed():
    x, _, _ = _data(n=40)
    y = np.zeros(40, bool)
    y[:2] = True
    with pytest.raises(
        EvalkitError, match=f"at least {MIN_PER_CLASS} labelled goal .* 2 goal and 38"
    ):
        fit_logistic(x, y)


def test_save_load_round_trip_and_refusal_of_another_model(tmp_path):
    x, y, _ = _data()
    meta = {"model_identity": "tiny/RANDOM", "embedding": {"precision": "fp32", "preprocess": 3}}
    head = LogisticHead(**{**fit_logistic(x, y).__dict__, "meta": meta})
    path = save_head(head, tmp_path / "heads" / "cartpole")
    again = load_head(tmp_path / "heads" / "cartpole.safetensors")
    np.testing.assert_array_equal(again.weights, head.weights)
    assert again.bias == head.bias and again.meta == meta and path.suffix == ".json"
    check_head_fits(again, "tiny/RANDOM", {"precision": "fp32", "preprocess": 3})
    with pytest.raises(EvalkitError, match="fitted on embeddings of 'tiny/RANDOM', not 'ViT-B-32"):
        check_head_fits(again, "ViT-B-32/openai", {})
    with pytest.raises(EvalkitError, match="precision = 'fp32', not 'bf16'"):
        check_head_fits(again, "tiny/RANDOM", {"precision": "bf16"})
    with pytest.raises(EvalkitError, match="takes 8-dimensional embeddings"):
        again.reward(np.zeros((3, 5)))
    (tmp_path / "heads" / "cartpole.safetensors").write_bytes(b"junk")
    with pytest.raises(EvalkitError, match="is corrupt"):
        load_head(path)
    with pytest.raises(EvalkitError, match="does not exist"):
        load_head(tmp_path / "nothing")
