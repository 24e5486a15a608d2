"""The task registry: every task's prompts, environment, goal rule and human success criterion.

A *task* is one sentence on one *environment family*. A family brings its own tasks
(:attr:`evalkit.envs.family.Family.tasks`): the ten tasks of the paper (Table 3 prompts, Table 2
criteria) are those of the built-in families, each beside its family. Users add tasks without
editing evalkit, either from Python (a plugin, see :mod:`evalkit.plugins`)::

    from evalkit.tasks import Task, register_task
    register_task(Task(name="cartpole_left", family="cartpole",
                       goal_prompt="a pole leaning to the left", baseline_prompt="pole and cart"))

or from a TOML file (``evalkit --tasks-file my_tasks.toml ...`` or ``$EVALKIT_TASKS_FILE``)::

    [[task]]
    name = "cartpole_left"
    family = "cartpole"
    goal = "a pole leaning to the left"
    baseline = "pole and cart"
    # optional: rule = "cartpole_upright", rule_params = { max_angle = 0.1 },
    #           criterion = "...", default_dataset = "...",
    #           collect_command = "..." (the command that makes default_dataset)

A file may also load Python modules first (``modules = ["my_pkg.acrobot"]`` at its top), for
example one that registers a new environment family (:mod:`evalkit.envs.family`) for its tasks.

A *goal rule* is a vectorised predicate on a dataset's state table (one row per frame) that
returns a boolean array. Rules are referenced by name: a family's own rules
(:attr:`evalkit.envs.family.Family.rules`, for instance the humanoid rules of
:mod:`evalkit.envs.humanoid_rules`), or rules added with :func:`register_rule`. None of them
imports a physics engine.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from evalkit.envs import all_families
from evalkit.envs.family import (  # noqa: F401 - FAMILIES re-exported
    FAMILIES,
    Family,
    FamilyTask,
    RuleFn,
    get_family,
    unknown_name,
)
from evalkit.errors import EvalkitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RULES: dict[str, RuleFn] = {}
"""Goal rules that belong to no family, by name (added with :func:`register_rule`). A family's own
rules are in its :attr:`~evalkit.envs.family.Family.rules`."""


def register_rule(name: str, fn: RuleFn) -> RuleFn:
    """Register a goal rule under ``name`` for tasks of any family."""
    RULES[name] = fn
    return fn


@dataclass(frozen=True)
class Task:
    """One task: a goal sentence on an environment family.

    :param family: environment family name, a key of :data:`evalkit.envs.family.FAMILIES`.
    :param rule: name of a goal rule of the family or of :data:`RULES` (``None``: human labels only).

    The other fields (``name``, the prompts, ``criterion``, ``rule_params``, ``paper_success``,
    ``default_dataset``, ``collect_command``) mean what they mean on
    :class:`evalkit.envs.family.FamilyTask`, the form in which a family brings its own tasks.
    """

    name: str
    family: str
    goal_prompt: str
    baseline_prompt: str
    criterion: str = ""
    rule: str | None = None
    rule_params: Mapping[str, float] = field(default_factory=dict)
    paper_success: float | None = None
    default_dataset: str | None = None
    collect_command: str | None = None

    @classmethod
    def of_family(cls, family: Family, spec: FamilyTask) -> Task:
        """The task that ``family`` brings with it as ``spec`` (:attr:`Family.tasks`)."""
        values = {f.name: getattr(spec, f.name) for f in fields(spec)}
        return cls(family=family.name, **{**values, "rule_params": dict(spec.rule_params)})

    @property
    def env(self) -> Family:
        """The environment family this task runs on."""
        return get_family(self.family)

    @property
    def dataset(self) -> str:
        """The dataset the task is evaluated on when none is given: its own, else its family's."""
        return self.default_dataset or self.env.default_dataset

    def collect_hint(self) -> str | None:
        """The command that makes :attr:`dataset` (``None``: a dataset of the task's own that no
        command is known to make)."""
        if self.collect_command:
            return self.collect_command
        if self.default_dataset in (None, self.env.default_dataset):
            return self.env.collect_hint()
        return None

    @property
    def label_source(self) -> str:
        """How goal labels are obtained, in words (for ``evalkit tasks``)."""
        if self.rule is None:
            return "human labels"
        params = ", ".join(f"{k}={v:g}" for k, v in self.rule_params.items())
        rule = f"rule {self.rule}({params})" if params else f"rule {self.rule}"
        return f"{rule}; human labels" if self.env.human_labels else rule

    def rule_fn(self) -> RuleFn:
        """The goal predicate on a state table, with this task's parameters bound."""
        if self.rule is None:
            raise EvalkitError(
                f"Task {self.name!r} has no rule labels; label its goal states with "
                f"'evalkit label serve DATASET --task {self.name}' and use --labels human."
            )
        fn = get_rule(self.rule, family=self.family)
        params = dict(self.rule_params)
        return lambda states: np.asarray(fn(states, **params), dtype=bool)

    def rule_labels(self, states: Any) -> np.ndarray:
        """Boolean goal label per row of ``states`` from this task's rule."""
        return self.rule_fn()(states)


def get_rule(name: str, family: str | None = None) -> RuleFn:
    """Look up a goal rule: the family's own rules first, then those of :func:`register_rule`."""
    own = get_family(family).rules if family is not None else {}
    if name in own:
        return own[name]
    if name not in RULES:
        known = sorted({*own, *RULES})
        raise EvalkitError(
            f"Unknown goal rule {name!r}; known rules: {', '.join(known) or 'none'}."
        )
    return RULES[name]


TASKS: dict[str, Task] = {}
"""Every registered task by name: the families' own tasks first (in family order), then user
tasks in registration order. Read it through :func:`all_tasks` or :func:`get_task`, which add the
tasks of families registered since."""

_FAMILIES_WITH_TASKS: dict[str, Family] = {}
"""The families whose own tasks are in :data:`TASKS`, as they were when added."""


def _add_family_tasks() -> None:
    """Add the own tasks (:attr:`Family.tasks`) of every family not added yet (or replaced)."""
    for family in all_families():
        if _FAMILIES_WITH_TASKS.get(family.name) is not family:
            _FAMILIES_WITH_TASKS[family.name] = family
            for spec in family.tasks:
                register_task(Task.of_family(family, spec), replace=True)


def get_task(name: str) -> Task:
    """The task called ``name`` (a clear error listing valid names otherwise)."""
    _add_family_tasks()
    _load_env_tasks_file()
    if name not in TASKS:
        raise unknown_name("task", name, list(TASKS))
    return TASKS[name]


def all_tasks() -> list[Task]:
    """Every registered task, the families' own first."""
    _add_family_tasks()
    _load_env_tasks_file()
    return list(TASKS.values())


def tasks_for_family(family: str) -> list[Task]:
    """The tasks that run on one environment family."""
    return [t for t in all_tasks() if t.family == family]


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Add a task to the registry. Refuses to shadow an existing name unless ``replace``."""
    get_family(task.family)
    if task.rule is not None:
        check_rule_params(task.rule, get_rule(task.rule, family=task.family), task.rule_params)
    if task.name in TASKS and not replace and TASKS[task.name] != task:
        raise EvalkitError(
            f"A task called {task.name!r} already exists; choose another name or pass replace=True."
        )
    TASKS[task.name] = task
    return task


def load_tasks_file(path: str | os.PathLike[str]) -> list[Task]:
    """Register the tasks of a TOML file (see the module docstring) and return them."""
    p = Path(path)
    data = _read_toml(p)
    _import_modules(p, data.get("modules", []))
    entries = data.get("task", [])
    if not isinstance(entries, list) or not entries:
        raise EvalkitError(f"Tasks file {p} has no [[task]] tables.")
    loaded = []
    for i, entry in enumerate(entries):
        where = f"Task #{i + 1} in {p}"
        if not isinstance(entry, dict):
            raise EvalkitError(
                f"{where} is {entry!r}, not a table; write each task as a [[task]] table."
            )
        missing = [k for k in ("name", "family", "goal", "baseline") if k not in entry]
        if missing:
            raise EvalkitError(f"{where} lacks {', '.join(missing)}.")
        family = get_family(str(entry["family"]))
        rule = entry.get("rule", family.default_rule)
        if rule is not None and not isinstance(rule, str):
            raise EvalkitError(f"{where}: rule must be a rule's name, not {rule!r}.")
        task = Task(
            name=str(entry["name"]),
            family=family.name,
            goal_prompt=str(entry["goal"]),
            baseline_prompt=str(entry["baseline"]),
            criterion=str(entry.get("criterion", "")),
            rule=rule,
            rule_params=_rule_params(entry.get("rule_params", {}), where),
            default_dataset=_optional_text(entry, "default_dataset", where),
            collect_command=_optional_text(entry, "collect_command", where),
        )
        loaded.append(register_task(task, replace=bool(entry.get("replace", False))))
    return loaded


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML table of a tasks file, with one sentence for anything that is not one."""
    if path.is_dir():
        raise EvalkitError(f"Tasks file {path} is a folder; give the path of a .toml file.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalkitError(f"Tasks file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise EvalkitError(f"Tasks file {path} is not a text (TOML) file.") from None
    except OSError as exc:
        raise EvalkitError(f"Cannot read tasks file {path} ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise EvalkitError(f"Tasks file {path} is not valid TOML: {exc}.") from None


def _optional_text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    """A tasks-file entry's optional text value (``None`` when absent)."""
    value = entry.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise EvalkitError(f"{where}: {key} must be a non-empty string, not {value!r}.")
    return value


def _rule_params(params: Any, where: str) -> dict[str, float]:
    """``rule_params`` of a tasks-file entry: a table of numbers."""
    if not isinstance(params, dict):
        raise EvalkitError(
            f"{where}: rule_params must be a table such as {{ max_angle = 0.2 }}, not {params!r}."
        )
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EvalkitError(f"{where}: rule parameter {key} must be a number, not {value!r}.")
    return dict(params)


def check_rule_params(rule: str, fn: RuleFn, params: Mapping[str, Any]) -> None:
    """Refuse parameters that the rule ``fn`` does not take (a misspelt ``max_angel``)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return
    try:
        signature.bind(None, **params)
    except TypeError:
        takes = [
            name
            for name, p in list(signature.parameters.items())[1:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        unknown = sorted(set(params) - set(takes))
        if not unknown:
            raise EvalkitError(
                f"Goal rule {rule!r} needs the parameters {', '.join(takes)} in rule_params."
            ) from None
        raise EvalkitError(
            f"Goal rule {rule!r} takes no parameter {', '.join(unknown)} "
            f"(it takes: {', '.join(takes) or 'none'})."
        ) from None


def _import_modules(path: Path, modules: Any) -> None:
    """Import the modules a tasks file names (they may register families and rules)."""
    if isinstance(modules, str) or not isinstance(modules, list):
        raise EvalkitError(
            f"Tasks file {path}: 'modules' must be a list of module names, such as [\"my_pkg.envs\"]."
        )
    for name in modules:
        try:
            importlib.import_module(str(name))
        except ImportError as exc:
            raise EvalkitError(
                f"Tasks file {path}: cannot import module {name!r} ({exc})."
            ) from None


_ENV_FILE_LOADED: set[str] = set()


def _load_env_tasks_file() -> None:
    path = os.environ.get("EVALKIT_TASKS_FILE")
    if path and path not in _ENV_FILE_LOADED:
        _ENV_FILE_LOADED.add(path)
        load_tasks_file(path)


_add_family_tasks()
