"""``evalkit collect cartpole`` and ``evalkit collect mountaincar``: uniform state sweeps.

The commands parse, call :func:`evalkit.data.sweeps.collect_sweep` and print one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import collect_app, console
from evalkit.cli._common import ROOT_OPTION
from evalkit.text import plural

# Defaults equal evalkit.data.sweeps.DEFAULT_N / DEFAULT_SIZE (a test checks it); written out
# here so that 'evalkit --help' does not import numpy and pandas.
_N = typer.Option(1000, "--n", "--states", help="Number of states (frames) in the sweep.", show_default=True)
_SIZE = typer.Option(224, "--size", help="Frame width and height in pixels.")
_SEED = typer.Option(0, "--seed", help="Seed of random spacing and of the procedural textures.")
_SPACING = typer.Option("grid", "--spacing", help="'grid': evenly spaced, both ends included; 'random': uniform draws.")
_NAME = typer.Option(None, "--name", help="Dataset name (default: the family's default dataset).")
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace a dataset of that name made with other parameters.")


def _collect(family: str, n: int, size: int, seed: int, spacing: str, name: Optional[str], root: Optional[Path],
             overwrite: bool, textured: Optional[bool] = None) -> None:
    from evalkit.data.sweeps import collect_sweep

    result = collect_sweep(family, n, size, seed=seed, spacing=spacing, textured=textured, name=name,  # type: ignore[arg-type]
                           root=root, overwrite=overwrite, progress=True)
    ds = result.dataset
    h, w, _ = ds.manifest.frame_shape
    goals = ", ".join(f"{task} {count}" for task, count in result.goal_counts.items()) or "none"
    if result.created:
        console().print(f"{ds.name}: {plural(len(ds), 'frame')} {w}x{h}, goal frames: {goals} -> {ds.path} "
                        f"({result.frames_per_second:.0f} frames/s)", highlight=False, soft_wrap=True)
    else:
        console().print(f"{ds.name}: already collected with these parameters ({plural(len(ds), 'frame')} {w}x{h}, "
                        f"goal frames: {goals}) at {ds.path}; nothing to do.", highlight=False, soft_wrap=True)


@collect_app.command("cartpole")
def collect_cartpole(n: int = _N, size: int = _SIZE, seed: int = _SEED, spacing: str = _SPACING,
                     name: Optional[str] = _NAME, root: Optional[Path] = ROOT_OPTION, overwrite: bool = _OVERWRITE) -> None:
    """CartPole sweep: pole angle uniform in [-π/2, π/2], cart centred at rest ('cartpole-sweep')."""
    _collect("cartpole", n, size, seed, spacing, name, root, overwrite)


@collect_app.command("mountaincar")
def collect_mountaincar(
    n: int = _N, size: int = _SIZE, seed: int = _SEED, spacing: str = _SPACING,
    textured: bool = typer.Option(True, "--textured/--plain", help="Textured scene, or gymnasium's line drawing."),
    name: Optional[str] = _NAME, root: Optional[Path] = ROOT_OPTION, overwrite: bool = _OVERWRITE,
) -> None:
    """MountainCar sweep: car position uniform in [-1.2, 0.6] at rest ('mountaincar-sweep-textured'/'-plain')."""
    _collect("mountaincar", n, size, seed, spacing, name, root, overwrite, textured=textured)
