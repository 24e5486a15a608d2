"""CSV import/export and the label CLI commands (import, export, stats, rate --report)."""

from __future__ import annotations

import csv
import io

import pytest
from helpers_labels import journal_lines, make_dataset

from evalkit.errors import EvalkitError
from evalkit.labels.csvio import EXPORT_COLUMNS, export_csv, import_csv
from evalkit.labels.rating import RatingStore
from evalkit.labels.store import LabelStore


@pytest.fixture
def ds(datasets_root):
    return make_dataset(datasets_root, "lab", n_frames=30)


def write(path, text):
    path.write_text(text)
    return path


def test_export_import_round_trip(ds, tmp_path, datasets_root):
    store = LabelStore(ds)
    store.add(1, "cartpole", "goal", "alice")
    store.add(2, "cartpole", "not_goal", "alice")
    store.add(2, "cartpole", "skip", "bob")
    store.add(3, "cartpole", "goal", "bob")
    store.undo_last("bob", "cartpole")
    out = tmp_path / "labels.csv"
    assert export_csv(ds, out) == 3
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == EXPORT_COLUMNS
    assert [(r["frame_id"], r["label"], r["labeller"]) for r in rows] == [
        ("1", "goal", "alice"),
        ("2", "not_goal", "alice"),
        ("2", "skip", "bob"),
    ]

    other = make_dataset(datasets_root, "copy", n_frames=30)
    rep = import_csv(other, out)
    assert (rep.rows, rep.imported, rep.already) == (3, 3, 0)
    again = LabelStore(other)
    assert again.labels_of("cartpole", "alice") == {1: "goal", 2: "not_goal"}
    times = {e["frame_id"]: e["time"] for e in again.live() if e["labeller"] == "alice"}
    assert times[1] == next(r["time"] for r in rows if r["frame_id"] == "1")  # times are kept
    rep = import_csv(other, out)  # importing the same file again changes nothing
    assert (rep.imported, rep.already) == (0, 3)
    assert len(journal_lines(other)) == 3


def test_missing_columns(ds, tmp_path):
    bad = write(tmp_path / "b.csv", "frame,label\n1,goal\n")
    with pytest.raises(
        EvalkitError, match=r"lacks the column\(s\) frame_id, task \(or pass --task\), labeller"
    ):
        import_csv(ds, bad)
    # --task and --labeller stand in for missing columns
    ok = write(tmp_path / "ok.csv", "frame_id,label\n1,goal\n2,0\n3,No\n4,not goal\n5,TRUE\n")
    rep = import_csv(ds, ok, task="cartpole", labeller="carol")
    assert rep.imported == 5
    assert LabelStore(ds).labels_of("cartpole", "carol") == {
        1: "goal",
        2: "not_goal",
        3: "not_goal",
        4: "not_goal",
        5: "goal",
    }


def test_unknown_frames_and_bad_values_import_nothing(ds, tmp_path):
    bad = write(
        tmp_path / "b.csv",
        "frame_id,task,label,labeller,time\n"
        "1,cartpole,goal,alice,\n"
        "30,cartpole,goal,alice,\n"
        "-2,cartpole,goal,alice,\n"
        "x,cartpole,goal,alice,\n"
        "4,cartpole,maybe,alice,\n"
        "5,kneeling,goal,alice,\n"
        "6,cartpole,goal,../x,\n"
        "7,cartpole,goal,alice,yesterday\n",
    )
    with pytest.raises(EvalkitError) as err:
        import_csv(ds, bad)
    msg = str(err.value)
    for piece in [
        "7 bad row(s)",
        "line 3: frame 30 does not exist",
        "line 4: frame -2",
        "line 5: frame_id 'x'",
        "line 6: label 'maybe'",
        "line 7:",
        "humanoid",
        "line 8: labeller",
        "line 9: time",
        "Nothing was imported",
    ]:
        assert piece in msg
    assert not LabelStore(ds).path.exists()


def test_many_rows_with_one_problem_are_said_once(ds, tmp_path):
    rows = "".join(f"{i},kneeling,goal,alice,\n" for i in range(1, 11))
    with pytest.raises(EvalkitError) as err:
        import_csv(ds, write(tmp_path / "k.csv", "frame_id,task,label,labeller,time\n" + rows))
    msg = str(err.value)
    assert (
        "10 bad row(s): lines 2, 3, 4 and 7 more: " in msg
        and msg.count("kneeling") == 1
        and ".;" not in msg
    )


def test_task_option_must_match_the_rows(ds, tmp_path):
    f = write(tmp_path / "t.csv", "frame_id,task,label,labeller\n1,mountaincar,goal,alice\n")
    with pytest.raises(EvalkitError, match="task 'mountaincar' but --task cartpole"):
        import_csv(ds, f, task="cartpole")
    with pytest.raises(EvalkitError, match="CSV file .* does not exist"):
        import_csv(ds, tmp_path / "none.csv")


def test_conflicting_duplicates_keep_both_events_and_are_reported(ds, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "frame_id,task,label,labeller\n"
        "1,cartpole,goal,alice\n"
        "2,cartpole,goal,alice\n"
        "1,cartpole,not_goal,alice\n"
        "2,cartpole,goal,alice\n"
        "1,cartpole,goal,bob\n",
    )
    rep = import_csv(ds, f)
    assert rep.imported == 5 and rep.duplicates == 1
    assert rep.conflicts.to_dict("records") == [
        {
            "frame_id": 1,
            "task": "cartpole",
            "labeller": "alice",
            "labels": "goal → not_goal",
            "lines": "2,4",
        }
    ]
    events = [e for e in journal_lines(ds) if e["frame_id"] == 1 and e["labeller"] == "alice"]
    assert [e["label"] for e in events] == ["goal", "not_goal"]  # both kept, in file order
    assert LabelStore(ds).labels_of("cartpole", "alice")[1] == "not_goal"  # the later line is live


def test_cli_import_export_stats(cli, ds, tmp_path):
    f = write(
        tmp_path / "in.csv",
        "frame_id,task,label\n1,cartpole,goal\n1,cartpole,not_goal\n2,cartpole,goal\n",
    )
    res = cli("label", "import", "lab", str(f), "--labeller", "dana")
    assert res.exit_code == 0, res.output
    assert "Imported 3 labels" in res.output
    assert "frame 1 (cartpole, dana): goal → not_goal on lines 2,3" in res.output
    assert "human-dana" in ds.label_sets()

    res = cli("label", "export", "lab", "--task", "cartpole")
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert [(r["frame_id"], r["label"]) for r in rows] == [("1", "not_goal"), ("2", "goal")]
    out = tmp_path / "out.csv"
    res = cli("label", "export", "lab", "--out", str(out))
    assert res.exit_code == 0 and out.read_text().startswith("frame_id,task,label,labeller,time")

    RatingStore(ds).add(0, "cartpole", 75, "dana")
    res = cli("label", "stats", "lab")
    assert res.exit_code == 0, res.output
    assert "dana" in res.output and "majority (human)" in res.output and "κ vs rule" in res.output
    assert "success rates" in res.output and "100%" in res.output
    res = cli("label", "rate", "lab", "--task", "cartpole", "--report")
    assert res.exit_code == 0 and "dana" in res.output


def test_cli_bad_input_is_one_clear_sentence(cli, ds, tmp_path):
    res = cli(
        "label", "import", "nope", str(tmp_path / "x.csv"), "--task", "cartpole", "--labeller", "a"
    )
    assert res.exit_code == 2 and "No dataset called 'nope'" in res.output
    res = cli(
        "label", "import", "lab", str(tmp_path / "x.csv"), "--task", "cartpole", "--labeller", "a"
    )
    assert res.exit_code == 2 and "does not exist" in res.output
    res = cli("label", "stats", "lab", "--task", "kneeling")
    assert res.exit_code == 2 and "humanoid task" in res.output
    res = cli("label", "stats", "lab")
    assert res.exit_code == 0 and "No human labels in lab yet" in res.output
    res = cli("label", "stats", "lab", "--task", "cartpole")
    assert res.exit_code == 0 and "No human labels for task cartpole in lab yet" in res.output
    res = cli("label", "serve", "lab", "--task", "cartpole", "--order", "sideways")
    assert res.exit_code == 2 and "Unknown --order" in res.output
    res = cli("label", "serve", "lab", "--task", "cartpole", "--labeller", "a b")
    assert res.exit_code == 2 and "not a valid labeller name" in res.output
