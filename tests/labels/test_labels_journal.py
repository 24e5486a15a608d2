"""The append-only journal: durability, torn lines, concurrent writers, kill -9, undo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from evalkit.errors import EvalkitError
from evalkit.labels.journal import (
    EventLog,
    Journal,
    JournalWarning,
    check_labeller,
    default_labeller,
)


def ev(i, key="a", value="goal", type_="label"):
    return {"id": f"e{i}", "type": type_, "k": key, "label": value}


def test_append_and_read_round_trip_with_fsync(tmp_path, monkeypatch):
    j = Journal(tmp_path / "labels" / "j.jsonl")
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    j.append([ev(1)])
    j.append([ev(2), ev(3, value="ünïcode")])
    assert len(synced) >= 2  # every append is fsync'd before it returns
    read = j.read()
    assert [e["id"] for e in read.events] == ["e1", "e2", "e3"]
    assert read.events[2]["label"] == "ünïcode"
    assert read.problems == []
    assert j.path.read_bytes().endswith(b"\n")


def test_missing_journal_reads_empty(tmp_path):
    assert Journal(tmp_path / "none.jsonl").read().events == []


def test_torn_last_line_is_skipped_with_a_warning_and_next_append_is_clean(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append([ev(1), ev(2)])
    with open(j.path, "ab") as f:
        f.write(b'{"id": "e3", "type": "lab')  # a crash in the middle of a write
    with pytest.warns(JournalWarning, match="torn last line"):
        read = j.read()
    assert [e["id"] for e in read.events] == ["e1", "e2"]
    assert len(read.problems) == 1

    j.append([ev(4)])  # must not be glued to the fragment
    with pytest.warns(JournalWarning, match="unreadable line 3"):
        read = j.read()
    assert [e["id"] for e in read.events] == ["e1", "e2", "e4"]


def test_complete_last_line_without_newline_is_kept(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.path.write_text(json.dumps(ev(1)))  # e.g. written by hand
    assert [e["id"] for e in j.read().events] == ["e1"]
    j.append([ev(2)])
    assert [e["id"] for e in j.read().events] == ["e1", "e2"]


def test_garbage_lines_are_skipped(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.path.write_text(
        "\n".join([json.dumps(ev(1)), "not json", "[1, 2]", '{"no": "id"}', json.dumps(ev(2))])
        + "\n"
    )
    with pytest.warns(JournalWarning):
        read = j.read()
    assert [e["id"] for e in read.events] == ["e1", "e2"]
    assert len(read.problems) == 3


def test_read_from_leaves_an_unfinished_line_for_later(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append([ev(1)])
    with open(j.path, "ab") as f:
        f.write(json.dumps(ev(2)).encode()[:10])
    events, offset, problems = j.read_from(0)
    assert [e["id"] for e in events] == ["e1"] and problems == []
    with open(j.path, "ab") as f:
        f.write(json.dumps(ev(2)).encode()[10:] + b"\n")
    events, offset2, _ = j.read_from(offset)
    assert [e["id"] for e in events] == ["e2"]
    assert offset2 == j.path.stat().st_size


def test_event_log_undo_falls_back_to_previous_value(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    log = EventLog(j, "label", key=lambda e: e["k"])
    j.append([ev(1, "a", "goal"), ev(2, "a", "not_goal"), ev(3, "b", "skip")])
    log.refresh()
    assert log.current("a")["label"] == "not_goal"
    j.append([log.undo_event(log.by_id["e2"], "alice", "test")])
    log.refresh()
    assert log.current("a")["label"] == "goal"
    assert log.last_undoable(lambda e: True)["id"] == "e3"
    j.append([log.undo_event(log.by_id["e1"], "alice", "test")])
    j.append([{"id": "u9", "type": "undo", "undoes": "nonexistent"}])
    log.refresh()
    assert log.current("a") is None
    assert [e["id"] for e in log.live()] == ["e3"]
    # a second reader that loads everything at once agrees
    again = EventLog(j, "label", key=lambda e: e["k"]).load_all()
    assert [e["id"] for e in again.live()] == ["e3"]
    undo = log.by_id[[e["id"] for e in log.events if e["type"] == "undo"][0]]
    assert undo["undoes"] == "e2" and undo["k"] == "a" and "label" not in undo


def test_labeller_names():
    assert check_labeller("alice.b-2_x") == "alice.b-2_x"
    for bad in ["", "../x", "a/b", ".hidden", "x" * 65, "a b", 3]:
        with pytest.raises(EvalkitError):
            check_labeller(bad)
    check_labeller(default_labeller())


WRITER = textwrap.dedent(
    """
    import sys
    from evalkit.labels.journal import Journal
    j = Journal(sys.argv[1])
    tag, n = sys.argv[2], int(sys.argv[3])
    for i in range(n):
        j.append([{"id": f"{tag}-{i}", "type": "label", "pad": "x" * (i % 97)}])
        if len(sys.argv) > 4:
            print(f"{tag}-{i}", flush=True)  # acknowledged: append() returned
    """
)


def test_concurrent_writer_processes_never_corrupt_the_journal(tmp_path):
    path = tmp_path / "j.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{k}", "300"])
        for k in range(4)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0
    read = Journal(path).read()
    assert read.problems == []
    ids = [e["id"] for e in read.events]
    assert len(ids) == 1200 and len(set(ids)) == 1200
    for k in range(4):  # each writer's events stay in its own order
        mine = [int(i.split("-")[1]) for i in ids if i.startswith(f"w{k}-")]
        assert mine == list(range(300))


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.45])
def test_kill_9_loses_nothing_that_was_acknowledged(tmp_path, delay):
    path = tmp_path / "j.jsonl"
    p = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "k", "1000000", "ack"],
        stdout=subprocess.PIPE,
        text=True,
    )
    acked = []
    deadline = time.monotonic() + 30
    while len(acked) < 20 and time.monotonic() < deadline:  # let it get going
        acked.append(p.stdout.readline().strip())
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    rest = p.stdout.read()
    p.wait()
    acked += [line for line in rest.splitlines() if line]
    read = Journal(path).read(warn=False)
    ids = [e["id"] for e in read.events]
    assert set(acked) <= set(ids), "an acknowledged label was lost"
    assert len(ids) - len(acked) <= 1  # at most the one being written
    assert len(read.problems) <= 1 and all("torn last line" in pr for pr in read.problems)
