"""A run's checkpoints, their index and the resume state: saving, reading, and resuming.

Every write is atomic (temporary file, rename), so an interrupted or killed run leaves loadable
checkpoints.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_folder, atomic_path, atomic_write_text
from evalkit.train.config import TrainConfig, resolve_device
from evalkit.train.env_factory import TB_DIR
from evalkit.train.hyperparams import ALGORITHMS

INDEX_FILE = "checkpoints.json"
CHECKPOINT_DIR = "checkpoints"
RESUME_DIR = "resume"
MODEL_FILE = "model.zip"
BUFFER_FILE = "replay_buffer.pkl"
STATE_FILE = "state.json"

Report = Callable[[str], None]
"""Where the runner's messages go (the CLI prints them to standard error)."""


@dataclass(frozen=True)
class CheckpointInfo:
    """One saved policy of a run.

    :param step: environment steps trained when it was saved.
    :param path: the ``.zip`` file, relative to the run folder.
    :param train_reward: mean return of the recent training episodes under the reward the agent
        trains on (CLIP, or the ground truth for ground-truth runs); ``None`` before any ended.
    :param gt_return: mean ground-truth return of the same recent episodes.
    :param reason: ``interval``, ``end`` or ``interrupt``.
    """

    step: int
    path: str
    train_reward: float | None
    gt_return: float | None
    reason: str = "interval"
    time: str = ""


def read_checkpoints(run_dir: Path) -> list[CheckpointInfo]:
    """The checkpoint index of a run, oldest first (empty if none was saved yet).

    Without an index file (deleted because it was corrupt), the checkpoint files are found by
    name (``checkpoints/step_*.zip``), without their rewards.
    """
    path = Path(run_dir) / INDEX_FILE
    if not path.is_file():
        return _checkpoints_by_name(Path(run_dir))
    try:
        return [CheckpointInfo(**row) for row in json.loads(path.read_text())]
    except (json.JSONDecodeError, TypeError) as exc:
        raise EvalkitError(
            f"{path} is corrupt ({exc}); delete it to pick checkpoints by file name."
        ) from None


def _checkpoints_by_name(run_dir: Path) -> list[CheckpointInfo]:
    found = []
    for file in (run_dir / CHECKPOINT_DIR).glob("step_*.zip"):
        digits = file.stem[len("step_") :]
        if digits.isdigit():
            found.append(CheckpointInfo(int(digits), f"{CHECKPOINT_DIR}/{file.name}", None, None))
    return sorted(found, key=lambda c: c.step)


class RunStore:
    """Checkpoints, the checkpoint index and the resume state of one run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def save_checkpoint(self, model: BaseAlgorithm, info: CheckpointInfo) -> CheckpointInfo:
        target = self.run_dir / info.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target, suffix=".zip") as tmp:  # SB3 insists on the suffix
            model.save(tmp)
        index = [c for c in read_checkpoints(self.run_dir) if c.path != info.path] + [info]
        atomic_write_text(
            json.dumps([asdict(c) for c in index], indent=2) + "\n", self.run_dir / INDEX_FILE
        )
        return info

    def save_resume_state(self, model: BaseAlgorithm, with_buffer: bool) -> None:
        """Write model (+ replay buffer) into ``resume.new/``, then swap it in for ``resume/``."""
        new, cur, old = (self.run_dir / f"{RESUME_DIR}{s}" for s in (".new", "", ".old"))
        with atomic_folder(cur, temporary=new, trash=old):
            with atomic_path(new / MODEL_FILE, suffix=".zip") as tmp:
                model.save(tmp)
            has_buffer = with_buffer and getattr(model, "replay_buffer", None) is not None
            if has_buffer:
                with atomic_path(new / BUFFER_FILE, suffix=".pkl") as tmp:
                    model.save_replay_buffer(tmp)
            atomic_write_text(
                json.dumps({"step": int(model.num_timesteps), "replay_buffer": has_buffer}) + "\n",
                new / STATE_FILE,
            )

    def resume_dir(self) -> Path | None:
        """The newest complete resume state (a swap interrupted half-way is recovered)."""
        for suffix in ("", ".new", ".old"):
            d = self.run_dir / f"{RESUME_DIR}{suffix}"
            if (d / STATE_FILE).is_file():
                return d
        return None


@dataclass(frozen=True)
class ResumePoint:
    """A saved model a run can go on from: its file, its step and its replay buffer (if any)."""

    model: Path
    step: int
    buffer: Path | None = None


def resume_points(run_dir: Path, resume_from: Path | None) -> list[ResumePoint]:
    """What ``--resume`` may load, best first: the resume state (model and replay buffer),
    then every checkpoint file, newest first (found by file name if the index is gone)."""
    points = []
    if resume_from is not None:
        step = int(json.loads((resume_from / STATE_FILE).read_text())["step"])
        points.append(ResumePoint(resume_from / MODEL_FILE, step, resume_from / BUFFER_FILE))
    for c in sorted(read_checkpoints(run_dir), key=lambda c: c.step, reverse=True):
        if (run_dir / c.path).is_file():
            points.append(ResumePoint(run_dir / c.path, c.step))
    return points


def load_resume_point(
    points: list[ResumePoint], config: TrainConfig, env: VecEnv, run_dir: Path, report: Report
) -> tuple[BaseAlgorithm, int]:
    """Load the first of ``points`` that loads (warning when it is not the first); its step.

    A resume state whose model is there but does not load is an error (its advice, to delete
    it, then falls back here); a missing one, or a checkpoint that does not load, is skipped.
    """
    first_problem: EvalkitError | None = None
    for point in points:
        try:
            if not point.model.is_file():
                raise EvalkitError(f"{point.model.relative_to(run_dir)} does not exist")
            model = load_model(
                point.model,
                config.algo,
                env=env,
                device=config.device,
                tensorboard_log=str(run_dir / TB_DIR),
            )
        except EvalkitError as exc:
            if point.buffer is not None and point.model.is_file():
                raise
            first_problem = first_problem or exc
            continue
        if first_problem is not None:
            report(
                f"WARNING: {str(first_problem).split('; ')[0].rstrip('.')}; resuming from "
                f"{point.model.relative_to(run_dir)} (step {point.step}) without its replay buffer."
            )
        elif point.buffer is not None and point.buffer.is_file():
            try:
                model.load_replay_buffer(point.buffer)
            except Exception as exc:  # noqa: BLE001
                raise EvalkitError(
                    f"The replay buffer {point.buffer} is corrupt ({exc}); delete it to resume with an empty buffer."
                ) from None
        elif ALGORITHMS[config.algo].off_policy:
            report("The checkpoint has no replay buffer; resuming with an empty one.")
        return model, point.step
    assert first_problem is not None
    raise EvalkitError(
        f"No saved model of {run_dir} can be loaded ({first_problem}); start a new run with another --out."
    )


def load_model(
    path: Path, algo: str, env: VecEnv | None = None, device: str = "auto", **kwargs: Any
) -> BaseAlgorithm:
    """Load a checkpoint, with one clear sentence if the file is corrupt or of another run."""
    cls = ALGORITHMS[algo].sb3_class()
    if not Path(path).is_file():
        raise EvalkitError(f"Checkpoint {path} does not exist.")
    device = resolve_device(device)  # a missing GPU is its own sentence, not a corrupt checkpoint
    try:
        return cls.load(path, env=env, device=device, print_system_info=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 - zip, pickle, torch and shape errors all mean "unusable"
        raise EvalkitError(
            f"Checkpoint {path} cannot be loaded as a {cls.__name__} policy for this run "
            f"({type(exc).__name__}: {exc}); it is corrupt or from another run. Delete it to fall "
            "back to an earlier checkpoint, or start a new run."
        ) from None
