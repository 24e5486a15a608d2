"""Options and helpers shared by several command modules."""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import typer

from evalkit.errors import EvalkitError, OptionWarning
from evalkit.metrics.options import CI_METHODS, BootstrapOptions

if TYPE_CHECKING:
    from evalkit.data.store import Dataset

_KEEP: Any = object()


@dataclass(frozen=True)
class SharedOption:
    """A command-line option several commands take, defined once: its flags, default and help.

    Calling it gives the Typer option; a command passes ``help`` only where the option means
    something narrower there, and ``default`` where its default differs.

    :param flags: the long flag first, then short ones.
    :param settings: further Typer settings (``min=0``...).
    """

    flags: tuple[str, ...]
    default: Any
    help: str
    settings: tuple[tuple[str, Any], ...] = ()

    def __call__(
        self,
        *,
        default: Any = _KEEP,
        help: Optional[str] = None,
        flags: Sequence[str] = (),
        **settings: Any,
    ) -> Any:
        """The Typer option, with a command's own ``default``, ``help``, extra ``flags`` or settings."""
        return typer.Option(
            self.default if default is _KEEP else default,
            *self.flags,
            *flags,
            help=help or self.help,
            **(dict(self.settings) | settings),
        )

    @property
    def flag(self) -> str:
        """The long flag, as messages name the option."""
        return self.flags[0]


ROOT = SharedOption(("--root",), None, "Datasets root (default: $EVALKIT_DATASETS or ./datasets).")
"""``--root``: where datasets live; every command that reads or writes datasets takes it."""
ROOT_OPTION = ROOT()
TASK = SharedOption(("--task", "-t"), ..., "Task name (see 'evalkit tasks').")
DATASET = SharedOption(
    ("--dataset", "-d"), None, "Dataset name or path (default: the task's default dataset)."
)
LABELS = SharedOption(("--labels",), "rule", "Label set: rule, human, or another stored set.")
MODEL = SharedOption(
    ("--model", "-m"),
    None,
    "open_clip model for CLIP rewards, e.g. ViT-B-32 (or evalkit-tiny-vit).",
)
PRETRAINED = SharedOption(
    ("--pretrained",),
    None,
    "Weights: an open_clip tag, a checkpoint path, or 'none' for random weights (default: the model's default tag).",
)
ALPHA = SharedOption(
    ("--alpha",),
    None,
    "Comma-separated α of goal-baseline regularisation (default: 0,0.25,0.5,0.75,1).",
)
DEVICES = SharedOption(
    ("--devices",), None, "Devices for embedding what is not cached, e.g. cuda:0,cuda:1 or cpu."
)
BATCH_SIZE = SharedOption(("--batch-size",), None, "Embedding batch size.", (("min", 1),))
BOOTSTRAP = SharedOption(
    ("--bootstrap",), 2000, "Bootstrap resamples over episodes (0: no interval).", (("min", 0),)
)
CI = SharedOption(("--ci",), CI_METHODS[0], f"Interval method: {' or '.join(CI_METHODS)}.")
CONFIDENCE = SharedOption(("--confidence",), 0.95, "Interval coverage, in (0, 1).")
GOAL_FRAMES = SharedOption(
    ("--goal-frames",),
    None,
    "With --model: the goal as example frames instead of the task's sentence: ids:3,17, labels:rule, DATASET@ids:..., or a folder of images (their mean embedding is the goal).",
)
BASELINE_FRAMES = SharedOption(
    ("--baseline-frames",),
    None,
    "With --goal-frames: the baseline as example frames too (default: the task's baseline sentence).",
)
"""``--goal-frames`` / ``--baseline-frames``: a frame-prototype goal (:mod:`evalkit.pipeline.prototypes`)."""
GOAL_VIDEO = SharedOption(
    ("--goal-video",),
    None,
    "A demonstration as the goal of a window or episode reward: DATASET@episode:N or a folder of frames (its video embedding replaces the goal prompt's).",
)
"""``--goal-video``: a demonstration as a video reward's goal (:mod:`evalkit.pipeline.demonstration`)."""
GOAL_FRAMES_OPTION = GOAL_FRAMES()
BASELINE_FRAMES_OPTION = BASELINE_FRAMES()


Options = dict[str, tuple[Any, Any]]
"""A command's parameters as data: name → (annotation, Typer argument or option), in order."""


def takes(options: Options) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command written as ``(ctx, **values)`` the parameters of ``options`` (the way
    ``evalkit train`` takes its settings' fields), so its options are declared once, as data.

    :param options: name → (annotation, ``typer.Option(...)`` or ``typer.Argument(...)``).
    """

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        context = inspect.Parameter(
            "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )
        parameters = [context] + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for name, (a, d) in options.items()
        ]
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return command

    return decorate


MAX_SEED = 2**32 - 1
"""Largest seed numpy and gymnasium accept (seeds are 0 ... 2**32 - 1)."""


def check_seed(value: Optional[int]) -> Optional[int]:
    """``--seed``: a whole number from 0 to :data:`MAX_SEED` (``None``: the command's default)."""
    if value is not None and not 0 <= value <= MAX_SEED:
        raise typer.BadParameter(
            f"{value} is not a seed; use a whole number from 0 to {MAX_SEED}.", param_hint="--seed"
        )
    return value


def seed_option(default: Optional[int], help: str) -> Any:
    """The ``--seed`` option of every command that takes one, checked by :func:`check_seed`."""
    return typer.Option(default, "--seed", help=help, callback=check_seed)


MIN_BOOTSTRAP = 100
"""Fewest bootstrap resamples that make an interval; 0 means none."""


def check_bootstrap(n: int) -> int:
    """``--bootstrap``: 0 (no interval) or at least :data:`MIN_BOOTSTRAP` resamples."""
    if 0 < n < MIN_BOOTSTRAP:
        raise EvalkitError(
            f"--bootstrap {n} is too few resamples for an interval; use 0 for none, or at least {MIN_BOOTSTRAP} "
            "(the default 2000 gives stable 95 % bounds)."
        )
    return n


def bootstrap_options(n_bootstrap: int, ci: str, confidence: float, seed: int) -> BootstrapOptions:
    """``--bootstrap``, ``--ci``, ``--confidence`` and ``--seed`` as the metrics'
    :class:`~evalkit.metrics.options.BootstrapOptions`, each refused in one sentence naming it."""
    check_bootstrap(n_bootstrap)
    if ci not in CI_METHODS:
        raise typer.BadParameter(f"use one of {', '.join(CI_METHODS)}.", param_hint=CI.flag)
    if not 0 < confidence < 1:
        raise typer.BadParameter(
            "must lie strictly between 0 and 1, e.g. 0.95.", param_hint=CONFIDENCE.flag
        )
    return BootstrapOptions(n_bootstrap, ci, confidence, seed)


def parse_alphas(text: str) -> list[float]:
    """``--alpha 0,0.25,0.5`` as a list of distinct α in [0, 1]."""
    try:
        alphas = [float(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of numbers, e.g. 0,0.25,0.5,0.75,1.",
            param_hint="--alpha",
        ) from None
    if not alphas:
        raise typer.BadParameter("give at least one α.", param_hint="--alpha")
    bad = [a for a in alphas if not (0.0 <= a <= 1.0)]
    if bad:
        raise typer.BadParameter(
            f"α must lie in [0, 1] (paper Definition 1); got {bad[0]:g}.", param_hint="--alpha"
        )
    if len(set(alphas)) != len(alphas):
        raise typer.BadParameter("an α is repeated.", param_hint="--alpha")
    return alphas


@dataclass(frozen=True)
class OptionRule:
    """When the user gives ``option``, the value of ``other`` must satisfy ``holds``; otherwise
    ``option`` would be ignored (or contradicted), which is refused (or, with ``warn``, said).

    :param sentence: the message, with ``{option}`` and ``{other}`` for the options' flags.
    :param when: the rule applies only when ``option``'s own value satisfies this.
    """

    option: str
    other: str
    holds: Callable[[Any], bool]
    sentence: str
    warn: bool = False
    when: Callable[[Any], bool] = lambda value: True


def needs(option: str, other: str, why: str, holds: Callable[[Any], bool] = bool) -> OptionRule:
    """``option`` is refused unless ``other`` is given (or its value ``holds``)."""
    return OptionRule(
        option,
        other,
        holds,
        f"{{option}} needs {{other}} ({why}); add {{other}} or drop {{option}}.",
    )


def excludes(
    option: str, other: str, why: str, holds: Callable[[Any], bool] = lambda value: not value
) -> OptionRule:
    """``option`` and ``other`` (given or switched on: its value fails ``holds``) cannot go
    together."""
    return OptionRule(
        option,
        other,
        holds,
        f"{{option}} and {{other}} cannot go together ({why}); drop one of them.",
    )


def ignored_with(
    option: str, other: str, why: str, when: Callable[[Any], bool] = bool
) -> OptionRule:
    """A warning: ``option`` (when its value satisfies ``when``) does nothing for what
    ``other`` (given) adds."""
    return OptionRule(option, other, lambda value: not value, f"{{option}} {why}.", True, when)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed option ``name`` (an ambient ``$VARIABLE`` does not count)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _flag(ctx: typer.Context, name: str) -> str:
    """The flag of parameter ``name`` as the user would type it (``--saved-only`` when off)."""
    for param in ctx.command.params:
        if param.name == name:
            value = ctx.params.get(name)
            if getattr(param, "secondary_opts", None) and value is False:
                return param.secondary_opts[0]
            return max(param.opts, key=len) if param.opts else name.upper()
    return name


def check_option_rules(ctx: typer.Context, *rules: OptionRule) -> None:
    """Refuse (or warn about) options the current command would ignore, before any work.

    Every command checks its combinations of options through this one function, declared as
    :func:`needs`, :func:`excludes` and :func:`ignored_with` rules.

    :param ctx: the command's context (a ``ctx: typer.Context`` parameter of the command).
    """
    for rule in rules:
        if not _given(ctx, rule.option) or not rule.when(ctx.params.get(rule.option)):
            continue
        if rule.holds(ctx.params.get(rule.other)):
            continue
        text = rule.sentence.format(option=_flag(ctx, rule.option), other=_flag(ctx, rule.other))
        if rule.warn:
            warnings.warn(text, OptionWarning, stacklevel=2)
        else:
            raise EvalkitError(text)


def check_out_path(
    path: Optional[Path],
    suffixes: Sequence[str],
    what: str,
    option: str = "--out",
    bare: bool = True,
    folder_ok: bool = False,
) -> Optional[Path]:
    """The rules of every ``--out`` that names a file, checked before any work.

    A folder, a name under a file, or a suffix that is not one of ``suffixes`` (a name without
    a suffix passes when ``bare``: the writer adds its own) is refused in one sentence, so a
    file never lands under a name the user did not give.

    :param suffixes: the suffixes the writer uses, e.g. ``(".json",)``.
    :param what: what is written, for the message ("a reward head").
    :param folder_ok: an existing folder is accepted (the writer puts its default name in it).
    """
    if path is None or (folder_ok and path.is_dir()):
        return path
    wanted = " or ".join(suffixes)
    if path.is_dir():
        raise EvalkitError(
            f"{option} {path} is a folder; give the file name of {what} (ending in {wanted})."
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise EvalkitError(f"{option} {path}: {parent} is a file, not a folder.")
            break
    suffix = path.suffix.lower()
    if suffix not in suffixes and not (bare and suffix == ""):
        also = " (or no suffix)" if bare else ""
        raise EvalkitError(
            f"{option} {path}: {what} is written as {wanted}, not {path.suffix}; give a name "
            f"ending in {wanted}{also}."
        )
    return path


def check_label_set(ds: "Dataset", labels: str, option: str = "--labels") -> None:
    """A label set the dataset has (:func:`evalkit.pipeline.inputs.check_label_set`)."""
    from evalkit.pipeline.inputs import check_label_set as check  # pandas: only when run

    check(ds, labels, option)


def check_task_family(ds: "Dataset", task: str) -> None:
    """A task of the dataset's family (:func:`evalkit.pipeline.inputs.check_task_family`)."""
    from evalkit.pipeline.inputs import check_task_family as check  # pandas: only when run

    check(ds, task)
