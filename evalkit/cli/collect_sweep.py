"""``evalkit collect FAMILY`` for every family with a state sweep (cartpole, mountaincar, yours).

The commands are made from the family objects (:mod:`evalkit.envs.family`) when the ``collect``
group is asked for them, so a family registered by a module (``modules = [...]`` in a tasks
file) gets its command too: its sweep options, one ``--on/--off`` flag per render variant, and
the same output. Each command calls :func:`evalkit.data.sweeps.collect_sweep` and prints a line.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Optional

import click
import typer
from typer.core import TyperGroup

from evalkit.cli._app import collect_app, console
from evalkit.cli._common import ROOT_OPTION, seed_option
from evalkit.cli._variants import variant_parameter
from evalkit.text import plural

# Defaults equal evalkit.data.sweeps.DEFAULT_N / DEFAULT_SIZE (a test checks it); written out
# here so that 'evalkit --help' does not import numpy and pandas.
_N = typer.Option(
    1000, "--n", "--states", help="Number of states (frames) in the sweep.", show_default=True
)
_SIZE = typer.Option(224, "--size", help="Frame width and height in pixels.")
_SEED = seed_option(0, "Seed of random spacing and of the procedural textures.")
_SPACING = typer.Option(
    "grid",
    "--spacing",
    help="'grid': the axis evenly spaced, both ends included; 'random': the axis drawn uniformly; "
    "'box': every state variable drawn uniformly over the family's box (the states a learning "
    "agent visits; dataset name <default>-box).",
)
_NAME = typer.Option(None, "--name", help="Dataset name (default: the family's default dataset).")
_OVERWRITE = typer.Option(
    False, "--overwrite", help="Replace a dataset of that name made with other parameters."
)


def _collect(
    family: str,
    n: int,
    size: int,
    seed: int,
    spacing: str,
    name: Optional[str],
    root: Optional[Path],
    overwrite: bool,
    variants: dict[str, bool],
) -> None:
    from evalkit.data.sweeps import collect_sweep

    result = collect_sweep(
        family,
        n,
        size,
        seed=seed,
        spacing=spacing,
        variants=variants,
        name=name,  # type: ignore[arg-type]
        root=root,
        overwrite=overwrite,
        progress=True,
    )
    ds = result.dataset
    h, w, _ = ds.manifest.frame_shape
    goals = ", ".join(f"{task} {count}" for task, count in result.goal_counts.items()) or "none"
    if result.created:
        console().print(
            f"{ds.name}: {plural(len(ds), 'frame')} {w}x{h}, goal frames: {goals} -> {ds.path} "
            f"({result.frames_per_second:.0f} frames/s)",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console().print(
            f"{ds.name}: already collected with these parameters ({plural(len(ds), 'frame')} {w}x{h}, "
            f"goal frames: {goals}) at {ds.path}; nothing to do.",
            highlight=False,
            soft_wrap=True,
        )


def sweep_command(family: Any) -> Callable[..., None]:
    """The ``collect`` command of a family with a sweep: a function whose signature Typer reads."""
    variant_names = [v.name for v in family.variants]

    def command(
        n: int,
        size: int,
        seed: int,
        spacing: str,
        name: Optional[str],
        root: Optional[Path],
        overwrite: bool,
        **variants: bool,
    ) -> None:
        _collect(family.name, n, size, seed, spacing, name, root, overwrite, variants)

    option = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("n", option, default=_N, annotation=int),
        inspect.Parameter("size", option, default=_SIZE, annotation=int),
        inspect.Parameter("seed", option, default=_SEED, annotation=int),
        inspect.Parameter("spacing", option, default=_SPACING, annotation=str),
        *(variant_parameter(v, v.default) for v in family.variants),
        inspect.Parameter("name", option, default=_NAME, annotation=Optional[str]),
        inspect.Parameter("root", option, default=ROOT_OPTION, annotation=Optional[Path]),
        inspect.Parameter("overwrite", option, default=_OVERWRITE, annotation=bool),
    ]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    names = [
        family.sweep_dataset_name({k: value}) for k in variant_names for value in (True, False)
    ]
    datasets = "/".join(dict.fromkeys([family.default_dataset, *names]))
    command.__doc__ = (
        f"{family.title or family.name} sweep: {family.sweep.describe()} ('{datasets}')."
    )
    if family.sweep.box:
        command.__doc__ += f"\n\nWith --spacing box: {family.sweep.describe_box()}."
        for v in family.variants:
            if v.box:
                wide = family.sweep_for({v.name: True})
                command.__doc__ += f" With {v.on_flag}: {wide.describe_box()}."
    command.__name__ = f"collect_{family.name}"
    return command


def _sweep_families() -> dict[str, Any]:
    # here so that 'evalkit --help' stays fast; importing evalkit.envs registers the built-in families
    from evalkit.envs.family import all_families

    return {f.name: f for f in all_families() if f.sweep is not None}


def sweep_click_command(family: Any) -> click.Command:
    """The click command Typer makes of :func:`sweep_command` for ``family``."""
    single = typer.Typer(add_completion=False)
    single.command(family.name)(sweep_command(family))
    return typer.main.get_command(single)


class CollectGroup(TyperGroup):
    """``evalkit collect``: its own subcommands (``humanoid``) and one per family with a sweep,
    made from the registry when asked for (so families registered at run time have theirs)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = super().list_commands(ctx)
        return sorted({*own, *_sweep_families()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            family = _sweep_families().get(cmd_name)
            command = sweep_click_command(family) if family is not None else None
        return command


collect_app.info.cls = CollectGroup
