"""``evalkit bench train``: what batching the CLIP reward buys, and what evalkit's wrappers cost.

Five runs of the same training (the paper's settings for the task's family, with learning
starting at once so that gradient updates are part of the measurement), timed over
``learn()`` alone:

1. CLIP reward, ``rollout`` labelling (Algorithm 1: a rollout's frames in batches of ≤ 3 200);
2. CLIP reward, ``step`` labelling (each step's ``n_envs`` frames in one batch);
3. CLIP reward, per-frame: the same wrapper with batch size 1, one forward pass per frame —
   what an unbatched reward wrapper does;
4. ground-truth reward through ``evalkit.train.train`` (Monitor, callbacks, TensorBoard);
5. ground-truth reward with plain stable-baselines3 (``make_vec_env`` + ``learn``).

Targets: (1) or (2) at least 3× the steps/s of (3); (4) within 20 % of (5).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.train.clip_reward import BatchRewardFn, load_clip_reward
from evalkit.train.config import TrainConfig, resolve_device
from evalkit.train.hyperparams import ALGORITHMS
from evalkit.train.runner import train


@dataclass(frozen=True)
class BenchRow:
    """One timed run."""

    name: str
    steps: int
    seconds: float
    reward_calls: int | None = None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class TrainBenchResult:
    """The timed runs of :func:`bench_train` and what they say about the targets."""

    description: str
    rows: list[BenchRow] = field(default_factory=list)

    def row(self, prefix: str) -> BenchRow:
        return next(r for r in self.rows if r.name.startswith(prefix))

    @property
    def batched_speedup(self) -> float:
        """Best batched CLIP labelling over per-frame CLIP rewards (target ≥ 3)."""
        batched = max(r.steps_per_second for r in self.rows if r.name.startswith(("CLIP, rollout", "CLIP, step")))
        return batched / self.row("CLIP, per-frame").steps_per_second

    @property
    def ground_truth_ratio(self) -> float:
        """evalkit's ground-truth training speed over plain SB3's (target ≥ 0.8)."""
        return self.row("ground truth, evalkit").steps_per_second / self.row("ground truth, plain").steps_per_second

    def verdicts(self) -> list[str]:
        s, g = self.batched_speedup, self.ground_truth_ratio
        return [
            f"batched CLIP rewards: {s:.1f}× the steps/s of per-frame rewards (target ≥ 3×: {'met' if s >= 3 else 'NOT met'})",
            f"ground-truth training: {g:.0%} of plain SB3's steps/s (target ≥ 80 %: {'met' if g >= 0.8 else 'NOT met'})",
        ]


def _time_train(config: TrainConfig, reward_fn: BatchRewardFn | None, name: str, repeats: int) -> BenchRow:
    best: BenchRow | None = None
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
            result = train(config, Path(tmp) / "run", reward_fn=reward_fn)
        row = BenchRow(name, result.steps - result.start_step, result.learn_seconds, result.reward_calls)
        best = row if best is None or row.seconds < best.seconds else best
    assert best is not None
    return best


def _time_plain_sb3(config: TrainConfig, repeats: int) -> BenchRow:
    from stable_baselines3.common.env_util import make_vec_env

    import evalkit.envs  # noqa: F401 - registers the ids

    best: BenchRow | None = None
    for _ in range(repeats):
        env = make_vec_env(config.env_id, n_envs=config.n_envs, seed=config.seed, env_kwargs=dict(config.env_kwargs or {}))
        model = ALGORITHMS[config.algo].sb3_class()("MlpPolicy", env, seed=config.seed,
                                                    device=resolve_device(config.device), **dict(config.algo_kwargs))
        t0 = time.perf_counter()
        model.learn(config.steps)
        row = BenchRow("ground truth, plain SB3", int(model.num_timesteps), time.perf_counter() - t0)
        env.close()
        best = row if best is None or row.seconds < best.seconds else best
    assert best is not None
    return best


def bench_train(
    task: str = "cartpole",
    n_envs: int = 16,
    clip_steps: int = 3200,
    gt_steps: int = 20000,
    model: str = "evalkit-tiny-vit",
    pretrained: str = "none",
    render_size: int = 224,
    device: str = "cpu",
    repeats: int = 1,
) -> TrainBenchResult:
    """Time the five runs described in the module docstring.

    :param task: task whose environment and paper hyperparameters to use.
    :param n_envs: parallel environments.
    :param clip_steps: environment steps of each CLIP-rewarded run.
    :param gt_steps: environment steps of each ground-truth run.
    :param model: CLIP model (loaded once; a tiny random one by default).
    :param pretrained: its weights.
    :param render_size: frame side in pixels.
    :param device: device of the learner and the CLIP model.
    :param repeats: runs per setting; the fastest counts.
    """
    base = TrainConfig(task=task, model=model, pretrained=pretrained, n_envs=n_envs, device=device,
                       render_size=render_size, save_replay_buffer=False, checkpoint_every=10**12,
                       algo_kwargs={"learning_starts": 0}).resolved()
    reward_fn = load_clip_reward(base)
    clip = dataclasses.replace(base, steps=clip_steps)
    gt = dataclasses.replace(base, steps=gt_steps, reward="ground-truth")
    result = TrainBenchResult(
        f"{task}, {base.algo.upper()}, {n_envs} envs, {render_size}×{render_size} frames, "
        f"{model} ({pretrained}) on {resolve_device(device)}"
    )
    if ALGORITHMS[base.algo].off_policy:
        result.rows.append(_time_train(dataclasses.replace(clip, reward_labelling="rollout"), reward_fn,
                                       f"CLIP, rollout labelling (batches ≤ {base.reward_batch_size})", repeats))
    result.rows.append(_time_train(dataclasses.replace(clip, reward_labelling="step"), reward_fn,
                                   f"CLIP, step labelling (batch = {n_envs})", repeats))
    result.rows.append(_time_train(dataclasses.replace(clip, reward_labelling="step", reward_batch_size=1), reward_fn,
                                   "CLIP, per-frame reward (unbatched)", repeats))
    result.rows.append(_time_train(gt, None, "ground truth, evalkit train", repeats))
    result.rows.append(_time_plain_sb3(gt, repeats))
    return result
