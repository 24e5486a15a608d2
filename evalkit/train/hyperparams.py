"""The paper's training hyperparameters (Appendix C), in one place.

Every number the paper gives for training lives in this module and nowhere else; the runner
reads the defaults from here and a user overrides any of them from a config file or a flag
(:mod:`evalkit.train.config`). Anything the paper leaves unsaid is stable-baselines3's default.

=================  ==============  =================  ==================
                   CartPole (DQN)  MountainCar (SAC)  Humanoid (SAC)
=================  ==============  =================  ==================
steps              3 M             3 M                10 M
learning starts    75 000          default            50 000
updates            200 every 200   default            100 every 100
learning rate      2.3e-3          1e-4               6e-4
tau / gamma        default         0.01 / 0.9999      0.005 / 0.95
entropy coef       —               0.1                default
network            MLP 2×256 (Q)   MLP 2×64           default
checkpoint every   64 000          (64 000, evalkit)  128 000
CLIP reward batch  (3 200)         (3 200)            3 200
=================  ==============  =================  ==================

Values in parentheses are evalkit's choice where the paper gives none. Episode lengths come
from :class:`evalkit.tasks.Family` (200 for the classic environments, 100 for the humanoid).
PPO is not in the paper; it runs with stable-baselines3's defaults on every family.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

from evalkit.errors import EvalkitError
from evalkit.tasks import get_family


@dataclass(frozen=True)
class Algorithm:
    """A stable-baselines3 algorithm evalkit can train with.

    :param name: name on the command line (``dqn``).
    :param class_name: the class in :mod:`stable_baselines3`.
    :param off_policy: whether it learns from a replay buffer (rewards can be labelled per rollout).
    :param action_spaces: the gymnasium action space kinds it supports (``discrete``, ``continuous``).
    """

    name: str
    class_name: str
    off_policy: bool
    action_spaces: tuple[str, ...]

    def sb3_class(self) -> type:
        """The stable-baselines3 class (imported on first use)."""
        import stable_baselines3

        return getattr(stable_baselines3, self.class_name)

    def sb3_default(self, argument: str) -> Any:
        """stable-baselines3's default for a constructor argument (``None`` if it takes none)."""
        import inspect

        param = inspect.signature(self.sb3_class().__init__).parameters.get(argument)
        return None if param is None or param.default is inspect.Parameter.empty else param.default


ALGORITHMS: dict[str, Algorithm] = {
    "dqn": Algorithm("dqn", "DQN", off_policy=True, action_spaces=("discrete",)),
    "sac": Algorithm("sac", "SAC", off_policy=True, action_spaces=("continuous",)),
    "ppo": Algorithm("ppo", "PPO", off_policy=False, action_spaces=("discrete", "continuous")),
}


@dataclass(frozen=True)
class FamilySettings:
    """Training settings of one environment family that do not depend on the algorithm.

    :param action_space: ``discrete`` or ``continuous``.
    :param default_algo: the paper's algorithm for this family.
    :param steps: total environment steps of a paper run.
    :param checkpoint_every: environment steps between checkpoints.
    :param reward_batch_size: most frames embedded by CLIP in one forward pass.
    :param env_kwargs: keyword arguments for ``gym.make`` (MountainCar is textured in the paper).
    """

    action_space: str
    default_algo: str
    steps: int
    checkpoint_every: int
    reward_batch_size: int = 3200
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)


FAMILY_SETTINGS: dict[str, FamilySettings] = {
    "cartpole": FamilySettings("discrete", "dqn", steps=3_000_000, checkpoint_every=64_000),
    "mountaincar": FamilySettings("continuous", "sac", steps=3_000_000, checkpoint_every=64_000,
                                  env_kwargs={"textured": True}),
    "humanoid": FamilySettings("continuous", "sac", steps=10_000_000, checkpoint_every=128_000),
}

ALGO_KWARGS: dict[tuple[str, str], dict[str, Any]] = {
    ("cartpole", "dqn"): {
        "learning_starts": 75_000,
        "train_freq": 200,
        "gradient_steps": 200,
        "learning_rate": 2.3e-3,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("mountaincar", "sac"): {
        "learning_rate": 1e-4,
        "tau": 0.01,
        "gamma": 0.9999,
        "ent_coef": 0.1,
        "policy_kwargs": {"net_arch": [64, 64]},
    },
    ("humanoid", "sac"): {
        "learning_starts": 50_000,
        "train_freq": 100,
        "gradient_steps": 100,
        "learning_rate": 6e-4,
        "tau": 0.005,
        "gamma": 0.95,
    },
}
"""Keyword arguments of the stable-baselines3 constructor per (family, algorithm); a pair that
is missing uses the library's defaults."""


def family_settings(family: str) -> FamilySettings:
    """The training settings of an environment family (a clear error for unknown ones)."""
    get_family(family)
    if family not in FAMILY_SETTINGS:
        raise EvalkitError(
            f"evalkit has no training settings for the environment family {family!r}; "
            f"families with settings: {', '.join(FAMILY_SETTINGS)}."
        )
    return FAMILY_SETTINGS[family]


def get_algorithm(name: str, family: str) -> Algorithm:
    """The algorithm ``name`` after checking it can act in ``family``'s action space."""
    if name not in ALGORITHMS:
        raise EvalkitError(f"Unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}.")
    algo = ALGORITHMS[name]
    settings = family_settings(family)
    if settings.action_space not in algo.action_spaces:
        fits = [a.name for a in ALGORITHMS.values() if settings.action_space in a.action_spaces]
        raise EvalkitError(
            f"{algo.class_name} needs {' or '.join(algo.action_spaces)} actions but {family} has "
            f"{settings.action_space} actions; use --algo {fits[0]} (the paper's choice for {family} "
            f"is {settings.default_algo})."
        )
    return algo


def algo_kwargs(family: str, algo: str) -> dict[str, Any]:
    """A fresh copy of the paper's constructor arguments for ``algo`` on ``family``."""
    return copy.deepcopy(ALGO_KWARGS.get((family, algo), {}))
