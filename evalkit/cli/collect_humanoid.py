"""``evalkit collect humanoid`` (pose or rollout datasets) and ``evalkit bench render``.

The commands parse, call :func:`evalkit.data.poses.collect_poses`,
:func:`evalkit.data.rollouts.collect_rollouts` or :func:`evalkit.bench.render.bench_render`
and print a few lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import bench_app, collect_app, console
from evalkit.cli._common import ROOT_OPTION, seed_option
from evalkit.cli._variants import family_flags_command, given_variants
from evalkit.errors import EvalkitError


@collect_app.command("humanoid", cls=family_flags_command("humanoid"))
def collect_humanoid(
    ctx: typer.Context,
    poses: bool = typer.Option(
        False, "--poses", help="Kinematic poses around hand-made keyframes (no policy needed)."
    ),
    policy: Optional[Path] = typer.Option(
        None, "--policy", help="stable-baselines3 checkpoint (.zip) to roll out."
    ),
    per_task: int = typer.Option(
        40,
        "--per-task",
        help="--poses: samples around each of the 8 task keyframes; neutral, distractor and transition poses are added in proportion (--per-task 40 gives 600 frames).",
    ),
    episodes: int = typer.Option(10, "--episodes", help="--policy: number of episodes."),
    steps: int = typer.Option(100, "--steps", help="--policy: steps per episode."),
    size: int = typer.Option(224, "--size", help="Frame width and height in pixels."),
    seed: int = seed_option(0, "Seed of the pose variation / of the episodes' resets."),
    workers: int = typer.Option(1, "--workers", help="Rendering worker processes."),
    profile: str = typer.Option("fast", "--profile", help="Render profile: 'fast' or 'quality'."),
    name: Optional[str] = typer.Option(
        None, "--name", help="Dataset name (default: humanoid-poses / humanoid-rollouts)."
    ),
    root: Optional[Path] = ROOT_OPTION,
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a dataset of that name made with other parameters."
    ),
) -> None:
    """Humanoid dataset: --poses (keyframe poses for the eight tasks) or --policy CHECKPOINT.zip (rollouts)."""
    from evalkit.envs import get_family

    if poses == (policy is not None):
        raise EvalkitError("Pass exactly one of --poses or --policy CHECKPOINT.zip.")
    look = get_family("humanoid").resolve_variants(given_variants(ctx))
    root_arg = str(root) if root is not None else None
    if poses:
        from evalkit.data.poses import collect_poses

        result = collect_poses(
            per_task=per_task,
            size=size,
            seed=seed,
            name="humanoid-poses" if name is None else name,
            root=root_arg,
            overwrite=overwrite,
            workers=workers,
            textured=look["textured"],
            fixed_camera=look["fixed_camera"],
            profile=profile,
        )
    else:
        from evalkit.data.rollouts import collect_rollouts

        result = collect_rollouts(
            policy,
            episodes=episodes,
            steps=steps,
            size=size,
            seed=seed,  # type: ignore[arg-type]
            name="humanoid-rollouts" if name is None else name,
            root=root_arg,
            overwrite=overwrite,
            workers=workers,
            textured=look["textured"],
            fixed_camera=look["fixed_camera"],
            profile=profile,
        )
    ds = result.dataset
    goals = ", ".join(f"{task} {n}" for task, n in result.goal_counts.items()) or "none"
    console().print(
        f"{ds.name}: {len(ds)} frames, {ds.manifest.n_episodes} episodes, rule goal frames: {goals} "
        f"-> {ds.path} ({result.seconds:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )


@bench_app.command("render")
def bench_render_cmd(
    size: int = typer.Option(224, "--size", help="Frame width and height in pixels."),
    frames: int = typer.Option(300, "--frames", help="Frames per measurement (and per worker)."),
    profile: str = typer.Option("fast", "--profile", help="Render profile: 'fast' or 'quality'."),
    textured: bool = typer.Option(True, "--textured/--plain", help="Textured or original scene."),
    workers: str = typer.Option(
        "1,2", "--workers", help="Comma-separated worker counts for the scaling runs ('' to skip)."
    ),
    env: Optional[str] = typer.Option(
        None,
        "--env",
        help="Another family's environment instead of the humanoid's poses (e.g. metaworld): "
        "a random-action rollout, rendered in one process (no scaling runs).",
    ),
    task: Optional[str] = typer.Option(
        None, "--task", help="With --env: the task whose environment renders (default: the first)."
    ),
) -> None:
    """Rendering speed: frames/s in one process, and scaling over worker processes (the humanoid), or any family's environment (--env)."""
    from evalkit.bench.render import bench_render

    if env is not None:
        _bench_env(env, task, size, frames, profile)
        return
    if task is not None:
        raise EvalkitError(
            "--task goes with --env FAMILY (the humanoid's benchmark renders poses)."
        )
    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError:
        raise EvalkitError(
            f"--workers takes comma-separated whole numbers such as 1,2, not {workers!r}."
        ) from None
    r = bench_render(size=size, frames=frames, profile=profile, textured=textured, workers=counts)
    out = console()
    out.print(
        f"humanoid render benchmark: {size}x{size}, profile {r.profile}, "
        f"{'textured' if r.textured else 'plain'}, MUJOCO_GL={r.gl_backend}"
        + (f", renderer {r.renderer}" if r.renderer else ""),
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"  one process: render {r.render_fps:.1f} frames/s; step + render + state {r.step_render_fps:.1f} frames/s",
        highlight=False,
    )
    for p in r.scaling:
        out.print(
            f"  {p.workers} worker(s): {p.fps:.1f} frames/s in all ({p.frames} frames in {p.seconds:.2f} s), "
            f"speed-up {p.speedup:.2f}x",
            highlight=False,
        )


def _bench_env(family: str, task: Optional[str], size: int, frames: int, profile: str) -> None:
    """``evalkit bench render --env FAMILY``: print one family's rendering speed."""
    from evalkit.bench.render_env import bench_env_render

    r = bench_env_render(family, task, size=size, frames=frames, profile=profile)
    out = console()
    look = f", profile {r.profile}" if r.profile else ""
    out.print(
        f"{r.family} render benchmark{f' ({r.task})' if r.task else ''}: {size}x{size}{look}, "
        f"MUJOCO_GL={r.gl_backend}",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"  one process: render {r.render_fps:.1f} frames/s; step + render + state "
        f"{r.step_render_fps:.1f} frames/s ({frames} frames of a random-action rollout)",
        highlight=False,
    )
