"""The trained study's offline verdicts: what each candidate's metrics say before training.

For each candidate, on three sets of states:

- ``held-out``: the held-out box dataset (not the frames the heads were fitted on): the
  registry's metric panel (every metric defined for goal labels, a progress variable and
  episodes) with episode-bootstrap intervals;
- ``on-expert``: the states of the ground-truth policy's evaluation rollouts (the first seed's
  best checkpoint): the same panel (a metric needing both label classes is reported with its
  reason where the expert never leaves the goal);
- ``random``: a uniformly random policy's states: the reward's spread (standard deviation), since
  a flat reward trains slowly even where it is accurate (Razin et al. 2025).

A model candidate is scored by its training reward (:func:`evalkit.train.clip_reward.load_clip_reward`)
on the frames; the ground truth (not a model) by the family's rule labels of the states, the
goal it rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import DegenerateError
from evalkit.metrics import BootstrapOptions, metric_names, metric_panel
from evalkit.metrics.metric_result import MetricResult
from evalkit.tasks import get_task
from evalkit.train.clip_reward import load_clip_reward
from evalkit.train.config import TrainConfig
from evalkit.train.evaluate import roll_out
from evalkit.validate.trained_settings import TrainedSettings
from evalkit.validate.trained_spectrum import Candidate

SPREAD = "spread (random policy)"
"""The name of the spread's row among the offline metrics."""


@dataclass(frozen=True)
class StateSet:
    """Frames and their states, with episode ids (the bootstrap's unit)."""

    frames: np.ndarray
    states: pd.DataFrame
    episodes: np.ndarray


def candidate_config(settings: TrainedSettings, candidate: Candidate, seed: int) -> dict[str, Any]:
    """The training run of ``candidate`` with ``seed`` (a :class:`TrainConfig` as a dict)."""
    family = get_task(settings.task).env
    return {
        "task": settings.task,
        **candidate.reward,
        "steps": settings.steps,
        "seed": seed,
        "device": "cpu",
        "render_size": settings.size,
        "reward_batch_size": settings.reward_batch_size,
        "checkpoint_every": settings.checkpoint_every,
        "save_replay_buffer": False,
        "fidelity": False,
        "torch_threads": 1,
        "reward_worker": False,  # one run per core: no core is free for a reward worker
        "env_kwargs": family.env_kwargs(settings.variants),
        "algo_kwargs": dict(settings.algo_kwargs),
    }


def candidate_values(
    settings: TrainedSettings, candidate: Candidate, states: StateSet
) -> np.ndarray:
    """``candidate``'s reward of every frame of ``states``."""
    config = TrainConfig.from_dict(candidate_config(settings, candidate, settings.seed))
    if not config.model_reward:
        return get_task(settings.task).rule_labels(states.states).astype(float)
    reward = load_clip_reward(config)
    return np.asarray(reward(np.asarray(states.frames)), dtype=float)


def panel(
    settings: TrainedSettings, values: np.ndarray, states: StateSet
) -> dict[str, dict[str, Any]]:
    """The registry's metric panel of one reward on ``states``: metric → its estimate and
    interval (``None``) or the reason it is undefined there."""
    task = get_task(settings.task)
    inputs = {
        "labels": task.rule_labels(states.states),
        "progress": task.env.progress_values(states.states),
        "episodes": states.episodes,
    }
    out: dict[str, dict[str, Any]] = {}
    for name in metric_names("all"):
        try:  # one metric at a time: one undefined on these states leaves the others
            results = metric_panel(
                values,
                **inputs,
                metrics=name,
                bootstrap=BootstrapOptions(settings.bootstrap, seed=settings.seed),
                skip_unavailable=True,
            )
        except DegenerateError as exc:
            out[name] = {"estimate": None, "interval": None, "reason": str(exc)}
            continue
        for r in results:
            if isinstance(r, MetricResult):
                interval = None if r.interval is None else [float(v) for v in r.interval]
                out[r.metric] = {"estimate": float(r.estimate), "interval": interval}
            else:
                out[r.metric] = {"estimate": None, "interval": None, "reason": r.reason}
    return out


class RandomPolicy:
    """Uniformly random actions (seeded), with a policy's ``predict``."""

    def __init__(self, action_space: Any, seed: int) -> None:
        self.space = action_space
        self.space.seed(seed)

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[Any, None]:
        return self.space.sample(), None


def random_policy_states(settings: TrainedSettings) -> StateSet:
    """The frames and states of ``random_episodes`` random-policy episodes."""
    import gymnasium as gym

    config = TrainConfig.from_dict(
        {**candidate_config(settings, Candidate("gt", "", "", {"reward": "ground-truth"}), 0)}
    ).resolved()
    env = gym.make(config.env_id, **dict(config.env_kwargs or {}))
    try:
        policy = RandomPolicy(env.action_space, settings.seed)
    finally:
        env.close()
    rollouts = roll_out(policy, config, settings.random_episodes, settings.seed + 20_000)
    return StateSet(rollouts.frames, rollouts.states, rollouts.states["episode"].to_numpy())


def offline_verdicts(
    settings: TrainedSettings,
    candidates: list[Candidate],
    heldout: StateSet,
    expert: StateSet | None,
    expert_reason: str = "",
) -> dict[str, dict[str, Any]]:
    """Every candidate's offline figures: ``{name: {"held-out": panel, "on-expert": panel or
    reason, "spread": std on the random policy's states}}``."""
    random_states = random_policy_states(settings)
    out = {}
    for c in candidates:
        entry: dict[str, Any] = {
            "held-out": panel(settings, candidate_values(settings, c, heldout), heldout)
        }
        if expert is not None:
            entry["on-expert"] = panel(settings, candidate_values(settings, c, expert), expert)
        else:
            entry["on-expert"] = {"reason": expert_reason}
        entry["spread"] = float(np.std(candidate_values(settings, c, random_states)))
        out[c.name] = entry
    return out


def metric_table(offline: dict[str, dict[str, Any]], names: list[str]) -> dict[str, np.ndarray]:
    """Offline metric name (``epic (held-out)``, ``spread (random policy)``...) → ``(K,)``
    values in the order of ``names`` (NaN where undefined for a candidate)."""
    rows: dict[str, np.ndarray] = {}
    for where in ("held-out", "on-expert"):
        metrics = list(dict.fromkeys(m for n in names for m in offline[n][where] if m != "reason"))
        for m in metrics:
            values = []
            for n in names:
                cell = offline[n][where].get(m, {})
                est = cell.get("estimate") if isinstance(cell, dict) else None
                values.append(np.nan if est is None else est)
            column = np.asarray(values, dtype=float)
            if np.isfinite(column).any():
                rows[f"{m} ({where})"] = column
    rows[SPREAD] = np.asarray([offline[n]["spread"] for n in names], dtype=float)
    return rows
