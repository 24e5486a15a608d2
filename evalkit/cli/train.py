"""``evalkit train``, ``evalkit evaluate`` and ``evalkit bench train``: RL with the CLIP reward."""

from __future__ import annotations

import dataclasses
import inspect
import shlex
import sys
import typing
from pathlib import Path
from typing import Any, Optional

import typer

from evalkit.cli._app import app, bench_app, console
from evalkit.cli._common import (
    BASELINE_FRAMES_OPTION,
    GOAL_VIDEO,
    check_option_rules,
    check_seed,
    excludes,
    needs,
    seed_option,
)
from evalkit.text import fixed, significant
from evalkit.train.settings import TrainSettings


def _report(message: str) -> None:
    typer.secho(message, err=True, fg="red" if message.startswith("WARNING") else None)


TRAIN_ONLY = {
    "out": (
        Optional[Path],
        typer.Option(
            None,
            "--out",
            help="Run folder (default: a folder under runs/, or $EVALKIT_RUNS, named after the task, reward, algorithm and seed).",
        ),
    ),
    "config_file": (
        Optional[Path],
        typer.Option(None, "--config", help="TOML or YAML file of settings (flags win over it)."),
    ),
    "resume": (
        bool,
        typer.Option(
            False,
            "--resume",
            help="Continue the run in --out from its newest checkpoint and replay buffer.",
        ),
    ),
    "progress": (
        Optional[bool],
        typer.Option(
            None,
            "--progress/--no-progress",
            help="Progress bar (default: when standard error is a terminal).",
        ),
    ),
}
"""The options of ``evalkit train`` that are not settings of the run (the rest are
:class:`~evalkit.train.settings.TrainSettings`' fields with a flag)."""

TRAIN_OPTION_ORDER = (
    *("task", "model", "pretrained", "alpha", "goal_frames", "baseline_frames", "reward"),
    "goal_video",
    *("algo", "steps", "n_envs", "seed", "out", "config_file", "resume", "device"),
    *("render_size", "reward_batch_size", "precision", "reward_labelling", "vec_env"),
    *("torch_threads", "reward_worker", "reward_threads", "progress", "metrics_every"),
    "fidelity",
)
"""The order of the options in ``evalkit train --help``."""

SHARED_OPTIONS = {"baseline_frames": BASELINE_FRAMES_OPTION, "goal_video": GOAL_VIDEO()}
"""Settings whose option is the one other commands share (their field has no help of its own)."""

CHECKS = {"seed": check_seed}
"""Checks of an option's value as it is parsed."""


def train_command(**options: Any) -> None:
    """Train an agent with the CLIP reward (the paper's Algorithm 1) or the ground truth.

    Defaults are the paper's hyperparameters per environment (Appendix C). Checkpoints are
    saved at the paper's intervals; Ctrl-C saves one and stops; --resume goes on from it.

    With a model reward on a task with a goal rule, the reward's fidelity on the states the
    agent visits is measured as it trains (TensorBoard fidelity/*, the run's metrics.csv) and
    every checkpoint draws the non-goal frames the reward likes most (fidelity/step_*.png).
    """
    from evalkit.train.request import TrainRequest
    from evalkit.train.runner import train

    settings = {k: v for k, v in options.items() if k not in TRAIN_ONLY}
    request = TrainRequest(settings, options["config_file"], options["out"], options["resume"])
    config, out = request.plan()
    progress = options["progress"]
    try:
        result = train(
            config,
            out,
            resume=request.resume,
            progress=sys.stderr.isatty() if progress is None else progress,
            report=_report,
            on_checkpoint=_curves_at_checkpoints(out),
        )
    except KeyboardInterrupt:
        from evalkit.train.runner import read_checkpoints

        saved = read_checkpoints(out) if out.is_dir() else []
        if not saved:
            raise  # nothing was kept: the usual message
        typer.secho(
            f"Aborted; the checkpoints up to step {saved[-1].step} are kept. Go on with: "
            f"evalkit train --out {shlex.quote(str(out))} --resume",
            fg="yellow",
            err=True,
        )
        raise typer.Exit(130) from None
    _print_summary(result)


def _train_parameters() -> list[inspect.Parameter]:
    """``evalkit train``'s parameters: one per field of
    :class:`~evalkit.train.settings.TrainSettings` with a flag (its default ``None``: not given,
    the config decides), and the options of :data:`TRAIN_ONLY`, in :data:`TRAIN_OPTION_ORDER`."""
    types = typing.get_type_hints(TrainSettings)
    fields = {f.name: f for f in dataclasses.fields(TrainSettings) if "flag" in f.metadata}
    order = set(TRAIN_OPTION_ORDER)
    if len(order) != len(TRAIN_OPTION_ORDER) or order != set(fields) | set(TRAIN_ONLY):
        raise RuntimeError("TRAIN_OPTION_ORDER must name every option of evalkit train once")
    parameters = []
    for name in TRAIN_OPTION_ORDER:
        if name in TRAIN_ONLY:
            annotation, default = TRAIN_ONLY[name]
        else:
            kind = _without_none(types[name])
            annotation = Optional[kind]
            default = SHARED_OPTIONS.get(name) or _config_option(
                fields[name].metadata, kind is bool, CHECKS.get(name)
            )
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    return parameters


def _config_option(metadata: Any, switch: bool, check: Any) -> Any:
    """The Typer option of a config field: its flag (``--x/--no-x`` for a bool) and help."""
    flag = metadata["flag"]
    if metadata["help"] is None:
        raise RuntimeError(f"{flag} has no help and no shared option")
    declaration = f"{flag}/--no-{flag.removeprefix('--')}" if switch else flag
    return typer.Option(None, declaration, help=metadata["help"], callback=check)


def _without_none(annotation: Any) -> Any:
    """``int`` for ``int | None`` (and for ``int``)."""
    kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
    return kinds[0] if len(kinds) == 1 else annotation


_parameters = _train_parameters()
train_command.__signature__ = inspect.Signature(_parameters)  # type: ignore[attr-defined]
train_command.__annotations__ = {p.name: p.annotation for p in _parameters} | {"return": None}
app.command("train")(train_command)


def _print_summary(result: Any) -> None:
    """What a finished (or interrupted) run did, and what to do next."""
    c = result.config
    con = console()
    con.print(f"run:      {result.run_dir}")
    con.print(
        f"task:     {c.task} ({c.env_id}, {c.algo.upper()}, {c.n_envs} env{'s' if c.n_envs > 1 else ''})"
    )
    con.print(f"reward:   {c.describe_reward()}")
    overshoot = ""
    if result.steps > c.steps:
        overshoot = (
            f"; SB3 finishes the rollout it is in ({c.train_freq_steps} "
            f"steps × {c.n_envs} env{'s' if c.n_envs > 1 else ''}), hence more than asked"
        )
    con.print(
        f"steps:    {result.steps} of {c.steps} ({result.steps_per_second:.0f} steps/s{overshoot})"
    )
    from evalkit.tasks import get_task

    con.print(
        f"training reward (recent episodes): {significant(result.train_reward)}; "
        f"{_return_name(get_task(c.task).family)}: {significant(result.gt_return)}"
    )
    if result.success_rate is not None:
        con.print(f"success rate (recent training episodes, goal rule): {result.success_rate:.0%}")
    if result.fidelity is not None:
        _print_fidelity(con, result)
    if result.reward_batch_size is not None and result.reward_batch_size < c.reward_batch_size:
        con.print(f"CLIP batch size backed off to {result.reward_batch_size} frames (memory).")
    if result.checkpoints:
        newest = result.checkpoints[-1]
        con.print(
            f"checkpoints: {len(result.checkpoints)} saved, newest {newest.path} (step {newest.step}, {newest.reason})"
        )
    if result.reward_is_random:
        con.print(
            "[bold red]WARNING: RANDOM WEIGHTS — the reward was random noise; this run says nothing about CLIP.[/]"
        )
    _write_curves(result.run_dir)
    if result.interrupted:
        typer.secho(
            f"Interrupted at step {result.steps}; resume with: evalkit train --out {shlex.quote(str(result.run_dir))} --resume",
            fg="yellow",
            err=True,
        )
        raise typer.Exit(130)
    con.print(f"next:     evalkit evaluate {shlex.quote(str(result.run_dir))}")


def _print_reward_metrics(label: str, metrics: list[dict]) -> None:
    """The training reward's metrics on the rollouts, one line each (skipped ones with the reason)."""
    if not metrics:
        return
    con = console()
    con.print(
        f"{label} reward on these rollouts against the rule labels (episode-bootstrap intervals):"
    )
    for m in metrics:
        if "reason" in m:
            con.print(f"  {m['metric']:<13} not computed: {m['reason']}", highlight=False)
            continue
        low_high = m["interval"]
        ci = f" [{fixed(low_high[0])}, {fixed(low_high[1])}]" if low_high else ""
        con.print(f"  {m['metric']:<13} {fixed(m['estimate'])}{ci}", highlight=False)


def _write_curves(run_dir: Path) -> None:
    """Draw the run's learning curves into its folder (a run with nothing logged gets a note)."""
    from evalkit.errors import EvalkitError  # here, as every import of this module: fast --help
    from evalkit.train.learning_curves import write_learning_curves

    try:
        png = write_learning_curves(run_dir)[0]
    except EvalkitError as exc:
        typer.secho(f"no learning curves: {exc}", err=True)
        return
    console().print(f"curves:   {png} (and .svg)", highlight=False)


def _curves_at_checkpoints(run_dir: Path) -> Any:
    """The callback that redraws the run's learning curves after every checkpoint, quietly (a
    run with nothing logged yet draws nothing; the end of the run announces the file)."""
    from evalkit.train.callbacks import RedrawLearningCurves  # here: fast --help

    return RedrawLearningCurves(run_dir, warn=_warn)


def _warn(message: str) -> None:
    typer.secho(message, fg="yellow", err=True)


def _print_fidelity(con: Any, result: Any) -> None:
    """The summary's lines on the reward's fidelity on the visited states."""
    f = result.fidelity
    where = f"{result.run_dir / 'metrics.csv'}; contact sheets in {result.run_dir / 'fidelity'}"
    if result.fidelity_summary is None:
        kind = "goal" if f.goal_share >= 1 else "non-goal"
        con.print(
            f"fidelity: the last {f.frames} visited frames are all {kind} states, so the reward's EPIC "
            f"is not defined on them (it needs both); {where}"
        )
        return
    con.print(f"fidelity: {result.fidelity_summary}")
    con.print(
        f"          (AUC {significant(f.auc, 2)}, progress rank {significant(f.progress_rank, 2)}, "
        f"{f.goal_share:.0%} goal states, on the last {f.frames} visited frames; {where})"
    )


def _return_name(family: str) -> str:
    """What the environment's own return is (the humanoid's is locomotion, not the task)."""
    from evalkit.tasks import get_family

    if get_family(family).env_return_is_ground_truth:
        return "ground-truth return"
    return "environment return (not the task's ground truth)"


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="Run folder made by 'evalkit train'."),
    checkpoint: str = typer.Option(
        "best",
        "--checkpoint",
        help="best (highest training reward, as the paper), last, or a .zip file.",
    ),
    episodes: int = typer.Option(10, "--episodes", help="Episodes to roll out."),
    video: bool = typer.Option(
        False, "--video", help="Write one video per episode (MP4 with imageio-ffmpeg, else GIF)."
    ),
    seed: Optional[int] = seed_option(
        None, "Seed of the first episode (default: the run's seed + 10000)."
    ),
    dataset: Optional[str] = typer.Option(
        None,
        "--dataset",
        help="Store the rollouts under the datasets root with this name (default: inside the run, <run>/rollouts/).",
    ),
    no_dataset: bool = typer.Option(
        False, "--no-dataset", help="Do not store the rollouts as a dataset."
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace a dataset of that name made otherwise, with its labels and embeddings (default: refuse; the same evaluation's dataset is kept).",
    ),
    root: Optional[Path] = typer.Option(
        None,
        "--root",
        help="Datasets root for --dataset (default: $EVALKIT_DATASETS or ./datasets).",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda..."),
) -> None:
    """Roll out a trained policy: ground-truth return, success rate, videos, and a rollout dataset."""
    from evalkit.train.evaluate import evaluate

    check_option_rules(
        ctx,
        excludes("dataset", "no_dataset", "--no-dataset stores no rollouts"),
        excludes("overwrite", "no_dataset", "--no-dataset stores no rollouts"),
        excludes("root", "no_dataset", "--no-dataset stores no rollouts"),
        needs("root", "dataset", "it is where the --dataset is stored"),
    )

    r = evaluate(
        run,
        checkpoint,
        episodes,
        video=video,
        seed=seed,
        dataset="" if no_dataset else dataset,
        datasets_root=root,
        device=device,
        overwrite=overwrite,
    )
    con = console()
    if r.reward_is_random:
        con.print(
            "[bold red]WARNING: this run trained on a RANDOM-WEIGHT CLIP reward; its policy says nothing about CLIP.[/]"
        )
    step = f"step {r.checkpoint_step}" if r.checkpoint_step is not None else "outside the index"
    con.print(f"checkpoint:   {r.checkpoint} ({r.selection}, {step})")
    con.print(f"episodes:     {r.episodes} (deterministic policy, seeds from {r.seed})")
    returns = _return_name(r.family)
    con.print(f"{returns}: {r.gt_return_mean:.4g} ± {r.gt_return_std:.3g} (mean ± std)")
    con.print(
        f"success rate: {r.success_rate:.0%} (an episode succeeds when {r.criterion}; goal rule of task {r.task})"
    )
    con.print(f"steps in goal: {sum(r.goal_fraction) / len(r.goal_fraction):.0%} on average")
    if r.clip_return_mean is not None:
        con.print(f"{r.reward_label} return:  {r.clip_return_mean:.4g} per episode")
    _print_reward_metrics(r.reward_label, r.reward_metrics)
    if r.dataset:
        con.print(
            f"dataset:      {r.dataset}"
            + (
                "  (made by this same evaluation before: kept, with its labels)"
                if r.dataset_kept
                else ""
            )
        )
        con.print(f"              rate it: evalkit label rate {r.dataset} --task {r.task}")
        con.print(
            f"              EPIC:    evalkit epic --task {r.task} --dataset {r.dataset} "
            + (r.reward_options or "--model MODEL  (or --reward module:function)")
        )
    for v in r.videos:
        con.print(f"video:        {v}")


@bench_app.command("train")
def bench_train_command(
    task: str = typer.Option(
        "mountaincar", "--task", help="Task whose environment and paper settings to use."
    ),
    envs: int = typer.Option(
        32,
        "--envs",
        help="Parallel environments (the batch of step labelling; 32 × 100-step rollouts make the paper's 3 200-frame CLIP batch).",
    ),
    steps: Optional[int] = typer.Option(
        None,
        "--steps",
        help="Environment steps of each CLIP-rewarded run (default: one full CLIP batch, 3200; with --e2e-tower 20000 for every run).",
    ),
    gt_steps: int = typer.Option(
        20000, "--gt-steps", help="Environment steps of each ground-truth run."
    ),
    model: str = typer.Option(
        "evalkit-tiny-vit", "--model", help="CLIP model (a tiny random one by default)."
    ),
    pretrained: str = typer.Option("none", "--pretrained", help="Its weights ('none': random)."),
    render_size: int = typer.Option(224, "--render-size", help="Frame side in pixels."),
    device: str = typer.Option("cpu", "--device", help="Device of the learner and the CLIP model."),
    repeats: int = typer.Option(1, "--repeats", help="Runs of each setting; the best time counts."),
    threads: Optional[int] = typer.Option(
        None, "--threads", help="torch CPU threads (default: torch's choice)."
    ),
    e2e_tower: bool = typer.Option(
        False,
        "--e2e-tower",
        help="Bench the case a validation study trains instead: CartPole's whole track at 80 px, the e2e bench's random ViT (a local checkpoint), DQN as in 'bench e2e'; the ground truth, the model reward with the reward worker and in-line, and the tower alone (the other options do not apply).",
    ),
    inline: bool = typer.Option(
        True,
        "--inline/--no-inline",
        help="With --e2e-tower, also time the model reward computed between the learner's steps (without the reward worker).",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print JSON: every run, model_to_gt_speed (the model-reward run's steps/s over the ground truth's), time_over_limit (its time over max(learner time, tower time / reward cores)) with the limit's terms, and the load average.",
    ),
) -> None:
    """Steps/s of training: batched vs per-frame CLIP rewards, evalkit vs plain SB3 on the ground truth, and the model-reward run against its speed limit."""
    import json

    if e2e_tower:
        from evalkit.bench.train_speed import bench_e2e_speed

        doc = bench_e2e_speed(steps or 20_000, inline=inline)
        if as_json:
            typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
            return
        _print_speed(doc)
        return
    from evalkit.bench.train import bench_train

    result = bench_train(
        task=task,
        n_envs=envs,
        clip_steps=steps or 3200,
        gt_steps=gt_steps,
        model=model,
        pretrained=pretrained,
        render_size=render_size,
        device=device,
        repeats=repeats,
        threads=threads,
    )
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title=f"evalkit bench train — {result.description}")
    for col in (
        "setting",
        "steps",
        "seconds",
        "env steps/s",
        "CLIP calls",
        "s in CLIP",
        "CLIP frames/s",
        "s in fidelity",
    ):
        table.add_column(col, justify="left" if col == "setting" else "right")
    for row in result.rows:
        clip = row.reward_calls is not None
        table.add_row(
            row.name,
            str(row.steps),
            f"{row.seconds:.2f}",
            f"{row.steps_per_second:.0f}",
            str(row.reward_calls) if clip else "",
            f"{row.reward_seconds:.2f}" if clip else "",
            f"{row.reward_frames_per_second:.0f}" if clip else "",
            f"{row.fidelity_seconds:.2f}" if row.fidelity_seconds is not None else "",
        )
    con = console()
    con.print(table)
    note = result.overshoot_note()
    if note:
        con.print(note)
    for line in result.verdicts():
        con.print(line)
    if result.speed is not None:
        _print_speed(result.speed.to_json())


def _print_speed(doc: dict[str, Any]) -> None:
    """The speed-limit lines of ``bench train`` (and the runs of ``--e2e-tower``)."""
    con = console()
    if "description" in doc:
        con.print(f"evalkit bench train --e2e-tower — {doc['description']}")
    for name, run in doc.get("runs", {}).items():
        con.print(
            f"{name}: {run['steps']} steps in {run['seconds']:.1f} s ({run['steps_per_second']:.0f} steps/s)"
        )
    limit = doc["limit"]
    con.print(
        f"model reward / ground truth steps/s: {doc['model_to_gt_speed']:.2f}; time over the limit: "
        f"{doc['time_over_limit']:.2f} (target ≤ 1.2: {'met' if doc['time_over_limit'] <= 1.2 else 'NOT met'}); "
        f"limit {limit['seconds']:.1f} s = max(learner {limit['learner_seconds']:.1f} s, tower "
        f"{limit['tower_seconds']:.1f} s / {limit['reward_cores']} reward core(s)), set by the {limit['dominant']}"
    )
    if "load_start" in doc:
        con.print(f"load average {doc['load_start']} at the start, {doc['load_end']} at the end")
