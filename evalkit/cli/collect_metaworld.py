"""``evalkit collect metaworld``: expert, ε-noisy and random episodes of one Meta-World task.

The command parses, calls :func:`evalkit.data.metaworld_rollouts.collect_metaworld` and prints a
line per tier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import collect_app, console
from evalkit.cli._common import ROOT_OPTION, seed_option
from evalkit.errors import EvalkitError


def _parse_epsilons(text: str) -> list[float]:
    try:
        return [float(e) for e in text.split(",") if e.strip()]
    except ValueError:
        raise EvalkitError(
            f"--epsilons takes comma-separated numbers in [0, 1] such as 0.1,0.3, not {text!r}."
        ) from None


@collect_app.command("metaworld")
def collect_metaworld_cmd(
    task: str = typer.Option(
        "drawer-open", "--task", help="An MT10 task (reach, push, drawer-open, ...)."
    ),
    episodes: int = typer.Option(10, "--episodes", help="Episodes per quality tier."),
    epsilons: str = typer.Option(
        "0.1,0.3,0.6",
        "--epsilons",
        help="ε of the noisy tiers: the probability of a random action at each step "
        "(the expert, ε = 0, and random, ε = 1, tiers are always collected).",
    ),
    steps: int = typer.Option(150, "--steps", help="Steps per episode (at most 500)."),
    size: int = typer.Option(128, "--size", help="Frame width and height in pixels."),
    camera: str = typer.Option(
        "corner2", "--camera", help="Meta-World camera: corner2, corner, corner3, corner4, ..."
    ),
    seed: int = seed_option(0, "Seed of the task variations and of the action noise."),
    workers: int = typer.Option(1, "--workers", help="Rendering worker processes."),
    profile: str = typer.Option("fast", "--profile", help="Render profile: 'fast' or 'quality'."),
    name: Optional[str] = typer.Option(
        None, "--name", help="Dataset name (default: metaworld-TASK)."
    ),
    root: Optional[Path] = ROOT_OPTION,
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a dataset of that name made with other parameters."
    ),
) -> None:
    """Meta-World dataset of graded quality: the scripted expert, ε-noisy and random episodes,
    every frame labelled with the success flag and a progress variable (needs the metaworld extra)."""
    from evalkit.data.metaworld_rollouts import collect_metaworld

    result = collect_metaworld(
        task,
        episodes=episodes,
        epsilons=_parse_epsilons(epsilons),
        steps=steps,
        size=size,
        seed=seed,
        camera=camera,
        profile=profile,
        name=name,
        root=str(root) if root is not None else None,
        overwrite=overwrite,
        workers=workers,
    )
    ds = result.dataset
    states = ds.states
    out = console()
    done = f"({result.seconds:.1f} s)" if result.created else "(already collected; nothing to do)"
    out.print(
        f"{ds.name}: {len(ds)} frames, {ds.manifest.n_episodes} episodes -> {ds.path} {done}",
        highlight=False,
        soft_wrap=True,
    )
    reached = states.groupby(["tier", "epsilon", "episode"], sort=False)["success"].max()
    for (tier, eps), flags in reached.groupby(level=[0, 1], sort=False):
        out.print(
            f"  {tier} (ε = {eps:g}): {int(flags.sum())}/{len(flags)} episodes reach success",
            highlight=False,
        )
