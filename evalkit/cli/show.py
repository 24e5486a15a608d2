"""``evalkit show DATASET``: a PNG contact sheet of evenly spaced frames with their labels."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import ROOT_OPTION, check_label_set, check_out_path, check_task_family


@app.command("show")
def show_command(
    dataset: str = typer.Argument(..., help="Dataset name (or path)."),
    n: int = typer.Option(
        16, "--n", help="Number of frames, evenly spaced (first and last included)."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", help="PNG file to write (default: <reports>/<dataset>-<labels>-sheet.png)."
    ),
    task: Optional[str] = typer.Option(
        None, "--task", help="Task whose goal label is shown (default: the family's first)."
    ),
    labels: str = typer.Option("rule", "--labels", help="Label set to show (rule, human, ...)."),
    root: Optional[Path] = ROOT_OPTION,
) -> None:
    """Write a contact sheet of a dataset's frames (frame id, state, goal label) and print its path."""
    from evalkit.config import reports_root
    from evalkit.data.contact_sheet import contact_sheet
    from evalkit.data.store import open_dataset
    from evalkit.errors import EvalkitError
    from evalkit.fileio import atomic_path

    check_out_path(out, (".png",), "a contact sheet", bare=False)
    ds = open_dataset(dataset, root)
    if task is not None:
        check_task_family(ds, task)
    check_label_set(ds, labels)
    path = out if out is not None else reports_root() / f"{ds.name}-{labels}-sheet.png"
    sheet = contact_sheet(ds, n, task=task, label_set=labels)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            sheet.save(tmp, format="PNG")
    except OSError as exc:
        raise EvalkitError(
            f"Cannot write {path} ({exc.strerror or exc}); choose another --out."
        ) from None
    console().print(str(path), highlight=False, soft_wrap=True)
