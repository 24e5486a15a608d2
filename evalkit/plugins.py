"""Plugins: Python modules that extend evalkit, imported at start-up.

A plugin is an ordinary module that, when imported, registers what it adds through evalkit's
public functions: :func:`evalkit.envs.register_family` (an environment family),
:func:`evalkit.tasks.register_task` (a task), and the metric and backend registries. evalkit
imports every plugin named

- in ``$EVALKIT_PLUGINS``: importable module names separated by commas
  (``EVALKIT_PLUGINS=my_pkg.acrobot,other_plugin``; the modules must be on the Python path), or
- under the entry-point group ``evalkit.plugins`` of an installed package (in its
  ``pyproject.toml``: ``[project.entry-points."evalkit.plugins"] acrobot = "my_pkg.acrobot"``;
  an entry point naming a function, ``"my_pkg.acrobot:register"``, has it called once).

The command line loads them before every command (``evalkit --help`` and ``--version`` load
none); a library user calls :func:`load_plugins` once. A plugin that cannot be imported, that
raises while it registers, or that registers something evalkit refuses (an environment that
does not meet :class:`evalkit.envs.base.RenderableEnv`, say) is one sentence naming the plugin
(:class:`PluginError`; on the command line ``error: ...`` and exit status 2).

This module imports nothing heavy: a plugin that needs torch imports it itself, when it needs it.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

from evalkit.errors import EvalkitError

ENV_VAR = "EVALKIT_PLUGINS"
"""The environment variable naming plugin modules, separated by commas."""

ENTRY_POINT_GROUP = "evalkit.plugins"
"""The entry-point group under which installed packages expose plugins."""


class PluginError(EvalkitError):
    """A plugin could not be imported or failed while registering what it adds."""


@dataclass(frozen=True)
class Plugin:
    """One plugin to load.

    :param name: the module (or ``module:function``) it names.
    :param source: where it was named, in words (``$EVALKIT_PLUGINS``).
    :param load: imports it (and calls the function an entry point names).
    """

    name: str
    source: str
    load: Callable[[], Any]


_LOADED: dict[str, Plugin] = {}
"""The plugins imported so far, by :attr:`Plugin.name`."""


def _import(module: str) -> Callable[[], Any]:
    return lambda: importlib.import_module(module)


def _load_entry_point(entry: metadata.EntryPoint) -> Callable[[], Any]:
    def load() -> Any:
        target = entry.load()
        return target() if entry.attr and callable(target) else target

    return load


def named_plugins(environ: dict[str, str] | None = None) -> list[Plugin]:
    """Every plugin named in ``$EVALKIT_PLUGINS`` (in its order), then those of installed
    packages' ``evalkit.plugins`` entry points (by name).

    :param environ: the environment to read (default: ``os.environ``).
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    plugins = [
        Plugin(name, f"${ENV_VAR}", _import(name))
        for name in (part.strip() for part in value.split(","))
        if name
    ]
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(entry.dist, "name", None)
        where = f"entry point {entry.name!r} of {dist or 'an installed package'}"
        plugins.append(Plugin(entry.value, where, _load_entry_point(entry)))
    return plugins


def load_plugins(environ: dict[str, str] | None = None) -> list[str]:
    """Import every plugin not imported yet (see the module docstring); calling it again
    imports only plugins named since.

    :param environ: the environment to read ``$EVALKIT_PLUGINS`` from (default: ``os.environ``).
    :returns: the names of the plugins imported by this call.
    :raises PluginError: a plugin cannot be imported or fails while registering.
    """
    loaded = []
    for plugin in named_plugins(environ):
        if plugin.name in _LOADED:
            continue
        try:
            plugin.load()
        except Exception as exc:  # a plugin's own failure: one sentence naming the plugin
            raise PluginError(_failure(plugin, exc)) from None
        _LOADED[plugin.name] = plugin
        loaded.append(plugin.name)
    return loaded


def _failure(plugin: Plugin, exc: Exception) -> str:
    """What went wrong with ``plugin``, in one sentence."""
    module = plugin.name.partition(":")[0]
    head = f"The plugin {plugin.name!r} (from {plugin.source})"
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing is not None and (module == missing or module.startswith(f"{missing}.")):
        hint = (
            "; name a module (my_pkg.plugin), not a file"
            if module.endswith(".py") or "/" in module
            else " on the Python path; add its folder to PYTHONPATH or install its package"
        )
        return f"{head} cannot be imported: there is no module {module!r}{hint}."
    if isinstance(exc, EvalkitError):
        return f"{head} was refused: {str(exc).rstrip('.')}."
    return f"{head} failed while loading: {type(exc).__name__}: {str(exc).rstrip('.')}."
