"""``evalkit epic`` end to end: hand-written, random and file rewards on a cartpole sweep,
output formats, saved results, user errors; ``evalkit bench epic``; CLIP with a tiny model."""

from __future__ import annotations

import io
import json
import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from helpers_epic import build_cartpole_dataset, write_reward_module

from evalkit.metrics import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.pipeline import load_epic_results

SQRT_HALF = math.sqrt(0.5)


def _sweep(root, n=400):
    """The cartpole sweep: evalkit's own collector if present, else a DatasetWriter-built one."""
    try:
        from evalkit.data.sweeps import collect_sweep
    except ImportError:
        return build_cartpole_dataset(root, n=n, size=8)
    return collect_sweep("cartpole", n=n, size=32, root=root, progress=False).dataset


@pytest.fixture(scope="module")
def sweep_template(tmp_path_factory):
    return _sweep(tmp_path_factory.mktemp("sweep-template")).path


@pytest.fixture
def sweep(datasets_root, sweep_template):
    """A fresh copy of the module's sweep (results written by one test stay in that test)."""
    from evalkit.data.store import open_dataset

    shutil.copytree(sweep_template, datasets_root / sweep_template.name)
    return open_dataset(sweep_template.name, datasets_root)


@pytest.fixture
def rewards_module(tmp_path, monkeypatch, request):
    """A module of hand-written rewards importable by name from the current directory."""
    monkeypatch.chdir(tmp_path)
    name = f"epic_rewards_{request.node.name.replace('[', '_').replace(']', '_').replace('-', '_')}"
    return write_reward_module(tmp_path, name)


def _json(result):
    assert result.exit_code == 0, result.output
    text = result.stdout
    return json.loads(text[text.index("[") :])


def test_hand_written_reward_is_far_closer_to_rule_labels_than_random(cli, sweep, rewards_module):
    hand = _json(
        cli(
            "epic",
            "--task",
            "cartpole",
            "--reward",
            f"{rewards_module}:neg_abs_angle",
            "--format",
            "json",
        )
    )
    rand = _json(
        cli(
            "epic",
            "--task",
            "cartpole",
            "--reward",
            f"{rewards_module}:random_reward",
            "--format",
            "json",
        )
    )
    (h,), (r,) = hand, rand
    assert h["distance"] < 0.5
    assert abs(r["distance"] - SQRT_HALF) < 0.07  # a random reward carries no information
    assert h["ci_high"] < r["ci_low"]  # far closer, beyond the bootstrap intervals
    assert h["ci_low"] <= h["distance"] <= h["ci_high"]
    # Independent check of the printed number: Pearson distance of (−|angle|, |angle| ≤ 12°).
    angle = sweep.states["angle"].to_numpy()
    expected = math.sqrt(
        0.5 * (1 - np.corrcoef(-np.abs(angle), np.abs(angle) <= math.radians(12))[0, 1])
    )
    assert h["distance"] == pytest.approx(expected, abs=1e-9)
    assert (h["n_goal"], h["n_nongoal"]) == (
        int((np.abs(angle) <= math.radians(12)).sum()),
        int((np.abs(angle) > math.radians(12)).sum()),
    )
    assert (
        h["alpha"] is None
        and h["model"] == ""
        and h["reward_source"] == f"function:{rewards_module}:neg_abs_angle"
    )
    # Both saved next to the dataset.
    saved = load_epic_results(sweep.path)
    assert set(saved["reward_source"]) == {
        f"function:{rewards_module}:neg_abs_angle",
        f"function:{rewards_module}:random_reward",
    }


def test_table_output_and_upsert_on_rerun(cli, sweep, rewards_module):
    for _ in range(2):
        result = cli(
            "epic",
            "--task",
            "cartpole",
            "--reward",
            f"{rewards_module}:neg_abs_angle",
            "--bootstrap",
            "300",
        )
        assert result.exit_code == 0, result.output
    out = result.output
    assert "EPIC distance" in out and "95% CI" in out and "rule labels of task cartpole" in out
    assert "BCa bootstrap over episodes, 300 resamples" in out and "Saved to" in out
    assert "nan" not in out.lower()
    assert len(load_epic_results(sweep.path)) == 1


def test_states_only_function_percentile_csv_and_no_save(cli, sweep, rewards_module):
    result = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"{rewards_module}:states_only",
        "--ci",
        "percentile",
        "--format",
        "csv",
        "--no-save",
        "--seed",
        "3",
        "--confidence",
        "0.9",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert (
        len(table) == 1 and table["ci_method"][0] == "percentile" and table["confidence"][0] == 0.9
    )
    assert table["seed"][0] == 3
    assert load_epic_results(sweep.path).empty


def test_file_path_reward_and_point_estimate_only(cli, sweep, rewards_module, tmp_path):
    result = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"{tmp_path / (rewards_module + '.py')}:neg_abs_angle",
        "--bootstrap",
        "0",
        "--format",
        "json",
    )
    (row,) = _json(result)
    assert row["ci_low"] is None and row["n_bootstrap"] == 0
    table = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"{rewards_module}:neg_abs_angle",
        "--bootstrap",
        "0",
    )
    assert "interval: none" in table.output and "nan" not in table.output.lower()


def test_reward_columns_npy_and_csv_aligned_by_frame_id(cli, sweep, tmp_path):
    angle = sweep.states["angle"].to_numpy()
    reward = -np.abs(angle)
    np.save(tmp_path / "r.npy", reward)
    perm = np.random.default_rng(0).permutation(len(angle))
    pd.DataFrame({"frame_id": perm, "score": reward[perm], "other": 0.0}).to_csv(
        tmp_path / "r.csv", index=False
    )
    expected = epic_goal(
        reward, np.abs(angle) <= math.radians(12), bootstrap=BootstrapOptions(n_bootstrap=0)
    ).distance
    for spec in (f"{tmp_path / 'r.npy'}", f"{tmp_path / 'r.csv'}:score"):
        (row,) = _json(
            cli(
                "epic",
                "--task",
                "cartpole",
                "--reward-column",
                spec,
                "--format",
                "json",
                "--bootstrap",
                "100",
            )
        )
        assert row["distance"] == pytest.approx(expected, abs=1e-12)
        assert row["reward_source"] == f"column:{spec}"


@pytest.mark.parametrize(
    "function, message",
    [
        ("constant", "is constant"),
        ("with_nan", "NaN or infinite .*frame 3"),
        ("too_short", "gave 399 rewards but the dataset has 400 frames"),
        ("broken", "raised RuntimeError: boom"),
        ("missing_function", "has no function 'missing_function'"),
    ],
)
def test_bad_rewards_give_one_clear_sentence(cli, sweep, rewards_module, function, message):
    result = cli("epic", "--task", "cartpole", "--reward", f"{rewards_module}:{function}")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output
    assert load_epic_results(sweep.path).empty  # nothing saved


def test_reward_column_errors(cli, sweep, tmp_path):
    pd.DataFrame({"frame_id": np.arange(10), "score": 1.0}).to_csv(
        tmp_path / "short.csv", index=False
    )
    result = cli("epic", "--task", "cartpole", "--reward-column", f"{tmp_path / 'short.csv'}:score")
    assert result.exit_code == 2 and "frame ids that do not match" in result.output
    result = cli("epic", "--task", "cartpole", "--reward-column", f"{tmp_path / 'short.csv'}:nope")
    assert result.exit_code == 2 and "no column 'nope'" in result.output
    result = cli("epic", "--task", "cartpole", "--reward-column", str(tmp_path / "absent.npy"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_missing_default_dataset_says_how_to_make_it(cli, datasets_root, rewards_module):
    result = cli("epic", "--task", "cartpole", "--reward", f"{rewards_module}:neg_abs_angle")
    assert result.exit_code == 2
    assert "cartpole-sweep" in result.output and "evalkit collect cartpole" in result.output


def test_option_errors(cli, sweep, rewards_module):
    fn = f"{rewards_module}:neg_abs_angle"
    both = cli("epic", "--task", "cartpole", "--model", "ViT-B-32", "--reward", fn)
    assert both.exit_code == 2 and "exactly one of" in both.output
    neither = cli("epic", "--task", "cartpole")
    assert neither.exit_code == 2 and "exactly one of" in neither.output
    alpha = cli("epic", "--task", "cartpole", "--reward", fn, "--alpha", "0.5")
    assert alpha.exit_code == 2 and "only applies to CLIP" in alpha.output
    assert cli("epic", "--task", "cartpole", "--reward", fn, "--ci", "normal").exit_code == 2
    assert cli("epic", "--task", "cartpole", "--reward", fn, "--format", "xml").exit_code == 2
    human = cli("epic", "--task", "cartpole", "--reward", fn, "--labels", "human")
    assert human.exit_code == 2 and "no label set 'human'" in human.output
    wrong_family = cli(
        "epic", "--task", "mountaincar", "--dataset", "cartpole-sweep", "--reward", fn
    )
    assert wrong_family.exit_code == 2 and "holds cartpole states" in wrong_family.output
    few = cli("epic", "--task", "cartpole", "--reward", fn, "--bootstrap", "1")
    assert few.exit_code == 2 and "--bootstrap 1 is too few resamples" in few.output


def test_all_frames_one_label_through_the_cli(cli, datasets_root, rewards_module):
    # A sweep of 5 frames near ±π/2: no frame is upright.
    from evalkit.data.store import DatasetWriter

    with DatasetWriter(
        datasets_root,
        "fallen",
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="test",
        params={},
        render={},
        n_frames=5,
        frame_shape=(4, 4, 3),
    ) as w:
        w.add(
            np.zeros((5, 4, 4, 3), np.uint8),
            pd.DataFrame({"episode": range(5), "step": 0, "angle": [1.2, 1.3, 1.4, -1.3, -1.5]}),
        )
    result = cli(
        "epic",
        "--task",
        "cartpole",
        "--dataset",
        "fallen",
        "--reward",
        f"{rewards_module}:neg_abs_angle",
    )
    assert result.exit_code == 2
    assert (
        "All 5 frames are labelled non-goal" in result.output and "nan" not in result.output.lower()
    )


def test_bench_epic_prints_the_target_timing(cli):
    result = cli("bench", "epic", "--quick", "--repeats", "1")
    assert result.exit_code == 0, result.output
    assert (
        "100,000" in result.output and "1,000" in result.output and "target < 2 s" in result.output
    )


@pytest.mark.slow
def test_clip_rewards_with_a_tiny_random_model_end_to_end(cli, datasets_root):
    _sweep(datasets_root, n=60)
    result = cli(
        "epic",
        "--task",
        "cartpole",
        "--model",
        "EVALKIT-Tiny-ViT",
        "--pretrained",
        "none",
        "--alpha",
        "0,0.5,1",
        "--bootstrap",
        "200",
        "--devices",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    assert "RANDOM WEIGHTS" in result.output
    assert "nan" not in result.output.lower()
    saved = load_epic_results(datasets_root / "cartpole-sweep")
    assert sorted(saved["alpha"]) == [0.0, 0.5, 1.0]
    # saved as open_clip spells the model, however it was typed
    assert saved["random_weights"].all() and (saved["model"] == "evalkit-tiny-vit").all()
    assert ((saved["distance"] >= 0) & (saved["distance"] <= 1)).all()
    assert (saved["pretrained"] == "none").all() and saved["model_identity"].str.contains(
        "RANDOM"
    ).all()
    as_json = _json(
        cli(
            "epic",
            "--task",
            "cartpole",
            "--model",
            "evalkit-tiny-vit",
            "--pretrained",
            "none",
            "--alpha",
            "0.5",
            "--format",
            "json",
            "--bootstrap",
            "100",
        )
    )
    assert as_json[0]["alpha"] == 0.5 and as_json[0]["random_weights"] is True
    # The printed distance is the Pearson distance of the engine's rewards to the rule labels.
    from evalkit.data.store import open_dataset
    from evalkit.pipeline import task_rewards

    ds = open_dataset("cartpole-sweep", datasets_root)
    reward = task_rewards(
        ds, "cartpole", "evalkit-tiny-vit:none", [0.5], devices="cpu", progress=False
    ).values[:, 0]
    upright = np.abs(ds.states["angle"].to_numpy()) <= math.radians(12)
    assert as_json[0]["distance"] == pytest.approx(
        math.sqrt(0.5 * (1 - np.corrcoef(reward, upright)[0, 1])), abs=1e-9
    )


def test_pretrained_name_saved_with_results():
    pytest.importorskip("evalkit.vlm")
    from evalkit.pipeline import pretrained_name
    from evalkit.vlm import default_tag

    assert pretrained_name("evalkit-tiny-vit", "NONE") == "none"
    assert pretrained_name("ViT-B-32", "openai") == "openai"
    assert pretrained_name("ViT-B-32", None) == (default_tag("ViT-B-32") or "")
    assert pretrained_name("ViT-B-32:openai", None) == "openai"


def test_human_labels_on_a_subset_of_frames(cli, sweep, rewards_module, tmp_path):
    """Human labels imported for some frames: EPIC runs on exactly those frames."""
    rng = np.random.default_rng(3)
    ids = np.sort(rng.choice(len(sweep), size=120, replace=False))
    angles = sweep.states["angle"].to_numpy()[ids]
    labels = np.abs(angles) < 0.3  # the labeller's own notion of "upright", not the rule's
    csv = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "frame_id": ids,
            "task": "cartpole",
            "label": np.where(labels, "goal", "not_goal"),
            "labeller": "ann",
            "time": "2026-11-23T10:00:00+00:00",
        }
    ).to_csv(csv, index=False)
    imported = cli(
        "label", "import", sweep.name, str(csv), "--task", "cartpole", "--labeller", "ann"
    )
    assert imported.exit_code == 0, imported.output
    for label_set in ("human", "ann"):
        rows = _json(
            cli(
                "epic",
                "--task",
                "cartpole",
                "--reward",
                f"{rewards_module}:neg_abs_angle",
                "--labels",
                label_set,
                "--bootstrap",
                "200",
                "--format",
                "json",
            )
        )
        (row,) = rows
        rho = np.corrcoef(-np.abs(angles), labels)[0, 1]
        assert row["distance"] == pytest.approx(math.sqrt(0.5 * (1 - rho)), abs=1e-9)
        assert row["n_goal"] + row["n_nongoal"] == 120


def test_metrics_option_json_carries_every_metric_and_says_what_was_skipped(
    cli, sweep, rewards_module
):
    r = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"{rewards_module}:neg_abs_angle",
        "--metrics",
        "epic,auc,voc",
        "--bootstrap",
        "100",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("[") :])
    assert [row["metric"] for row in rows] == ["epic", "auc"]
    assert "voc: skipped — " in r.stderr
    bad = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"{rewards_module}:neg_abs_angle",
        "--metrics",
        "auroc",
    )
    assert bad.exit_code == 2 and "Unknown metric 'auroc'" in bad.output and "kendall" in bad.output
    prog = cli(
        "epic",
        "--task",
        "cartpole",
        "--reward",
        f"{rewards_module}:neg_abs_angle",
        "--metrics",
        "spearman",
        "--progress",
        "speed",
        "--bootstrap",
        "0",
    )
    assert prog.exit_code == 2 and "cannot be computed from the state columns" in prog.output
