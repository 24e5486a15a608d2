"""The run's metrics.csv: appended rows, continuity across resume, a line cut by kill -9."""

from __future__ import annotations

import csv

import pytest

from evalkit.errors import EvalkitError
from evalkit.train.metrics_log import COLUMNS, MetricsLog


def test_rows_round_trip_with_empty_cells(tmp_path):
    log = MetricsLog(tmp_path)
    log.append({"step": 100, "gt_return": -3.5, "fidelity_epic": None})
    log.append({"step": 200, "gt_return": float("nan"), "time": "2026-12-02T00:00:00+00:00"})
    rows = log.rows()
    assert [r["step"] for r in rows] == [100.0, 200.0]
    assert rows[0]["gt_return"] == -3.5 and rows[0]["fidelity_epic"] is None
    assert rows[1]["gt_return"] is None and rows[1]["time"] == "2026-12-02T00:00:00+00:00"
    with (tmp_path / "metrics.csv").open() as handle:
        assert next(csv.reader(handle)) == list(COLUMNS)  # one header, written once


def test_unknown_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        MetricsLog(tmp_path).append({"step": 1, "reward_of_the_day": 3})


def test_truncate_after_keeps_one_continuous_table(tmp_path):
    log = MetricsLog(tmp_path)
    for step in (100, 200, 300):
        log.append({"step": step, "gt_return": step / 10})
    log.truncate_after(200)  # resumed from the checkpoint at step 200
    log.append({"step": 300, "gt_return": 99.0})
    rows = log.rows()
    assert [r["step"] for r in rows] == [100.0, 200.0, 300.0]
    assert rows[-1]["gt_return"] == 99.0


def test_a_line_cut_short_is_skipped_and_a_foreign_file_refused(tmp_path):
    log = MetricsLog(tmp_path)
    log.append({"step": 100, "gt_return": 1.0})
    with log.path.open("a") as handle:
        handle.write("200,2026")  # kill -9 in the middle of a write
    assert [r["step"] for r in log.rows()] == [100.0]
    log.path.write_text("a,b\n1,2\n")
    with pytest.raises(EvalkitError, match="not an evalkit metrics file"):
        log.rows()


def test_a_torn_last_line_does_not_swallow_the_next_row(tmp_path):
    log = MetricsLog(tmp_path)
    for step in (100, 200):
        log.append({"step": step, "gt_return": 1.0})
    with log.path.open("a") as handle:
        handle.write("300,2026-12-02T00:00:00+00:00,3.")  # kill -9 in the middle of a row
    log.truncate_after(200)  # resume from the checkpoint at step 200
    log.append({"step": 300, "gt_return": 3.5})
    assert [(r["step"], r["gt_return"]) for r in log.rows()] == [
        (100.0, 1.0),
        (200.0, 1.0),
        (300.0, 3.5),
    ]
    with log.path.open("a") as handle:
        handle.write("400,2026")  # torn again, and appended to without a resume
    log.append({"step": 500, "gt_return": 5.0})
    assert [r["step"] for r in log.rows()] == [100.0, 200.0, 300.0, 500.0]
