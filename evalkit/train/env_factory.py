"""The vector environment a run trains in and the stable-baselines3 model it trains.

:func:`make_training_env` builds the environments (rendering and the batched reward wrapper only
for model rewards); :func:`build_model` the algorithm with the paper's hyperparameters.
"""

from __future__ import annotations

import copy
import functools
import signal
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from evalkit.errors import EvalkitError
from evalkit.fileio import INTERRUPT_SIGNALS
from evalkit.tasks import get_task
from evalkit.train.clip_reward import BatchRewardFn, ClipRewardVecEnv, RenderFrame
from evalkit.train.config import TrainConfig, resolve_device
from evalkit.train.fidelity import RecordState, VisitedFrames
from evalkit.train.hyperparams import ALGORITHMS
from evalkit.train.reward_worker import RewardWorker

DEFERRED = ("batch", "rollout")
"""Reward labellings that write CLIP rewards into the replay buffer after the step."""
TB_DIR = "tb"
"""The run's TensorBoard folder."""


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
    reward_threads: int | None = None,
) -> tuple[VecEnv, ClipRewardVecEnv | None]:
    """The vector environment a run trains in, and its CLIP reward wrapper (``None`` for ground truth).

    Every step's physical state goes into ``info["state"]`` when the task has a goal rule
    (for the success rate of training episodes and the reward's fidelity).

    :param config: a resolved config.
    :param reward_fn: the reward of a batch of frames (required for the CLIP reward).
    :param seed: seed of the first environment (default ``config.seed``).
    :param observer: sees every step and every scored batch of frames (model rewards only).
    :param reward_threads: torch threads of the reward worker, if the config uses one
        (:attr:`~evalkit.train.config.TrainConfig.uses_reward_worker`).
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
        worker=RewardWorker(reward_threads) if config.uses_reward_worker else None,
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
            **copy.deepcopy(dict(config.algo_kwargs)),  # SB3 writes into policy_kwargs
        )
    except TypeError as exc:
        raise EvalkitError(
            f"{cls.__name__} does not accept these algo_kwargs ({exc}); fix the config."
        ) from None
    return model if run_dir is not None else quiet_logger(model)
