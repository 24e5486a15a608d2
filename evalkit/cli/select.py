"""``evalkit select``: honest selection among prompts, α, frame prototypes and heads."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, List, Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import (
    ALPHA,
    BASELINE_FRAMES,
    BOOTSTRAP,
    DEVICES,
    GOAL_FRAMES,
    GOAL_VIDEO,
    LABELS,
    MODEL,
    PRETRAINED,
    ROOT,
    TASK,
    Options,
    check_bootstrap,
    check_option_rules,
    check_out_path,
    excludes,
    parse_alphas,
    seed_option,
    takes,
)
from evalkit.text import fixed

if TYPE_CHECKING:
    from evalkit.pipeline.selection import DatasetSelection

_ALPHAS = "0,0.25,0.5,0.75,1"


def _interval(low: float, high: float) -> str:
    return "—" if low != low or high != high else f"[{fixed(low)}, {fixed(high)}]"


def _print_selection(selection: "DatasetSelection", top: int | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from evalkit.pipeline.selection import INTERVAL_METHOD

    out = console()
    r = selection.result
    if selection.random_weights:
        out.print(
            f"[bold red]WARNING: RANDOM WEIGHTS ({escape(selection.model_identity)}): these scores "
            "measure an untrained model and say nothing about CLIP.[/]"
        )
    winner = r.in_sample[r.winner]
    out.print(
        escape(
            f"{selection.label_set} labels of task {selection.task} on dataset {selection.dataset}, "
            f"{selection.model_identity}; {r.folds} episode-grouped folds, seed {r.seed}"
        ),
        soft_wrap=True,
    )
    out.print(escape(r.sentence()), soft_wrap=True)
    if winner is not None:
        out.print(escape(f"  winner, in-sample (naive):   {winner}"), soft_wrap=True)
    out.print(
        escape(
            f"  winner, held-out (nested):    EPIC distance {fixed(r.nested.mean)} "
            f"({r.confidence:.0%} {INTERVAL_METHOD}: {_interval(r.nested.low, r.nested.high)}); "
            f"the folds picked {', '.join(sorted(set(r.names[i] for i in r.picks)))}"
        ),
        soft_wrap=True,
    )
    table = Table(
        title=f"Candidates by held-out EPIC distance (mean over {r.folds} held-out folds; lower is better)"
    )
    for c in (
        "rank",
        "candidate",
        "held-out EPIC",
        f"{r.confidence:.0%} fold interval",
        "in-sample EPIC",
        f"{r.confidence:.0%} CI (bootstrap)",
        "picked in folds",
    ):
        table.add_column(c, justify="left" if c == "candidate" else "right")
    order = r.ranking()
    for rank, i in enumerate(order[:top] if top else order, 1):
        ins = r.in_sample[i]
        name = escape(r.names[i]) + (" [bold](winner)[/]" if i == r.winner else "")
        table.add_row(
            str(rank),
            name,
            fixed(r.heldout[i].mean),
            _interval(r.heldout[i].low, r.heldout[i].high),
            "—" if ins is None else fixed(ins.distance),
            "—" if ins is None or ins.interval is None else _interval(*ins.interval),
            f"{sum(p == i for p in r.picks)} / {r.folds}",
        )
    out.print(table)
    if top and len(order) > top:
        out.print(f"({len(order) - top} more candidates: --top 0 shows all)")


SELECT_OPTIONS: Options = {
    "dataset": (
        str,
        typer.Argument(..., help="Dataset whose labelled frames score the candidates."),
    ),
    "task": (str, TASK(help="Task whose goal labels score them.")),
    "model": (str, MODEL(default=..., help="Model whose cached embeddings every candidate uses.")),
    "pretrained": (Optional[str], PRETRAINED()),
    "prompts": (
        Optional[Path],
        typer.Option(
            None,
            "--prompts",
            help="Text file of goal prompts, one per line (each is tried with the task's baseline prompt and every α).",
        ),
    ),
    "alphas": (
        str,
        ALPHA(
            default=_ALPHAS, flags=("--alphas",), help="Comma-separated α tried with every goal."
        ),
    ),
    "goal_frames": (
        Optional[List[str]],
        GOAL_FRAMES(
            help="A goal as example frames (ids:3,17, labels:rule, DATASET@..., or a folder), tried with every α; repeat for several. labels:SET of this dataset is built from the fitting episodes of each fold only."
        ),
    ),
    "baseline_frames": (Optional[str], BASELINE_FRAMES()),
    "heads": (
        bool,
        typer.Option(
            False,
            "--heads",
            help="Also try a reward head (logistic regression on the embeddings), fitted on the fitting episodes of each fold only.",
        ),
    ),
    "windows": (
        Optional[str],
        typer.Option(
            None,
            "--windows",
            help="Comma-separated windows FRAMES:STRIDE (e.g. 4:1,8:2) tried with every goal prompt (the task's without --prompts) and every α: the model's windows, or an image model's frames averaged over each window (avg:MODEL).",
        ),
    ),
    "goal_video": (
        Optional[str],
        GOAL_VIDEO(
            help="A demonstration tried as the goal of every window of --windows: DATASET@episode:N or a folder of frames."
        ),
    ),
    "labels": (str, LABELS()),
    "folds": (
        int,
        typer.Option(
            5,
            "--folds",
            min=2,
            help="Episode-grouped folds of the nested selection (3+ with --heads).",
        ),
    ),
    "bootstrap": (
        int,
        BOOTSTRAP(
            default=1000,
            help="Bootstrap resamples over episodes of the in-sample intervals (0: none).",
        ),
    ),
    "seed": (int, seed_option(0, "Seed of the folds and of the bootstrap.")),
    "top": (
        int,
        typer.Option(
            0, "--top", min=0, help="Show only the best N candidates of the table (0: all)."
        ),
    ),
    "as_json": (bool, typer.Option(False, "--json", help="Print the result as JSON instead.")),
    "out": (
        Optional[Path],
        typer.Option(
            None,
            "--out",
            "-o",
            help="Where to save the selection (default: <dataset>/selections/<task>-<model>-<labels>.json).",
        ),
    ),
    "save": (bool, typer.Option(True, "--save/--no-save", help="Save the selection file.")),
    "root": (Optional[Path], ROOT()),
    "devices": (
        Optional[str],
        DEVICES(help="Device for embedding prompts not cached yet, e.g. cpu or cuda:0."),
    ),
}
"""The options of this command, in the order of its help."""


@app.command("select")
@takes(SELECT_OPTIONS)
def select_command(ctx: typer.Context, **values: Any) -> None:
    """Rank candidate rewards by held-out EPIC, and say how optimistic the best-looking one is.

    Candidates: every prompt of --prompts (as the goal, with the task's baseline prompt) and
    every --goal-frames prototype, each with every α, a reward head with --heads, and every
    window of --windows (frames and stride) with every goal prompt and α. In each
    of --folds episode-grouped folds the candidate with the best in-sample EPIC on the other
    folds is picked and scored on the held-out fold: the mean of those scores is the winner's
    honest (nested) estimate, printed beside its naive in-sample EPIC on all frames. Uses the
    cached image embeddings of the model only (evalkit embed DATASET --model M first).
    """
    v = SimpleNamespace(**values)
    from evalkit.pipeline.select_request import SelectRequest

    check_option_rules(
        ctx,
        excludes("out", "save", "--no-save writes no selection file", holds=bool),
        excludes("top", "as_json", "the JSON holds every candidate"),
    )
    check_out_path(v.out, (".json",), "a selection")
    err = console(stderr=True)
    outcome = SelectRequest(
        v.dataset,
        v.task,
        v.model,
        v.pretrained,
        prompts=v.prompts,
        alphas=tuple(parse_alphas(v.alphas)),
        goal_frames=tuple(v.goal_frames or ()),
        baseline_frames=v.baseline_frames,
        heads=v.heads,
        labels=v.labels,
        folds=v.folds,
        n_bootstrap=check_bootstrap(v.bootstrap),
        seed=v.seed,
        save=v.save,
        out=v.out,
        root=v.root,
        devices=v.devices,
        windows=tuple(w for w in (v.windows or "").split(",") if w.strip()),
        goal_video=v.goal_video,
        on_progress=lambda line: err.print(line, highlight=False),
    ).run()
    if v.as_json:
        typer.echo(json.dumps(outcome.selection.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_selection(outcome.selection, v.top or None)
    saved = outcome.save()
    if saved is not None:
        err.print(f"Saved to {saved}", highlight=False, soft_wrap=True)
