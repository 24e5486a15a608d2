"""Render-variant flags (``--textured/--plain``, ``--full-track/--centre-crop``...), made from the
families' :class:`~evalkit.envs.family.Variant` objects for ``evalkit collect`` and
``evalkit landscape`` alike, so that no command names a family or its flags.

``collect FAMILY`` takes its family's flags with their defaults (:func:`variant_parameter`;
``collect humanoid`` through :func:`family_flags_command`); ``landscape`` takes the flags of
every family with a sweep, unset by default (:class:`VariantFlagsCommand`), and refuses one that
its family lacks (:func:`check_variant_flags`).
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping, Optional

import click
import typer
from typer.core import TyperCommand

from evalkit.errors import EvalkitError

_META_KEY = "evalkit.variants"


def variant_parameter(
    variant: Any, default: Optional[bool], families: str = ""
) -> inspect.Parameter:
    """The keyword parameter (for a command signature Typer reads) of one variant's flag pair.

    :param variant: a :class:`~evalkit.envs.family.Variant`.
    :param default: the value when neither flag is given (``None``: leave it unset).
    :param families: the families it applies to, for its help (empty: not said).
    """
    help = f"{families}: {variant.help}" if families else variant.help
    return inspect.Parameter(
        variant.name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Optional[bool] if default is None else bool,
        default=typer.Option(default, f"{variant.on_flag}/{variant.off_flag}", help=help),
    )


def sweep_variants() -> dict[str, Any]:
    """The render variants of every family with a sweep, by name (the first family's wins when
    two declare one name)."""
    out: dict[str, Any] = {}
    for family in _sweep_families():
        for v in family.variants:
            out.setdefault(v.name, v)
    return out


def _sweep_families() -> list[Any]:
    from evalkit.envs.family import all_families  # here so that 'evalkit --help' stays fast

    return [f for f in all_families() if f.sweep is not None]


def _owners(name: str) -> list[str]:
    """The families with a sweep that have the variant ``name``."""
    return [f.name for f in _sweep_families() if name in {v.name for v in f.variants}]


def _click_options(parameters: list[inspect.Parameter]) -> list[click.Parameter]:
    """The click options Typer makes of keyword ``parameters``."""

    def command(**_: Any) -> None:  # pragma: no cover - only its signature is read
        pass

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    single = typer.Typer(add_completion=False)
    single.command()(command)
    return list(typer.main.get_command(single).params)


class VariantFlagsCommand(TyperCommand):
    """A command that also takes the render-variant flags of every family with a sweep, unset
    by default, made from the registry when it parses (so a plugin's family brings its flags);
    the callback reads the values given with :func:`given_variants`."""

    def variant_parameters(self) -> list[inspect.Parameter]:
        """The flag pairs this command adds."""
        return [
            variant_parameter(v, None, ", ".join(_owners(v.name)))
            for v in sweep_variants().values()
        ]

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        help_option = self.get_help_option(ctx)
        own = [p for p in params if p is not help_option]
        extra = _click_options(self.variant_parameters())
        return [*own, *extra, *([help_option] if help_option is not None else [])]

    def invoke(self, ctx: click.Context) -> Any:
        names = [p.name for p in self.variant_parameters()]
        ctx.meta[_META_KEY] = {name: ctx.params.pop(name) for name in names if name in ctx.params}
        return super().invoke(ctx)


def family_flags_command(family: str) -> type[VariantFlagsCommand]:
    """A command class that takes the render-variant flags of one family, with its defaults
    (for a command of that family's own, such as ``collect humanoid``)."""

    class FamilyFlagsCommand(VariantFlagsCommand):
        def variant_parameters(self) -> list[inspect.Parameter]:
            from evalkit.envs.family import get_family

            return [variant_parameter(v, v.default) for v in get_family(family).variants]

    return FamilyFlagsCommand


def given_variants(ctx: click.Context) -> dict[str, Optional[bool]]:
    """The variant flags given to a :class:`VariantFlagsCommand` (``None``: neither flag)."""
    return dict(ctx.meta.get(_META_KEY, {}))


def check_variant_flags(family: Any, given: Mapping[str, Optional[bool]]) -> dict[str, bool]:
    """The variants set in ``given`` (not ``None``); a flag that ``family`` lacks is one
    sentence naming the families it applies to.

    :param family: a :class:`~evalkit.envs.family.Family`.
    """
    own = {v.name for v in family.variants}
    for name, value in given.items():
        if value is not None and name not in own:
            variant = sweep_variants()[name]
            raise EvalkitError(
                f"{variant.on_flag}/{variant.off_flag} only applies to "
                f"{' and '.join(_owners(name))}."
            )
    return {k: bool(v) for k, v in given.items() if v is not None}
