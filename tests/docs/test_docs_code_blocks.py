"""Every code block of the documentation runs: Python blocks execute (each page's blocks in
order, in one namespace, in a fresh datasets root), and every ``evalkit ...`` line of a shell
block names a command that exists with options it accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from helpers_docs import (
    README,
    ROOT,
    CodeBlock,
    code_blocks,
    evalkit_command_lines,
    markdown_pages,
)

from evalkit.cli import app

SHELL = ("bash", "sh", "console", "shell")
HERE = Path(__file__).resolve().parent


def _python_pages() -> list:
    params = []
    for page in markdown_pages():
        blocks = [b for b in code_blocks(page) if b.language == "python" and b.executed]
        if not blocks:
            continue
        slow = any("ModelSpec" in b.code for b in blocks)  # embeds with a tiny model: seconds
        params.append(pytest.param(blocks, id=page.stem, marks=[pytest.mark.slow] if slow else []))
    return params


@pytest.mark.parametrize("blocks", _python_pages())
def test_python_blocks_run(blocks: list[CodeBlock], datasets_root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_example"}
    for block in blocks:
        exec(compile(block.code, f"{block.path}:{block.line}", "exec"), namespace)
    assert capsys.readouterr().out.strip(), "a page's Python example prints what it shows"


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def _options(command: Any, path: list[str]) -> dict[str, Any]:
    ctx = command.context_class(command, info_name=path[-1])  # params may depend on registries
    out = {}
    for param in command.get_params(ctx):
        if param.param_type_name == "option":
            for name in [*param.opts, *param.secondary_opts]:
                out[name] = param
    out.setdefault("--help", None)
    return out


def command_problem(args: list[str]) -> str | None:
    """Why ``evalkit ARGS`` would not parse (``None``: it would): an unknown command, an option
    the command does not have, a missing option value, or more arguments than it takes."""
    command = typer.main.get_command(app)  # typer's own click: duck-typed below
    path = ["evalkit"]
    i, positional = 0, 0
    while i < len(args):
        token = args[i]
        if token.startswith("-") and token != "-":
            name, _, inline = token.partition("=")
            opts = _options(command, path)
            if name not in opts:
                return f"{' '.join(path)} has no option {name}"
            opt = opts[name]
            takes = 0 if opt is None or opt.is_flag or opt.count else max(opt.nargs, 1)
            if inline and not takes:
                return f"{' '.join(path)} {name} takes no value"
            if takes and not inline:
                if i + takes > len(args) - 1:
                    return f"{' '.join(path)} {name} needs a value"
                i += takes
        elif _is_group(command):
            choices = token.split("|")  # "bench epic|embed": each alternative must exist
            ctx = command.context_class(command, info_name=path[-1])  # groups may be dynamic
            found = [command.get_command(ctx, c) for c in choices]
            if None in found:
                return f"{' '.join(path)} has no command {token}"
            for alternative in choices[1:]:
                problem = command_problem([*path[1:], alternative, *args[i + 1 :]])
                if problem:
                    return problem
            command = found[0]
            path.append(choices[0])
        else:
            positional += 1
        i += 1
    if _is_group(command):
        return f"{' '.join(path)} is a group, not a command"
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    if all(a.nargs >= 0 for a in arguments) and positional > sum(a.nargs for a in arguments):
        return f"{' '.join(path)} takes {sum(a.nargs for a in arguments)} arguments, {positional} given"
    return None


def _shell_lines() -> list:
    params = []
    for page in [*markdown_pages(), README]:
        for block in code_blocks(page):
            if block.language in SHELL and block.executed:
                for env, args in evalkit_command_lines(block):
                    label = f"{page.name}:{block.line}:{' '.join(args)[:60]}"
                    params.append(pytest.param(env, args, id=label))
    return params


SHELL_LINES = _shell_lines()


def test_docs_show_commands():
    assert len(SHELL_LINES) > 40


@pytest.mark.parametrize(("env", "args"), SHELL_LINES)
def test_command_line_parses(env: dict[str, str], args: list[str]):
    if not env:
        assert command_problem(args) is None
        return
    # A line that sets variables (a plugin to load) is checked in a process of its own, with
    # them set and relative paths taken from the repository root, as a user would run it.
    environ = {**os.environ, **env}
    paths = [str(ROOT / p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    environ["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT), str(ROOT / "tests"), str(HERE)])
    script = (
        "import sys; from evalkit.plugins import load_plugins; load_plugins(); "
        "from test_docs_code_blocks import command_problem; "
        "sys.stdout.write(repr(command_problem(sys.argv[1:])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], env=environ, cwd=ROOT, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "None"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["epic", "--task", "cartpole"], None),
        (["train", "--no-progress", "--task", "x"], None),
        (["nonsense"], "evalkit has no command nonsense"),
        (["epic", "--no-such-option"], "evalkit epic has no option --no-such-option"),
        (["epic", "--no-progress"], "evalkit epic has no option --no-progress"),
        (["epic", "--task"], "evalkit epic --task needs a value"),
        (["bench", "epic|nope"], "evalkit bench has no command epic|nope"),
        (["label"], "evalkit label is a group, not a command"),
        (["datasets", "a", "b"], "evalkit datasets takes 0 arguments, 2 given"),
    ],
)
def test_command_check_itself(args, problem):
    """The checker refuses what the CLI would refuse."""
    assert command_problem(args) == problem
