"""evalkit's command line: a thin layer that parses arguments, calls the library and prints.

Every module in this package whose name does not start with ``_`` holds commands and is
imported here; add a command by adding a module (see :mod:`evalkit.cli._app`). User errors
(:class:`evalkit.errors.EvalkitError`) print one sentence and exit with status 2.
"""

from __future__ import annotations

import importlib
import pkgutil

from evalkit.cli._app import app, bench_app, collect_app, label_app, reflow_command_help

__all__ = ["app", "bench_app", "collect_app", "label_app", "main"]

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
reflow_command_help(app)


def main() -> None:
    """Entry point of the ``evalkit`` console script (plugins load in the root callback, before
    any command: see :mod:`evalkit.plugins`)."""
    app()
