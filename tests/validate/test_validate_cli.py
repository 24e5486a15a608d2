"""``evalkit validate tabular``: a small run, and bad input as one sentence."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_a_small_study_runs_and_prints_the_table(cli, tmp_path):
    out = tmp_path / "study"
    result = cli(
        "validate",
        "tabular",
        "--mdps",
        "3",
        "--states",
        "6",
        "--actions",
        "2",
        "--bootstrap",
        "0",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "| STARC |" in result.output and (out / "mdps.npz").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--gamma", "1"], "[0, 1)"),
        (["--gamma", "-0.5"], "[0, 1)"),
        (["--states", "5000"], "GiB of memory"),
        (["--mdps", "1"], "at least 2"),
        (["--actions", "0"], "at least 2"),
        (["--bootstrap", "5"], "too few resamples"),
    ],
)
def test_bad_input_is_one_sentence(cli, tmp_path, args, message):
    out = tmp_path / "study"
    result = cli("validate", "tabular", *args, "--out", str(out))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert result.output.strip().startswith("error:") and not out.exists()


def test_a_folder_with_other_files_is_refused(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = cli("validate", "tabular", "--mdps", "2", "--states", "4", "--out", str(tmp_path))
    assert result.exit_code == 2 and "holds no tabular study" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"
