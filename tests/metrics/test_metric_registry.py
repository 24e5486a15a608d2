"""The metric registry: a metric registered from outside evalkit (the example plugin's Pearson
r of the reward with the progress variable) works in the panel, ``evalkit epic --metrics`` and
``evalkit scaling --metric`` with no other file touched; the registry's own rules."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from helpers_epic import write_reward_module
from helpers_heads import TINY, embedded_sweep
from helpers_registry import example_plugin
from scipy.stats import pearsonr

from evalkit.errors import EvalkitError
from evalkit.metrics import (
    METRICS,
    BootstrapOptions,
    Metric,
    get_metric,
    metric_names,
    metric_panel,
    register_metric,
    unregister_metric,
)
from evalkit.pipeline import load_epic_results

PLUGIN = example_plugin()
NAME = "pearson_progress"
PEARSON = PLUGIN.PEARSON_PROGRESS
pearson_progress = PLUGIN.pearson_progress


@pytest.fixture
def pearson():
    """The Pearson-with-progress metric registered for one test, and removed after it."""
    register_metric(PEARSON)
    yield PEARSON
    unregister_metric(NAME)


def _data(seed: int = 0, n: int = 300):
    rng = np.random.default_rng(seed)
    progress = rng.normal(size=n)
    rewards = np.stack([progress + rng.normal(size=n), rng.normal(size=n)], axis=1)
    return rewards, progress, np.arange(n) // 10


def test_a_registered_metric_is_in_the_panel_and_equals_scipy(pearson):
    rewards, progress, episodes = _data()
    assert metric_names()[-1] == NAME and NAME in metric_names("all")
    res = metric_panel(
        rewards,
        progress=progress,
        episodes=episodes,
        metrics=NAME,
        bootstrap=BootstrapOptions(n_bootstrap=200),
        names=["a", "b"],
    )
    assert [(r.metric, r.name) for r in res] == [(NAME, "a"), (NAME, "b")]
    for j, r in enumerate(res):
        assert r.estimate == pytest.approx(pearsonr(rewards[:, j], progress).statistic, abs=1e-12)
        assert r.interval[0] < r.estimate < r.interval[1]


def test_a_metric_that_needs_progress_is_skipped_with_the_reason_without_it(pearson):
    rewards, _, episodes = _data()
    (res,) = metric_panel(rewards[:, 0], episodes=episodes, metrics=NAME, skip_unavailable=True)
    assert not res.available and "progress variable" in res.reason


def test_registering_a_name_twice_is_an_error_and_unregistering_restores(pearson):
    with pytest.raises(EvalkitError, match="already registered"):
        register_metric(pearson)
    erc_like = Metric("erc_copy", ("episodes",), "x", pearson_progress, (get_metric("erc").rows))
    with pytest.raises(EvalkitError, match="rows named 'erc_pearson'"):
        register_metric(erc_like)
    with pytest.raises(EvalkitError, match="not one of"):
        register_metric(Metric("odd", ("weather",), "x", pearson_progress, PEARSON.rows))
    assert "erc_copy" not in METRICS and "odd" not in METRICS


def test_the_registry_loads_no_numerical_library():
    code = "import sys, evalkit.metrics as m; m.metric_names(); print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_texts_list_the_registered_metrics(cli):
    help_text = " ".join(cli("epic", "--help").output.split())
    for name in metric_names():
        assert name in help_text


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    return embedded_sweep(tmp_path_factory.mktemp("registry"))


def test_a_registered_metric_works_in_epic_and_scaling_from_the_cli(
    cli, pearson, embedded, datasets_root, tmp_path, monkeypatch
):
    datasets_root.mkdir(parents=True, exist_ok=True)
    (datasets_root / embedded.path.name).symlink_to(embedded.path)
    monkeypatch.chdir(tmp_path)
    module = write_reward_module(tmp_path, "registry_rewards")
    r = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"{module}:neg_abs_angle",
        "--metrics",
        f"epic,{NAME}",
        "--bootstrap",
        "0",
        "--format",
        "json",
        "--no-save",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("[") :])
    angle = embedded.states["angle"].to_numpy()
    row = next(row for row in rows if row["metric"] == NAME)
    # the reward is -|angle|, and so is cartpole's progress variable
    assert row["estimate"] == pytest.approx(1.0, abs=1e-12)

    out = tmp_path / "scaling.png"
    s = cli(
        "scaling",
        "--task",
        "cartpole",
        "--models",
        "evalkit-tiny-vit",
        "--pretrained",
        "none",
        "--alpha",
        "0,1",
        "--metric",
        NAME,
        "--bootstrap",
        "100",
        "--out",
        str(out),
    )
    assert s.exit_code == 0, s.output
    assert (tmp_path / "scaling_by_model.png").exists()
    saved = load_epic_results(embedded.path)
    mine = saved[saved["metric"] == NAME].sort_values("alpha")
    assert list(mine["alpha"]) == [0.0, 1.0]
    from evalkit.pipeline import clip_reward_source

    source = clip_reward_source(
        embedded, "cartpole", TINY, [0.0, 1.0], devices="cpu", progress=False
    )
    progress = -np.abs(angle)
    for j, (_, got) in enumerate(mine.iterrows()):
        want = pearsonr(np.asarray(source.values)[:, j], progress).statistic
        assert got["estimate"] == pytest.approx(want, abs=1e-9)


def test_the_scaling_axis_comes_from_the_registered_row(pearson):
    from evalkit.plots import plot_scaling_by_model

    table = pd.DataFrame(
        {
            "model": ["a", "b"],
            "alpha": [0.0, 0.0],
            "distance": [0.2, 0.4],
            "low": [0.1, 0.3],
            "high": [0.3, 0.5],
        }
    )
    fig = plot_scaling_by_model(table, metric=NAME)
    assert fig.axes[0].get_ylabel() == "Pearson r with progress (higher is better)"


def test_an_unknown_scaling_metric_is_one_sentence(cli):
    r = cli("scaling", "--task", "cartpole", "--metric", "pearson_progress")
    assert r.exit_code == 2 and "Unknown metric 'pearson_progress'" in r.output
