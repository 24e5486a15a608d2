"""Evaluate a trained policy: :func:`evaluate` rolls it out, scores it, films it, stores the rollouts.

By default the checkpoint with the highest training reward is evaluated, as in the paper
("we always evaluate the checkpoint with the highest training reward"). The policy acts
deterministically for ``episodes`` episodes in a fresh environment (its own seed). Reported:

- the ground-truth return of every episode (the environment's reward);
- success per episode from the task's goal rule on the physical state of every step, judged
  as its family's :attr:`~evalkit.envs.family.Family.success` says (CartPole: upright throughout; MountainCar: reaches the flag;
  humanoid: in the goal state in at least 50 % of the steps, the paper's human criterion);
- the return per episode under the reward the run trained on (CLIP, a head), and that reward's
  metrics on the rollouts against the rule labels (:mod:`evalkit.train.rollout_metrics`: goal
  EPIC, AUC, ERC across episodes...); a ground-truth run has neither.

The frames and states (with ``gt_reward`` and the training reward, ``train_reward``, of every
step) become a dataset (:func:`evalkit.data.store.collect_into`, generator
``rollouts``; inside the run unless named) that ``evalkit label rate RUN`` and
``evalkit epic --dataset PATH`` read; ``video=True`` also writes
one video per episode (MP4 if imageio's ffmpeg plugin is installed, else GIF).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data.store import collect_into, resolve_root
from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_write_text
from evalkit.pipeline.reward_windows import step_frames
from evalkit.tasks import get_task
from evalkit.train.clip_reward import BatchScorer, load_clip_reward
from evalkit.train.config import (
    TrainConfig,
    check_reward_unchanged,
    read_run_config,
    resolve_device,
)
from evalkit.train.fidelity import state_row as _state_row
from evalkit.train.rollout_metrics import REWARD_COLUMN, reward_metrics
from evalkit.train.runner import (
    CHECKPOINT_DIR,
    INDEX_FILE,
    CheckpointInfo,
    load_model,
    make_env,
    read_checkpoints,
)

EVAL_DIR = "eval"
ROLLOUTS_DIR = "rollouts"
REPORT_FILE = "report.json"


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    :param run_dir: the run evaluated.
    :param checkpoint: the checkpoint file.
    :param checkpoint_step: its training step (``None`` for a file outside the index).
    :param selection: how it was chosen (``best``, ``last`` or ``path``).
    :param gt_returns: ground-truth return of each episode.
    :param success: success of each episode (see :attr:`criterion`).
    :param goal_fraction: fraction of each episode's steps in the goal state (rule label).
    :param clip_returns: return of each episode under the training reward (CLIP or a head;
        ``None`` for ground-truth runs).
    :param reward_label: what that reward is, for people (``CLIP``, ``reward head``).
    :param reward_metrics: the training reward's panel metrics on the rollouts against the rule
        labels (:meth:`MetricResult.to_dict` / :meth:`MetricUnavailable.to_dict`; empty for
        ground-truth runs).
    :param criterion: the success criterion, in words.
    :param dataset: folder of the rollout dataset written (``None`` if none).
    :param videos: the video files written.
    :param reward_is_random: the run's CLIP model had random weights (its reward is noise).
    :param dataset_kept: the rollout dataset existed from the same evaluation and was kept.
    :param reward_options: the ``evalkit epic`` options of the run's reward (``""``: none).
    """

    run_dir: str
    task: str
    checkpoint: str
    checkpoint_step: int | None
    selection: str
    gt_returns: list[float]
    success: list[bool]
    goal_fraction: list[float]
    clip_returns: list[float] | None
    criterion: str
    dataset: str | None = None
    dataset_kept: bool = False
    videos: list[str] = field(default_factory=list)
    reward_is_random: bool = False
    seed: int = 0
    reward_label: str = "CLIP"
    reward_metrics: list[dict[str, Any]] = field(default_factory=list)
    reward_options: str = ""

    @property
    def family(self) -> str:
        return get_task(self.task).family

    @property
    def episodes(self) -> int:
        return len(self.gt_returns)

    @property
    def gt_return_mean(self) -> float:
        return float(np.mean(self.gt_returns))

    @property
    def gt_return_std(self) -> float:
        return float(np.std(self.gt_returns))

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.success))

    @property
    def clip_return_mean(self) -> float | None:
        return None if self.clip_returns is None else float(np.mean(self.clip_returns))

    def to_dict(self) -> dict[str, Any]:
        summary = {
            "episodes": self.episodes,
            "gt_return_mean": self.gt_return_mean,
            "gt_return_std": self.gt_return_std,
            "success_rate": self.success_rate,
            "clip_return_mean": self.clip_return_mean,
        }
        return {**summary, **asdict(self)}


def select_checkpoint(
    run_dir: Path, which: str = "best"
) -> tuple[Path, CheckpointInfo | None, str]:
    """The checkpoint file to evaluate: ``best`` (highest training reward), ``last`` or a path."""
    run_dir = Path(run_dir)
    if which not in ("best", "last"):
        path = Path(which)
        if not path.is_file() and (run_dir / which).is_file():
            path = run_dir / which
        if not path.is_file():
            raise EvalkitError(
                f"Checkpoint {which} does not exist; use best, last or a .zip file of the run."
            )
        match = [
            c for c in read_checkpoints(run_dir) if (run_dir / c.path).resolve() == path.resolve()
        ]
        return path, (match[0] if match else None), "path"
    listed = read_checkpoints(run_dir)
    index = [c for c in listed if (run_dir / c.path).is_file()]
    if not index:
        raise EvalkitError(_no_checkpoint(run_dir, listed))
    chosen = index[-1]
    if which == "best":
        scored = [c for c in index if c.train_reward is not None]
        if scored:  # the highest training reward; the later checkpoint on a tie
            chosen = max(reversed(scored), key=lambda c: c.train_reward)
    else:
        chosen = max(index, key=lambda c: c.step)
    return run_dir / chosen.path, chosen, which


def _no_checkpoint(run_dir: Path, listed: list[CheckpointInfo]) -> str:
    """Why a run has no checkpoint to evaluate: none saved, or its index and files disagree."""
    on_disk = sorted(p.name for p in (run_dir / CHECKPOINT_DIR).glob("step_*.zip"))
    if on_disk:
        return (
            f"{run_dir / INDEX_FILE} lists none of the {len(on_disk)} checkpoint files in "
            f"{run_dir / CHECKPOINT_DIR} (such as {on_disk[-1]}); delete {INDEX_FILE} to pick "
            "them by file name, or pass --checkpoint with one of them."
        )
    if listed:
        return (
            f"The {len(listed)} checkpoints {run_dir / INDEX_FILE} lists are gone (such as "
            f"{listed[-1].path}); train the run again ('evalkit train ... --out {run_dir} --resume')."
        )
    return f"{run_dir} has no checkpoint yet; train it first ('evalkit train ... --out {run_dir})."


@dataclass
class Rollouts:
    """Frames, states and rewards of deterministic policy rollouts."""

    frames: np.ndarray
    states: pd.DataFrame
    fps: int
    render: dict[str, Any]


def roll_out(model: Any, config: TrainConfig, episodes: int, seed: int) -> Rollouts:
    """Run ``episodes`` deterministic episodes; record the frame and state after every step."""
    env = make_env(
        config.env_id,
        render_mode="rgb_array",
        width=config.render_size,
        height=config.render_size,
        **dict(config.env_kwargs or {}),
    )
    frames, rows = [], []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            done, step = False, 0
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, _ = env.step(action)
                done = terminated or truncated
                frames.append(env.render())
                rows.append(
                    {
                        "episode": episode,
                        "step": step,
                        **_state_row(env),
                        "gt_reward": float(reward),
                    }
                )
                step += 1
        fps = int(env.metadata.get("render_fps", 30))
        render = (
            dict(env.unwrapped.render_settings())
            if hasattr(env.unwrapped, "render_settings")
            else {"width": config.render_size, "height": config.render_size}
        )
    finally:
        env.close()
    return Rollouts(np.stack(frames), pd.DataFrame(rows), fps, render)


def write_videos(rollouts: Rollouts, folder: Path) -> list[Path]:
    """One video per episode: MP4 when imageio can write it (imageio-ffmpeg), else GIF."""
    import imageio.v2 as imageio

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    episodes = rollouts.states["episode"].to_numpy()
    mp4 = _can_write_mp4()
    for episode in np.unique(episodes):
        frames = rollouts.frames[episodes == episode]
        if mp4:
            path = folder / f"episode_{episode:03d}.mp4"
            imageio.mimwrite(path, list(frames), fps=rollouts.fps, macro_block_size=1)
        else:
            path = folder / f"episode_{episode:03d}.gif"
            imageio.mimwrite(path, list(frames), duration=1000.0 / rollouts.fps, loop=0)
        paths.append(path)
    return paths


def _can_write_mp4() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def evaluate(
    run_dir: str | Path,
    checkpoint: str = "best",
    episodes: int = 10,
    *,
    video: bool = False,
    seed: int | None = None,
    dataset: str | None = None,
    datasets_root: str | Path | None = None,
    device: str = "auto",
    clip_reward: bool = True,
    overwrite: bool = False,
) -> EvalResult:
    """Roll out a run's policy, report success and returns, store a rollout dataset.

    :param run_dir: the run folder made by :func:`evalkit.train.runner.train`.
    :param checkpoint: ``best`` (highest training reward), ``last`` or a checkpoint file.
    :param episodes: number of episodes.
    :param video: also write one video per episode under ``<run>/eval/<checkpoint>/``.
    :param seed: seed of the first episode (default: the run's seed + 10 000, unseen in training).
    :param dataset: name of the rollout dataset (default ``<run>-<checkpoint>``); ``""`` for none.
    :param datasets_root: where to write it. By default (neither ``dataset`` nor this given) it
        goes inside the run, ``<run>/rollouts/<run>-<checkpoint>/``, where ``evalkit label rate RUN``
        finds it; with ``dataset`` it goes under the datasets root (``$EVALKIT_DATASETS`` or
        ``./datasets``) so that ``evalkit datasets`` lists it.
    :param device: torch device for the policy and the CLIP model.
    :param clip_reward: score the frames with the run's training reward too, and measure it
        (runs with a model reward only).
    :param overwrite: replace an existing dataset of that name made otherwise (its labels and
        embeddings with it). Without it such a dataset is an error; one made by the same
        evaluation (same run, checkpoint, episodes and seed) is kept as it is, labels included.
    """
    if episodes < 1:
        raise EvalkitError(f"--episodes must be at least 1, not {episodes}.")
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    if config.model_reward and clip_reward:  # a rewritten head's returns are not the run's own
        check_reward_unchanged(run_dir, config)
    task = get_task(config.task)
    path, info, selection = select_checkpoint(run_dir, checkpoint)
    model = load_model(path, config.algo, device=device)
    seed = config.seed + 10_000 if seed is None else seed
    rollouts = roll_out(model, config, episodes, seed)
    states = rollouts.states

    clip_returns = None
    if config.model_reward and clip_reward:
        reward_fn = step_frames(
            load_clip_reward(dataclasses.replace(config, device=resolve_device(device)))
        )  # a window or episode reward: the rollout's windows (episodes), as in training
        states[REWARD_COLUMN] = BatchScorer(reward_fn, config.reward_batch_size or 256)(
            reward_fn.stored(rollouts.frames, states["episode"].to_numpy())
        )
        clip_returns = states.groupby("episode")[REWARD_COLUMN].sum().tolist()

    goal = task.rule_labels(states)
    metrics = reward_metrics(
        states, goal, task.env.progress_values, episodic=config.reward_kind.episodic
    )
    criterion = task.env.require_success()
    by_episode = states.assign(goal=goal).groupby("episode")
    result = EvalResult(
        run_dir=str(run_dir),
        task=task.name,
        checkpoint=str(path),
        checkpoint_step=info.step if info else None,
        selection=selection,
        gt_returns=by_episode["gt_reward"].sum().tolist(),
        success=[criterion.judge(g.to_numpy()) for _, g in by_episode["goal"]],
        goal_fraction=by_episode["goal"].mean().tolist(),
        clip_returns=clip_returns,
        criterion=criterion.description,
        reward_is_random=config.reward_is_random,
        seed=seed,
        reward_label=config.reward_kind.title,
        reward_metrics=[m.to_dict() for m in metrics],
        reward_options=config.reward_kind.command_options(
            str(config.model or ""), str(config.pretrained or ""), [config.alpha]
        )
        if config.model_reward
        else "",
    )

    out = run_dir / EVAL_DIR / path.stem
    out.mkdir(parents=True, exist_ok=True)
    if video:
        result.videos = [str(p) for p in write_videos(rollouts, out)]
    if dataset != "":
        name = dataset or f"{run_dir.name}-{path.stem}"
        root = (
            run_dir / ROLLOUTS_DIR
            if dataset is None and datasets_root is None
            else resolve_root(datasets_root)
        )
        params = {
            "run": str(run_dir),
            "task": task.name,
            "checkpoint": path.name,
            "episodes": episodes,
            "seed": seed,
            "deterministic": True,
        }
        collected = collect_into(
            root,
            name,
            family=task.family,
            env_id=config.env_id,
            generator="rollouts",
            params=params,
            render=rollouts.render,
            n_frames=len(rollouts.frames),
            frame_shape=rollouts.frames.shape[1:],
            overwrite=overwrite,
            write=lambda writer: writer.add(rollouts.frames, states),
        )
        result.dataset_kept = not collected.created
        result.dataset = str(root / name)
    atomic_write_text(json.dumps(result.to_dict(), indent=2) + "\n", out / REPORT_FILE)
    return result
