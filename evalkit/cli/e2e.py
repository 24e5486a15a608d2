"""``evalkit bench e2e``: the end-to-end proof that a reward head trains a policy."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import bench_app


def _say(message: str) -> None:
    typer.secho(message, err=True, fg="red" if message.startswith("WARNING") else None)


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Ask numpy's BLAS for ``threads`` threads (where the user has not set it); it reads the
    environment when numpy is first imported, which the CLI has not done yet."""
    if "numpy" not in sys.modules:
        for name in BLAS_THREAD_VARIABLES:
            os.environ.setdefault(name, str(threads))


@bench_app.command("e2e")
def bench_e2e_command(
    out: Path = typer.Option(
        Path("bench-e2e"),
        "--out",
        "-o",
        help="Folder of every artefact; run again with the same folder to reuse finished stages.",
    ),
    steps: Optional[int] = typer.Option(
        None,
        "--steps",
        min=1,
        help="Environment steps of each DQN run (default 50 000; --quick: 600).",
    ),
    states: Optional[int] = typer.Option(
        None, "--states", min=1, help="Frames of the state-box dataset (default 4 000)."
    ),
    episodes: Optional[int] = typer.Option(
        None, "--episodes", min=1, help="Evaluation episodes of each run (default 20)."
    ),
    threads: int = typer.Option(
        1,
        "--threads",
        min=1,
        help="CPU threads of torch and of numpy's BLAS (1: best on a busy machine, where "
        "several threads per process wait on each other).",
    ),
    full_track: bool = typer.Option(
        False,
        "--full-track",
        help="Frames show the whole track (cartpole's --full-track view, 80 pixels; --quick keeps "
        "its size) and the box spans it (|x| <= 3): the default centre crop loses the cart "
        "past |x| ≈ 1.6, so the head never sees an empty track.",
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="A seconds-long version (tiny dataset, model and runs): checks the machinery, learns nothing.",
    ),
) -> None:
    """Proof that a reward head trains CartPole DQN and the text prompts do not.

    Collect CartPole states → random ViT → embed → head on rule labels (held-out EPIC) → DQN on
    the head reward → evaluate → the same DQN on the text-prompt reward (control) → summary.

    All on this CPU, with random-weight towers. --out gets every artefact and summary.md.

    Ctrl-C keeps the finished stages and the checkpoints; the same command resumes.
    """
    limit_threads(threads)
    # the bench loads torch, open_clip and stable-baselines3: only when this command runs
    from evalkit.bench.e2e import FULL, FULL_TRACK_SIZE, QUICK, bench_e2e

    base = QUICK if quick else FULL
    given = {"steps": steps, "states": states, "episodes": episodes}
    if full_track:
        given.update(full_track=True, size=None if quick else FULL_TRACK_SIZE)
    settings = replace(base, **{k: v for k, v in given.items() if v is not None}, threads=threads)
    summary = bench_e2e(out, settings, say=_say)
    head, text = summary["head"], summary["text"]
    runs = summary["runs"]
    typer.echo(
        f"head: held-out EPIC {head['heldout_epic']:.3f}; text prompts: EPIC {text['distance']:.3f}"
    )
    for name, label in (("head", "head reward"), ("text", "text reward (control)")):
        r = runs[name]
        typer.echo(
            f"{label}: success {r['upright_half_rate']:.0%} (upright ≥ 50 % of steps), "
            f"{r['success_rate']:.0%} (upright throughout), GT return {r['gt_return_mean']:.1f} "
            f"± {r['gt_return_std']:.1f}, {r['steps']} steps"
        )
    typer.echo(f"total {summary['total_seconds']:.0f} s; summary: {Path(out) / 'summary.md'}")
