"""The Typer applications that command modules attach to.

Each module in :mod:`evalkit.cli` (other than those starting with ``_``) is imported by
:func:`evalkit.cli.main` and registers its commands with the decorators below, e.g.::

    from evalkit.cli._app import app

    @app.command()
    def landscape(...): ...

Command modules import heavy libraries (torch, open_clip, mujoco) inside the command function,
so that ``evalkit --help`` stays fast. The root callback loads plugins (:mod:`evalkit.plugins`)
before any command runs or lists its subcommands.
"""

from __future__ import annotations

import inspect
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer
from typer.core import TyperGroup, TyperOption

if TYPE_CHECKING:
    from rich.console import Console

from evalkit.errors import EvalkitError, unusable_path_error
from evalkit.fileio import Terminated, terminate_as_interrupt

_option_type_in_help = TyperOption.display_type_rich


def _no_type_for_flags(self: TyperOption, ctx: Any) -> Optional[str]:
    """Help shows a value type only for options that take a value (Typer shows ``<bool>`` for
    flags such as ``--overwrite``, which take none)."""
    return None if self.is_flag else _option_type_in_help(self, ctx)


TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]


def _fail(exc: EvalkitError) -> typer.Exit:
    typer.secho(f"error: {exc}", fg="red", err=True)
    return typer.Exit(2)


class _EvalkitGroup(TyperGroup):
    """Root command group: user errors (and unwritable places the user chose) print one
    sentence and exit 2; Ctrl-C exits 130 and SIGTERM, which is handled the same way, 143."""

    def invoke(self, ctx: Any) -> Any:
        terminate_as_interrupt()
        default_show = warnings.showwarning
        warnings.showwarning = _evalkit_warning(default_show)
        try:
            return super().invoke(ctx)
        except EvalkitError as exc:
            raise _fail(exc) from None
        except SyntaxError as exc:
            if exc.filename is None or _is_evalkit_file(exc.filename):
                raise
            raise _fail(
                EvalkitError(
                    f"{exc.filename}, line {exc.lineno}: {exc.msg}; fix that Python file (a module named by --reward or a tasks file) and run again."
                )
            ) from None
        except OSError as exc:
            from evalkit.data.store import vanished_dataset_error  # numpy, pandas: not for --help

            error = vanished_dataset_error(exc) or unusable_path_error(exc)
            if error is None:
                raise
            raise _fail(error) from None
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            typer.secho(
                f"{'Terminated (SIGTERM)' if terminated else 'Interrupted'}. Nothing half-written was kept; run the command again (finished cached work, such as embedding shards or checkpoints, is reused).",
                fg="yellow",
                err=True,
            )
            raise typer.Exit(143 if terminated else 130) from None
        finally:
            warnings.showwarning = default_show


def _is_evalkit_file(filename: str) -> bool:
    """Whether ``filename`` is a source file of evalkit itself (a bug, not the user's)."""
    package = Path(__file__).resolve().parents[1]
    return Path(filename).resolve().is_relative_to(package)


MUJOCO_GL_BACKENDS = ("egl", "osmesa", "glfw", "cgl")
"""The values of ``$MUJOCO_GL`` that MuJoCo accepts."""


_RENDERING_COMMANDS = {"collect", "train", "evaluate", "bench"}
"""Commands that may load MuJoCo (others run whatever ``$MUJOCO_GL`` says)."""


def check_mujoco_gl() -> None:
    """An invalid ``$MUJOCO_GL`` is one sentence up front, not a traceback from deep in MuJoCo."""
    value = os.environ.get("MUJOCO_GL")
    if value is not None and value.lower() not in MUJOCO_GL_BACKENDS:
        raise EvalkitError(
            f"MUJOCO_GL={value!r} is not a MuJoCo rendering backend; set it to one of "
            f"{', '.join(MUJOCO_GL_BACKENDS)} (evalkit uses egl when it is unset), or unset it."
        )


def _evalkit_warning(default: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that prints evalkit's own warnings as one line (no source
    location: the user did not write that code) and leaves every other warning to ``default``."""

    def show(message: Any, category: type, filename: str, lineno: int, *rest: Any) -> None:
        if category.__module__.startswith("evalkit"):
            typer.secho(f"warning: {message}", fg="yellow", err=True)
        else:
            default(message, category, filename, lineno, *rest)

    return show


app = typer.Typer(
    cls=_EvalkitGroup,
    name="evalkit",
    help=(
        "Is a vision-language model a good zero-shot reward model for your RL task?\n\n"
        "Collect rendered state datasets, embed them once with any open_clip model, measure the "
        "EPIC distance of CLIP rewards to goal labels, plot reward landscapes and scaling, and "
        "train policies with the reward to confirm (Rocamonde et al., VLM-RM)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

bench_app = typer.Typer(
    help="Benchmarks: measure speed and memory of evalkit's hot paths on this machine.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")

label_app = typer.Typer(
    help="Human goal labels: label frames in a browser, rate episodes, import/export, stats.",
    no_args_is_help=True,
)
app.add_typer(label_app, name="label")

collect_app = typer.Typer(
    help="Build rendered, rule-labelled state datasets (one subcommand per environment family).",
    no_args_is_help=True,
)
app.add_typer(collect_app, name="collect")


_LIST_MARKERS = ("- ", "* ", "• ")


def reflow_help(doc: str) -> str:
    """A command docstring as help text: the lines of a paragraph that the source wrapped are
    joined (rich keeps every newline, so a 90-column source line would fold mid-sentence in an
    80-column terminal). A line ending a sentence or a ``term:``, or starting a list item, keeps
    its line break, so deliberate one-per-line lists stay as written."""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    for line in lines:
        previous = out[-1] if out else ""
        joinable = (
            previous.strip()
            and line.strip()
            and not previous.rstrip().endswith((".", ":", "!", "?"))
            and not line.lstrip().startswith(_LIST_MARKERS)
            and not line.startswith(" ")
        )
        if joinable:
            out[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


def reflow_command_help(group: typer.Typer) -> None:
    """Give every command of ``group`` (and of its sub-groups) its reflowed docstring as help."""
    for info in group.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = reflow_help(info.callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            reflow_command_help(sub.typer_instance)


def console(stderr: bool = False) -> "Console":
    """A rich console; when output is not a terminal (pipes, files, tests) lines are not folded."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 200)


def _version(value: bool) -> None:
    if value:
        from evalkit import __version__

        typer.echo(f"evalkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print evalkit's version and exit.",
    ),
    tasks_file: "Optional[str]" = typer.Option(
        None,
        "--tasks-file",
        envvar="EVALKIT_TASKS_FILE",
        help="Load extra tasks from this TOML file (see 'evalkit tasks'); also $EVALKIT_TASKS_FILE.",
    ),
) -> None:
    """Is a vision-language model a good zero-shot reward model for your RL task?"""
    from evalkit.plugins import load_plugins

    if ctx.invoked_subcommand in _RENDERING_COMMANDS:
        check_mujoco_gl()
    load_plugins()  # before the tasks file, whose tasks may run on a plugin's family
    if tasks_file:
        from evalkit.tasks import load_tasks_file

        load_tasks_file(tasks_file)
