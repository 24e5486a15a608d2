"""Train a stable-baselines3 agent with the CLIP reward (or the ground truth): :func:`train`.

One run is one folder::

    runs/<name>/
      config.json         the whole resolved TrainConfig, the torch device it trained on,
                          library versions, seed, command line
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

Read top to bottom: :func:`train` takes the run's lock (:mod:`evalkit.train.run_lock`), builds
the vector environment and the model (:mod:`evalkit.train.env_factory`) or loads the newest
checkpoint (:mod:`evalkit.train.checkpoints`), composes the run's callbacks
(:mod:`evalkit.train.callbacks`) and learns until the end or Ctrl-C
(:mod:`evalkit.train.interrupts`). Every write is atomic (temporary file, rename), so an
interrupted or killed run leaves loadable checkpoints.
"""

from __future__ import annotations

import shlex
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from evalkit.errors import EvalkitError
from evalkit.tasks import get_task
from evalkit.train.callbacks import (
    CheckpointSaver,
    FidelitySheets,
    MetricsLogger,
    OnCheckpoint,
    ProgressDisplay,
    duration,
    recent_gt_return,
    reward_batch_size,
)
from evalkit.train.checkpoints import (
    CHECKPOINT_DIR,
    INDEX_FILE,
    RESUME_DIR,
    CheckpointInfo,
    Report,
    RunStore,
    load_model,
    load_resume_point,
    read_checkpoints,
    resume_points,
)
from evalkit.train.clip_reward import (
    BatchRewardFn,
    ClipRewardVecEnv,
    RelabelReplayBuffer,
    load_clip_reward,
)
from evalkit.train.config import CONFIG_FILE, TrainConfig, read_run_config, write_run_config
from evalkit.train.env_factory import (
    TB_DIR,
    build_model,
    make_env,
    make_training_env,
    quiet_logger,
)
from evalkit.train.fidelity import (
    EpisodeSuccess,
    Fidelity,
    VisitedFrames,
    fidelity_sentence,
    offline_epic,
)
from evalkit.train.interrupts import StopOnEvent, stop_on_sigint
from evalkit.train.metrics_log import MetricsLog
from evalkit.train.reward_worker import available_cores, thread_split
from evalkit.train.run_lock import LOCK_FILE, RunLock, run_is_training

OnSave = Callable[[CheckpointInfo], Any] | BaseCallback
"""What :func:`train` calls after every checkpoint: a function of it, or a callback."""

__all__ = [  # the names other modules import from here (each defined in its own module)
    "CHECKPOINT_DIR",
    "INDEX_FILE",
    "LOCK_FILE",
    "RESUME_DIR",
    "TB_DIR",
    "CheckpointInfo",
    "RunLock",
    "TrainResult",
    "duration",
    "load_model",
    "make_env",
    "make_training_env",
    "prepare_run",
    "quiet_logger",
    "read_checkpoints",
    "run_is_training",
    "train",
]

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
    on_checkpoint: OnSave | None = None,
) -> TrainResult:
    """Train an agent as ``config`` says, into ``run_dir``; Ctrl-C stops it with a checkpoint.

    :param config: the run's config (on ``resume``, only the settings to check or change).
    :param run_dir: the run folder (must not exist unless ``resume``).
    :param resume: continue the run in ``run_dir`` from its newest checkpoint and replay buffer.
    :param reward_fn: the reward of a batch of frames; default the config's CLIP model.
    :param progress: show a progress bar on standard error.
    :param report: receives one-line messages (warnings, checkpoints, the random-weights notice).
    :param stop: set it (from another thread) to stop training as Ctrl-C does.
    :param on_checkpoint: called after every checkpoint is saved: a function of the
        :class:`CheckpointInfo`, or a callback stepped then (e.g.
        :class:`~evalkit.train.callbacks.RedrawLearningCurves`).
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
    on_checkpoint: OnSave | None = None,
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
    learner_threads, reward_threads = _torch_threads(config)
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
        config,
        reward_fn,
        seed=config.seed + start_step,
        observer=visited,
        reward_threads=reward_threads,
    )
    restore_threads = _set_torch_threads(learner_threads, temporary=config.torch_threads is None)
    try:
        if points:
            model, start_step = load_resume_point(points, config, env, run_dir, report)
        else:
            model = build_model(config, env, run_dir)
        created = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
        lock.take()
        write_run_config(run_dir, config, reward_is_random=random_weights, device=str(model.device))
        MetricsLog(run_dir).truncate_after(start_step)  # rows past the resumed step were not kept

        report(
            f"TensorBoard logs: {run_dir / TB_DIR} (view with: tensorboard --logdir {shlex.quote(str(run_dir / TB_DIR))})"
        )
        stop = stop or threading.Event()
        callbacks, metrics, saver = _callbacks(
            config, run_dir, clip_env, visited, success, progress, report, on_checkpoint
        )
        callbacks.append(StopOnEvent(stop))

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
            metrics.log_metrics()  # every frame is scored now: the run's last figures
            saved = saver.checkpoints[-1].step if saver.checkpoints else start_step
            if model.num_timesteps > saved or (interrupted and not saver.checkpoints):
                saver.save("interrupt" if interrupted else "end")
    finally:
        env.close()
        if restore_threads is not None:
            _set_torch_threads(restore_threads)
    return TrainResult(
        run_dir=run_dir,
        config=config,
        start_step=start_step,
        steps=int(model.num_timesteps),
        learn_seconds=learn_seconds,
        interrupted=interrupted,
        checkpoints=saver.checkpoints,
        train_reward=metrics.train_reward(),
        gt_return=recent_gt_return(model),
        reward_is_random=random_weights,
        reward_batch_size=reward_batch_size(clip_env) if clip_env else None,
        reward_calls=clip_env.scorer.calls if clip_env else None,
        reward_seconds=clip_env.scorer.seconds if clip_env else None,
        success_rate=success.rate() if success is not None else None,
        fidelity=metrics.fidelity,
        fidelity_summary=_fidelity_summary(config, metrics.fidelity),
        fidelity_seconds=fidelity_seconds,
        model=model,
    )


def _torch_threads(config: TrainConfig) -> tuple[int | None, int | None]:
    """The torch threads of the learner (this thread) and of the reward worker; ``None``: torch's
    default. With a worker, the cores are split (:func:`~evalkit.train.reward_worker.thread_split`)."""
    if not config.uses_reward_worker:
        return config.torch_threads, None
    return thread_split(config.torch_threads, config.reward_threads, available_cores())


def _set_torch_threads(threads: int | None, temporary: bool = False) -> int | None:
    """Set this thread's torch threads; returns the count before if ``temporary`` (the worker's
    split, which holds for the run only; an asked ``--threads`` stays set, as it always did)."""
    if threads is None:
        return None
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    return before if temporary else None


def _callbacks(
    config: TrainConfig,
    run_dir: Path,
    clip_env: ClipRewardVecEnv | None,
    visited: VisitedFrames | None,
    success: EpisodeSuccess | None,
    progress: bool,
    report: Report,
    on_checkpoint: OnSave | None,
) -> tuple[list[BaseCallback], MetricsLogger, CheckpointSaver]:
    """The run's callbacks in the order they act at a rollout end (relabelling, metrics, progress,
    checkpoints), with the metrics and the checkpoint saver :func:`train` reads at the end."""
    callbacks: list[BaseCallback] = []
    relabel = None
    if clip_env is not None and clip_env.defer:
        relabel = RelabelReplayBuffer(clip_env, wait_for_batch=config.labelling == "batch")
        callbacks.append(relabel)
    metrics = MetricsLogger(run_dir, config, clip_env, visited, success)
    display = ProgressDisplay(config, metrics, progress, report)
    on_save: list[BaseCallback] = []
    if visited is not None:
        on_save.append(FidelitySheets(visited, config, run_dir))
    if isinstance(on_checkpoint, BaseCallback):
        on_save.append(on_checkpoint)
    elif on_checkpoint is not None:
        on_save.append(OnCheckpoint(on_checkpoint))
    saver = CheckpointSaver(
        RunStore(run_dir),
        config,
        metrics,
        clip_env,
        report=report,
        note=display.note,
        before_save=relabel.flush if relabel is not None else None,
        on_save=CallbackList(on_save) if on_save else None,
    )
    return [*callbacks, metrics, display, saver], metrics, saver


def _fidelity_summary(config: TrainConfig, fidelity: Fidelity | None) -> str | None:
    """The fidelity sentence of the run's summary, with the reward's offline EPIC if saved."""
    if fidelity is None:
        return None
    offline = None
    if config.reward_kind.text_prompts:  # saved text-prompt results only
        offline = offline_epic(get_task(config.task), config.model, config.pretrained, config.alpha)
    return fidelity_sentence(fidelity, offline)
