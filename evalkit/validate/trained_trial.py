"""One trial of the trained study: train a candidate reward with one seed and evaluate it.

:func:`train_and_evaluate` is a grid trial (:class:`evalkit.validate.grid.Trial`): it trains
with :func:`evalkit.train.runner.train` into ``<folder>/run`` and evaluates the best checkpoint
(the highest training reward, the paper's rule) and the last one, writing ``outcome.json``:
per checkpoint the success rate (the family's criterion), the ground-truth return and the step,
and the trial's wall and CPU seconds of training and evaluation.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

from evalkit.fileio import atomic_write_text
from evalkit.train.config import TrainConfig
from evalkit.train.evaluate import evaluate
from evalkit.train.runner import train

OUTCOME_FILE = "outcome.json"
RUN_DIR = "run"
CHECKPOINTS = ("best", "last")
"""The checkpoints each trial evaluates: the highest training reward (the paper's rule), the last."""


def train_and_evaluate(
    folder: Path,
    *,
    config: dict[str, Any],
    episodes: int,
    keep_rollouts: bool = False,
) -> None:
    """Train ``config`` (a :class:`TrainConfig` as a dict) into ``folder/run``, evaluate its best
    and last checkpoints over ``episodes`` episodes, write ``folder/outcome.json``.

    :param keep_rollouts: keep the best checkpoint's rollout dataset (frames and states) in the run.
    :raises KeyboardInterrupt: training was interrupted (the grid discards the trial).
    """
    cpu_start = _cpu_seconds()
    run = Path(folder) / RUN_DIR
    result = train(TrainConfig.from_dict(config), run, progress=False, report=lambda _: None)
    if result.interrupted:
        raise KeyboardInterrupt
    outcome: dict[str, Any] = {
        "steps": result.steps,
        "learn_seconds": result.learn_seconds,
        "reward_seconds": result.reward_seconds,
        "steps_per_second": result.steps_per_second,
    }
    for checkpoint in CHECKPOINTS:
        keep = keep_rollouts and checkpoint == "best"
        ev = evaluate(
            run, checkpoint, episodes, device="cpu", clip_reward=False, dataset=None if keep else ""
        )
        outcome[checkpoint] = {
            "success_rate": ev.success_rate,
            "gt_return_mean": ev.gt_return_mean,
            "gt_return_std": ev.gt_return_std,
            "checkpoint_step": ev.checkpoint_step,
            "criterion": ev.criterion,
            "rollouts": _relative(ev.dataset, Path(folder)) if keep else None,
        }
    outcome["cpu_seconds"] = _cpu_seconds() - cpu_start
    atomic_write_text(json.dumps(outcome, indent=2) + "\n", Path(folder) / OUTCOME_FILE)


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system): a trial's cost apart from the load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _relative(path: Any, folder: Path) -> str | None:
    """``path`` relative to the trial folder (which is renamed when the trial is published)."""
    if not path:
        return None
    return str(Path(path).resolve().relative_to(folder.resolve()))


def read_outcome(folder: Path) -> dict[str, Any]:
    """A finished trial's ``outcome.json``."""
    return json.loads((Path(folder) / OUTCOME_FILE).read_text())
