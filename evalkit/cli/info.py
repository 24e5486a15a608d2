"""``evalkit tasks``, ``evalkit datasets`` and ``evalkit delete``: what is registered and on disk."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from evalkit.cli._app import app, console
from evalkit.cli._common import ROOT_OPTION
from evalkit.errors import EvalkitError
from evalkit.text import byte_size

_TASK_COLUMNS = (
    "task",
    "family",
    "environment",
    "goal prompt",
    "baseline prompt",
    "goal labels",
    "human success criterion",
)


@app.command("tasks")
def tasks_command(
    fmt: str = typer.Option(
        "table", "--format", "-f", help="Output: table, or csv / json for scripts (one task a row)."
    ),
) -> None:
    """List every task: family, environment, goal and baseline prompts, labels, success criterion.

    Add your own tasks with a TOML file: evalkit --tasks-file my_tasks.toml tasks.
    """
    from evalkit.tasks import all_tasks

    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter("use one of table, csv, json.", param_hint="--format")
    rows = [
        (
            t.name,
            t.family,
            t.env.env_id,
            t.goal_prompt,
            t.baseline_prompt,
            t.label_source,
            t.criterion,
        )
        for t in all_tasks()
    ]
    if fmt == "json":
        keys = [c.replace(" ", "_") for c in _TASK_COLUMNS]
        typer.echo(json.dumps([dict(zip(keys, row)) for row in rows], indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.replace(" ", "_") for c in _TASK_COLUMNS])
        writer.writerows(rows)
        typer.echo(out.getvalue(), nl=False)
        return
    table = Table(title="evalkit tasks (paper Tables 2 and 3)", show_lines=True)
    for col in _TASK_COLUMNS:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console().print(table)


@app.command("datasets")
def datasets_command(
    root: Optional[Path] = ROOT_OPTION,
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Also recompute each dataset's content hash (reads every pixel): finds frames or "
        "states changed after the dataset was written.",
    ),
) -> None:
    """List the datasets on disk: name, family, frames, episodes, label sets and size.

    A dataset whose files cannot be read (or, with --verify, whose content changed) is marked
    corrupt with the reason.
    """
    from evalkit.data.store import list_datasets, resolve_root

    if resolve_root(root).exists() and not resolve_root(root).is_dir():
        raise EvalkitError(
            f"The datasets root {resolve_root(root)} is a file, not a folder; pass another --root."
        )
    infos = list_datasets(root, verify=verify)
    out = console()
    if not infos:
        out.print(
            f"No datasets under {resolve_root(root)}. Make one with 'evalkit collect cartpole'."
        )
        return
    table = Table(title=f"datasets under {resolve_root(root)}")
    for col in (
        "name",
        "family",
        "generator",
        "frames",
        "episodes",
        "frame size",
        "label sets",
        "size",
    ):
        table.add_column(col, justify="right" if col in {"frames", "episodes", "size"} else "left")
    for i in infos:
        if i.problem:
            table.add_row(i.name, "[red]corrupt[/]", "", "", "", "", f"[red]{i.problem}[/]", "")
            continue
        h, w, _ = i.frame_shape
        table.add_row(
            i.name,
            i.family,
            i.generator,
            str(i.frames),
            str(i.episodes),
            f"{w}×{h}",
            ", ".join(i.label_sets) or "-",
            byte_size(i.size_bytes),
        )
    out.print(table)
    corrupt = [i.name for i in infos if i.problem]
    if verify and corrupt:
        typer.secho(f"corrupt: {', '.join(corrupt)}", fg="red", err=True)
        raise typer.Exit(1)


@app.command("delete")
def delete_command(
    name: str = typer.Argument(..., help="Dataset name."),
    root: Optional[Path] = ROOT_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a dataset and everything cached with it (embeddings, results, labels)."""
    from evalkit.data.store import delete_dataset, open_dataset

    ds = open_dataset(name, root)
    if not yes:
        typer.confirm(
            f"Delete {ds.path} ({len(ds)} frames, labels: {', '.join(ds.label_sets()) or 'none'})?",
            abort=True,
        )
    delete_dataset(name, root)
    console().print(f"Deleted {ds.path}.")
