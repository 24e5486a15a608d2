"""Registries put back as they were after a test that registers families, tasks or plugins."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def registries_restored(*modules: str) -> Iterator[None]:
    """On exit: the family and task registries, gymnasium's ids and the loaded plugins as they
    were on entry, and ``modules`` (plugin modules a test imported) forgotten."""
    import gymnasium as gym

    from evalkit import plugins, tasks
    from evalkit.envs import family

    saved = [
        (registry, dict(registry))
        for registry in (
            family.FAMILIES,
            tasks.TASKS,
            tasks._FAMILIES_WITH_TASKS,
            plugins._LOADED,
            gym.registry,
        )
    ]
    try:
        yield
    finally:
        for registry, before in saved:
            registry.clear()
            registry.update(before)
        for name in modules:
            sys.modules.pop(name, None)
