"""The pipeline's request objects behind the thin commands, and the options they share."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import typer

from evalkit.cli import app
from evalkit.cli._common import DEVICES, LABELS, ROOT, TASK
from evalkit.errors import EvalkitError
from evalkit.pipeline.epic_request import EpicRequest, RewardChoice
from evalkit.pipeline.figure_requests import (
    DEFAULT_LANDSCAPE_MODEL,
    FigureRewards,
    HistogramRequest,
    LandscapeRequest,
    ScalingResult,
)
from evalkit.pipeline.figures import ScalingData


def _options(command: str) -> dict:
    group = typer.main.get_command(app)
    found = group.get_command(None, command)
    return {max(p.opts, key=len): p for p in found.params if p.opts}


@pytest.mark.parametrize(
    "command", ["epic", "scaling", "histogram", "landscape", "select", "align"]
)
def test_shared_options_keep_their_one_definition(command):
    options = _options(command)
    for shared in (ROOT, LABELS, TASK):
        if shared.flag in options:
            param = options[shared.flag]
            assert set(shared.flags) <= set(param.opts) | set(param.secondary_opts), command
            if param.help == shared.help:
                assert param.default == shared.default or param.required, command
    if "--labels" in options:
        assert options["--labels"].default == LABELS.default
    if "--root" in options:
        assert options["--root"].help == ROOT.help
    if "--bootstrap" in options:  # a resample count is never negative, wherever it is asked
        assert options["--bootstrap"].min == 0
    if "--devices" in options:
        assert options["--devices"].default is DEVICES.default


def test_a_reward_is_named_exactly_once():
    with pytest.raises(EvalkitError, match="exactly one of --model"):
        RewardChoice().kind("cartpole")
    with pytest.raises(EvalkitError, match=r"\(got --model and --reward\)"):
        RewardChoice(model="ViT-B-32", reward="m:f").kind("cartpole")


@pytest.mark.parametrize(
    "choice, embed, flag",
    [
        (RewardChoice(reward="mod:fn", alphas=(0.5,)), {}, "--alpha"),
        (RewardChoice(reward="mod:fn", pretrained="none"), {}, "--pretrained"),
        (RewardChoice(column="r.npy"), {"devices": "cpu"}, "--devices"),
    ],
)
def test_clip_settings_are_refused_with_another_reward(choice, embed, flag):
    from evalkit.pipeline.inputs import EmbedSettings

    request = EpicRequest("cartpole", choice, embed=EmbedSettings(**embed))
    with pytest.raises(EvalkitError, match=f"{flag} only applies to CLIP rewards"):
        request.reward()


def test_a_progress_variable_needs_a_metric_that_reads_it():
    choice = RewardChoice(reward="mod:fn")
    with pytest.raises(EvalkitError, match="--progress is the progress variable"):
        EpicRequest("cartpole", choice, metrics="epic,auc", progress="x").check_progress()
    EpicRequest("cartpole", choice, metrics="spearman", progress="x").check_progress()
    EpicRequest("cartpole", choice, metrics="epic").check_progress()


def test_a_landscape_draws_the_default_model_only_when_nothing_is_named():
    assert LandscapeRequest("cartpole", FigureRewards()).model() == (DEFAULT_LANDSCAPE_MODEL, None)
    heads = FigureRewards(rewards=("head:h.json",))
    assert LandscapeRequest("cartpole", heads).model() == (None, None)
    named = FigureRewards(models=(("RN50", "none"),))
    assert LandscapeRequest("cartpole", named).model() == ("RN50", "none")


def test_a_histogram_needs_something_to_draw():
    with pytest.raises(EvalkitError, match="Say which rewards to draw"):
        HistogramRequest("cartpole", FigureRewards(alphas=(0.0,))).check()
    with pytest.raises(EvalkitError, match="need --model"):
        HistogramRequest("cartpole", FigureRewards(rewards=("m:f",), goal_frames="ids:1")).check()


def test_scaling_fits_match_least_squares_on_log10_params():
    rng = np.random.default_rng(3)
    params = np.array([1e6, 1e7, 1e8, 1e9])
    rows = []
    for alpha in (0.0, 0.5):
        distance = 0.6 - 0.05 * np.log10(params) + rng.normal(0, 0.01, len(params))
        rows += [
            {
                "params": p,
                "alpha": alpha,
                "distance": d,
                "low": math.nan,
                "high": math.nan,
                "head": "",
            }
            for p, d in zip(params, distance)
        ]
    table = pd.DataFrame(rows)
    result = ScalingResult(ScalingData(table, "ds", "cartpole", "rule", False), None)
    fits = result.fits()
    assert [f.alpha for f in fits] == [0.0, 0.5]
    for f in fits:
        sub = table[table["alpha"] == f.alpha]
        slope, intercept = np.polyfit(np.log10(sub["params"]), sub["distance"], 1)
        assert f.fit.slope == pytest.approx(slope, abs=1e-10)
        assert f.fit.intercept == pytest.approx(intercept, abs=1e-10)
    assert result.sized
    unsized = ScalingResult(
        ScalingData(table.assign(params=math.nan), "ds", "t", "rule", False), None
    )
    assert unsized.fits() == [] and not unsized.sized
