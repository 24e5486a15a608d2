"""Train a stable-baselines3 agent with the CLIP reward (or the ground truth): :func:`train`.

One run is one folder::

    runs/<name>/
      config.json         the resolved TrainConfig, library versions, seed, command line
      checkpoints.json    every checkpoint: step, training reward (CLIP or ground truth), GT return
      checkpoints/step_000064000.zip ...   policies at the paper's intervals, at the end, on Ctrl-C
      resume/             the newest model with its replay buffer, for --resume
      tb/                 TensorBoard logs (rollout/ep_rew_mean is the ground-truth return;
                          clip/ep_reward_mean and clip/step_reward_mean the CLIP reward,
                          fidelity/* the reward's fidelity on the visited states,
                          rollout/success_rate_rule the success of training episodes by the
                          goal rule)
      metrics.csv         one row every ``metrics_every`` steps and at every checkpoint
                          (:mod:`evalkit.train.metrics_log`)
      fidelity/step_000064000.png ...   at every checkpoint, the visited non-goal frames the
                          reward likes most and the goal frames it likes least

Read top to bottom: :func:`make_training_env` builds the vector environment (rendering and the
batched reward wrapper only for the CLIP reward), :func:`build_model` the algorithm with the
paper's hyperparameters, :func:`training_callbacks` the relabelling, checkpoint, stop and
progress callbacks, and :func:`train` runs them. Every write is atomic (temporary file, rename),
so an interrupted or killed run leaves loadable checkpoints.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from evalkit.errors import EvalkitError
from evalkit.fileio import (
    INTERRUPT_SIGNALS,
    atomic_folder,
    atomic_path,
    atomic_write_text,
    file_lock,
)
from evalkit.tasks import get_task
from evalkit.text import significant
from evalkit.train.clip_reward import (
    BatchRewardFn,
    ClipRewardVecEnv,
    RelabelReplayBuffer,
    RenderFrame,
    load_clip_reward,
)
from evalkit.train.config import (
    CONFIG_FILE,
    TrainConfig,
    read_run_config,
    resolve_device,
    write_run_config,
)
from evalkit.train.fidelity import (
    SHEETS_DIR,
    EpisodeSuccess,
    Fidelity,
    RecordState,
    VisitedFrames,
    fidelity_sentence,
    offline_epic,
)
from evalkit.train.hyperparams import ALGORITHMS
from evalkit.train.metrics_log import MetricsLog

DEFERRED = ("batch", "rollout")
"""Reward labellings that write CLIP rewards into the replay buffer after the step."""
INDEX_FILE = "checkpoints.json"
CHECKPOINT_DIR = "checkpoints"
RESUME_DIR = "resume"
TB_DIR = "tb"
MODEL_FILE = "model.zip"
BUFFER_FILE = "replay_buffer.pkl"
STATE_FILE = "state.json"
LOCK_FILE = "train.lock"
"""Held (``flock``) by the process training the run; the kernel drops it when that process dies."""

Report = Callable[[str], None]
"""Where the runner's messages go (the CLI prints them to standard error)."""


# -- environments and model ---------------------------------------------------------------------


def make_env(env_id: str, **kwargs: Any) -> Any:
    """``gym.make(env_id, **kwargs)`` after registering evalkit's ids (works in worker processes)."""
    import gymnasium as gym

    import evalkit.envs  # noqa: F401 - registers the evalkit/... ids (also in worker processes)

    return gym.make(env_id, **kwargs)


def _wrap_env(env: Any, render: bool, ignore_sigint: bool, states: bool = False) -> Any:
    if ignore_sigint:  # worker processes: Ctrl-C and SIGTERM are the main process's business
        for sig in INTERRUPT_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
    env = RecordState(env) if states else env
    return RenderFrame(env) if render else env


def make_training_env(
    config: TrainConfig,
    reward_fn: BatchRewardFn | None = None,
    seed: int | None = None,
    observer: VisitedFrames | None = None,
) -> tuple[VecEnv, ClipRewardVecEnv | None]:
    """The vector environment a run trains in, and its CLIP reward wrapper (``None`` for ground truth).

    Every step's physical state goes into ``info["state"]`` when the task has a goal rule
    (for the success rate of training episodes and the reward's fidelity).

    :param config: a resolved config.
    :param reward_fn: the reward of a batch of frames (required for the CLIP reward).
    :param seed: seed of the first environment (default ``config.seed``).
    :param observer: sees every step and every scored batch of frames (model rewards only).
    """
    from stable_baselines3.common.env_util import make_vec_env

    clip = config.model_reward
    env_kwargs = dict(config.env_kwargs or {})
    if clip:
        env_kwargs.update(
            render_mode="rgb_array", width=config.render_size, height=config.render_size
        )
    subproc = config.vec_env == "subproc"
    states = get_task(config.task).rule is not None
    try:
        venv = make_vec_env(
            functools.partial(make_env, config.env_id),
            n_envs=config.n_envs,
            seed=config.seed if seed is None else seed,
            env_kwargs=env_kwargs,
            wrapper_class=functools.partial(
                _wrap_env, render=clip, ignore_sigint=subproc, states=states
            )
            if (clip or subproc or states)
            else None,
            vec_env_cls=SubprocVecEnv if subproc else DummyVecEnv,
        )
    except TypeError as exc:
        raise EvalkitError(
            f"Cannot make {config.env_id} with {env_kwargs}: {exc}; check env_kwargs in the config."
        ) from None
    if not clip:
        return venv, None
    if reward_fn is None:
        raise ValueError("the CLIP reward needs a reward function")
    wrapper = ClipRewardVecEnv(
        venv,
        reward_fn,
        batch_size=config.reward_batch_size,
        defer=config.labelling in DEFERRED,
        observer=observer,
    )
    return wrapper, wrapper


def quiet_logger(model: BaseAlgorithm) -> BaseAlgorithm:
    """Give ``model`` a logger that writes nowhere (SB3's default would leave an empty
    ``/tmp/SB3-<date>`` folder behind every run that has no TensorBoard folder)."""
    model.set_logger(Logger(None, []))
    return model


def build_model(config: TrainConfig, env: VecEnv, run_dir: Path | None) -> BaseAlgorithm:
    """A fresh stable-baselines3 model with the config's (the paper's) hyperparameters; it logs
    to the run's TensorBoard folder, or nowhere without a run folder."""
    cls = ALGORITHMS[config.algo].sb3_class()
    try:
        model = cls(
            "MlpPolicy",
            env,
            seed=config.seed,
            device=resolve_device(config.device),
            tensorboard_log=str(run_dir / TB_DIR) if run_dir is not None else None,
            verbose=0,
            **dict(config.algo_kwargs),
        )
    except TypeError as exc:
        raise EvalkitError(
            f"{cls.__name__} does not accept these algo_kwargs ({exc}); fix the config."
        ) from None
    return model if run_dir is not None else quiet_logger(model)


# -- checkpoints ---------------------------------------------------------------------------------


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


def _load_resume_point(
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


# -- callbacks -----------------------------------------------------------------------------------


class StopOnEvent(BaseCallback):
    """Stop ``learn()`` cleanly (at the next step) once ``event`` is set, e.g. by Ctrl-C."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event

    def _on_step(self) -> bool:
        return not self.event.is_set()


def reward_batch_size(clip_env: ClipRewardVecEnv) -> int:
    """Frames per CLIP forward pass now: the embedder's (it may have backed off) or the wrapper's."""
    embedder = getattr(clip_env.scorer.reward_fn, "embedder", None)
    return int(getattr(embedder, "batch_size", clip_env.scorer.batch_size))


def recent_gt_return(model: BaseAlgorithm) -> float | None:
    """Mean ground-truth return of the recent episodes (from the Monitor wrappers)."""
    episodes = getattr(model, "ep_info_buffer", None)
    return float(np.mean([e["r"] for e in episodes])) if episodes else None


class RunProgress(BaseCallback):
    """Checkpoints at fixed step intervals, CLIP reward statistics in TensorBoard, a progress bar,
    the rows of ``metrics.csv`` with the reward's fidelity, and the checkpoints' contact sheets.

    Everything happens at the end of a rollout; :attr:`before_save` labels what is pending first.

    :param store: the run folder.
    :param config: the run's resolved config.
    :param clip_env: the CLIP reward wrapper (``None`` for ground truth).
    :param progress: show a progress bar (steps/s, mean rewards) on standard error.
    :param report: where one-line messages go when there is no progress bar.
    :param visited: the visited frames the reward's fidelity is measured on (``None``: off).
    :param success: the success of training episodes (``None``: the task has no goal rule or
        its family no success criterion).
    """

    def __init__(
        self,
        store: RunStore,
        config: TrainConfig,
        clip_env: ClipRewardVecEnv | None,
        progress: bool,
        report: Report,
        visited: VisitedFrames | None = None,
        success: EpisodeSuccess | None = None,
    ) -> None:
        super().__init__()
        self.store, self.config, self.clip_env = store, config, clip_env
        self.progress, self.report = progress, report
        self.visited, self.success = visited, success
        self.metrics = MetricsLog(store.run_dir)
        self.fidelity: Fidelity | None = None
        """The newest fidelity figures (``None`` before the first measurement)."""
        self._last_row: int | None = None
        self.checkpoints: list[CheckpointInfo] = []
        self.before_save: Callable[[], Any] | None = None
        self.after_save: Callable[[CheckpointInfo], Any] | None = None
        """Called last by :meth:`save` with the new checkpoint."""
        """Called first by :meth:`save` (labels the transitions still waiting for rewards)."""
        self._bar: Any = None
        self._shown = 0
        self._next_note = 0.0

    def _on_training_start(self) -> None:
        every = self.config.checkpoint_every
        self._next_checkpoint = (self.num_timesteps // every + 1) * every
        self._next_row = (
            self.num_timesteps // self.config.metrics_every + 1
        ) * self.config.metrics_every
        self._shown = self.num_timesteps
        self._noted = (self.num_timesteps, time.monotonic())
        self._started = self._noted
        self._eta_told = False
        if self.progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.config.steps,
                initial=self.num_timesteps,
                unit="step",
                unit_scale=True,
                dynamic_ncols=True,
                smoothing=0.05,
                mininterval=0.5,
                file=sys.stderr,
            )

    def train_reward(self) -> float | None:
        if self.clip_env is None:
            return recent_gt_return(self.model)
        return self.clip_env.stats.episode_mean

    def _on_step(self) -> bool:
        if self.success is not None:
            self.success.on_step(self.locals["infos"], self.locals["dones"])
        if self._bar is not None and self.num_timesteps - self._shown >= 256:
            self._bar.update(self.num_timesteps - self._shown)
            self._shown = self.num_timesteps
        return True

    def _on_rollout_end(self) -> None:
        gt = recent_gt_return(self.model)
        if self.clip_env is not None:
            step_mean = self.clip_env.stats.pop_step_mean()
            if step_mean is not None:
                self.logger.record("clip/step_reward_mean", step_mean)
            if self.clip_env.stats.episode_mean is not None:
                self.logger.record("clip/ep_reward_mean", self.clip_env.stats.episode_mean)
            self.logger.record("clip/batch_size", reward_batch_size(self.clip_env))
        if self.num_timesteps >= self._next_row:
            self.log_metrics()
            every = self.config.metrics_every
            self._next_row = (self.num_timesteps // every + 1) * every
        self._show(gt)
        if not self._eta_told:
            self._eta_told = True
            self.report(self._eta_message())
        if self.num_timesteps >= self._next_checkpoint:
            self.save("interval")
            every = self.config.checkpoint_every
            self._next_checkpoint = (self.num_timesteps // every + 1) * every

    def _show(self, gt: float | None) -> None:
        parts = {}
        if self.clip_env is not None and self.clip_env.stats.episode_mean is not None:
            parts["clip/ep"] = f"{self.clip_env.stats.episode_mean:.4g}"
        if gt is not None:
            parts["gt/ep"] = f"{gt:.4g}"
        if self.fidelity is not None and self.fidelity.epic is not None:
            parts["fidelity/epic"] = f"{self.fidelity.epic:.2f}"
        if self._bar is not None:
            self._bar.update(self.num_timesteps - self._shown)
            self._shown = self.num_timesteps
            self._bar.set_postfix(parts, refresh=False)
        elif time.monotonic() >= self._next_note:
            now = time.monotonic()
            rate = (self.num_timesteps - self._noted[0]) / max(now - self._noted[1], 1e-9)
            self._next_note, self._noted = now + 30.0, (self.num_timesteps, now)
            self.report(
                f"step {self.num_timesteps}/{self.config.steps} ({rate:.0f} steps/s) "
                + " ".join(f"{k} {v}" for k, v in parts.items())
            )

    def log_metrics(self) -> None:
        """Measure the reward's fidelity (if on) and write a row of ``metrics.csv`` now (in place of
        a row of the same step) and the fidelity figures to TensorBoard."""
        step = int(self.model.num_timesteps)
        rate = self.success.rate() if self.success is not None else None
        row: dict[str, object] = {
            "step": step,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "gt_return": recent_gt_return(self.model),
            "train_return": self.train_reward(),
            "success_rate": rate,
        }
        if rate is not None:
            self.logger.record("rollout/success_rate_rule", rate)
        if self.visited is not None:
            self.fidelity = self.visited.measure() or self.fidelity
            if self.fidelity is not None:
                columns = self.fidelity.columns()
                row.update(columns)
                for name, value in columns.items():
                    if value is not None:
                        self.logger.record(f"fidelity/{name.removeprefix('fidelity_')}", value)
        if self._last_row == step:
            self.metrics.truncate_after(step - 1)
        self.metrics.append(row)
        self._last_row = step

    def _eta_message(self) -> str:
        """After the first rollout: the speed, the time the run will take, and what to do when
        that is days."""
        steps, start = self._started
        rate = (self.num_timesteps - steps) / max(time.monotonic() - start, 1e-9)
        left = max(self.config.steps - self.num_timesteps, 0) / max(rate, 1e-9)
        message = f"{rate:.0f} steps/s over the first rollout: about {duration(left)} for the {self.config.steps} steps"
        starts = int(self.config.algo_setting("learning_starts") or 0)
        if self.num_timesteps < starts:
            message += f" (gradient steps start at step {starts}, so expect it to be slower)"
        if left > 86400:
            message += (
                "; that is days: train on a GPU (--device cuda), use more --envs, fewer --steps, "
                "or --reward ground-truth to check the set-up first"
            )
        return message + "."

    def save(self, reason: str) -> CheckpointInfo:
        """Save a checkpoint (and the resume state) now."""
        pending = self.clip_env.n_pending if self.clip_env is not None else 0
        if reason == "interrupt" and pending and self.before_save is not None:
            frames = pending * self.config.n_envs
            self.report(
                f"Scoring the {frames} frames still waiting for CLIP rewards, then saving "
                "(Ctrl-C again to abort without saving)..."
            )
        if self.before_save is not None:
            self.before_save()
        step = int(self.model.num_timesteps)
        if self._last_row != step:  # every checkpoint is a point of the learning curves
            self.log_metrics()
        if self.visited is not None:
            self.visited.write_sheet(
                self.store.run_dir / SHEETS_DIR / f"step_{step:09d}.png",
                f"{self.config.task}, step {step}: {self.config.describe_reward()}",
            )
        info = CheckpointInfo(
            step=step,
            path=f"{CHECKPOINT_DIR}/step_{step:09d}.zip",
            train_reward=self.train_reward(),
            gt_return=recent_gt_return(self.model),
            reason=reason,
            time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        self.store.save_checkpoint(self.model, info)
        self.store.save_resume_state(self.model, with_buffer=self.config.save_replay_buffer)
        self.checkpoints.append(info)
        if self.after_save is not None:
            self.after_save(info)
        if self._bar is None:
            self.report(
                f"checkpoint {info.path} (training reward {significant(info.train_reward)}, ground-truth return {significant(info.gt_return)})"
            )
        return info

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.update(self.num_timesteps - self._shown)
            self._bar.close()
            self._bar = None


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``2.1 days``: a time span for people."""
    for size, unit in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}" if size > 60 else f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


@contextlib.contextmanager
def stop_on_sigint(event: threading.Event, report: Report) -> Iterator[None]:
    """While inside, the first Ctrl-C or SIGTERM sets ``event`` (training stops and saves); a
    second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in INTERRUPT_SIGNALS}

    def handler(signum: int, frame: Any) -> None:
        event.set()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        report(f"{name}: stopping after this step and saving a checkpoint (Ctrl-C again to abort).")
        for sig in INTERRUPT_SIGNALS:
            signal.signal(sig, signal.default_int_handler)

    for sig in INTERRUPT_SIGNALS:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class RunLock:
    """The lock of a run folder, held while a process trains it: two processes never train one
    run at once, and ``evalkit runs`` knows a run is training (not a guess from file times).

    Entering takes the lock of an existing run; :meth:`take` takes it once a new run's folder
    exists. Leaving releases it; a killed process releases it with its file descriptors.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._held = contextlib.ExitStack()
        self._taken = False

    def take(self) -> None:
        """Hold the lock now (nothing if already held).

        :raises EvalkitError: another process is training the run.
        """
        if self._taken:
            return
        try:
            self._held.enter_context(file_lock(self.run_dir / LOCK_FILE, wait=False))
        except BlockingIOError:
            raise EvalkitError(
                f"{self.run_dir} is being trained by another process right now; wait for it to "
                "finish, or stop it (Ctrl-C) before resuming it here."
            ) from None
        except OSError as exc:
            raise EvalkitError(
                f"Cannot lock {self.run_dir / LOCK_FILE} ({exc.strerror or exc}); train into a "
                "folder you can write to."
            ) from None
        self._taken = True

    def __enter__(self) -> "RunLock":
        if (self.run_dir / CONFIG_FILE).is_file() or (self.run_dir / LOCK_FILE).is_file():
            self.take()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._held.close()
        self._taken = False


def run_is_training(run_dir: Path) -> bool | None:
    """Whether a process holds the run's lock now (``None``: the run has no lock file, as runs
    made before evalkit kept one)."""
    path = Path(run_dir) / LOCK_FILE
    if not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)  # read-only: a runs folder of another user works too
    except OSError:
        return None
    try:
        with file_lock(fd, shared=True, wait=False):
            return False
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)


# -- the run -------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`train` did.

    :param run_dir: the run folder.
    :param config: the resolved config.
    :param start_step: environment steps already trained before this call (``> 0`` on resume).
    :param steps: environment steps trained in total after this call.
    :param learn_seconds: wall time of ``learn()`` alone (no set-up, no final save).
    :param interrupted: whether Ctrl-C (or ``stop``) ended it early.
    :param checkpoints: checkpoints saved by this call.
    :param train_reward: recent mean episode return under the training reward.
    :param gt_return: recent mean episode ground-truth return.
    :param reward_is_random: the CLIP model had random weights.
    :param reward_batch_size: CLIP batch size at the end (smaller than asked if memory ran out).
    :param reward_calls: calls of the CLIP reward function.
    :param reward_seconds: time spent in the CLIP reward function (embedding and rewards).
    :param success_rate: share of the recent training episodes that met the family's success
        criterion on their rule labels (``None`` without a goal rule or before one ended).
    :param fidelity: the reward's fidelity on the frames visited last (``None``: ground truth,
        no goal rule, or fidelity off).
    :param fidelity_summary: that in a sentence, beside the reward's saved offline EPIC when
        there is one (``None`` without an EPIC figure).
    :param fidelity_seconds: time spent measuring fidelity inside ``learn()`` (``None``: off).
    :param model: the trained model (its environment closed).
    """

    run_dir: Path
    config: TrainConfig
    start_step: int
    steps: int
    learn_seconds: float
    interrupted: bool
    checkpoints: list[CheckpointInfo] = field(default_factory=list)
    train_reward: float | None = None
    gt_return: float | None = None
    reward_is_random: bool = False
    reward_batch_size: int | None = None
    reward_calls: int | None = None
    reward_seconds: float | None = None
    success_rate: float | None = None
    fidelity: Fidelity | None = None
    fidelity_summary: str | None = None
    fidelity_seconds: float | None = None
    model: BaseAlgorithm | None = field(default=None, repr=False)

    @property
    def steps_per_second(self) -> float:
        return (
            (self.steps - self.start_step) / self.learn_seconds
            if self.learn_seconds > 0
            else float("nan")
        )


def prepare_run(
    config: TrainConfig, run_dir: Path, resume: bool
) -> tuple[TrainConfig, Path | None]:
    """The config to train with and the resume state to load, after checking the run folder.

    :param config: the asked config: on resume, the settings given explicitly (compared with
        the saved ones); otherwise the whole config.
    :raises EvalkitError: a fresh run into a folder that exists, or a resume of a missing or
        differently configured run.
    """
    run_dir = Path(run_dir)
    if not resume:
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise EvalkitError(
                f"{run_dir} already exists; pass --resume to continue that run, or choose another --out "
                "(evalkit never overwrites a run)."
            )
        return config.resolved(), None
    if not (run_dir / CONFIG_FILE).is_file():
        raise EvalkitError(f"There is no run to resume at {run_dir}; start it without --resume.")
    saved = read_run_config(run_dir)
    asked = {
        k: v
        for k, v in config.to_dict().items()
        if v != getattr(TrainConfig(task=""), k) or k == "task"
    }
    if not config.task:
        asked.pop("task")
    return saved.resume_with(asked, run_dir), RunStore(run_dir).resume_dir()


def _check_render_size(config: TrainConfig, reward_fn: BatchRewardFn) -> None:
    """Refuse frames smaller than the CLIP model's input before anything is written."""
    embedder = getattr(reward_fn, "embedder", None)
    size = getattr(getattr(embedder, "loaded", None), "preprocess", {}).get("size")
    if size and config.render_size < max(size):
        raise EvalkitError(
            f"--render-size {config.render_size} is smaller than the {size[0]}×{size[1]} input of {config.model}; "
            f"pass --render-size {max(size)} or more (the paper renders 224)."
        )


def _warn_if_learning_never_starts(config: TrainConfig, start_step: int, report: Report) -> None:
    """Say so when ``learning_starts`` is at or past the run's last step (no gradient step would run)."""
    starts = config.algo_setting("learning_starts") or 0
    if int(starts) >= config.steps:
        report(
            f"WARNING: {config.algo.upper()} learns only after {int(starts)} steps (learning_starts) but the run has "
            f"{config.steps}: no gradient step will run and the policy stays random. Train longer, or set "
            "algo_kwargs.learning_starts in a --config file."
        )


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    reward_fn: BatchRewardFn | None = None,
    progress: bool = False,
    report: Report = lambda message: None,
    stop: threading.Event | None = None,
    on_checkpoint: Callable[[CheckpointInfo], Any] | None = None,
) -> TrainResult:
    """Train an agent as ``config`` says, into ``run_dir``; Ctrl-C stops it with a checkpoint.

    :param config: the run's config (on ``resume``, only the settings to check or change).
    :param run_dir: the run folder (must not exist unless ``resume``).
    :param resume: continue the run in ``run_dir`` from its newest checkpoint and replay buffer.
    :param reward_fn: the reward of a batch of frames; default the config's CLIP model.
    :param progress: show a progress bar on standard error.
    :param report: receives one-line messages (warnings, checkpoints, the random-weights notice).
    :param stop: set it (from another thread) to stop training as Ctrl-C does.
    :param on_checkpoint: called after every checkpoint is saved (e.g. to redraw the learning
        curves).
    :raises EvalkitError: among others, when another process is training the run.
    """
    run_dir = Path(run_dir)
    with RunLock(run_dir) as lock:
        return _train(
            config, run_dir, lock, resume, reward_fn, progress, report, stop, on_checkpoint
        )


def _train(
    config: TrainConfig,
    run_dir: Path,
    lock: RunLock,
    resume: bool,
    reward_fn: BatchRewardFn | None,
    progress: bool,
    report: Report,
    stop: threading.Event | None,
    on_checkpoint: Callable[[CheckpointInfo], Any] | None = None,
) -> TrainResult:
    """:func:`train`, holding the run's lock."""
    config, resume_from = prepare_run(config, run_dir, resume)
    points = resume_points(run_dir, resume_from) if resume else []
    start_step = points[0].step if points else 0
    if resume and not points:
        report(f"{run_dir} has no checkpoint yet; starting it from step 0.")
    if start_step >= config.steps:
        raise EvalkitError(
            f"{run_dir} is already trained to step {start_step}, and asks for {config.steps} steps: nothing to do; "
            f"pass a larger --steps to train it further."
        )
    _warn_if_learning_never_starts(config, start_step, report)
    if config.torch_threads is not None:
        import torch

        torch.set_num_threads(config.torch_threads)
    if config.model_reward and reward_fn is None:
        reward_fn = load_clip_reward(config, on_message=report)
    if reward_fn is not None:
        _check_render_size(config, reward_fn)
    random_weights = config.reward_is_random or bool(getattr(reward_fn, "random_weights", False))
    if random_weights:
        report(
            "WARNING: the CLIP model has random weights: the reward is random noise and the agent "
            "cannot learn the task; this run only tests the machinery."
        )

    task = get_task(config.task)
    visited = None
    if config.model_reward and config.fidelity:
        if task.rule is None:
            report(
                f"Reward fidelity is off: task {task.name} has no goal rule to compare the reward "
                "with on the visited states."
            )
        else:
            visited = VisitedFrames(task, config.n_envs)
    success = (
        EpisodeSuccess(task, config.n_envs)
        if task.rule is not None and task.env.success is not None
        else None
    )
    env, clip_env = make_training_env(
        config, reward_fn, seed=config.seed + start_step, observer=visited
    )
    try:
        if points:
            model, start_step = _load_resume_point(points, config, env, run_dir, report)
        else:
            model = build_model(config, env, run_dir)
        created = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
        lock.take()
        write_run_config(run_dir, config, reward_is_random=random_weights)
        MetricsLog(run_dir).truncate_after(start_step)  # rows past the resumed step were not kept

        report(
            f"TensorBoard logs: {run_dir / TB_DIR} (view with: tensorboard --logdir {shlex.quote(str(run_dir / TB_DIR))})"
        )
        store = RunStore(run_dir)
        progress_cb = RunProgress(store, config, clip_env, progress, report, visited, success)
        progress_cb.after_save = on_checkpoint
        callbacks: list[BaseCallback] = []
        if clip_env is not None and clip_env.defer:
            relabel = RelabelReplayBuffer(clip_env, wait_for_batch=config.labelling == "batch")
            callbacks.append(relabel)
            progress_cb.before_save = relabel.flush  # a saved replay buffer holds every reward
        stop = stop or threading.Event()
        callbacks += [progress_cb, StopOnEvent(stop)]

        remaining = max(0, config.steps - start_step)
        t0 = time.perf_counter()
        with stop_on_sigint(stop, report):
            try:
                model.learn(
                    remaining,
                    callback=CallbackList(callbacks),
                    reset_num_timesteps=not points,
                    tb_log_name="train",
                    log_interval=4,
                )
            except KeyboardInterrupt:  # a second Ctrl-C: abort without saving
                if created and not read_checkpoints(run_dir):
                    shutil.rmtree(
                        run_dir, ignore_errors=True
                    )  # nothing to resume: as if never started
                raise
            learn_seconds = time.perf_counter() - t0
            fidelity_seconds = visited.seconds if visited is not None else None
            interrupted = stop.is_set()
            progress_cb.log_metrics()  # every frame is scored now: the run's last figures
            saved = progress_cb.checkpoints[-1].step if progress_cb.checkpoints else start_step
            if model.num_timesteps > saved or (interrupted and not progress_cb.checkpoints):
                progress_cb.save("interrupt" if interrupted else "end")
    finally:
        env.close()
    return TrainResult(
        run_dir=run_dir,
        config=config,
        start_step=start_step,
        steps=int(model.num_timesteps),
        learn_seconds=learn_seconds,
        interrupted=interrupted,
        checkpoints=progress_cb.checkpoints,
        train_reward=progress_cb.train_reward(),
        gt_return=recent_gt_return(model),
        reward_is_random=random_weights,
        reward_batch_size=reward_batch_size(clip_env) if clip_env else None,
        reward_calls=clip_env.scorer.calls if clip_env else None,
        reward_seconds=clip_env.scorer.seconds if clip_env else None,
        success_rate=success.rate() if success is not None else None,
        fidelity=progress_cb.fidelity,
        fidelity_summary=_fidelity_summary(config, progress_cb.fidelity),
        fidelity_seconds=fidelity_seconds,
        model=model,
    )


def _fidelity_summary(config: TrainConfig, fidelity: Fidelity | None) -> str | None:
    """The fidelity sentence of the run's summary, with the reward's offline EPIC if saved."""
    if fidelity is None:
        return None
    offline = None
    if config.reward_kind.text_prompts:  # saved text-prompt results only
        offline = offline_epic(get_task(config.task), config.model, config.pretrained, config.alpha)
    return fidelity_sentence(fidelity, offline)
