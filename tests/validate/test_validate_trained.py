"""The trained validity study (``evalkit validate cartpole``): its reward spectrum, its grid of
real training trials (local pool and a real local Ray), interruption and resumption, the
correlations against scipy, and its bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from evalkit.errors import EvalkitError
from evalkit.tasks import get_task
from evalkit.validate import trained_settings
from evalkit.validate.grid import GridOptions
from evalkit.validate.trained_settings import CARTPOLE_QUICK, check_family
from evalkit.validate.trained_spectrum import few_label_ids, flip_labels
from evalkit.validate.trained_study import check_study_folder, run_trained_study

TINY = dataclasses.replace(
    CARTPOLE_QUICK,
    flips=(0.0, 0.4),
    few_labels=(),
    alphas=(0.0,),
    seeds=1,
    steps=200,
    checkpoint_every=100,
    bootstrap=20,
)
"""Six rewards (clean head, 40 % flipped, inverted, text α = 0, prototype, ground truth), one
seed each: the smallest study that still has every kind of candidate."""


def one_sentence(message: str) -> bool:
    return message.count(". ") == 0 and "\n" not in message


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.4])
def test_label_flips_flip_exactly_the_stated_fraction(fraction):
    y = np.random.default_rng(1).random(1000) < 0.07
    flipped = flip_labels(y, fraction, np.random.default_rng(2))
    assert flipped.dtype == bool and len(flipped) == len(y)
    assert int((flipped != y).sum()) == round(fraction * len(y))


def test_few_label_frames_are_distinct_and_hold_enough_of_each_class():
    y = np.random.default_rng(0).random(500) < 0.05
    ids = few_label_ids(y, 20, np.random.default_rng(3))
    assert len(ids) == 20 == len(set(ids.tolist()))
    assert y[ids].sum() >= 5 and (~y[ids]).sum() >= 5


def test_a_family_without_a_box_is_refused_naming_it():
    with pytest.raises(EvalkitError) as info:
        check_family("kneeling")
    assert "a state box" in str(info.value) and one_sentence(str(info.value))


def test_a_family_without_success_or_training_is_refused_naming_both(monkeypatch):
    cartpole = get_task("cartpole")
    bare = dataclasses.replace(cartpole.env, success=None, training=None)
    fake = SimpleNamespace(rule=cartpole.rule, env=bare)
    monkeypatch.setattr(trained_settings, "get_task", lambda name: fake)
    with pytest.raises(EvalkitError) as info:
        check_family("cartpole")
    message = str(info.value)
    assert "a success criterion" in message and "training settings" in message
    assert one_sentence(message)


def test_settings_that_cannot_run_are_one_sentence():
    for bad in (
        dataclasses.replace(TINY, flips=(0.5,)),
        dataclasses.replace(TINY, few_labels=(4,)),
        dataclasses.replace(TINY, seeds=0),
    ):
        with pytest.raises(EvalkitError) as info:
            bad.check()
        assert one_sentence(str(info.value))


def test_a_folder_of_something_else_or_of_other_settings_is_refused(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(EvalkitError, match="holds no trained study"):
        check_study_folder(other, TINY)
    study = tmp_path / "study"
    study.mkdir()
    (study / "stages.json").write_text(json.dumps({"settings": TINY.identity(), "stages": {}}))
    check_study_folder(study, TINY)  # the same settings: resumed
    with pytest.raises(EvalkitError, match="other settings") as info:
        check_study_folder(study, dataclasses.replace(TINY, steps=300))
    assert one_sentence(str(info.value))


def test_the_cli_refuses_bad_grid_options_and_a_foreign_folder_in_one_sentence(cli, tmp_path):
    result = cli(
        "validate", "cartpole", "--quick", "--gpus-per-trial", "1", "--out", str(tmp_path / "s")
    )
    assert result.exit_code == 2 and "--gpus-per-trial needs --ray" in result.output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    result = cli("validate", "cartpole", "--quick", "--out", str(tmp_path / "busy"))
    assert result.exit_code == 2 and "holds no trained study" in result.output


def test_a_ray_address_that_does_not_answer_fails_before_any_work(cli, tmp_path):
    pytest.importorskip("ray", reason="the grid's Ray path needs the ray extra")
    out = tmp_path / "s"
    result = cli("validate", "cartpole", "--quick", "--ray", "127.0.0.1:9", "--out", str(out))
    assert result.exit_code == 2 and "No Ray cluster answers at 127.0.0.1:9" in result.output
    assert not out.exists()


class StopAfter:
    """A progress callback that presses Ctrl-C once ``n`` trials are done."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, progress) -> None:
        if progress.done >= self.n:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory):
    """The tiny study run on the local pool, interrupted after its first trial, then resumed."""
    folder = tmp_path_factory.mktemp("trained") / "study"
    with pytest.raises(KeyboardInterrupt):
        run_trained_study(
            TINY, folder, GridOptions(workers=2), say=lambda _: None, progress=StopAfter(1)
        )
    trials = folder / "trials"
    first = sorted(p.name for p in trials.iterdir() if (p / "trial.json").is_file())
    assert first and not [p for p in trials.iterdir() if p.name.startswith(".")]
    study = run_trained_study(TINY, folder, GridOptions(workers=2), say=lambda _: None)
    return folder, first, study


@pytest.mark.slow
def test_an_interrupted_study_resumes_with_its_finished_trials_reused(study_folder):
    folder, first, study = study_folder
    assert set(first) <= set(study.grid.reused)
    assert not study.grid.failed
    assert len(study.grid.reused) + len(study.grid.finished) == 6
    for name in ("summary.json", "summary.md", "validity.png", "validity.svg"):
        assert (folder / name).is_file()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["study"] == "trained" and summary["settings"] == TINY.identity()
    assert summary["sentence"].startswith("On CartPole")
    names = [c["name"] for c in summary["candidates"]]
    assert names == [
        "head-flip0",
        "head-flip40",
        "head-inverted",
        "text-a0",
        "prototype",
        "ground-truth",
    ]
    outcome = json.loads((folder / "trials" / "head-flip0-s0" / "outcome.json").read_text())
    assert set(outcome) >= {"best", "last"} and 0 <= outcome["best"]["success_rate"] <= 1


@pytest.mark.slow
def test_the_written_correlations_equal_scipy_on_the_written_rows(study_folder):
    folder, _, _ = study_folder
    summary = json.loads((folder / "summary.json").read_text())
    for outcome, rows in summary["correlations_by_outcome"].items():
        y_all = np.array(
            [c["outcomes"][outcome]["mean"] for c in summary["candidates"]], dtype=float
        )
        for row in rows:
            x_all = np.array(
                [
                    np.nan if c["offline"][row["metric"]] is None else c["offline"][row["metric"]]
                    for c in summary["candidates"]
                ]
            )
            ok = np.isfinite(x_all) & np.isfinite(y_all)
            x, y = x_all[ok], y_all[ok]
            assert row["n_rows"] == ok.sum()
            if np.ptp(x) == 0 or np.ptp(y) == 0:
                assert row["spearman"] is None or np.isnan(row["spearman"])
                continue
            assert row["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
            assert row["kendall"] == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


@pytest.mark.slow
def test_the_report_reads_the_study(study_folder):
    from evalkit.report.studies import read_study

    folder, _, _ = study_folder
    entry = read_study(folder)
    assert entry.kind == "trained" and "trained with RL" in entry.title
    assert entry.sentence.startswith("On CartPole") and "success rate" in entry.outcome
    assert {r.metric for r in entry.rows} >= {"epic (held-out)", "spread (random policy)"}


@pytest.mark.slow
def test_a_real_local_ray_runs_the_missing_trials_of_the_study(study_folder, tmp_path):
    pytest.importorskip("ray", reason="the grid's Ray path needs the ray extra")
    folder, _, _ = study_folder
    copy = tmp_path / "study"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "trials" / "text-a0-s0")
    # its config names the original's shared files (tower, heads), which still exist
    study = run_trained_study(
        TINY, copy, GridOptions(workers=2, ray_address="local"), say=lambda _: None
    )
    assert study.grid.finished == ["text-a0-s0"]
    assert len(study.grid.reused) == 5 and not study.grid.failed
    assert json.loads((copy / "summary.json").read_text())["study"] == "trained"
