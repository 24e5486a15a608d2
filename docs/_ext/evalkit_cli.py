"""A Sphinx directive, ``evalkit-cli``, that writes the ``--help`` of every evalkit command, so
the command-line reference is generated from the commands themselves and never drifts."""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

WIDTH = 80


def _commands(command: Any, path: list[str]) -> list[list[str]]:
    """Every leaf command under ``command`` as its path of names, sorted by name."""
    if not hasattr(command, "commands"):
        return [path]
    ctx = command.context_class(command, info_name=path[-1] if path else "evalkit")
    out = []
    for name in sorted(command.list_commands(ctx)):
        sub = command.get_command(ctx, name)
        if sub is not None and not getattr(sub, "hidden", False):
            out += _commands(sub, [*path, name])
    return out


def _help(path: list[str]) -> str:
    from typer.testing import CliRunner

    from evalkit.cli import app

    env = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
    result = CliRunner().invoke(app, [*path, "--help"], env=env, terminal_width=WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"evalkit {' '.join(path)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


class EvalkitCli(SphinxDirective):
    """``.. evalkit-cli::`` — one heading and help text per command."""

    def run(self) -> list[nodes.Node]:
        import typer.main

        from evalkit.cli import app

        out: list[nodes.Node] = []
        for path in _commands(typer.main.get_command(app), []):
            title = "evalkit " + " ".join(path)
            rubric = nodes.rubric(text=title, ids=[nodes.make_id(title)])
            out += [rubric, nodes.literal_block(text=_help(path), language="text")]
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("evalkit-cli", EvalkitCli)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
