"""``evalkit runs``: the training runs under a folder, one row each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import app, console
from evalkit.errors import EvalkitError
from evalkit.text import plural, significant


@app.command("runs")
def runs_command(
    folder: Optional[Path] = typer.Argument(
        None,
        help="A folder of runs, or one run folder (default: the runs root, $EVALKIT_RUNS or ./runs).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (runs and skipped folders)."),
) -> None:
    """List training runs: task, reward, steps done / planned, best ground-truth return, last reward fidelity (goal EPIC on the agent's own states) and status.

    finished: every planned step trained.
    interrupted: stopped (Ctrl-C) or killed before that; go on with evalkit train --out RUN --resume.
    running: a process is training it now (it holds the run's lock).
    running?: a run made before evalkit kept a lock whose logs changed in the last minutes (a guess).
    A folder that is not a run is named and skipped.
    """
    from evalkit.config import runs_root  # here: 'evalkit --help' does not load SB3 and torch
    from evalkit.train.run_index import CONFIG_FILE, find_runs, summarize_run

    where = folder if folder is not None else runs_root()
    if folder is None and not where.is_dir():
        raise EvalkitError(
            f"There is no runs folder at {where}; train a run first (evalkit train), or pass the "
            "folder that holds your runs."
        )
    summaries, skipped = [], []
    for path in find_runs(where):
        try:
            summaries.append(summarize_run(path))
        except EvalkitError as exc:
            skipped.append({"path": str(path), "reason": str(exc)})
    if as_json:
        doc = {"runs": [s.to_dict() for s in summaries], "skipped": skipped}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    err = console(stderr=True)
    for s in skipped:
        err.print(f"skipped: {s['reason']}", highlight=False, soft_wrap=True)
    if not summaries:
        unreadable = sum(1 for s in skipped if (Path(s["path"]) / CONFIG_FILE).is_file())
        if unreadable:
            raise EvalkitError(
                f"No readable training runs under {where}: {plural(unreadable, 'run')} could not "
                "be read (the reason of each is above)."
            )
        console().print(f"No training runs under {where}.", highlight=False)
        return
    from rich.table import Table

    table = Table(title=f"evalkit runs — {where}")
    for col in ("run", "task", "reward", "steps", "best GT return", "fidelity EPIC", "status"):
        table.add_column(col, overflow="fold", justify="right" if "GT" in col else "left")
    for s in summaries:
        table.add_row(
            s.name,
            f"{s.task} ({s.algo.upper()})",
            s.reward,
            f"{s.steps_done} / {s.steps_planned}",
            significant(s.best_gt_return),
            significant(s.last_fidelity_epic, 3),
            s.status,
        )
    console().print(table)
