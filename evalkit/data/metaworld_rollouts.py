"""Meta-World datasets of graded quality: expert, ε-noisy and random episodes with ground truth.

``collect_metaworld("drawer-open", episodes=10)`` rolls out, on the same ``episodes`` seeded task
variations each:

- the **expert** tier: Meta-World's own scripted policy (``metaworld.policies``), ε = 0;
- one **noisy** tier per ε in ``epsilons``: at every step, with probability ε a uniformly random
  action instead of the expert's;
- the **random** tier: uniformly random actions (ε = 1).

Every frame (the state after the step's action) is stored with its episode's ``tier`` and
``epsilon``, the ``variation``, the action, Meta-World's reward (``reward_env``, also ``gt_reward``: the ground truth of ERC), its ``success``
flag (the goal label of the task's rule), ``progress`` (the reward normalised to [0, 1]: the
progress variable of the rank metrics) and the joint state (``qpos_i``, ``qvel_j``). Episode
``k`` of a tier uses task variation ``k`` (pinned: the variation ``MetaWorldEnv.reset(seed=k)``
chooses) and an action stream seeded by ``(seed, tier, k)``, so
a dataset is the same for the same parameters; like every collect it is reused when asked for
again with the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from evalkit.data.poses import map_jobs
from evalkit.data.store import check_dataset_size, check_root, collect_into, resolve_root
from evalkit.envs.family import get_family
from evalkit.envs.metaworld_env import (
    DEFAULT_CAMERA,
    MAX_REWARD,
    MT10,
    check_camera,
    check_task,
)
from evalkit.envs.metaworld_family import dataset_name
from evalkit.errors import EvalkitError

DEFAULT_EPSILONS = (0.1, 0.3, 0.6)
"""ε of the noisy tiers by default."""

DEFAULT_STEPS = 150
"""Steps per episode by default (Meta-World's expert policies finish the MT10 tasks in fewer;
Meta-World's own limit is 500)."""


def tier_of(epsilon: float) -> str:
    """The quality tier of an ε: ``expert`` (0), ``random`` (1) or ``noisy``."""
    return "expert" if epsilon == 0 else "random" if epsilon == 1 else "noisy"


def check_epsilons(epsilons: Sequence[float]) -> tuple[float, ...]:
    """The noisy tiers' ε, each strictly between 0 and 1, without repeats, sorted.

    :raises EvalkitError: an ε outside [0, 1] (0 and 1 are the expert and random tiers, always
        collected).
    """
    out = []
    for eps in epsilons:
        value = float(eps)
        if not 0.0 <= value <= 1.0 or not np.isfinite(value):
            raise EvalkitError(f"ε must lie in [0, 1], not {eps}.")
        if 0.0 < value < 1.0:
            out.append(value)
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class EpisodeJob:
    """One episode for a worker."""

    task: str
    episode: int
    tier_index: int
    epsilon: float
    variation: int
    seed: int
    steps: int
    size: int
    camera: str
    profile: str


def run_episode(job: EpisodeJob) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Run one episode of ``job``; its frames and state rows."""
    from evalkit.envs.metaworld_env import MetaWorldEnv, expert_policy

    env = MetaWorldEnv(
        render_mode="rgb_array",
        width=job.size,
        height=job.size,
        task=job.task,
        camera=job.camera,
        variation=job.variation,
        variation_seed=job.seed,
        profile=job.profile,
    )
    policy = expert_policy(job.task)
    rng = np.random.default_rng([job.seed, job.tier_index, job.variation])
    low, high = env.action_space.low, env.action_space.high
    task_id = MT10.index(job.task)
    try:
        obs, _ = env.reset()
        frames = np.empty((job.steps, job.size, job.size, 3), dtype=np.uint8)
        rows = []
        for step in range(job.steps):
            noise = rng.uniform(low, high)
            explore = rng.random() < job.epsilon
            action = noise if explore else np.clip(policy.get_action(obs), low, high)
            obs, reward, _terminated, _truncated, info = env.step(action)
            frames[step] = env.render_frame()
            row: dict[str, Any] = {
                "episode": job.episode,
                "step": step,
                "tier": tier_of(job.epsilon),
                "epsilon": job.epsilon,
                "variation": job.variation,
                "task_id": task_id,
                "reward_env": reward,
                "success": float(info["success"]),
                "progress": reward / MAX_REWARD,
                "gt_reward": reward,
            }
            row.update({f"action_{i}": float(a) for i, a in enumerate(action)})
            row.update(env.get_state())
            rows.append(row)
    finally:
        env.close()
    return frames, rows


def collect_metaworld(
    task: str,
    episodes: int = 10,
    epsilons: Sequence[float] = DEFAULT_EPSILONS,
    steps: int = DEFAULT_STEPS,
    size: int = 128,
    seed: int = 0,
    camera: str = DEFAULT_CAMERA,
    profile: str = "fast",
    name: str | None = None,
    root: str | None = None,
    overwrite: bool = False,
    workers: int = 1,
    progress: bool = True,
) -> Any:
    """Collect expert, ε-noisy and random episodes of ``task`` as a dataset (or reuse it); a
    :class:`~evalkit.data.store.CollectResult`.

    :param task: an MT10 task (``drawer-open``).
    :param episodes: episodes per tier (task variations ``0 … episodes − 1``).
    :param epsilons: ε of the noisy tiers (the expert and random tiers are always collected).
    :param steps: steps per episode (at most Meta-World's 500).
    :param size: frame width and height in pixels.
    :param seed: seed of the task variations and of the action noise.
    :param camera: Meta-World camera (:data:`~evalkit.envs.metaworld_env.CAMERAS`).
    :param profile: render profile (``fast`` or ``quality``).
    :param name: dataset name (default ``metaworld-<task>``).
    :param workers: worker processes (results are written in episode order).
    :raises EvalkitError: an unknown task or camera, ε outside [0, 1], a count that is not
        positive, or a dataset that would not fit on disk.
    """
    from evalkit.envs.humanoid_scene import get_profile
    from evalkit.envs.metaworld_env import import_metaworld

    check_task(task)
    check_camera(camera)
    get_profile(profile)
    noisy = check_epsilons(epsilons)
    for label, value in (
        ("--episodes", episodes),
        ("--steps", steps),
        ("--size", size),
        ("--workers", workers),
    ):
        if value <= 0:
            raise EvalkitError(f"{label} must be positive, not {value}.")
    family = get_family("metaworld")
    if steps > family.episode_length:
        raise EvalkitError(
            f"--steps must be at most Meta-World's episode length {family.episode_length}, not {steps}."
        )
    tiers = (0.0, *noisy, 1.0)
    root_path = check_root(resolve_root(root))
    check_dataset_size(root_path, len(tiers) * episodes * steps, (size, size, 3))
    import_metaworld()
    jobs = [
        EpisodeJob(task, t * episodes + k, t, eps, k, seed, steps, size, camera, profile)
        for t, eps in enumerate(tiers)
        for k in range(episodes)
    ]
    params = {"task": task, "episodes": episodes, "epsilons": list(tiers), "steps": steps}
    params["seed"] = seed
    render = {"width": size, "height": size, "camera": camera, "profile": profile}
    n_frames = len(jobs) * steps

    def write(writer: Any) -> None:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_frames, desc="rolling out", unit="frame", disable=not progress)
        for frames, rows in map_jobs(run_episode, jobs, workers):
            writer.add(frames, pd.DataFrame(rows))
            bar.update(len(frames))
        bar.close()

    return collect_into(
        root_path,
        name or dataset_name(task),
        family=family.name,
        env_id=family.env_id,
        generator="metaworld-tiers",
        params=params,
        render=render,
        n_frames=n_frames,
        frame_shape=(size, size, 3),
        overwrite=overwrite,
        write=write,
    )
