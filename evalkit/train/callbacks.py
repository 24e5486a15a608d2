"""The stable-baselines3 callbacks of a training run: checkpoints, metrics, progress."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

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
