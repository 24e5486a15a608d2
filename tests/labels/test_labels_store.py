"""Label store, derived label sets (majority vote, per labeller), labelled subsets, ratings."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_labels import journal_lines, make_dataset

from evalkit.errors import DatasetError, EvalkitError
from evalkit.labels.rating import RatingStore, open_rollouts, success_rates, wilson_interval
from evalkit.labels.sets import decided_labels, labelled_subset, majority_vote, sync_label_sets
from evalkit.labels.store import LabelStore


@pytest.fixture
def ds(tmp_path):
    return make_dataset(tmp_path / "root", n_frames=40, n_episodes=4)


def test_add_validates_everything(ds):
    store = LabelStore(ds)
    for args, match in [
        ((40, "cartpole", "goal", "alice"), "does not exist"),
        ((-1, "cartpole", "goal", "alice"), "does not exist"),
        ((True, "cartpole", "goal", "alice"), "not an integer"),
        ((1.0, "cartpole", "goal", "alice"), "not an integer"),
        ((1, "cartpol", "goal", "alice"), "Did you mean 'cartpole'"),
        ((1, "kneeling", "goal", "alice"), "humanoid task"),
        ((1, "cartpole", "yes", "alice"), "not a label"),
        ((1, "cartpole", "goal", "../etc"), "labeller"),
    ]:
        with pytest.raises(EvalkitError, match=match):
            store.add(*args)
    assert not store.path.exists()  # nothing was written


def test_current_labels_are_the_latest_not_undone(ds):
    store = LabelStore(ds)
    store.add(3, "cartpole", "goal", "alice")
    store.add(3, "cartpole", "not_goal", "alice")
    store.add(4, "cartpole", "skip", "alice")
    store.add(3, "cartpole", "goal", "bob")
    assert store.labels_of("cartpole", "alice") == {3: "not_goal", 4: "skip"}
    undone = store.undo_last("alice", "cartpole")
    assert undone["frame_id"] == 4
    assert store.labels_of("cartpole", "alice") == {3: "not_goal"}
    assert store.undo_last("alice", "cartpole")["label"] == "not_goal"
    assert store.labels_of("cartpole", "alice") == {3: "goal"}
    assert store.undo_last("alice", "cartpole")["label"] == "goal"
    assert store.undo_last("alice", "cartpole") is None  # nothing left to undo for alice
    assert store.labels_of("cartpole", "bob") == {3: "goal"}
    lines = journal_lines(ds)
    assert [line["type"] for line in lines] == ["label"] * 4 + ["undo"] * 3  # nothing rewritten
    assert all(line["time"].endswith("Z") for line in lines)


def test_undo_by_event_id(ds):
    store = LabelStore(ds)
    a = store.add(1, "cartpole", "goal", "alice")
    store.add(2, "cartpole", "goal", "alice")
    assert store.undo("alice", event_id=a["id"])["id"] == a["id"]
    assert store.undo("alice", event_id=a["id"]) is None  # already undone
    with pytest.raises(EvalkitError, match="No label event"):
        store.undo("alice", event_id="nope")
    assert store.labels_of("cartpole", "alice") == {2: "goal"}


def test_two_stores_on_one_dataset_see_each_other(ds):
    tab1, tab2 = LabelStore(ds), LabelStore(ds)
    tab1.add(1, "cartpole", "goal", "alice")
    tab2.add(2, "cartpole", "not_goal", "alice")
    assert tab1.labels_of("cartpole", "alice") == {1: "goal", 2: "not_goal"}
    # tab1 undoes alice's latest label, which tab2 wrote
    assert tab1.undo_last("alice", "cartpole")["frame_id"] == 2
    assert tab2.labels_of("cartpole", "alice") == {1: "goal"}


def label_all(store, labeller, labels):
    store.add_many(
        [
            {"frame_id": f, "task": "cartpole", "label": lab, "labeller": labeller}
            for f, lab in labels.items()
        ]
    )


def test_majority_vote_excludes_ties(ds):
    store = LabelStore(ds)
    label_all(store, "alice", {0: "goal", 1: "goal", 2: "not_goal", 3: "goal", 4: "skip"})
    label_all(store, "bob", {0: "goal", 1: "not_goal", 2: "not_goal", 3: "not_goal"})
    label_all(store, "carol", {0: "not_goal", 1: "goal", 3: "skip"})
    vote = majority_vote(decided_labels(store))
    got = dict(zip(vote.table["frame_id"], vote.table["label"]))
    # frame 0: 2 goal vs 1; frame 1: 2 vs 1; frame 2: 0 vs 2; frame 3: 1 vs 1 (tie, carol skipped)
    assert got == {0: True, 1: True, 2: False}
    assert vote.ties["frame_id"].tolist() == [3]
    assert vote.ties["labellers"].tolist() == ["alice,bob"]
    assert 4 not in got  # a skip is no vote


def test_sync_writes_human_and_per_labeller_sets(ds):
    store = LabelStore(ds)
    label_all(store, "alice", {0: "goal", 1: "not_goal", 2: "goal"})
    label_all(store, "bob", {0: "goal", 1: "goal"})
    result = sync_label_sets(ds, store)
    assert set(result.paths) == {"human", "human-alice", "human-bob"}
    assert {"human", "human-alice", "human-bob", "rule"} <= set(ds.label_sets())
    human = ds.label_table("human")
    assert dict(zip(human["frame_id"], human["label"])) == {0: True, 2: True}  # frame 1 tied
    assert ds.label_table("human-bob")["labeller"].unique().tolist() == ["bob"]
    with pytest.raises(DatasetError, match="evaluate on a subset"):
        ds.labels("cartpole", "human")  # partial coverage: Dataset.labels refuses

    ids, labels = labelled_subset(ds, "cartpole", "human")
    assert ids.tolist() == [0, 2] and labels.tolist() == [True, True]
    ids, labels = labelled_subset(ds, "cartpole", "human-alice")
    assert ids.tolist() == [0, 1, 2] and labels.tolist() == [True, False, True]
    ids2, labels2 = labelled_subset(ds, "cartpole", "alice")  # a bare labeller name
    assert ids2.tolist() == ids.tolist()

    # everything alice said is undone: her set is rewritten empty, not left stale
    for _ in range(3):
        store.undo_last("alice", "cartpole")
    sync_label_sets(ds, store)
    assert len(ds.label_table("human-alice")) == 0
    with pytest.raises(DatasetError, match="labels no frame"):
        labelled_subset(ds, "cartpole", "human-alice")


def test_labelled_subset_rule_and_full_coverage(ds):
    ids, labels = labelled_subset(ds, "cartpole", "rule")
    assert ids.tolist() == list(range(len(ds)))
    np.testing.assert_array_equal(labels, ds.labels("cartpole"))
    store = LabelStore(ds)
    rule = ds.labels("cartpole")
    label_all(store, "alice", {f: ("goal" if r else "not_goal") for f, r in enumerate(rule)})
    sync_label_sets(ds, store)
    np.testing.assert_array_equal(ds.labels("cartpole", "human"), rule)  # full coverage works too
    ids, labels = labelled_subset(ds, "cartpole", "human")
    np.testing.assert_array_equal(labels, rule)


def test_labelled_subset_is_fresh_from_the_journal_and_errors_are_clear(ds):
    with pytest.raises(DatasetError, match="no label set or labeller 'zed'"):
        labelled_subset(ds, "cartpole", "zed")
    store = LabelStore(ds)
    store.add(5, "cartpole", "goal", "alice")
    # no sync: the parquet does not exist yet, the journal is read directly
    assert labelled_subset(ds, "cartpole", "human").frame_ids.tolist() == [5]


def test_corrupt_journal_tail_does_not_break_derivation(ds):
    store = LabelStore(ds)
    store.add(1, "cartpole", "goal", "alice")
    with open(store.path, "ab") as f:
        f.write(b'{"v":1,"id":"x","type":"label","frame_id":2,"ta')
    with pytest.warns(UserWarning, match="torn last line"):
        fresh = LabelStore(ds)
    assert fresh.labels_of("cartpole", "alice") == {1: "goal"}
    with pytest.warns(
        UserWarning, match="unreadable line"
    ):  # this reader passes the fragment again
        fresh.add(3, "cartpole", "not_goal", "alice")
    with pytest.warns(UserWarning, match="unreadable line 2"):  # no longer last: just unreadable
        again = LabelStore(ds)
    assert again.labels_of("cartpole", "alice") == {1: "goal", 3: "not_goal"}


# -- ratings ----------------------------------------------------------------------------------


def test_ratings_and_success_rate(ds):
    store = RatingStore(ds)
    store.add(0, "cartpole", 100, "alice")
    store.add(1, "cartpole", 50, "alice")  # exactly 50 % is a success
    store.add(2, "cartpole", 25, "alice")
    store.add(3, "cartpole", 75, "alice")
    store.add(3, "cartpole", 0, "alice")  # re-rated
    store.add(0, "cartpole", 0, "bob")
    rates = success_rates(store).set_index("labeller")
    assert rates.loc["alice", "episodes"] == 4
    assert rates.loc["alice", "successes"] == 2
    assert rates.loc["alice", "success_rate"] == 0.5
    assert rates.loc["alice", "r0"] == 1 and rates.loc["alice", "r75"] == 0
    assert rates.loc["bob", "success_rate"] == 0.0
    store.undo("alice", task="cartpole")  # undoes the re-rating: episode 3 back to 75
    assert store.ratings_of("cartpole", "alice")[3] == 75
    assert success_rates(store, "cartpole").set_index("labeller").loc["alice", "successes"] == 3
    for bad, match in [
        ((9, "cartpole", 50, "a"), "Episode 9"),
        ((0, "cartpole", 60, "a"), "not a rating"),
        ((0, "cartpole", True, "a"), "not a rating"),
        ((0, "kneeling", 50, "a"), "humanoid"),
    ]:
        with pytest.raises(EvalkitError, match=match):
            store.add(*bad)
    assert (ds.path / "labels" / "ratings.journal.jsonl").is_file()
    assert "ratings.journal" not in " ".join(ds.label_sets())


def test_wilson_interval():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35  # 0.2775 by the textbook formula
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_open_rollouts_finds_the_dataset_inside_a_run(tmp_path, ds, monkeypatch):
    assert open_rollouts(str(ds.path)).path == ds.path
    run = tmp_path / "runs" / "r1"
    make_dataset(run, "rollouts", n_frames=8, n_episodes=2)
    assert open_rollouts(str(run)).name == "rollouts"
    monkeypatch.setenv("EVALKIT_RUNS", str(tmp_path / "runs"))
    assert open_rollouts("r1").name == "rollouts"
    make_dataset(run, "rollouts2", n_frames=8, n_episodes=2)
    with pytest.raises(DatasetError, match="several rollout datasets"):
        open_rollouts(str(run))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no rollout dataset"):
        open_rollouts(str(tmp_path / "empty"))
