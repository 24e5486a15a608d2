"""``evalkit report``: one HTML page with every table and figure, from saved results."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import List, Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import ROOT_OPTION
from evalkit.errors import EvalkitError


@app.command("report")
def report_command(
    task: Optional[List[str]] = typer.Option(
        None,
        "--task",
        "-t",
        help="Only these tasks (repeat, or comma-separate) (default: every task with saved results).",
    ),
    labels: Optional[List[str]] = typer.Option(
        None, "--labels", help="Only these label sets (repeat, or comma-separate) (default: all)."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        help="Report folder (default: reports/report, or reports/report-TASK1-TASK2 with --task; "
        "reports is $EVALKIT_REPORTS or ./reports).",
    ),
    title: Optional[str] = typer.Option(None, "--title", help="Page title."),
    histogram_alpha: float = typer.Option(
        0.0, "--histogram-alpha", min=0.0, max=1.0, help="α of the rewards in the histograms."
    ),
    sheet_frames: int = typer.Option(
        12, "--sheet-frames", min=1, help="Frames in each dataset's contact sheet."
    ),
    root: Optional[Path] = ROOT_OPTION,
    run: Optional[List[Path]] = typer.Option(
        None,
        "--run",
        help="Also show this training run, or the runs in this folder (repeat); those under the runs root ($EVALKIT_RUNS or ./runs) are always shown.",
    ),
    study: Optional[List[Path]] = typer.Option(
        None,
        "--study",
        help="Also show the study in this folder, written by 'evalkit validate' (repeat); studies under the reports folder ($EVALKIT_REPORTS or ./reports) are always shown.",
    ),
) -> None:
    """Build an HTML report: datasets (contact sheets), EPIC table per model × task × α with
    intervals, reward landscapes, scaling and histogram figures, the training runs with their
    learning curves, the studies of whether the offline verdict predicts training ('evalkit
    validate'), the weights used (a loud banner when any were random), the evalkit version and
    the commands to reproduce it.

    The folder holds index.html and the figures as PNG and SVG, linked relatively: zip it and
    open it anywhere, no server needed. Reads what 'evalkit epic' saved; rewards for the figures
    come from the embedding cache.
    """
    from evalkit.config import reports_root
    from evalkit.report import build_report

    tasks = [t.strip() for item in task or [] for t in item.split(",") if t.strip()] or None
    label_sets = [s.strip() for item in labels or [] for s in item.split(",") if s.strip()] or None
    target = (
        out
        if out is not None
        else reports_root() / ("report-" + "-".join(tasks) if tasks else "report")
    )
    _check_inputs(run or [], label_sets, root, study or [])
    args = ["evalkit", "report"]
    for t in tasks or []:
        args += ["--task", t]
    for s in label_sets or []:
        args += ["--labels", s]
    if title:
        args += ["--title", title]
    if histogram_alpha:
        args += ["--histogram-alpha", f"{histogram_alpha:g}"]
    if root is not None:
        args += ["--root", str(root)]
    for r in run or []:
        args += ["--run", str(r)]
    for s in study or []:
        args += ["--study", str(s)]
    args += ["--out", str(target)]
    err = console(stderr=True)
    page = build_report(
        target,
        root=root,
        tasks=tasks,
        label_sets=label_sets,
        title=title,
        histogram_alpha=histogram_alpha,
        sheet_frames=sheet_frames,
        command=shlex.join(args),
        runs=run or [],
        studies=study or [],
        progress=lambda msg: err.print(f"report: {msg}", highlight=False),
    )
    console().print(str(page), highlight=False, soft_wrap=True)


def _check_inputs(
    runs: List[Path], label_sets: Optional[List[str]], root: Optional[Path], studies: List[Path]
) -> None:
    """A ``--run`` or ``--study`` that is not there, or a ``--labels`` set no dataset has, is
    refused before the report is built (it would otherwise be left out without a word)."""
    from evalkit.data.store import RULE_LABELS, Dataset, iter_datasets, resolve_root

    for r in runs:
        if not r.exists():
            raise EvalkitError(
                f"--run {r} does not exist; give a training run's folder, or a folder of runs."
            )
    for s in studies:
        if not (s / "summary.json").is_file():
            raise EvalkitError(
                f"--study {s} holds no study (no summary.json); give a folder 'evalkit validate' wrote."
            )
    if label_sets:
        have = {RULE_LABELS}
        for path in iter_datasets(root):
            try:
                have.update(Dataset(path).label_sets())
            except EvalkitError:  # a corrupt dataset: the report says why it is left out
                continue
        missing = [s for s in label_sets if s not in have]
        if missing:
            raise EvalkitError(
                f"No dataset under {resolve_root(root)} has the label set {missing[0]!r} "
                f"(--labels; they have: {', '.join(sorted(have))})."
            )
