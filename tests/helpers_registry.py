"""Registries put back as they were after a test that registers families, tasks, metrics,
backends or plugins; the example plugin's definitions without its registrations."""

from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager
from types import ModuleType
from typing import Iterator


@contextmanager
def registries_restored(*modules: str) -> Iterator[None]:
    """On exit: the family, task, metric and backend registries, gymnasium's ids and the loaded
    plugins as they were on entry, and ``modules`` (plugin modules a test imported) forgotten."""
    import gymnasium as gym

    from evalkit import plugins, tasks
    from evalkit.envs import family
    from evalkit.metrics import registry as metrics
    from evalkit.vlm import registry as backends

    saved = [
        (registry, dict(registry))
        for registry in (
            family.FAMILIES,
            tasks.TASKS,
            tasks._FAMILIES_WITH_TASKS,
            plugins._LOADED,
            gym.registry,
            metrics._REGISTRY,
            backends._BACKENDS,
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


def example_plugin() -> ModuleType:
    """The example plugin module (tests/plugins/example_plugin.py) with its definitions, and
    nothing it registers left registered: a test registers what it needs itself."""
    with registries_restored("example_plugin"):
        return importlib.import_module("example_plugin")
