"""Humanoid rollout datasets: a stable-baselines3 policy's episodes, rendered, with full state.

This is the paper's "expert policy" state distribution for EPIC on the humanoid. Each episode
runs ``evalkit/Humanoid-v0`` (no termination, 100 steps) from ``reset(seed=seed + episode)``;
every step stores the frame after the action and :func:`evalkit.envs.humanoid.body_state` (full
``qpos``/``qvel`` and the named key points the rule labels read), plus the action and
gymnasium's reward. ``step`` k is the state after the (k+1)-th action. Episodes run in parallel
worker processes (``spawn``; each has its own rendering context); results are written in
episode order, so the dataset does not depend on the number of workers.

Example::

    from evalkit.data.rollouts import collect_rollouts
    dataset = collect_rollouts("runs/kneeling/best.zip", episodes=20, workers=2).dataset
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data.poses import map_jobs
from evalkit.errors import EvalkitError
from evalkit.fileio import file_digest

ALGORITHMS = ("SAC", "PPO", "TD3", "A2C", "DDPG")
"""stable-baselines3 algorithms a checkpoint may come from (tried in this order)."""


def detect_algorithm(path: str | Path) -> str:
    """The SB3 algorithm that saved ``path`` (a clear error if it is not an SB3 checkpoint).

    Reads the ``data`` member of the zip: the policy class is stored with its module
    (``stable_baselines3.sac.policies``); otherwise the algorithm's loaders are tried in turn.
    """
    p = Path(path)
    if not p.exists():
        raise EvalkitError(
            f"Policy checkpoint {p} does not exist; pass the .zip that stable-baselines3 saved."
        )
    if not zipfile.is_zipfile(p):
        raise EvalkitError(
            f"{p} is not a stable-baselines3 checkpoint (not a zip file); pass the .zip that model.save() wrote."
        )
    with zipfile.ZipFile(p) as z:
        if "data" not in z.namelist():
            raise EvalkitError(
                f"{p} is a zip but not a stable-baselines3 checkpoint (it has no 'data' member)."
            )
        try:
            data = json.loads(z.read("data"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise EvalkitError(
                f"{p} has an unreadable 'data' member; it is not a stable-baselines3 checkpoint."
            ) from None
    policy = data.get("policy_class", {})
    module = policy.get("__module__", "") if isinstance(policy, dict) else ""
    for algo in ALGORITHMS:
        if f".{algo.lower()}." in module:
            return algo
    parts = module.split(".")
    # another SB3 algorithm's own policy module (DQN, ...); ``common.policies`` (PPO, A2C) is shared
    if len(parts) >= 3 and parts[0] == "stable_baselines3" and parts[1] != "common":
        raise EvalkitError(
            f"{p} is a {parts[1].upper()} checkpoint; rollouts here need a policy with "
            f"continuous actions, saved by one of {', '.join(ALGORITHMS)}."
        )
    for algo in ALGORITHMS:
        try:
            _algo_class(algo).load(p, device="cpu")
            return algo
        except Exception:  # noqa: BLE001 - try the next loader
            continue
    raise EvalkitError(
        f"{p} is not a checkpoint of any of {', '.join(ALGORITHMS)}; cannot tell how to load it."
    )


def _algo_class(name: str) -> Any:
    import stable_baselines3 as sb3

    return getattr(sb3, name)


def load_policy(path: str | Path, env_kwargs: dict[str, Any] | None = None) -> Any:
    """Load an SB3 checkpoint on the CPU and check it fits ``evalkit/Humanoid-v0``'s spaces."""
    algo = detect_algorithm(path)
    try:
        model = _algo_class(algo).load(Path(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - SB3 raises many kinds of errors on bad files
        raise EvalkitError(f"Cannot load {path} as a {algo} checkpoint ({exc}).") from None
    check_spaces(model, env_kwargs or {})
    return model


def check_spaces(model: Any, env_kwargs: dict[str, Any]) -> None:
    """Refuse a policy trained on another observation or action space."""
    from evalkit.envs.humanoid import HumanoidEnv

    env = HumanoidEnv(**{k: v for k, v in env_kwargs.items() if k in ("version",)})
    try:
        obs, act = env.observation_space, env.action_space
    finally:
        env.close()
    if tuple(model.observation_space.shape or ()) != tuple(obs.shape or ()):
        raise EvalkitError(
            f"The policy was trained on observations of shape {model.observation_space.shape}, but "
            f"evalkit/Humanoid-v0 ({env_kwargs.get('version', 'v4')}) gives {obs.shape}; use a policy trained on this environment."
        )
    if tuple(model.action_space.shape or ()) != tuple(act.shape or ()):
        raise EvalkitError(
            f"The policy outputs actions of shape {model.action_space.shape}, but evalkit/Humanoid-v0 "
            f"takes {act.shape}; use a policy trained on this environment."
        )


@dataclass(frozen=True)
class RolloutJob:
    """One episode for a worker."""

    policy: str
    episode: int
    seed: int
    steps: int
    width: int
    height: int
    textured: bool = True
    fixed_camera: bool = True
    profile: str = "fast"
    deterministic: bool = True


_WORKER_POLICY: Any = None


def run_episode(job: RolloutJob) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Run one episode of ``job``; returns its frames and state rows."""
    global _WORKER_POLICY
    from evalkit.envs.humanoid import HumanoidEnv

    if _WORKER_POLICY is None or _WORKER_POLICY[0] != job.policy:
        algo = detect_algorithm(job.policy)
        _WORKER_POLICY = (job.policy, _algo_class(algo).load(job.policy, device="cpu"))
    policy = _WORKER_POLICY[1]
    env = HumanoidEnv(
        render_mode="rgb_array",
        width=job.width,
        height=job.height,
        textured=job.textured,
        fixed_camera=job.fixed_camera,
        profile=job.profile,
    )
    try:
        obs, _ = env.reset(seed=job.seed)
        frames = np.empty((job.steps, job.height, job.width, 3), dtype=np.uint8)
        rows = []
        for step in range(job.steps):
            action, _ = policy.predict(obs, deterministic=job.deterministic)
            obs, reward, _terminated, _truncated, _info = env.step(action)
            frames[step] = env.render_frame()
            row: dict[str, Any] = {
                "episode": job.episode,
                "step": step,
                "reward_env": float(reward),
            }
            row.update({f"action_{i}": float(a) for i, a in enumerate(np.asarray(action).ravel())})
            row.update(env.state_row())
            rows.append(row)
    finally:
        env.close()
    return frames, rows


def collect_rollouts(
    policy: str | Path,
    episodes: int = 10,
    steps: int = 100,
    size: int = 224,
    seed: int = 0,
    name: str = "humanoid-rollouts",
    root: str | None = None,
    overwrite: bool = False,
    workers: int = 1,
    textured: bool = True,
    fixed_camera: bool = True,
    profile: str = "fast",
    deterministic: bool = True,
    progress: bool = True,
) -> Any:
    """Roll out an SB3 policy and store the episodes as dataset ``name`` (or reuse it); a
    :class:`~evalkit.data.store.CollectResult`.

    :param policy: path of the SB3 checkpoint (``.zip``) trained on ``evalkit/Humanoid-v0``.
    :param episodes: number of episodes; episode ``i`` starts from ``reset(seed=seed + i)``.
    :param steps: steps per episode (the paper's episode length is 100).
    :param workers: worker processes (each renders whole episodes).
    :param deterministic: use the policy's deterministic action.
    """
    from evalkit.data.poses import HumanoidOutput

    for label, value in (("--episodes", episodes), ("--steps", steps), ("--workers", workers)):
        if value <= 0:
            raise EvalkitError(f"{label} must be positive, not {value}.")
    policy_path = Path(policy)
    load_policy(policy_path)
    params = {
        "policy": str(policy_path),
        "policy_sha": file_digest(policy_path),
        "episodes": episodes,
        "steps": steps,
        "seed": seed,
        "deterministic": deterministic,
    }
    out = HumanoidOutput(
        "rollouts", params, name, size, textured, fixed_camera, profile, root, overwrite, progress
    )
    jobs = [
        RolloutJob(
            str(policy_path.resolve()),
            e,
            seed + e,
            steps,
            size,
            size,
            textured,
            fixed_camera,
            profile,
            deterministic,
        )
        for e in range(episodes)
    ]

    def batches() -> Any:
        return (
            (frames, pd.DataFrame(rows)) for frames, rows in map_jobs(run_episode, jobs, workers)
        )

    return out.collect(episodes * steps, batches, "rolling out")
