"""``evalkit epic``: EPIC distance of a reward to goal labels, with a CI; ``evalkit bench epic``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List, Optional

import typer

from evalkit.cli._app import app, bench_app, console
from evalkit.cli._common import (
    ALPHA,
    BASELINE_FRAMES,
    BATCH_SIZE,
    BOOTSTRAP,
    CI,
    CONFIDENCE,
    DATASET,
    DEVICES,
    GOAL_FRAMES,
    GOAL_VIDEO,
    LABELS,
    MODEL,
    PRETRAINED,
    ROOT,
    TASK,
    Options,
    bootstrap_options,
    parse_alphas,
    seed_option,
    takes,
)
from evalkit.metrics.registry import metric_names, names_help, needing, result_rows
from evalkit.text import fixed, plural

FORMATS = ("table", "csv", "json")
_RANDOM_WARNING = (
    "WARNING: RANDOM WEIGHTS ({model}, pretrained={pretrained}): these distances measure an untrained "
    "model and say nothing about CLIP. Use real weights (--pretrained TAG or a checkpoint) for results."
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def _print_table(run, ci_method: str, n_bootstrap: int, confidence: float, seed: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    s = run.source
    first = run.results[0]
    if s.random_weights:
        out.print(
            f"[bold red]{escape(_RANDOM_WARNING.format(model=s.model, pretrained=s.pretrained))}[/]"
        )
    out.print(f"reward:   {escape(s.describe())}")
    out.print(
        escape(
            f"labels:   {run.label_set} labels of task {run.task} on dataset {run.dataset} "
            f"({first.n_goal} goal / {first.n_nongoal} non-goal frames; {first.n_goal_episodes} of "
            f"{plural(first.n_episodes, 'episode')} hold goal frames)"
        )
    )
    if n_bootstrap > 0:
        method = "BCa" if ci_method == "bca" else "percentile"
        out.print(
            f"interval: {confidence:.0%} {method} bootstrap over episodes, {n_bootstrap} resamples, seed {seed}"
        )
    else:
        out.print("interval: none (--bootstrap 0)")
    table = Table(
        title=f"EPIC distance to the {run.label_set} labels (0 = perfect, 0.707 = no information, 1 = inverted)"
    )
    columns = [
        "α" if s.alphas[0] is not None else "reward",
        "EPIC distance",
        f"{confidence:.0%} CI",
        "ρ",
        "goal frames",
        "non-goal frames",
        "episodes",
    ]
    if n_bootstrap > 0:
        columns.append("degenerate resamples")
    for c in columns:
        table.add_column(c, justify="left" if c in {"α", "reward"} else "right")
    for r, a, name in zip(run.results, s.alphas, s.column_names()):
        ci = (
            "—"
            if r.interval is None
            else escape(f"[{fixed(r.interval[0])}, {fixed(r.interval[1])}]")
        )
        row = [
            f"{a:g}" if a is not None else escape(name),
            fixed(r.distance),
            ci,
            fixed(r.rho),
            str(r.n_goal),
            str(r.n_nongoal),
            str(r.n_episodes),
        ]
        if n_bootstrap > 0:
            row.append(f"{r.n_degenerate} / {r.n_bootstrap}")
        table.add_row(*row)
    out.print(table)
    if run.saved_to is not None:
        out.print(escape(f"Saved to {run.saved_to}"))


EPIC_OPTIONS: Options = {
    "task": (str, TASK()),
    "model": (Optional[str], MODEL()),
    "pretrained": (Optional[str], PRETRAINED()),
    "goal_frames": (Optional[str], GOAL_FRAMES()),
    "goal_video": (Optional[str], GOAL_VIDEO()),
    "baseline_frames": (Optional[str], BASELINE_FRAMES()),
    "reward": (
        Optional[List[str]],
        typer.Option(
            None,
            "--reward",
            help="Evaluate another reward instead: head:PATH (a head fitted by 'evalkit align'), a Python function MODULE:FUNCTION / FILE.py:FUNCTION called as f(states, frames) -> one number per frame, clip:MODEL, window:K:S:MODEL or episode:MODEL. Repeat it to compare several rewards side by side in one table.",
        ),
    ),
    "reward_column": (
        Optional[str],
        typer.Option(
            None,
            "--reward-column",
            help="Evaluate a column of numbers instead: FILE.npy, FILE.csv:COLUMN or FILE.parquet:COLUMN (a frame_id column, if present, aligns rows).",
        ),
    ),
    "dataset": (Optional[str], DATASET()),
    "labels": (str, LABELS()),
    "alpha": (Optional[str], ALPHA()),
    "metrics": (
        str,
        typer.Option(
            "epic",
            "--metrics",
            help=f"Comma-separated metrics: {names_help()}, or all (each with its episode-bootstrap interval; one not defined on the dataset is skipped with the reason).",
        ),
    ),
    "progress": (
        Optional[str],
        typer.Option(
            None,
            "--progress",
            help=f"Progress variable of the metrics that need one ({', '.join(needing('progress', metric_names()))}): a state column or an expression such as '-abs(angle)' (default: the family's).",
        ),
    ),
    "bootstrap": (int, BOOTSTRAP()),
    "ci": (str, CI()),
    "confidence": (float, CONFIDENCE()),
    "seed": (int, seed_option(0, "Seed of the bootstrap.")),
    "fmt": (str, typer.Option("table", "--format", "-f", help="Output: table, csv or json.")),
    "root": (Optional[Path], ROOT()),
    "devices": (Optional[str], DEVICES()),
    "batch_size": (Optional[int], BATCH_SIZE()),
    "save": (
        bool,
        typer.Option(
            True,
            "--save/--no-save",
            help="Save the results next to the dataset (in its results folder).",
        ),
    ),
}
"""The options of ``evalkit epic``, in the order of its help."""


@app.command("epic")
@takes(EPIC_OPTIONS)
def epic_command(ctx: typer.Context, **values: Any) -> None:
    """EPIC distance of a reward to goal labels (paper Lemma 1), with a bootstrap CI, per α.

    The reward is CLIP's for the task's prompts (--model), or your own (--reward, --reward-column): compare CLIP with a hand-written reward on the same labels. Repeat --reward (clip:MODEL, window:K:S:MODEL, ...) for one table of several rewards side by side.

    Prints the distance, ρ, the interval and the goal/non-goal counts, and saves them to <dataset>/results/epic.parquet.
    """
    from evalkit.pipeline.epic_request import EpicRequest, RewardChoice
    from evalkit.pipeline.inputs import EmbedSettings

    v = SimpleNamespace(**values)
    if v.fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}.", param_hint="--format")
    err = console(stderr=True)
    alphas = None if v.alpha is None else tuple(parse_alphas(v.alpha))

    def request(reward: str | None) -> EpicRequest:
        return EpicRequest(
            v.task,
            RewardChoice(
                v.model,
                v.pretrained,
                alphas,
                v.goal_frames,
                v.baseline_frames,
                reward,
                v.reward_column,
                v.goal_video,
            ),
            dataset=v.dataset,
            labels=v.labels,
            metrics=v.metrics,
            progress=v.progress,
            bootstrap=bootstrap_options(v.bootstrap, v.ci, v.confidence, v.seed),
            save=v.save,
            root=v.root,
            embed=EmbedSettings(v.devices, v.batch_size),
            on_note=lambda note: err.print(note, highlight=False, soft_wrap=True),
        )

    requests = [request(r) for r in (v.reward or [None])]
    for r in requests:  # every reward checked before any is computed
        r.reward()
        r.check_progress()
    outcomes = [r.run() for r in requests]
    if len(outcomes) == 1:
        _print_outcome(outcomes[0], v.fmt)
    else:
        _print_comparison(outcomes, v.fmt)


def _print_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    """Result rows as CSV or JSON on standard output."""
    if fmt == "csv":
        import pandas as pd

        typer.echo(pd.DataFrame(rows).to_csv(index=False), nl=False)
    else:
        typer.echo(
            json.dumps([{k: _json_safe(v) for k, v in row.items()} for row in rows], indent=2)
        )


def _print_outcome(outcome, fmt: str) -> None:
    """The results of ``evalkit epic`` as a table, CSV or JSON (notes on standard error)."""
    from rich.markup import escape

    run, source = outcome.run, outcome.source
    b = outcome.bootstrap
    err = console(stderr=True)
    for skip in run.skipped():
        err.print(f"{skip.metric}: skipped — {skip.reason}", highlight=False)
    if fmt == "table":
        if run.results:
            _print_table(run, b.ci_method, b.n_bootstrap, b.confidence, b.seed)
        _print_panel(run, b.confidence)
        return
    if source.random_weights:
        err.print(
            f"[bold red]{escape(_RANDOM_WARNING.format(model=source.model, pretrained=source.pretrained))}[/]"
        )
    _print_rows(run.rows() + run.panel_rows(), fmt)
    if run.saved_to is not None:
        err.print(escape(f"Saved to {run.saved_to}"))


def comparison_rows(outcomes: list) -> tuple[list[str], dict[tuple[str, str], dict[str, str]]]:
    """The rewards of several ``epic`` outcomes side by side: their labels (the columns), and
    per (metric, α) row each reward's ``estimate [low, high]``.

    :param outcomes: :class:`~evalkit.pipeline.epic_request.EpicOutcome` of each reward, in order.
    """
    labels: list[str] = []
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for outcome in outcomes:
        s = outcome.source
        label = s.reward.label(s.model)
        labels.append(label)
        for row in outcome.run.rows() + outcome.run.panel_rows():
            alpha = row["alpha"]
            key = (str(row["metric"]), "—" if math.isnan(alpha) else f"{alpha:g}")
            low, high = row["ci_low"], row["ci_high"]
            ci = "" if math.isnan(low) else f" [{fixed(low)}, {fixed(high)}]"
            cells.setdefault(key, {})[label] = f"{fixed(row['estimate'])}{ci}"
    return labels, cells


def _print_comparison(outcomes: list, fmt: str) -> None:
    """Several rewards' results: one row per metric and α, one column per reward (notes on
    standard error); CSV and JSON hold every reward's rows."""
    from rich.markup import escape
    from rich.table import Table

    err, out = console(stderr=True), console()
    for outcome in outcomes:
        s = outcome.source
        for skip in outcome.run.skipped():
            err.print(
                f"{s.reward.label(s.model)}: {skip.metric}: skipped — {skip.reason}",
                highlight=False,
            )
        if s.random_weights:
            err.print(
                f"[bold red]{escape(_RANDOM_WARNING.format(model=s.model, pretrained=s.pretrained))}[/]"
            )
    if fmt != "table":
        _print_rows([row for o in outcomes for row in o.run.rows() + o.run.panel_rows()], fmt)
        return
    first = outcomes[0]
    b = first.bootstrap
    for i, o in enumerate(outcomes, 1):
        out.print(f"reward {i}: {escape(o.source.describe())}", highlight=False)
    run = first.run
    out.print(
        escape(f"labels:   {run.label_set} labels of task {run.task} on dataset {run.dataset}"),
        highlight=False,
    )
    if b.n_bootstrap > 0:
        method = "BCa" if b.ci_method == "bca" else "percentile"
        out.print(
            f"interval: {b.confidence:.0%} {method} bootstrap over episodes, {b.n_bootstrap} resamples, seed {b.seed}",
            highlight=False,
        )
    labels, cells = comparison_rows(outcomes)
    table = Table(
        title=f"Rewards side by side: estimate [{b.confidence:.0%} CI] (— : not computed for that reward)"
    )
    table.add_column("metric")
    table.add_column("α")
    table.add_column("better")
    for label in labels:
        table.add_column(escape(label), justify="right")
    directions = result_rows()
    for (metric, alpha), by in cells.items():
        row = directions[metric][1] if metric in directions else None
        better = "" if row is None else ("higher" if row.higher_is_better else "lower")
        table.add_row(metric, alpha, better, *(escape(by.get(label, "—")) for label in labels))
    out.print(table)
    for o in outcomes:
        if o.run.saved_to is not None:
            out.print(escape(f"Saved to {o.run.saved_to}"), highlight=False)


def _print_panel(run, confidence: float) -> None:
    """The panel's other metrics: one row per metric and reward column."""
    from rich.markup import escape
    from rich.table import Table

    from evalkit.metrics import MetricResult

    results = [r for r in run.panel if isinstance(r, MetricResult)]
    if not results:
        if run.saved_to is not None and not run.results:
            console().print(escape(f"Saved to {run.saved_to}"))
        return
    table = Table(title="Other metrics (better: the direction of a better reward)")
    for c in (
        "metric",
        "reward",
        "estimate",
        f"{confidence:.0%} CI",
        "better",
        "uninformative",
        "frames",
        "episodes",
        "method",
    ):
        table.add_column(c, justify="right" if c in {"estimate", "frames", "episodes"} else "left")
    rows = result_rows()
    for r in results:
        ci = (
            "—"
            if r.interval is None
            else escape(f"[{fixed(r.interval[0])}, {fixed(r.interval[1])}]")
        )
        row = rows[r.metric][1] if r.metric in rows else None
        table.add_row(
            r.metric,
            escape(r.name or ""),
            fixed(r.estimate),
            ci,
            "" if row is None else ("higher" if row.higher_is_better else "lower"),
            "" if row is None or row.reference is None else fixed(row.reference),
            str(r.n),
            str(r.n_episodes),
            escape(r.method),
        )
    console().print(table)
    for note in dict.fromkeys(
        f"{r.name}: {r.note}" if r.name else r.note for r in results if r.note
    ):
        console().print(escape(note), highlight=False)
    if run.saved_to is not None and not run.results:
        console().print(escape(f"Saved to {run.saved_to}"))


@bench_app.command("epic")
def bench_epic_command(
    repeats: int = typer.Option(
        3, "--repeats", min=1, help="Timed runs per shape (best and median reported)."
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Only the target shapes (the panel: all metrics at once, no per-metric rows).",
    ),
    panel: bool = typer.Option(
        True,
        "--panel/--no-panel",
        help="Also time the metric panel (every metric, and all at once) and the pairwise distance matrix.",
    ),
) -> None:
    """EPIC and the metric panel with bootstrap intervals on synthetic data: seconds per call (targets: goal EPIC, 2 000 resamples of 100 000 frames in 1 000 episodes, under 2 s; all panel metrics for 5 reward columns at that size under 2 s; the distance matrix of 50 sources over 100 000 frames under 1 s)."""
    import os
    import platform

    from rich.table import Table

    from evalkit.bench.epic import (
        DEFAULT_SHAPES,
        PAIRWISE_SHAPE,
        PANEL_SHAPE,
        TARGET_SECONDS,
        TARGET_SHAPE,
        bench_epic,
        bench_panel,
    )

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    shapes = (TARGET_SHAPE,) if quick else DEFAULT_SHAPES
    rows = bench_epic(shapes, repeats=repeats)
    table = Table(
        title=f"evalkit bench epic — epic_goal with bootstrap, best of {repeats} ({machine})"
    )
    for c in (
        "frames",
        "episodes",
        "reward columns",
        "resamples",
        "interval",
        "best s",
        "median s",
        "",
    ):
        table.add_column(c, justify="right")
    for r in rows:
        mark = ""
        if r.is_target:
            mark = f"target < {TARGET_SECONDS:g} s: " + (
                "met" if r.best_s < TARGET_SECONDS else "MISSED"
            )
        table.add_row(
            f"{r.frames:,}",
            f"{r.episodes:,}",
            str(r.columns),
            f"{r.resamples:,}",
            r.method,
            f"{r.best_s:.3f}",
            f"{r.median_s:.3f}",
            mark,
        )
    console().print(table)
    if not panel:
        return
    frames, episodes, columns, resamples = PANEL_SHAPE
    table = Table(
        title=(
            f"metric panel — {frames:,} frames, {episodes:,} episodes, {columns} reward columns, "
            f"{resamples:,} BCa resamples; pairwise: {PAIRWISE_SHAPE[1]} sources × "
            f"{PAIRWISE_SHAPE[0]:,} frames; best of {repeats} ({machine})"
        )
    )
    for c in ("metric", "best s", "median s", ""):
        table.add_column(c, justify="right")
    for r in bench_panel(repeats=repeats, per_metric=not quick):
        mark = ""
        if r.target_s is not None:
            mark = f"target < {r.target_s:g} s: " + ("met" if r.best_s < r.target_s else "MISSED")
        table.add_row(r.what, f"{r.best_s:.3f}", f"{r.median_s:.3f}", mark)
    console().print(table)
