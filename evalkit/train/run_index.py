"""What is in a runs folder: :func:`find_runs`, :func:`summarize_run` (``evalkit runs``, the report)
and :func:`curve_table` (the learning curves' data).

A run folder is one made by :func:`evalkit.train.runner.train` (it has ``config.json``). Its
numbers come from ``metrics.csv`` (:mod:`evalkit.train.metrics_log`) and, for runs made before
that file existed, from the checkpoint index ``checkpoints.json``.

A run is ``running`` while a process holds its lock (:class:`evalkit.train.runner.RunLock`;
the kernel releases it when that process dies, kill -9 included). Runs made before evalkit kept a
lock get a guess from their files: one that has not reached its planned steps and whose logs
(``metrics.csv``, TensorBoard) changed within :data:`RECENT_SECONDS` is ``running?`` (after a
Ctrl-C checkpoint: only logs written later than :data:`SETTLE_SECONDS` after it count, i.e. a
resume); otherwise it is ``interrupted``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.train.config import CONFIG_FILE, read_run_config
from evalkit.train.evaluate import select_checkpoint
from evalkit.train.metrics_log import COLUMNS, METRICS_FILE, MetricsLog
from evalkit.train.runner import (
    INDEX_FILE,
    TB_DIR,
    CheckpointInfo,
    read_checkpoints,
    run_is_training,
)

RECENT_SECONDS = 300.0
"""A run whose logs changed this recently (and after its last checkpoint) may still be training."""

SETTLE_SECONDS = 10.0
"""Logs written this soon after an interrupted run's last save are that run closing, not a resume."""

FINISHED, INTERRUPTED, RUNNING, TRAINING = "finished", "interrupted", "running?", "running"


@dataclass(frozen=True)
class RunSummary:
    """One run at a glance.

    :param steps_done: environment steps trained: the newest checkpoint (or the newest logged
        row, unless the run is known to be stopped).
    :param steps_planned: the run's ``steps``.
    :param best_gt_return: the highest mean ground-truth return logged (``None``: none logged).
    :param last_fidelity_epic: goal EPIC of the reward on the visited states at the last row
        that measured it (``None`` for ground-truth runs and runs that never measured it).
    :param status: ``running``, ``finished``, ``interrupted`` or ``running?`` (see the module
        docstring).
    :param evaluated_step: the step of the checkpoint ``evalkit evaluate`` would pick.
    """

    path: str
    name: str
    task: str
    reward: str
    algo: str
    steps_done: int
    steps_planned: int
    best_gt_return: float | None
    last_fidelity_epic: float | None
    status: str
    checkpoints: int
    evaluated_step: int | None
    reward_is_random: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunCurves:
    """A run's learning-curve table (columns of :data:`~evalkit.train.metrics_log.COLUMNS`
    without ``time``) and the file it came from."""

    table: pd.DataFrame
    source: str


def find_runs(folder: str | Path) -> list[Path]:
    """The folder itself if it is a run, else its sub-folders (not hidden), sorted by name;
    which of them are runs :func:`summarize_run` tells."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalkitError(f"{folder} is not a folder; pass the folder that holds your runs.")
    if (folder / CONFIG_FILE).is_file():
        return [folder]
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _checkpoints(run_dir: Path) -> list[CheckpointInfo]:
    return sorted(read_checkpoints(run_dir), key=lambda c: c.step)


def curve_table(run_dir: str | Path) -> RunCurves:
    """The rows of ``metrics.csv``, or (a run without one) the checkpoints' step, ground-truth
    return and training reward; an empty table when neither has rows."""
    run_dir = Path(run_dir)
    columns = [c for c in COLUMNS if c != "time"]
    rows = MetricsLog(run_dir).rows()
    if rows:
        table = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
        return RunCurves(table.astype(float), METRICS_FILE)
    saved = [
        {"step": c.step, "gt_return": c.gt_return, "train_return": c.train_reward}
        for c in _checkpoints(run_dir)
    ]
    table = pd.DataFrame(saved, columns=["step", "gt_return", "train_return"]).astype(float)
    return RunCurves(table.reindex(columns=columns), INDEX_FILE)


def evaluated_step(run_dir: str | Path) -> int | None:
    """The step of the checkpoint ``evalkit evaluate`` picks by default (``None``: none saved)."""
    try:
        _, info, _ = select_checkpoint(Path(run_dir), "best")
    except EvalkitError:
        return None
    return info.step if info is not None else None


def _newest_log_time(run_dir: Path) -> float:
    files = [run_dir / METRICS_FILE, *(run_dir / TB_DIR).rglob("events.*")]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)


def run_status(
    run_dir: Path, steps_done: int, steps_planned: int, last: CheckpointInfo | None
) -> str:
    """``running``, ``finished``, ``interrupted`` or ``running?`` (see the module docstring)."""
    training = run_is_training(run_dir)
    if training:
        return TRAINING
    if steps_done >= steps_planned or (last is not None and last.reason == "end"):
        return FINISHED
    if training is False:  # the run keeps a lock and nobody holds it
        return INTERRUPTED
    logged = _newest_log_time(run_dir)
    if time.time() - logged >= RECENT_SECONDS:
        return INTERRUPTED  # stopped, or killed without a word
    if last is not None and last.reason == "interrupt":
        index = run_dir / INDEX_FILE
        saved = index.stat().st_mtime if index.is_file() else 0.0
        if logged <= saved + SETTLE_SECONDS:  # the logs closing after the Ctrl-C save
            return INTERRUPTED
    return RUNNING


def summarize_run(run_dir: str | Path) -> RunSummary:
    """The summary of one run folder.

    :raises EvalkitError: the folder is not a run (no ``config.json``), or its files are corrupt.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise EvalkitError(f"{run_dir} is not a training run (it has no {CONFIG_FILE}).")
    config = read_run_config(run_dir)
    checkpoints = _checkpoints(run_dir)
    curves = curve_table(run_dir).table
    # Steps past the newest checkpoint count unless the run is known to be stopped (its lock is
    # free): --resume discards them.
    stopped = run_is_training(run_dir) is False
    logged = [] if stopped else [int(s) for s in curves["step"].dropna()]
    steps_done = max([c.step for c in checkpoints] + logged + [0])
    gt = pd.concat([curves["gt_return"], pd.Series([c.gt_return for c in checkpoints])]).dropna()
    fidelity = curves["fidelity_epic"].dropna()
    last = checkpoints[-1] if checkpoints else None
    return RunSummary(
        path=str(run_dir),
        name=run_dir.name,
        task=config.task,
        reward=config.describe_reward(),
        algo=str(config.algo),
        steps_done=steps_done,
        steps_planned=int(config.steps or 0),
        best_gt_return=float(gt.max()) if len(gt) else None,
        last_fidelity_epic=float(fidelity.iloc[-1]) if len(fidelity) else None,
        status=run_status(run_dir, steps_done, int(config.steps or 0), last),
        checkpoints=len(checkpoints),
        evaluated_step=evaluated_step(run_dir),
        reward_is_random=_saved_random_flag(run_dir) or config.reward_is_random,
    )


def _saved_random_flag(run_dir: Path) -> bool:
    """``reward_is_random`` as the run's ``config.json`` recorded it (the loaded model's word)."""
    try:
        return bool(json.loads((run_dir / CONFIG_FILE).read_text()).get("reward_is_random"))
    except (OSError, ValueError, AttributeError):
        return False
