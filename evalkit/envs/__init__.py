"""Environment families of the paper, registered on import (and their ``evalkit/...`` gym ids).

==================================  ====================================================
id                                  what it is
==================================  ====================================================
``evalkit/CartPole-v0``             CartPole without termination, fixed episode length,
                                    negative reward while the pole is down
``evalkit/MountainCar-v0``          continuous MountainCar, absorbing goal, fixed episode
                                    length; ``textured=True`` for the textured renderer
``evalkit/Humanoid-v0``             MuJoCo Humanoid with textures and a fixed camera
``evalkit/MetaWorld-v0``            one Meta-World MT10 task (the ``metaworld`` extra),
                                    a fixed named camera, the success flag as goal
==================================  ====================================================

Each family is one :class:`evalkit.envs.family.Family` object in its own module
(``cartpole_family``, ``mountaincar_family``, ``humanoid_family``,
``metaworld_family``), which says everything evalkit
knows about it, its own tasks included. Every environment meets the contract of
:class:`evalkit.envs.base.RenderableEnv` (render at a given size, say how frames look, read and
set the physical state) so that sweeps can put it in an arbitrary state and render it. To add
an environment: write its class and its :class:`~evalkit.envs.family.Family` in one module (a
plugin, see :mod:`evalkit.plugins`) and call :func:`register_family`, which checks the class.
"""

from __future__ import annotations

import importlib

from evalkit.envs.base import RenderableEnv, StateSettable
from evalkit.envs.family import (
    FAMILIES,
    Family,
    FamilyTask,
    SuccessCriterion,
    SweepSpec,
    TrainingSettings,
    Variant,
    all_families,
    get_family,
    register_family,
    register_with_gymnasium,
)

BUILTIN_FAMILIES = (
    "cartpole_family",
    "mountaincar_family",
    "humanoid_family",
    "metaworld_family",
)
"""The modules of the built-in families, registered in this order on import."""

for _module in BUILTIN_FAMILIES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "FAMILIES",
    "Family",
    "FamilyTask",
    "RenderableEnv",
    "StateSettable",
    "SuccessCriterion",
    "SweepSpec",
    "TrainingSettings",
    "Variant",
    "all_families",
    "get_family",
    "register_all",
    "register_family",
]


def register_all() -> None:
    """Register every family's environment id with gymnasium (idempotent; :func:`register_family`
    does it for each family as it registers)."""
    for family in all_families():
        register_with_gymnasium(family)
