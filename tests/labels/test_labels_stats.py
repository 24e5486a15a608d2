"""Cohen's κ against hand-worked examples and an independent naive computation; label stats."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_labels import make_dataset

from evalkit.labels.stats import cohen_kappa, label_stats
from evalkit.labels.store import LabelStore


def naive_kappa(a, b):
    """κ from the 2×2 contingency table, written out the textbook way (independent of stats.py)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    n = len(a)
    yy = np.sum(a & b)
    nn = np.sum(~a & ~b)
    yn = np.sum(a & ~b)
    ny = np.sum(~a & b)
    po = (yy + nn) / n
    p_yes = ((yy + yn) / n) * ((yy + ny) / n)
    p_no = ((nn + ny) / n) * ((nn + yn) / n)
    pe = p_yes + p_no
    return (po - pe) / (1 - pe)


def test_hand_worked_example():
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5; κ = 0.2/0.5 = 0.4
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    ag = cohen_kappa(a, b)
    assert ag.n == 50
    assert ag.observed == pytest.approx(0.7)
    assert ag.expected == pytest.approx(0.5)
    assert ag.kappa == pytest.approx(0.4)


def test_second_hand_worked_example_three_categories():
    # 10 items, 3 classes; they agree on items 0,1,2,5,6,8,9 → p_o = 0.7.
    # A: x5 y3 z2, B: x4 y4 z2 → p_e = .5*.4 + .3*.4 + .2*.2 = .20+.12+.04 = .36
    # κ = (.7-.36)/(1-.36) = .34/.64 = .53125
    a = list("xxxxxyyyzz")
    b = list("xxxyyyyxzz")
    assert sum(x == y for x, y in zip(a, b)) == 7
    assert cohen_kappa(a, b).kappa == pytest.approx(0.53125)


def test_perfect_chance_and_undefined():
    assert cohen_kappa([1, 0, 1, 0], [1, 0, 1, 0]).kappa == pytest.approx(1.0)
    assert cohen_kappa([1, 0, 1, 0], [0, 1, 0, 1]).kappa == pytest.approx(-1.0)
    assert cohen_kappa([1, 1, 1], [1, 1, 1]).kappa is None  # p_e = 1: undefined, not NaN
    empty = cohen_kappa([], [])
    assert empty.n == 0 and empty.kappa is None
    with pytest.raises(ValueError):
        cohen_kappa([1], [1, 0])


@pytest.mark.parametrize("seed", range(5))
def test_matches_naive_formula_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    a = rng.random(200) < 0.3
    b = np.where(rng.random(200) < 0.8, a, rng.random(200) < 0.5)
    assert cohen_kappa(list(a), list(b)).kappa == pytest.approx(naive_kappa(a, b), abs=1e-12)


def test_label_stats_against_rule_and_between_labellers(tmp_path):
    ds = make_dataset(tmp_path / "root", n_frames=60)
    rule = ds.labels("cartpole")
    store = LabelStore(ds)
    rng = np.random.default_rng(1)
    alice = {f: bool(r) if rng.random() < 0.85 else not r for f, r in enumerate(rule)}
    bob = {f: bool(r) if rng.random() < 0.7 else not r for f, r in enumerate(rule) if f < 40}
    for who, labels in (("alice", alice), ("bob", bob)):
        store.add_many(
            [
                {
                    "frame_id": f,
                    "task": "cartpole",
                    "label": "goal" if v else "not_goal",
                    "labeller": who,
                }
                for f, v in labels.items()
            ]
        )
    store.add(59, "cartpole", "skip", "bob")
    stats = label_stats(ds, store=store)
    per = stats.per_labeller.set_index("labeller")
    assert per.loc["alice", "labelled"] == 60 and per.loc["bob", "labelled"] == 40
    assert per.loc["bob", "skipped"] == 1
    assert per.loc["alice", "goal"] == sum(alice.values())
    a_ids = sorted(alice)
    assert per.loc["alice", "rule_kappa"] == pytest.approx(
        naive_kappa([alice[f] for f in a_ids], rule[a_ids])
    )
    pair = stats.pairs.iloc[0]
    common = sorted(bob)
    assert pair["common"] == 40
    assert pair["kappa"] == pytest.approx(
        naive_kappa([alice[f] for f in common], [bob[f] for f in common])
    )
    major = stats.majority.iloc[0]
    ties = sum(alice[f] != bob[f] for f in common)
    assert major["ties"] == ties and major["decided"] == 60 - ties
