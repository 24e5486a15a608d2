"""Options that would be ignored are refused (or warned about) through one declarative check,
every file ``--out`` follows one set of rules, and inputs are checked before any work."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
import typer
from typer.testing import CliRunner

from evalkit.cli._app import _EvalkitGroup
from evalkit.cli._common import (
    check_option_rules,
    check_out_path,
    excludes,
    ignored_with,
    needs,
)
from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError


def _toy_app() -> typer.Typer:
    app = typer.Typer(cls=_EvalkitGroup)

    @app.command()
    def toy(
        ctx: typer.Context,
        labels: Optional[str] = typer.Option(None, "--labels", envvar="TOY_LABELS"),
        dataset: Optional[str] = typer.Option(None, "--dataset"),
        store: bool = typer.Option(True, "--store/--no-store"),
        fast: bool = typer.Option(False, "--fast"),
    ) -> None:
        check_option_rules(
            ctx,
            needs("labels", "dataset", "they are that dataset's labels"),
            excludes("dataset", "store", "nothing is stored", holds=bool),
            ignored_with("fast", "labels", "does nothing for {other}"),
        )
        typer.echo("ran")

    @app.command()
    def other() -> None:  # a second command keeps 'toy' a subcommand
        pass

    return app


def _run(*args: str, env: dict | None = None):
    return CliRunner().invoke(_toy_app(), ["toy", *args], env=env)


def test_an_option_that_needs_another_is_refused_without_it():
    result = _run("--labels", "human")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: --labels needs --dataset (they are that dataset's labels); add --dataset or "
        "drop --labels."
    )
    assert _run("--labels", "human", "--dataset", "d").output.strip() == "ran"


def test_contradicting_options_name_the_flag_as_typed():
    result = _run("--dataset", "d", "--no-store")
    assert result.exit_code == 2
    assert "--dataset and --no-store cannot go together" in result.output
    assert "ran" not in result.output


def test_an_ignored_option_is_a_one_line_warning_and_the_command_runs():
    result = _run("--fast", "--labels", "x", "--dataset", "d")
    assert result.exit_code == 0
    assert result.output.splitlines() == ["warning: --fast does nothing for --labels.", "ran"]


def test_an_environment_variable_is_not_an_option_the_user_gave():
    assert _run(env={"TOY_LABELS": "human"}).output.strip() == "ran"


def test_out_path_rules(tmp_path):
    head = (".json",)
    assert check_out_path(None, head, "a head") is None
    assert check_out_path(tmp_path / "h.json", head, "a head") == tmp_path / "h.json"
    assert check_out_path(tmp_path / "h", head, "a head") == tmp_path / "h"  # writer adds .json
    with pytest.raises(EvalkitError, match="is a folder"):
        check_out_path(tmp_path, head, "a head")
    with pytest.raises(EvalkitError, match=r"written as \.json, not \.txt"):
        check_out_path(tmp_path / "h.txt", head, "a head")
    with pytest.raises(EvalkitError, match=r"\(or no suffix\)") as bare:
        check_out_path(tmp_path / "h.txt", head, "a head")
    with pytest.raises(EvalkitError) as strict:
        check_out_path(tmp_path / "s", (".png",), "a sheet", bare=False)
    assert "no suffix" not in str(strict.value) and bare.value
    (tmp_path / "file").write_text("x")
    with pytest.raises(EvalkitError, match="is a file, not a folder"):
        check_out_path(tmp_path / "file" / "deeper" / "h.json", head, "a head")
    assert check_out_path(tmp_path, (".png",), "a figure", folder_ok=True) == tmp_path


@pytest.fixture
def sweep(datasets_root):
    return collect_sweep("cartpole", n=40, size=16, progress=False).dataset


def _refused(result, *parts: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.replace("│", " ").split())  # a usage error is boxed
    assert "error: " in text or "Invalid value" in text, text
    for part in parts:
        assert part in text, text
    return text


ALIGN = ("align", "cartpole-sweep", "-t", "cartpole", "-m", "evalkit-tiny-vit", "--pretrained", "none")  # fmt: skip
SELECT = ("select", "cartpole-sweep", "-t", "cartpole", "-m", "evalkit-tiny-vit", "--pretrained", "none")  # fmt: skip


@pytest.mark.parametrize(
    "args, parts",
    [
        ((*ALIGN, "--seed", "-1"), ("not a seed",)),
        ((*ALIGN, "--eval-labels", "human"), ("--eval-labels needs --eval-dataset",)),
        ((*ALIGN, "--curve-out", "c.png"), ("--curve-out needs --label-curve",)),
        ((*ALIGN, "--label-curve", "--curve-out", "c.xyz"), ("not .xyz",)),
        ((*ALIGN, "--out", "h.txt"), ("not .txt",)),
        ((*ALIGN, "--labels", "nosuch"), ("no label set 'nosuch'",)),
        (
            (*ALIGN, "--eval-dataset", "cartpole-sweep", "--eval-labels", "nosuch"),
            ("--eval-labels",),
        ),
        ((*ALIGN, "-t", "mountaincar"), ("runs on mountaincar",)),
        ((*SELECT, "--out", "s.json", "--no-save"), ("--out and --no-save",)),
        ((*SELECT, "--top", "3", "--json"), ("--top and --json",)),
        ((*SELECT, "--out", "s.csv"), ("not .csv",)),
        ((*SELECT, "--labels", "nosuch"), ("no label set 'nosuch'",)),
        (("evaluate", "run", "--dataset", "d", "--no-dataset"), ("--dataset and --no-dataset",)),
        (
            ("epic", "-t", "cartpole", "--reward-column", "x", "--progress", "angle"),
            ("--progress",),
        ),
        (("report", "--run", "no-such-run"), ("--run no-such-run does not exist",)),
        (("report", "--labels", "nosuch"), ("label set 'nosuch'",)),
        (("show", "cartpole-sweep", "--out", "sheet.jpg"), ("ending in .png",)),
    ],
)
def test_bad_combinations_are_refused_before_any_work(
    cli, sweep, tmp_path, monkeypatch, args, parts
):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(sweep.path) for p in sweep.path.rglob("*"))
    _refused(cli(*args), *parts)
    assert sorted(p.relative_to(sweep.path) for p in sweep.path.rglob("*")) == before
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["datasets"]


def test_align_out_at_a_folder_writes_nothing_beside_it(cli, sweep, tmp_path):
    folder = tmp_path / "heads"
    folder.mkdir()
    _refused(cli(*ALIGN, "--out", str(folder)), "is a folder")
    assert list(tmp_path.glob("heads*")) == [folder] and list(folder.iterdir()) == []
