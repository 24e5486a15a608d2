"""Options and helpers shared by several command modules."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import typer

from evalkit.errors import EvalkitError, FewEpisodesWarning, OptionWarning

if TYPE_CHECKING:
    from evalkit.data.store import Dataset

ROOT_OPTION = typer.Option(
    None, "--root", help="Datasets root (default: $EVALKIT_DATASETS or ./datasets)."
)
"""``--root``: where datasets live; every command that reads or writes datasets takes it."""

GOAL_FRAMES_OPTION = typer.Option(
    None,
    "--goal-frames",
    help="With --model: the goal as example frames instead of the task's sentence: ids:3,17, labels:rule, DATASET@ids:..., or a folder of images (their mean embedding is the goal).",
)
BASELINE_FRAMES_OPTION = typer.Option(
    None,
    "--baseline-frames",
    help="With --goal-frames: the baseline as example frames too (default: the task's baseline sentence).",
)
"""``--goal-frames`` / ``--baseline-frames``: a frame-prototype goal (:mod:`evalkit.pipeline.prototypes`)."""


def check_frame_options(
    goal_frames: Optional[str], baseline_frames: Optional[str], model: Optional[str]
) -> None:
    """``--goal-frames`` / ``--baseline-frames`` need ``--model``, and a baseline needs a goal."""
    if (goal_frames or baseline_frames) and model is None:
        raise EvalkitError(
            "--goal-frames and --baseline-frames need --model (whose embeddings they use)."
        )
    if baseline_frames and not goal_frames:
        raise EvalkitError("--baseline-frames needs --goal-frames (the goal as frames too).")


def embed_options(devices: Optional[str], batch_size: Optional[int]) -> dict[str, object]:
    """``--devices`` / ``--batch-size`` as keyword arguments for the embedding engine (unset ones left out)."""
    return {k: v for k, v in (("devices", devices), ("batch_size", batch_size)) if v}


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


MIN_INTERVAL_EPISODES = 50
"""Fewest episodes over which a bootstrap interval covers about as often as it says (measured:
a 95 % AUC interval covered 88 % of the time at 20 episodes, 94.5 % at 60)."""


def warn_few_episodes(n_episodes: int, n_bootstrap: int) -> None:
    """A one-line warning when intervals rest on fewer than :data:`MIN_INTERVAL_EPISODES` episodes.

    :param n_episodes: the episodes the bootstrap resamples.
    :param n_bootstrap: the resamples asked for (0: no interval, no warning).
    """
    if n_bootstrap and n_episodes < MIN_INTERVAL_EPISODES:
        warnings.warn(
            f"the intervals rest on {n_episodes} episodes, fewer than {MIN_INTERVAL_EPISODES}: "
            "bootstrap intervals over few episodes are too narrow (a 95 % interval covered 88 % "
            "of the time at 20 episodes); collect more episodes, or read them as optimistic.",
            FewEpisodesWarning,
            stacklevel=2,
        )


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


def task_dataset(task_name: str, dataset: Optional[str], root: Optional[Path]) -> "Dataset":
    """The dataset a task is evaluated on: ``dataset`` if given, else the task's default one
    (with a clear error saying how to make it when it is not there, or which file is corrupt)."""
    from evalkit.data.store import dataset_path, open_dataset, resolve_root
    from evalkit.tasks import get_task

    task = get_task(task_name)
    if dataset is None:
        name = task.env.default_dataset
        if not dataset_path(name, root).exists():
            raise EvalkitError(
                f"Task {task.name!r} is evaluated on the dataset {name!r} by default, and there is none under "
                f"{resolve_root(root)}; make it with 'evalkit collect {task.family}' (or pass --dataset)."
            )
        dataset = name
    ds = open_dataset(dataset, root)
    if ds.family != task.family:  # before anything is embedded or computed for it
        raise EvalkitError(
            f"Dataset {ds.name!r} holds {ds.family} states but task {task.name!r} runs on "
            f"{task.family}; pass a {task.family} dataset with --dataset (default: "
            f"{task.env.default_dataset})."
        )
    ds.check_tables()  # a corrupt states, labels or results table is one sentence, before any work
    return ds


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
    """A label set the dataset has (``rule`` is always there: computed from the states)."""
    from evalkit.data.store import RULE_LABELS

    if labels != RULE_LABELS and labels not in ds.label_sets():
        raise EvalkitError(
            f"Dataset {ds.name!r} has no label set {labels!r} ({option}; it has: "
            f"{', '.join(sorted({RULE_LABELS, *ds.label_sets()}))}); label it with 'evalkit label "
            f"serve {ds.name}' or import labels with 'evalkit label import'."
        )


def check_task_family(ds: "Dataset", task: str) -> None:
    """A task that runs on the dataset's family (its name checked too), before any work."""
    from evalkit.tasks import get_task

    family = get_task(task).family
    if family != ds.family:
        raise EvalkitError(
            f"Task {task!r} runs on {family}, but {ds.name!r} holds {ds.family} states; pass a "
            "task of that family (see 'evalkit tasks')."
        )
