"""``evalkit align``: fit a few-shot reward head on a dataset's labelled frames."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import (
    BOOTSTRAP,
    DEVICES,
    LABELS,
    MODEL,
    PRETRAINED,
    ROOT,
    TASK,
    Options,
    check_bootstrap,
    check_option_rules,
    check_out_path,
    needs,
    seed_option,
    takes,
)
from evalkit.cli.figures import _check_figure_out, _print_written, _save, _slug, _target
from evalkit.text import fixed

if TYPE_CHECKING:
    from evalkit.pipeline.align_request import AlignOutcome
    from evalkit.pipeline.label_curve import LabelCurve


ALIGN_OPTIONS: Options = {
    "dataset": (
        str,
        typer.Argument(..., help="Dataset whose labelled frames the head learns from."),
    ),
    "task": (str, TASK(help="Task whose goal labels the head learns.")),
    "model": (
        str,
        MODEL(default=..., help="open_clip model whose image embeddings the head reads."),
    ),
    "pretrained": (Optional[str], PRETRAINED()),
    "labels": (str, LABELS()),
    "folds": (
        int,
        typer.Option(
            5, "--folds", min=3, help="Episode-grouped folds of the nested cross-validation."
        ),
    ),
    "out": (
        Optional[Path],
        typer.Option(
            None,
            "--out",
            "-o",
            help="Where to save the head (.json + .safetensors) (default: <dataset>/heads/<task>-<model>-<labels>.json).",
        ),
    ),
    "bootstrap": (
        int,
        BOOTSTRAP(default=1000, help="Bootstrap resamples of the held-out interval (0: none)."),
    ),
    "seed": (int, seed_option(0, "Seed of the folds and of the bootstrap.")),
    "eval_dataset": (
        Optional[str],
        typer.Option(
            None,
            "--eval-dataset",
            help="Also score the head on another dataset of the same family (transfer: e.g. fitted on a sweep, scored on rollouts), beside its held-out score here.",
        ),
    ),
    "eval_labels": (
        Optional[str],
        typer.Option(
            None, "--eval-labels", help="Label set of --eval-dataset (default: --labels)."
        ),
    ),
    "label_curve": (
        bool,
        typer.Option(
            False,
            "--label-curve",
            help="Also draw how many labels you need: the head's held-out EPIC against the labelled episodes it is fitted on (fixed held-out episodes, random subsets), as a table and a PNG+SVG figure.",
        ),
    ),
    "curve_repeats": (
        int,
        typer.Option(
            5, "--curve-repeats", min=1, help="Random subsets per size of the label curve."
        ),
    ),
    "curve_out": (
        Optional[Path],
        typer.Option(
            None,
            "--curve-out",
            help="Where to write the label-curve figure (default: reports/figures/label-curve-<task>-<dataset>-<model>; a suffix picks one format).",
        ),
    ),
    "root": (Optional[Path], ROOT()),
    "devices": (Optional[str], DEVICES()),
}
"""The options of this command, in the order of its help."""


@app.command("align")
@takes(ALIGN_OPTIONS)
def align_command(ctx: typer.Context, **values: Any) -> None:
    """Fit a reward head (logistic regression on the model's image embeddings) to goal labels.

    The head's reward is the probability that a frame is a goal state. Its regularisation is
    chosen by cross-validation with whole episodes held out, and its EPIC distance is reported
    on frames that neither its fit nor that choice saw (nested folds), next to the optimistic
    in-sample one. Use it anywhere a reward is taken: 'evalkit epic --reward head:PATH'.
    """
    v = SimpleNamespace(**values)
    from evalkit.pipeline.align_request import AlignRequest

    check_option_rules(
        ctx,
        needs("eval_labels", "eval_dataset", "it is the label set of that dataset"),
        needs("curve_out", "label_curve", "it is where the label curve is drawn"),
        needs("curve_repeats", "label_curve", "they are the subsets of the label curve"),
    )
    check_out_path(v.out, (".json",), "a reward head")
    _check_figure_out(v.curve_out, "--curve-out")
    request = AlignRequest(
        v.dataset,
        v.task,
        v.model,
        v.pretrained,
        labels=v.labels,
        folds=v.folds,
        out=v.out,
        n_bootstrap=check_bootstrap(v.bootstrap),
        seed=v.seed,
        eval_dataset=v.eval_dataset,
        eval_labels=v.eval_labels,
        curve_repeats=v.curve_repeats,
        root=v.root,
        devices=v.devices,
    )
    outcome = request.run()
    _print_head(outcome, v.task, v.labels, v.folds)
    moved = request.transfer(outcome)
    con = console()
    if moved is not None:
        con.print(f"transfer: {moved.sentence()}", highlight=False, soft_wrap=True)
    if v.label_curve:
        err = console(stderr=True)
        curve = request.label_curve(
            outcome, lambda i, n: err.print(f"label curve: size {i + 1}/{n}", highlight=False)
        )
        _print_label_curve(curve, outcome, v.task, v.curve_repeats, v.curve_out)


def _print_head(outcome: "AlignOutcome", task: str, labels: str, folds: int) -> None:
    """The fitted head: its scores, where it is saved, how to use it."""
    con = console()
    result = outcome.result
    meta = result.head.meta
    con.print(
        f"head for {task} on {outcome.dataset.name} ({meta['n_goal']} goal / {meta['n_nongoal']} "
        f"non-goal {labels} labels), {meta['model_identity']}, λ = {result.head.l2:g} by "
        f"{folds}-fold cross-validation",
        highlight=False,
        soft_wrap=True,
    )
    con.print(f"  held-out (nested folds): {result.heldout}", highlight=False, soft_wrap=True)
    con.print(f"  in-sample (optimistic):  {result.in_sample}", highlight=False, soft_wrap=True)
    if meta.get("random_weights"):
        con.print("[bold red]WARNING: RANDOM WEIGHTS — features of an untrained model.[/]")
    con.print(f"saved:    {result.path}", highlight=False, soft_wrap=True)
    con.print(
        f"use it:   evalkit epic --task {task} {outcome.use_options()}",
        highlight=False,
        soft_wrap=True,
    )


def _print_label_curve(
    curve: "LabelCurve", outcome: "AlignOutcome", task: str, repeats: int, out: Optional[Path]
) -> None:
    """Print and draw the label curve of ``evalkit align --label-curve``."""
    from rich.table import Table

    # numpy, matplotlib: only when the command runs (evalkit --help stays fast)
    from evalkit.plots import plot_label_curve
    from evalkit.vlm import resolve

    ds = outcome.dataset
    resolved = resolve(outcome.spec)
    table = Table(
        title=(
            f"How many labels: held-out EPIC on {len(curve.heldout_episodes)} fixed held-out episodes "
            f"({curve.n_heldout_frames} frames), mean of up to {repeats} random subsets of the others"
        )
    )
    for c in (
        "labelled episodes",
        "labelled frames",
        "goal frames",
        "held-out EPIC",
        f"{curve.confidence:.0%} interval",
        "interval over",
        "subsets",
    ):
        table.add_column(c, justify="right")
    for p in curve.points:
        e = p.estimate
        ci = "—" if not e.low == e.low else f"[{fixed(e.low)}, {fixed(e.high)}]"
        table.add_row(
            str(p.n_episodes),
            f"{p.n_frames:.0f}",
            f"{p.n_goal:.0f}",
            fixed(e.mean),
            ci,
            p.interval_method,
            str(len(p.subsets)),
        )
    con = console()
    con.print(table)
    if curve.skipped:
        con.print(
            f"skipped (too few labels of a class to fit a head): {', '.join(map(str, curve.skipped))} episodes",
            highlight=False,
        )
    con.print(curve.sentence(), highlight=False, soft_wrap=True)
    if not curve.points:
        return
    plateau = curve.plateau
    fig = plot_label_curve(
        curve.table(),
        plateau_frames=None if plateau is None else plateau.n_frames,
        title=f"How many labels: {task} head on {ds.name} ({resolved.label})",
        random_weights=bool(resolved.random_weights),
    )
    target = _target(out, _slug("label-curve", task, ds.name, resolved.label))
    _print_written(_save(fig, target), bool(resolved.random_weights), resolved.label)
