"""The stable-baselines3 callbacks of a training run, composed with ``CallbackList``.

- :class:`MetricsLogger` — the CLIP reward in TensorBoard, the success of training episodes, and a
  row of ``metrics.csv`` (with the reward's fidelity) every ``metrics_every`` steps;
- :class:`ProgressDisplay` — a progress bar (or a line every 30 s), and the run's ETA once;
- :class:`CheckpointSaver` — a checkpoint and the resume state every ``checkpoint_every`` steps;
  after each it steps its child callback, as stable-baselines3's ``EventCallback`` does:
  :class:`FidelitySheets` (the contact sheet of the frames the reward misjudges),
  :class:`RedrawLearningCurves`, or any function given as :class:`OnCheckpoint`.

Everything but the success counts happens at the end of a rollout, in the list's order: metrics,
progress, checkpoint.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, EventCallback

from evalkit.errors import EvalkitError
from evalkit.text import significant
from evalkit.train.checkpoints import CHECKPOINT_DIR, CheckpointInfo, Report, RunStore
from evalkit.train.clip_reward import ClipRewardVecEnv
from evalkit.train.config import TrainConfig
from evalkit.train.fidelity import SHEETS_DIR, EpisodeSuccess, Fidelity, VisitedFrames
from evalkit.train.metrics_log import MetricsLog


def reward_batch_size(clip_env: ClipRewardVecEnv) -> int:
    """Frames per CLIP forward pass now: the embedder's (it may have backed off) or the wrapper's."""
    embedder = getattr(clip_env.scorer.reward_fn, "embedder", None)
    return int(getattr(embedder, "batch_size", clip_env.scorer.batch_size))


def recent_gt_return(model: BaseAlgorithm) -> float | None:
    """Mean ground-truth return of the recent episodes (from the Monitor wrappers)."""
    episodes = getattr(model, "ep_info_buffer", None)
    return float(np.mean([e["r"] for e in episodes])) if episodes else None


def next_multiple(step: int, every: int) -> int:
    """The first multiple of ``every`` after ``step``."""
    return (step // every + 1) * every


class MetricsLogger(BaseCallback):
    """The CLIP reward's statistics in TensorBoard, the success of training episodes, and the rows
    of ``metrics.csv`` with the reward's fidelity (written at the first rollout end past each
    multiple of ``metrics_every``).

    :param run_dir: the run folder.
    :param config: the run's resolved config.
    :param clip_env: the CLIP reward wrapper (``None`` for ground truth).
    :param visited: the visited frames the reward's fidelity is measured on (``None``: off).
    :param success: the success of training episodes (``None``: the task has no goal rule or
        its family no success criterion).
    """

    def __init__(
        self,
        run_dir: Path,
        config: TrainConfig,
        clip_env: ClipRewardVecEnv | None,
        visited: VisitedFrames | None = None,
        success: EpisodeSuccess | None = None,
    ) -> None:
        super().__init__()
        self.config, self.clip_env = config, clip_env
        self.visited, self.success = visited, success
        self.metrics = MetricsLog(run_dir)
        self.fidelity: Fidelity | None = None
        """The newest fidelity figures (``None`` before the first measurement)."""
        self._last_row: int | None = None

    def _on_training_start(self) -> None:
        self._next_row = next_multiple(self.num_timesteps, self.config.metrics_every)

    def train_reward(self) -> float | None:
        """Mean return of the recent episodes under the reward the agent trains on."""
        if self.clip_env is None:
            return recent_gt_return(self.model)
        return self.clip_env.stats.episode_mean

    def _on_step(self) -> bool:
        if self.success is not None:
            self.success.on_step(self.locals["infos"], self.locals["dones"])
        return True

    def _on_rollout_end(self) -> None:
        if self.clip_env is not None:
            step_mean = self.clip_env.stats.pop_step_mean()
            if step_mean is not None:
                self.logger.record("clip/step_reward_mean", step_mean)
            if self.clip_env.stats.episode_mean is not None:
                self.logger.record("clip/ep_reward_mean", self.clip_env.stats.episode_mean)
            self.logger.record("clip/batch_size", reward_batch_size(self.clip_env))
        if self.num_timesteps >= self._next_row:
            self.log_metrics()
            self._next_row = next_multiple(self.num_timesteps, self.config.metrics_every)

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

    def log_step(self) -> None:
        """Write the row of the current step unless it is written already (every checkpoint is a
        point of the learning curves)."""
        if self._last_row != int(self.model.num_timesteps):
            self.log_metrics()


class ProgressDisplay(BaseCallback):
    """A progress bar (steps/s, mean rewards, the reward's EPIC) on standard error, or without one
    a line every 30 s; after the first rollout, the time the run will take.

    :param config: the run's resolved config.
    :param metrics: the run's metrics (the rewards and the fidelity shown).
    :param bar: show a progress bar.
    :param report: where one-line messages go.
    """

    def __init__(
        self, config: TrainConfig, metrics: MetricsLogger, bar: bool, report: Report
    ) -> None:
        super().__init__()
        self.config, self.metrics, self.bar, self.report = config, metrics, bar, report
        self._bar: Any = None
        self._shown = 0
        self._next_note = 0.0

    def note(self, message: str) -> None:
        """Report ``message`` unless a progress bar is showing (it would break the bar)."""
        if self._bar is None:
            self.report(message)

    def _on_training_start(self) -> None:
        self._shown = self.num_timesteps
        self._noted = (self.num_timesteps, time.monotonic())
        self._started = self._noted
        self._eta_told = False
        if self.bar:
            from evalkit.progress import progress_bar

            self._bar = progress_bar(
                self.config.steps,
                "train",
                "step",
                initial=self.num_timesteps,
                unit_scale=True,
                smoothing=0.05,
                mininterval=0.5,
            )

    def _on_step(self) -> bool:
        if self._bar is not None and self.num_timesteps - self._shown >= 256:
            self._bar.update(self.num_timesteps - self._shown)
            self._shown = self.num_timesteps
        return True

    def _on_rollout_end(self) -> None:
        self._show(recent_gt_return(self.model))
        if not self._eta_told:
            self._eta_told = True
            self.report(self._eta_message())

    def _show(self, gt: float | None) -> None:
        parts = {}
        clip_env, fidelity = self.metrics.clip_env, self.metrics.fidelity
        if clip_env is not None and clip_env.stats.episode_mean is not None:
            parts["clip/ep"] = f"{clip_env.stats.episode_mean:.4g}"
        if gt is not None:
            parts["gt/ep"] = f"{gt:.4g}"
        if fidelity is not None and fidelity.epic is not None:
            parts["fidelity/epic"] = f"{fidelity.epic:.2f}"
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

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.update(self.num_timesteps - self._shown)
            self._bar.close()
            self._bar = None


class CheckpointSaver(EventCallback):
    """A checkpoint and the resume state every ``checkpoint_every`` steps (at a rollout end), and
    on :meth:`save`; after each, the child callback steps with :attr:`latest` set.

    :param store: the run folder.
    :param config: the run's resolved config.
    :param metrics: the run's metrics (every checkpoint gets its row; the training reward).
    :param clip_env: the CLIP reward wrapper (``None`` for ground truth).
    :param report: where one-line messages go.
    :param note: where the checkpoint's line goes (the progress display's, which is quiet while
        its bar shows).
    :param before_save: called first by :meth:`save` (labels the transitions still waiting for
        rewards, so that a saved replay buffer holds every reward).
    :param on_save: the child callback, stepped after every checkpoint.
    """

    def __init__(
        self,
        store: RunStore,
        config: TrainConfig,
        metrics: MetricsLogger,
        clip_env: ClipRewardVecEnv | None,
        report: Report,
        note: Report,
        before_save: Callable[[], Any] | None = None,
        on_save: BaseCallback | None = None,
    ) -> None:
        super().__init__(on_save)
        self.store, self.config, self.metrics, self.clip_env = store, config, metrics, clip_env
        self.report, self.note, self.before_save = report, note, before_save
        self.checkpoints: list[CheckpointInfo] = []
        """The checkpoints saved, oldest first."""
        self.latest: CheckpointInfo | None = None
        """The newest checkpoint (what the child callback sees)."""

    def _on_training_start(self) -> None:
        super()._on_training_start()
        self._next_checkpoint = next_multiple(self.num_timesteps, self.config.checkpoint_every)

    def _on_rollout_end(self) -> None:
        if self.num_timesteps >= self._next_checkpoint:
            self.save("interval")
            self._next_checkpoint = next_multiple(self.num_timesteps, self.config.checkpoint_every)

    def save(self, reason: str) -> CheckpointInfo:
        """Save a checkpoint (and the resume state) now.

        :param reason: ``interval``, ``end`` or ``interrupt``.
        """
        pending = self.clip_env.n_pending if self.clip_env is not None else 0
        if reason == "interrupt" and pending and self.before_save is not None:
            frames = pending * self.config.n_envs
            self.report(
                f"Scoring the {frames} frames still waiting for CLIP rewards, then saving "
                "(Ctrl-C again to abort without saving)..."
            )
        if self.before_save is not None:
            self.before_save()
        self.metrics.log_step()
        step = int(self.model.num_timesteps)
        info = CheckpointInfo(
            step=step,
            path=f"{CHECKPOINT_DIR}/step_{step:09d}.zip",
            train_reward=self.metrics.train_reward(),
            gt_return=recent_gt_return(self.model),
            reason=reason,
            time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        self.store.save_checkpoint(self.model, info)
        self.store.save_resume_state(self.model, with_buffer=self.config.save_replay_buffer)
        self.checkpoints.append(info)
        self.latest = info
        self._on_event()
        self.note(
            f"checkpoint {info.path} (training reward {significant(info.train_reward)}, ground-truth return {significant(info.gt_return)})"
        )
        return info


class FidelitySheets(BaseCallback):
    """At every checkpoint (as :class:`CheckpointSaver`'s child), the contact sheet of the visited
    non-goal frames the reward likes most and the goal frames it likes least.

    :param visited: the visited frames of the run.
    :param config: the run's resolved config (the sheet's title).
    :param run_dir: the run folder (sheets go into its ``fidelity/``).
    """

    def __init__(self, visited: VisitedFrames, config: TrainConfig, run_dir: Path) -> None:
        super().__init__()
        self.visited, self.config, self.run_dir = visited, config, Path(run_dir)

    def _on_step(self) -> bool:
        step = self.parent.latest.step
        self.visited.write_sheet(
            self.run_dir / SHEETS_DIR / f"step_{step:09d}.png",
            f"{self.config.task}, step {step}: {self.config.describe_reward()}",
        )
        return True


class RedrawLearningCurves(BaseCallback):
    """At every checkpoint, redraw the run's learning curves, quietly (a run with nothing logged
    yet draws nothing; a figure that fails is a warning, never the end of training).

    :param run_dir: the run folder.
    :param warn: where the warning goes.
    """

    def __init__(self, run_dir: Path, warn: Report) -> None:
        super().__init__()
        self.run_dir, self.warn = Path(run_dir), warn

    def __call__(self, _checkpoint: CheckpointInfo | None = None) -> None:
        """Redraw now (the callback is a function of the checkpoint too)."""
        from evalkit.train.learning_curves import write_learning_curves  # imports the runner

        try:
            write_learning_curves(self.run_dir)
        except EvalkitError:
            pass  # nothing logged yet
        except Exception as exc:  # noqa: BLE001 - a figure never stops training
            self.warn(f"warning: learning curves not redrawn ({exc})")

    def _on_step(self) -> bool:
        self()
        return True


class OnCheckpoint(BaseCallback):
    """Call ``function`` with every new checkpoint (as :class:`CheckpointSaver`'s child).

    :param function: receives the :class:`CheckpointInfo`.
    """

    def __init__(self, function: Callable[[CheckpointInfo], Any]) -> None:
        super().__init__()
        self.function = function

    def _on_step(self) -> bool:
        self.function(self.parent.latest)
        return True


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``2.1 days``: a time span for people."""
    for size, unit in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}" if size > 60 else f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
