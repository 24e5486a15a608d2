"""``evalkit label serve|rate|import|export|stats`` and ``evalkit bench label``: human labels."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from evalkit.cli._app import bench_app, label_app
from evalkit.cli._app import console as make_console
from evalkit.cli._common import ROOT_OPTION, check_out_path, seed_option
from evalkit.text import fixed, plural

TaskOption = typer.Option(..., "--task", "-t", help="Task to label (see 'evalkit tasks').")
LabellerOption = typer.Option(
    None, "--labeller", "-l", help="Your name, kept with every label (default: login name)."
)
PortOption = typer.Option(8765, "--port", "-p", help="Port to listen on (0: any free port).")
HostOption = typer.Option(
    "127.0.0.1", "--host", help="Address to listen on (default: this machine only)."
)
OrderOption = typer.Option(
    "random", "--order", help="Order of frames/episodes: random (seeded) or episode."
)
SeedOption = seed_option(0, "Seed of the random order.")


def _fmt(x: float | None) -> str:
    """An agreement or κ in the label tables: two decimals, ``n/a`` where undefined."""
    return fixed(x, 2, missing="n/a")


def _run_server(
    dataset_arg, task, labeller, port, host, order, seed, root, page: str, open_fn
) -> None:
    from evalkit.errors import EvalkitError
    from evalkit.labels.journal import default_labeller
    from evalkit.labels.server import ORDERS, LabelApp, LabelServer

    if order not in ORDERS:
        raise EvalkitError(f"Unknown --order {order!r}; use one of {', '.join(ORDERS)}.")
    if not dataset_arg.strip():
        raise EvalkitError("The dataset (or run) to label is empty; give its name or path.")
    if not host.strip():
        raise EvalkitError(
            "--host is empty, which would listen on every address of this machine; give "
            "127.0.0.1 (this machine only), or 0.0.0.0 to mean every address."
        )
    if labeller is not None and not labeller.strip():
        raise EvalkitError(
            "--labeller is empty; give your name (or leave the option out for your login name)."
        )
    ds = open_fn(dataset_arg, root)
    app = LabelApp(ds, task, labeller or default_labeller(), order=order, seed=seed)
    server = LabelServer(app, host, port)
    console = make_console()
    if page == "rate":
        what, size, saved = (
            "Rate episodes",
            plural(len(app.episodes), "episode"),
            ("Ratings", app.ratings.path),
        )
    else:
        what, size, saved = "Label frames", plural(len(ds), "frame"), ("Labels", app.labels.path)
    console.print(
        f"[bold]{what}[/] of [bold]{ds.name}[/] ({size}) for task [bold]{task}[/] "
        f"as [bold]{app.labeller}[/]. Open in a browser:\n"
    )
    print(f"    {server.url(page)}\n", flush=True)
    console.print(f"{saved[0]} are saved as you go to {saved[1]}.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[yellow]Listening on {host}: anyone who can reach this machine and has the URL "
            "(with its token) can see the frames and label them.[/]"
        )
    console.print("Stop with Ctrl-C.", style="dim")
    try:
        server.serve()
    finally:
        _after_serving(ds, app, page, console)


def _after_serving(ds, app, page: str, console) -> None:
    from evalkit.labels.rating import success_rates
    from evalkit.labels.sets import sync_label_sets

    if page == "rate":
        rates = success_rates(app.ratings, app.task)
        console.print(
            f"\nStopped. Ratings of {app.task} are in {app.ratings.path}"
            + ("." if len(rates) else "; no episode was rated yet.")
        )
        for _, r in rates.iterrows():
            console.print(
                f"{r['labeller']}: {r['episodes']} episodes rated, success rate "
                f"{r['success_rate']:.0%} ({r['successes']} rated ≥ 50 %)."
            )
        return
    result = sync_label_sets(ds, app.labels)
    p = app.progress()
    console.print(
        f"\nStopped. {app.labeller}: {p['labelled']} of {p['total']} frames labelled for {app.task} "
        f"({p['goal']} goal, {p['skip']} skipped)."
    )
    if result.paths:
        console.print(
            f"Label sets written: {', '.join(result.paths)} (use them with 'evalkit epic --labels human')."
        )
    if result.ties is not None and len(result.ties):
        console.print(
            f"[yellow]{len(result.ties)} frames have tied votes and are left out of 'human'.[/]"
        )


@label_app.command("serve")
def serve_command(
    dataset: str = typer.Argument(..., help="Dataset name (or path) to label."),
    task: str = TaskOption,
    labeller: Optional[str] = LabellerOption,
    port: int = PortOption,
    host: str = HostOption,
    order: str = OrderOption,
    seed: int = SeedOption,
    root: Optional[Path] = ROOT_OPTION,
) -> None:
    """Label goal states in a browser: one frame at a time (G/N/S, arrows, U) or a grid."""
    from evalkit.data.store import open_dataset

    _run_server(dataset, task, labeller, port, host, order, seed, root, "", open_dataset)


@label_app.command("rate")
def rate_command(
    run_or_dataset: str = typer.Argument(
        ..., help="Rollout dataset (name or path), or a training run folder."
    ),
    task: str = TaskOption,
    labeller: Optional[str] = LabellerOption,
    port: int = PortOption,
    host: str = HostOption,
    order: str = OrderOption,
    seed: int = SeedOption,
    root: Optional[Path] = ROOT_OPTION,
    report: bool = typer.Option(
        False, "--report", help="Only print the success rates so far; do not serve."
    ),
) -> None:
    """The paper's success-rate protocol: rate whole episodes 0/25/50/75/100 % in a browser."""
    from evalkit.labels.rating import open_rollouts

    if report:
        from evalkit.labels.rating import RatingStore, success_rates
        from evalkit.labels.store import check_task_for_dataset

        ds = open_rollouts(run_or_dataset, root)
        check_task_for_dataset(ds, task)
        _print_rates(success_rates(RatingStore(ds), task), make_console())
        return
    _run_server(
        run_or_dataset, task, labeller, port, host, order, seed, root, "rate", open_rollouts
    )


def _print_rates(rates, console) -> None:
    if rates.empty:
        console.print("No episode ratings yet; rate with 'evalkit label rate DATASET --task T'.")
        return
    table = Table(title="success rates (episodes rated ≥ 50 %)")
    for col in (
        "task",
        "rater",
        "episodes",
        "0%",
        "25%",
        "50%",
        "75%",
        "100%",
        "success rate",
        "95% interval",
    ):
        table.add_column(col, justify="left" if col in ("task", "rater") else "right")
    for _, r in rates.iterrows():
        table.add_row(
            r["task"],
            r["labeller"],
            str(r["episodes"]),
            *(str(r[f"r{k}"]) for k in (0, 25, 50, 75, 100)),
            f"{r['success_rate']:.0%}",
            f"{r['ci_low']:.0%}–{r['ci_high']:.0%}",
        )
    console.print(table)


@label_app.command("import")
def import_command(
    dataset: str = typer.Argument(..., help="Dataset name (or path)."),
    file: Path = typer.Argument(
        ..., help="CSV with columns frame_id, task, label, labeller, time."
    ),
    task: Optional[str] = typer.Option(
        None, "--task", "-t", help="Task of rows without a task column."
    ),
    labeller: Optional[str] = typer.Option(
        None, "--labeller", "-l", help="Labeller of rows without one."
    ),
    root: Optional[Path] = ROOT_OPTION,
) -> None:
    """Import labels from CSV into the dataset's label journal (all rows or none)."""
    from evalkit.data.store import open_dataset
    from evalkit.labels.csvio import import_csv
    from evalkit.labels.sets import sync_label_sets
    from evalkit.labels.store import LabelStore

    ds = open_dataset(dataset, root)
    store = LabelStore(ds)
    rep = import_csv(ds, file, task=task, labeller=labeller, store=store)
    console = make_console()
    console.print(
        f"Imported {rep.imported} labels from {file} into {store.path}"
        + (f"; {rep.already} rows were already there" if rep.already else "")
        + (f"; {rep.duplicates} repeated rows" if rep.duplicates else "")
        + "."
    )
    if len(rep.conflicts):
        console.print(
            f"[yellow]{len(rep.conflicts)} frames are labelled differently on different lines; "
            "both events are kept and the later line is the live label:[/]"
        )
        for _, c in rep.conflicts.head(20).iterrows():
            console.print(
                f"  frame {c['frame_id']} ({c['task']}, {c['labeller']}): {c['labels']} on lines {c['lines']}"
            )
        if len(rep.conflicts) > 20:
            console.print(f"  … and {len(rep.conflicts) - 20} more")
    if rep.imported:
        sync_label_sets(ds, store)


@label_app.command("export")
def export_command(
    dataset: str = typer.Argument(..., help="Dataset name (or path)."),
    task: Optional[str] = typer.Option(None, "--task", "-t", help="Only this task."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="CSV file to write (default: standard output)."
    ),
    root: Optional[Path] = ROOT_OPTION,
) -> None:
    """Export the live human labels as CSV: frame_id, task, label, labeller, time."""
    from evalkit.data.store import open_dataset
    from evalkit.labels.csvio import export_csv

    check_out_path(out, (".csv", ".txt"), "a label CSV")
    ds = open_dataset(dataset, root)
    if out is None:
        export_csv(ds, sys.stdout, task=task)
        return
    n = export_csv(ds, out, task=task)
    make_console(stderr=True).print(f"Wrote {n} labels to {out}.")


@label_app.command("stats")
def stats_command(
    dataset: str = typer.Argument(..., help="Dataset name (or path)."),
    task: Optional[str] = typer.Option(None, "--task", "-t", help="Only this task."),
    root: Optional[Path] = ROOT_OPTION,
) -> None:
    """Per task and labeller: counts, goal counts, agreement (Cohen's κ) with each other and rules."""
    from evalkit.data.store import open_dataset
    from evalkit.labels.rating import RatingStore, success_rates
    from evalkit.labels.sets import sync_label_sets
    from evalkit.labels.stats import label_stats
    from evalkit.labels.store import LabelStore, check_task_for_dataset

    ds = open_dataset(dataset, root)
    if task is not None:
        check_task_for_dataset(ds, task)
    store = LabelStore(ds)
    stats = label_stats(ds, task, store)
    console = make_console()
    if stats.per_labeller.empty:
        if task is None:
            console.print(
                f"No human labels in {ds.name} yet; label with 'evalkit label serve {ds.name} --task TASK'."
            )
        else:
            console.print(
                f"No human labels for task {task} in {ds.name} yet (see 'evalkit label stats {ds.name}' "
                f"for every task); label with 'evalkit label serve {ds.name} --task {task}'."
            )
    else:
        sync_label_sets(ds, store)
        t = Table(title=f"human labels of {ds.name} ({len(ds)} frames)")
        for col in (
            "task",
            "labeller",
            "labelled",
            "goal",
            "not goal",
            "skipped",
            "κ vs rule",
            "agree vs rule",
        ):
            t.add_column(col, justify="left" if col in ("task", "labeller") else "right")
        for _, r in stats.per_labeller.iterrows():
            t.add_row(
                r["task"],
                r["labeller"],
                str(r["labelled"]),
                str(r["goal"]),
                str(r["not_goal"]),
                str(r["skipped"]),
                _fmt(r["rule_kappa"]),
                _fmt(r["rule_agreement"]),
            )
        for _, r in stats.majority.iterrows():
            t.add_row(
                r["task"],
                "[bold]majority (human)[/]",
                str(r["decided"]),
                str(r["goal"]),
                str(r["decided"] - r["goal"]),
                f"{r['ties']} ties",
                _fmt(r["rule_kappa"]),
                _fmt(r["rule_agreement"]),
                end_section=True,
            )
        console.print(t)
        if not stats.pairs.empty:
            p = Table(title="agreement between labellers (frames both labelled)")
            for col in (
                "task",
                "labeller A",
                "labeller B",
                "common frames",
                "agreement",
                "Cohen's κ",
            ):
                p.add_column(
                    col, justify="left" if col in ("task", "labeller A", "labeller B") else "right"
                )
            for _, r in stats.pairs.iterrows():
                p.add_row(
                    r["task"],
                    r["labeller_a"],
                    r["labeller_b"],
                    str(r["common"]),
                    _fmt(r["agreement"]),
                    _fmt(r["kappa"]),
                )
            console.print(p)
    rates = success_rates(RatingStore(ds), task)
    if not rates.empty:
        _print_rates(rates, console)


@bench_app.command("label")
def bench_label_command(
    n: int = typer.Option(300, "--n", help="Labels to post."),
    frames: int = typer.Option(200, "--frames", help="Frames in the synthetic dataset."),
    size: int = typer.Option(224, "--size", help="Frame size in pixels."),
    workdir: Optional[Path] = typer.Option(
        None, "--dir", help="Where to put the scratch dataset (default: a temporary folder)."
    ),
) -> None:
    """Label round-trip latency: POST /api/label → journal append + fsync → response."""
    import tempfile

    from evalkit.bench.label import measure_label_latency, synthetic_dataset

    with tempfile.TemporaryDirectory(dir=workdir, prefix="evalkit-bench-label-") as tmp:
        ds = synthetic_dataset(tmp, "bench-label", n_frames=frames, size=size)
        r = measure_label_latency(ds, n=n)
        t = Table(title=f"label round trip over HTTP on 127.0.0.1 ({r.n} posts, journal on {tmp})")
        t.add_column("what")
        t.add_column("ms", justify="right")
        t.add_row("POST /api/label, median", f"{r.median_ms:.2f}")
        t.add_row("POST /api/label, 95th percentile", f"{r.p95_ms:.2f}")
        t.add_row("POST /api/label, max", f"{r.max_ms:.2f}")
        t.add_row("journal append + fsync alone, median", f"{r.fsync_median_ms:.2f}")
        t.add_row(f"GET frame {size}×{size} PNG, first (encode)", f"{r.frame_cold_ms:.2f}")
        t.add_row(f"GET frame {size}×{size} PNG, again (cached)", f"{r.frame_warm_ms:.2f}")
        make_console().print(t)
