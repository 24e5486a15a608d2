"""The saved EPIC results table: tidy rows, upsert by key, NaN α for non-CLIP rewards."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalkit.metrics import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline.results import (
    COLUMNS,
    KEY_COLUMNS,
    load_epic_results,
    result_row,
    results_path,
    upsert_epic_results,
)


def _result(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.random(100) < 0.3
    return epic_goal(
        y + rng.normal(size=100), y, bootstrap=BootstrapOptions(n_bootstrap=100, seed=seed)
    )


def _row(alpha, model="evalkit-tiny-vit", seed=0, **kw):
    keys = dict(
        task="cartpole",
        label_set="rule",
        reward_source="clip",
        model=model,
        pretrained="none",
        alpha=alpha,
    )
    keys.update(kw)
    return result_row(_result(seed), **keys)


def test_empty_table_has_the_columns(tmp_path):
    table = load_epic_results(tmp_path)
    assert list(table.columns) == list(COLUMNS) and table.empty


def test_upsert_replaces_same_key_and_adds_new_keys(tmp_path):
    path = upsert_epic_results(
        tmp_path, [_row(0.0), _row(0.5), _row(math.nan, model="", reward_source="function:m:f")]
    )
    assert path == results_path(tmp_path) and path.is_file()
    assert len(load_epic_results(tmp_path)) == 3
    # Same keys again (new numbers): replaced, not duplicated; NaN α matches NaN α.
    upsert_epic_results(
        tmp_path,
        [_row(0.5, seed=1), _row(math.nan, model="", reward_source="function:m:f", seed=1)],
    )
    table = load_epic_results(tmp_path)
    assert len(table) == 3
    new = _result(1)
    replaced = table[table["alpha"] == 0.5].iloc[0]
    assert replaced["distance"] == pytest.approx(new.distance)
    assert table[table["reward_source"] == "function:m:f"].iloc[0]["distance"] == pytest.approx(
        new.distance
    )
    # Another label set or model is another row.
    upsert_epic_results(
        tmp_path, [_row(0.5, label_set="human"), _row(0.5, model="RN50", pretrained="openai")]
    )
    table = load_epic_results(tmp_path)
    assert len(table) == 5
    assert not table[list(KEY_COLUMNS)].astype(str).duplicated().any()
    assert list(table.columns[: len(COLUMNS)]) == list(COLUMNS)


def test_rows_need_their_keys(tmp_path):
    with pytest.raises(ValueError, match="keys"):
        result_row(_result(), task="cartpole")
    with pytest.raises(ValueError, match="repeat a key"):
        upsert_epic_results(tmp_path, [_row(0.5), _row(0.5)])


def test_point_estimate_rows_have_missing_intervals(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.random(50) < 0.3
    res = epic_goal(y + rng.normal(size=50), y, bootstrap=BootstrapOptions(n_bootstrap=0))
    row = result_row(
        res, task="t", label_set="rule", reward_source="clip", model="m", pretrained="p", alpha=0.0
    )
    assert math.isnan(row["ci_low"]) and row["ci_method"] == "" and row["n_bootstrap"] == 0
    upsert_epic_results(tmp_path, [row])
    assert load_epic_results(tmp_path)["ci_low"].isna().all()


def test_a_table_saved_before_the_metric_panel_reads_as_epic(tmp_path):
    import pandas as pd

    old = pd.DataFrame([_row(0.5)]).drop(columns=["metric", "estimate"])
    path = results_path(tmp_path)
    path.parent.mkdir(parents=True)
    old.to_parquet(path)
    table = load_epic_results(tmp_path)
    assert table["metric"].tolist() == ["epic"]
    assert table["estimate"].tolist() == table["distance"].tolist()
    # a new EPIC row with the same key replaces it (the key includes the metric)
    upsert_epic_results(tmp_path, [_row(0.5, seed=1)])
    assert len(load_epic_results(tmp_path)) == 1
