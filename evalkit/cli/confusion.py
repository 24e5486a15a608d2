"""``evalkit confusion``: instruction confusion of a reward model across several tasks' datasets.

A command of its own rather than an ``evalkit epic`` option: ``epic`` measures rewards for one
task on one dataset, while confusion scores several datasets under several tasks' prompts and
reports a matrix (:mod:`evalkit.pipeline.confusion`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import (
    BATCH_SIZE,
    CONFIDENCE,
    DEVICES,
    MODEL,
    PRETRAINED,
    ROOT_OPTION,
    check_bootstrap,
    check_out_path,
    parse_alphas,
    seed_option,
)
from evalkit.errors import EvalkitError
from evalkit.text import fixed


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


@app.command("confusion")
def confusion_command(
    tasks: str = typer.Option(
        ..., "--tasks", help="Comma-separated tasks, at least two (e.g. drawer-open,drawer-close)."
    ),
    datasets: Optional[str] = typer.Option(
        None,
        "--datasets",
        help="Comma-separated datasets, one per task in the same order: each holds its task's episodes (default: each task's own, e.g. metaworld-drawer-open,metaworld-drawer-close).",
    ),
    model: Optional[str] = MODEL(help="open_clip model of the CLIP reward (or give --reward)."),
    pretrained: Optional[str] = PRETRAINED(),
    reward: Optional[str] = typer.Option(
        None,
        "--reward",
        help="Score with this reward instead of --model's CLIP reward: clip:MODEL, window:K:S:MODEL (frame averaging avg:MODEL or X-CLIP hf:PATH), each task's prompts in turn.",
    ),
    alpha: str = typer.Option("0", "--alpha", help="α of goal-baseline regularisation (one)."),
    bootstrap: int = typer.Option(
        2000, "--bootstrap", min=100, help="Bootstrap resamples over episodes (at least 100)."
    ),
    confidence: float = CONFIDENCE(),
    seed: int = seed_option(0, "Seed of the bootstrap."),
    figure: Optional[Path] = typer.Option(
        None,
        "--figure",
        help="Write the matrix figure here (.png, .svg or .pdf; no suffix: PNG and SVG).",
    ),
    root: Optional[Path] = ROOT_OPTION,
    devices: Optional[str] = DEVICES(),
    batch_size: Optional[int] = BATCH_SIZE(),
) -> None:
    """Instruction confusion: every task's episodes scored under every task's prompt (mean reward per episode).

    Prints the matrix (rows: episodes of a task; columns: prompts), the share of episodes whose own prompt scores highest (ties shared) and the mean margin (own prompt − best other), each with a percentile-bootstrap interval over episodes.
    """
    from rich.markup import escape
    from rich.table import Table

    from evalkit.pipeline.confusion import dataset_confusion
    from evalkit.pipeline.inputs import EmbedSettings, task_dataset
    from evalkit.pipeline.reward_kinds import RewardContext, model_rewards, parse_reward

    task_names = _names(tasks)
    dataset_names: list[str | None] = (
        [None] * len(task_names) if datasets is None else list(_names(datasets))
    )
    if len(task_names) != len(dataset_names):
        raise EvalkitError(
            f"Give one dataset per task: --tasks names {len(task_names)}, --datasets {len(dataset_names)}."
        )
    check_bootstrap(bootstrap)
    if not 0 < confidence < 1:
        raise typer.BadParameter("must lie strictly between 0 and 1.", param_hint="--confidence")
    alphas = parse_alphas(alpha)
    if len(alphas) != 1:
        raise typer.BadParameter("give one α, e.g. 0.", param_hint="--alpha")
    check_out_path(figure, (".png", ".svg", ".pdf"), "the confusion figure", "--figure")
    opened = [task_dataset(t, d, root) for t, d in zip(task_names, dataset_names)]
    if (model is None) == (reward is None):
        raise EvalkitError(
            "Say which reward to score with exactly one of --model (CLIP) or --reward "
            "(e.g. window:8:1:avg:ViT-B-32)."
        )
    context = RewardContext(model, pretrained, tuple(alphas), task=task_names[0])
    chosen = model_rewards(context) if reward is None else parse_reward(reward, context)
    run = dataset_confusion(
        opened,
        task_names,
        chosen,
        n_bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
        **EmbedSettings(devices, batch_size).options(),
    )
    res = run.result
    out = console()
    out.print(f"reward: {escape(run.reward)}", highlight=False)
    table = Table(title="Mean reward per episode (rows: episodes of; columns: prompt)")
    table.add_column("episodes of")
    for t in run.tasks:
        table.add_column(t, justify="right")
    table.add_column("episodes", justify="right")
    for i, t in enumerate(run.tasks):
        best = res.matrix[i].max()
        cells = [f"[bold]{fixed(v)}[/]" if v == best else fixed(v) for v in res.matrix[i]]
        table.add_row(t, *cells, str(int((run.own == i).sum())))
    out.print(table)
    level = f"{confidence:.0%} CI"
    lo, hi = res.accuracy_ci
    out.print(
        f"own prompt highest: {fixed(res.mean_accuracy)} of {len(run.own)} episodes "
        f"({level} [{fixed(lo)}, {fixed(hi)}])",
        highlight=False,
    )
    lo, hi = res.margin_ci
    out.print(
        f"margin (own − best other): {fixed(res.mean_margin)} ({level} [{fixed(lo)}, {fixed(hi)}])",
        highlight=False,
    )
    if figure is not None:
        from evalkit.plots.confusion import plot_confusion
        from evalkit.plots.style import save_figure

        fig = plot_confusion(
            res.matrix,
            run.tasks,
            accuracy=res.mean_accuracy,
            title="Instruction confusion",
            random_weights=run.random_weights,
        )
        for path in save_figure(fig, figure):
            out.print(escape(f"Wrote {path}"), highlight=False)
