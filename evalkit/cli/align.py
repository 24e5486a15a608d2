"""``evalkit align``: fit a few-shot reward head on a dataset's labelled frames."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import (
    ROOT_OPTION,
    check_bootstrap,
    check_label_set,
    check_option_rules,
    check_out_path,
    check_task_family,
    needs,
    seed_option,
)
from evalkit.cli.figures import _check_figure_out, _print_written, _save, _slug, _target
from evalkit.errors import EvalkitError
from evalkit.text import fixed

if TYPE_CHECKING:
    from evalkit.data.store import Dataset
    from evalkit.vlm import ModelSpec


def warn_few_episodes(*args, **kwargs):
    from evalkit.pipeline.inputs import warn_few_episodes as check

    return check(*args, **kwargs)


@app.command("align")
def align_command(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="Dataset whose labelled frames the head learns from."),
    task: str = typer.Option(..., "--task", "-t", help="Task whose goal labels the head learns."),
    model: str = typer.Option(
        ..., "--model", "-m", help="open_clip model whose image embeddings the head reads."
    ),
    pretrained: Optional[str] = typer.Option(
        None, "--pretrained", help="Weights: an open_clip tag, a checkpoint path, or 'none'."
    ),
    labels: str = typer.Option("rule", "--labels", help="Label set: rule, human, or another."),
    folds: int = typer.Option(
        5, "--folds", min=3, help="Episode-grouped folds of the nested cross-validation."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        help="Where to save the head (.json + .safetensors) (default: <dataset>/heads/<task>-<model>-<labels>.json).",
    ),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", min=0, help="Bootstrap resamples of the held-out interval (0: none)."
    ),
    seed: int = seed_option(0, "Seed of the folds and of the bootstrap."),
    eval_dataset: Optional[str] = typer.Option(
        None,
        "--eval-dataset",
        help="Also score the head on another dataset of the same family (transfer: e.g. fitted on a sweep, scored on rollouts), beside its held-out score here.",
    ),
    eval_labels: Optional[str] = typer.Option(
        None, "--eval-labels", help="Label set of --eval-dataset (default: --labels)."
    ),
    label_curve: bool = typer.Option(
        False,
        "--label-curve",
        help="Also draw how many labels you need: the head's held-out EPIC against the labelled episodes it is fitted on (fixed held-out episodes, random subsets), as a table and a PNG+SVG figure.",
    ),
    curve_repeats: int = typer.Option(
        5, "--curve-repeats", min=1, help="Random subsets per size of the label curve."
    ),
    curve_out: Optional[Path] = typer.Option(
        None,
        "--curve-out",
        help="Where to write the label-curve figure (default: reports/figures/label-curve-<task>-<dataset>-<model>; a suffix picks one format).",
    ),
    root: Optional[Path] = ROOT_OPTION,
    devices: Optional[str] = typer.Option(
        None, "--devices", help="Devices for embedding what is not cached, e.g. cpu or cuda:0."
    ),
) -> None:
    """Fit a reward head (logistic regression on the model's image embeddings) to goal labels.

    The head's reward is the probability that a frame is a goal state. Its regularisation is
    chosen by cross-validation with whole episodes held out, and its EPIC distance is reported
    on frames that neither its fit nor that choice saw (nested folds), next to the optimistic
    in-sample one. Use it anywhere a reward is taken: 'evalkit epic --reward head:PATH'.
    """
    from evalkit.data.store import open_dataset
    from evalkit.pipeline import align
    from evalkit.pipeline.heads import default_head_path
    from evalkit.vlm import ModelSpec, resolve

    check_option_rules(
        ctx,
        needs("eval_labels", "eval_dataset", "it is the label set of that dataset"),
        needs("curve_out", "label_curve", "it is where the label curve is drawn"),
        needs("curve_repeats", "label_curve", "they are the subsets of the label curve"),
    )
    check_bootstrap(bootstrap)
    check_out_path(out, (".json",), "a reward head")
    _check_figure_out(curve_out, "--curve-out")
    ds = open_dataset(dataset, root)
    ds.check_tables()
    check_task_family(ds, task)
    check_label_set(ds, labels)
    warn_few_episodes(ds.manifest.n_episodes, bootstrap)
    other = None if eval_dataset is None else open_dataset(eval_dataset, root)
    if other is not None and other.family != ds.family:
        raise EvalkitError(
            f"--eval-dataset {other.name!r} holds {other.family} states, not {ds.family} ones like "
            f"{ds.name!r}: a head is scored only on datasets of the family it was fitted on."
        )
    if other is not None:
        other.check_tables()
        check_label_set(other, eval_labels or labels, "--eval-labels")
    spec = ModelSpec.coerce(model, pretrained)
    target = out or default_head_path(ds, task, resolve(spec).label, labels)
    embed = {"devices": devices} if devices else {}
    result = align(
        ds,
        task,
        spec,
        labels=labels,
        folds=folds,
        seed=seed,
        n_bootstrap=bootstrap,
        save_to=target,
        **embed,
    )
    con = console()
    meta = result.head.meta
    con.print(
        f"head for {task} on {ds.name} ({meta['n_goal']} goal / {meta['n_nongoal']} non-goal "
        f"{labels} labels), {meta['model_identity']}, λ = {result.head.l2:g} by {folds}-fold "
        "cross-validation",
        highlight=False,
        soft_wrap=True,
    )
    con.print(f"  held-out (nested folds): {result.heldout}", highlight=False, soft_wrap=True)
    con.print(f"  in-sample (optimistic):  {result.in_sample}", highlight=False, soft_wrap=True)
    if meta.get("random_weights"):
        con.print("[bold red]WARNING: RANDOM WEIGHTS — features of an untrained model.[/]")
    con.print(f"saved:    {result.path}", highlight=False, soft_wrap=True)
    from evalkit.pipeline.reward_kinds import HeadReward

    use = HeadReward(str(result.path)).command_options("", "", [])
    con.print(
        f"use it:   evalkit epic --task {task} {use}",
        highlight=False,
        soft_wrap=True,
    )
    if other is not None:
        from evalkit.pipeline.heads import transfer

        moved = transfer(
            result.path,
            other,
            task,
            labels=eval_labels or labels,
            n_bootstrap=bootstrap,
            seed=seed,
            **embed,
        )
        con.print(f"transfer: {moved.sentence()}", highlight=False, soft_wrap=True)
    if label_curve:
        _label_curve(
            ds, task, spec, labels, folds, curve_repeats, bootstrap, seed, curve_out, embed
        )


def _label_curve(
    ds: "Dataset",
    task: str,
    spec: "ModelSpec",
    labels: str,
    folds: int,
    repeats: int,
    n_bootstrap: int,
    seed: int,
    out: Optional[Path],
    embed: dict[str, str],
) -> None:
    """Compute, print and draw the label curve of ``evalkit align --label-curve``."""
    from rich.table import Table

    # numpy, matplotlib: only when the command runs (evalkit --help stays fast)
    from evalkit.pipeline.label_curve import dataset_label_curve
    from evalkit.plots import plot_label_curve
    from evalkit.vlm import resolve

    err = console(stderr=True)
    resolved = resolve(spec)
    curve = dataset_label_curve(
        ds,
        task,
        spec,
        labels=labels,
        repeats=repeats,
        folds=folds,
        seed=seed,
        n_bootstrap=n_bootstrap,
        on_point=lambda i, n: err.print(f"label curve: size {i + 1}/{n}", highlight=False),
        **embed,
    )
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
