"""``evalkit align``: fit a few-shot reward head on a dataset's labelled frames (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import ROOT_OPTION, check_bootstrap


@app.command("align")
def align_command(
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
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and of the bootstrap."),
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

    check_bootstrap(bootstrap)
    ds = open_dataset(dataset, root)
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
    con.print(
        f"use it:   evalkit epic --task {task} --reward head:{result.path}",
        highlight=False,
        soft_wrap=True,
    )
