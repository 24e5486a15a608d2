"""The algorithms evalkit trains with, and the paper's training hyperparameters (Appendix C).

Every number the paper gives for training lives in its family's
:class:`~evalkit.envs.family.TrainingSettings` (``evalkit/envs/*_family.py``) and nowhere else;
this module reads them, the runner takes its defaults from here and a user overrides any of
them from a config file or a flag (:mod:`evalkit.train.config`). Anything the paper leaves
unsaid is stable-baselines3's default. The paper's values:

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
from :class:`evalkit.envs.family.Family` (200 for the classic environments, 100 for the humanoid).
PPO is not in the paper; it runs with stable-baselines3's defaults on every family.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from evalkit.envs.family import TrainingSettings
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


def family_settings(family: str) -> TrainingSettings:
    """The training settings of an environment family (a clear error for unknown ones, or for a
    family without settings)."""
    return get_family(family).require_training()


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
    """A fresh copy of the paper's constructor arguments for ``algo`` on ``family`` (empty where
    the paper gives none: stable-baselines3's defaults)."""
    return copy.deepcopy(dict(family_settings(family).algo_kwargs.get(algo, {})))
