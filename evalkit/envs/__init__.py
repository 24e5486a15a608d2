"""Gymnasium environments of the paper, registered under ``evalkit/...`` ids on import.

==================================  ====================================================
id                                  what it is
==================================  ====================================================
``evalkit/CartPole-v0``             CartPole without termination, fixed episode length,
                                    negative reward while the pole is down
``evalkit/MountainCar-v0``          continuous MountainCar, absorbing goal, fixed episode
                                    length; ``textured=True`` for the textured renderer
``evalkit/Humanoid-v0``             MuJoCo Humanoid with textures and a fixed camera
==================================  ====================================================

Every environment implements :class:`evalkit.envs.base.StateSettable` so that sweeps can put it
in an arbitrary physical state and render it. To add an environment: write its class in a
module here, register it below, add its :class:`evalkit.tasks.Family` in :mod:`evalkit.tasks`.
"""

from __future__ import annotations

import gymnasium as gym

_REGISTRATIONS = {
    "evalkit/CartPole-v0": ("evalkit.envs.classic:CartPoleEnv", 200),
    "evalkit/MountainCar-v0": ("evalkit.envs.classic:MountainCarEnv", 200),
    "evalkit/Humanoid-v0": ("evalkit.envs.humanoid:HumanoidEnv", 100),
}


def register_all() -> None:
    """Register evalkit's environments with gymnasium (idempotent)."""
    for env_id, (entry_point, steps) in _REGISTRATIONS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=steps)


register_all()
