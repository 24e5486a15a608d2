"""The command lines the report prints beside each result: the ``evalkit collect`` and ``evalkit epic`` commands that reproduce it."""

from __future__ import annotations

import shlex
from typing import Any, Mapping

import pandas as pd

from evalkit.data.poses import PoseSpec
from evalkit.envs.humanoid_poses import HUMANOID_TASKS
from evalkit.pipeline.reward_kinds import (
    saved_reward,
)
from evalkit.tasks import FAMILIES


def quote(x: Any) -> str:
    return shlex.quote(str(x))


def collect_command(ds: Any, root_option: str = "") -> str:
    """The ``evalkit collect`` command that rebuilds ``ds`` (a comment when it cannot be told)."""
    m = ds.manifest
    if m.generator == "sweep":
        p = m.params
        cmd = (
            f"evalkit collect {m.family} --n {p.get('n', m.n_frames)} --size {m.frame_shape[1]} "
            f"--seed {p.get('seed', 0)} --spacing {p.get('spacing', 'grid')}"
        )
        if m.family in FAMILIES:
            cmd += FAMILIES[m.family].variant_flags(m.render)
        return f"{cmd} --name {quote(m.name)}{root_option}"
    if m.generator == "poses" and _default_pose_variation(m.params):
        r = m.render
        cmd = (
            f"evalkit collect humanoid --poses --per-task {m.params['per_task']} --size {m.frame_shape[1]} "
            f"--seed {m.params.get('seed', 0)} --profile {r.get('profile', 'fast')}"
            f"{'' if r.get('textured', True) else ' --plain'}{'' if r.get('fixed_camera', True) else ' --tracking-camera'}"
        )
        return f"{cmd} --name {quote(m.name)}{root_option}"
    params = ", ".join(
        f"{k}={v}" for k, v in sorted({**m.params, "size": m.frame_shape[1]}.items())
    )
    return f"# dataset {m.name}: made by the '{m.generator}' generator of 'evalkit collect {m.family}' ({params})"


def _default_pose_variation(params: Mapping[str, Any]) -> bool:
    """Whether a pose dataset used the command line's pose variation (only --per-task and --seed vary)."""
    default = PoseSpec(per_task=int(params.get("per_task", 0)), tasks=HUMANOID_TASKS).to_params()
    return all(params.get(k) == v for k, v in default.items())


def epic_commands(epic: pd.DataFrame, root_option: str = "") -> list[str]:
    """One ``evalkit epic`` command per (dataset, task, label set, reward, interval settings) of the
    results table: rows computed with other bootstrap settings get their own command."""
    commands = []
    keys = [
        "dataset",
        "task",
        "label_set",
        "reward_source",
        "model",
        "pretrained",
        "n_bootstrap",
        "ci_method",
        "confidence",
        "seed",
    ]
    for (dataset, task, label_set, source, model, pretrained, *_), rows in epic.groupby(
        keys, sort=True, dropna=False
    ):
        first = rows.iloc[0]
        what = saved_reward(source, model, pretrained).command_options(
            model, pretrained, list(rows["alpha"].dropna())
        )
        boot = int(first["n_bootstrap"]) if pd.notna(first["n_bootstrap"]) else 0
        ci = (
            f" --ci {first['ci_method']} --confidence {float(first['confidence']):g}"
            if boot
            else ""
        )
        commands.append(
            f"evalkit epic --task {quote(task)} {what} --dataset {quote(dataset)} --labels {quote(label_set)} "
            f"--bootstrap {boot}{ci} --seed {int(first['seed']) if pd.notna(first['seed']) else 0}{root_option}"
        )
    return commands
