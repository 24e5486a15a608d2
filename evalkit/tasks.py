"""The task registry: every task's prompts, environment, goal rule and human success criterion.

A *task* is one sentence on one *environment family*. The ten tasks of the paper (Table 3
prompts, Table 2 criteria) are built in. Users add tasks without editing evalkit, either from
Python::

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
    #           criterion = "...", default_dataset = "..."

A *goal rule* is a vectorised predicate on a dataset's state table (one row per frame) that
returns a boolean array; rules are referenced by name from :data:`RULES` so that the registry
never imports physics engines. Humanoid rules live in :mod:`evalkit.envs.humanoid_rules` and
are registered there under the task's name.
"""

from __future__ import annotations

import difflib
import importlib
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from evalkit.errors import EvalkitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RuleFn = Callable[..., np.ndarray]
"""``rule(states: pandas.DataFrame, **params) -> bool array`` with one entry per row."""


@dataclass(frozen=True)
class Family:
    """An environment family: one gymnasium environment and the datasets made from it.

    :param name: short name used on the command line (``cartpole``).
    :param env_id: gymnasium id registered by :mod:`evalkit.envs`.
    :param default_dataset: dataset that ``evalkit epic`` uses when none is given.
    :param episode_length: fixed episode length (truncation) from the paper.
    :param state_axis: state column that reward landscapes plot against (``None``: no landscape).
    :param goal_value: where the goal sits on ``state_axis`` (drawn as a vertical line).
    :param rule_module: module that registers this family's rules in :data:`RULES` on import.
    """

    name: str
    env_id: str
    default_dataset: str
    episode_length: int
    state_axis: str | None = None
    goal_value: float | None = None
    rule_module: str | None = None


CARTPOLE_UPRIGHT_MAX_ANGLE = math.radians(12.0)  # ≈ 0.2094 rad
"""The pole counts as upright while ``|angle|`` is at most this: gymnasium's CartPole fails an
episode at 12°, and the paper's ground-truth reward penalises exactly that, so the rule label
agrees with the training signal."""

CARTPOLE_MAX_POSITION = 2.4
"""The cart counts as on the track while ``|cart_position|`` is at most this (gymnasium's other
failure threshold, also part of the ground-truth reward). Frames are centre-cropped to a square as
CLIP's preprocessing would crop gymnasium's 600×400 picture, so a cart past about ±1.6 is out of
the frame."""

MOUNTAINCAR_GOAL_POSITION = 0.45
"""``MountainCarContinuous``'s goal position (the yellow flag); x at or past it is the goal."""


FAMILIES: dict[str, Family] = {
    "cartpole": Family(
        name="cartpole",
        env_id="evalkit/CartPole-v0",
        default_dataset="cartpole-sweep",
        episode_length=200,
        state_axis="angle",
        goal_value=0.0,
    ),
    "mountaincar": Family(
        name="mountaincar",
        env_id="evalkit/MountainCar-v0",
        default_dataset="mountaincar-sweep-textured",
        episode_length=200,
        state_axis="position",
        goal_value=MOUNTAINCAR_GOAL_POSITION,
    ),
    "humanoid": Family(
        name="humanoid",
        env_id="evalkit/Humanoid-v0",
        default_dataset="humanoid-poses",
        episode_length=100,
        rule_module="evalkit.envs.humanoid_rules",
    ),
}


def cartpole_upright(states: Any, max_angle: float = CARTPOLE_UPRIGHT_MAX_ANGLE,
                     max_position: float = CARTPOLE_MAX_POSITION) -> np.ndarray:
    """CartPole goal: the pole is within ``max_angle`` radians of vertical and the cart within
    ``max_position`` of the centre (where the ground-truth reward is +1; states without a
    ``cart_position`` column count as centred)."""
    upright = np.abs(np.asarray(states["angle"], dtype=float)) <= max_angle
    if "cart_position" in states:
        upright &= np.abs(np.asarray(states["cart_position"], dtype=float)) <= max_position
    return upright


def mountaincar_at_flag(states: Any, goal_position: float = MOUNTAINCAR_GOAL_POSITION) -> np.ndarray:
    """MountainCar goal: the car is at or past the flag."""
    return np.asarray(states["position"], dtype=float) >= goal_position


RULES: dict[str, RuleFn] = {
    "cartpole_upright": cartpole_upright,
    "mountaincar_at_flag": mountaincar_at_flag,
}
"""Goal rules by name. Environment modules add theirs with :func:`register_rule`."""


def register_rule(name: str, fn: RuleFn) -> RuleFn:
    """Register a goal rule under ``name`` (usable as a decorator via ``functools.partial``)."""
    RULES[name] = fn
    return fn


@dataclass(frozen=True)
class Task:
    """One task: a goal sentence on an environment family.

    :param name: identifier used on the command line (``kneeling``).
    :param family: environment family name, a key of :data:`FAMILIES`.
    :param goal_prompt: the task sentence (paper Table 3, "goal").
    :param baseline_prompt: the generic sentence for goal-baseline regularisation.
    :param criterion: the human success criterion (paper Table 2), shown to labellers.
    :param rule: name of the goal rule in :data:`RULES` (``None``: human labels only).
    :param rule_params: keyword arguments for the rule (thresholds).
    :param paper_success: success rate reported in the paper's Table 1, if any.
    """

    name: str
    family: str
    goal_prompt: str
    baseline_prompt: str
    criterion: str = ""
    rule: str | None = None
    rule_params: Mapping[str, float] = field(default_factory=dict)
    paper_success: float | None = None

    @property
    def env(self) -> Family:
        """The environment family this task runs on."""
        return get_family(self.family)

    @property
    def label_source(self) -> str:
        """How goal labels are obtained, in words (for ``evalkit tasks``)."""
        if self.rule is None:
            return "human labels"
        params = ", ".join(f"{k}={v:g}" for k, v in self.rule_params.items())
        rule = f"rule {self.rule}({params})" if params else f"rule {self.rule}"
        return f"{rule}; human labels" if self.family == "humanoid" else rule

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
    """Look up a goal rule, importing the family's rule module on first use."""
    if name not in RULES and family is not None:
        module = FAMILIES[family].rule_module if family in FAMILIES else None
        if module:
            importlib.import_module(module)
    if name not in RULES:
        raise EvalkitError(f"Unknown goal rule {name!r}; known rules: {', '.join(sorted(RULES))}.")
    return RULES[name]


_HUMANOID_BASELINE = "a humanoid robot"

_BUILTIN = [
    Task("cartpole", "cartpole", "pole vertically upright on top of the cart", "pole and cart",
         criterion="the pole stays upright (|angle| ≤ 12°) with the cart on the track (|x| ≤ 2.4)",
         rule="cartpole_upright", rule_params={"max_angle": CARTPOLE_UPRIGHT_MAX_ANGLE,
                                               "max_position": CARTPOLE_MAX_POSITION}),
    Task("mountaincar", "mountaincar", "a car at the peak of the mountain, next to the yellow flag",
         "a car in the mountain", criterion="the car reaches the flag (x ≥ 0.45)",
         rule="mountaincar_at_flag", rule_params={"goal_position": MOUNTAINCAR_GOAL_POSITION}),
    Task("kneeling", "humanoid", "a humanoid robot kneeling", _HUMANOID_BASELINE,
         criterion="Agent is kneeling with both knees touching the floor. Agent must be balanced "
                   "(not kneeling in the air).", rule="kneeling", paper_success=1.0),
    Task("lotus", "humanoid", "a humanoid robot seated down, meditating in the lotus position",
         _HUMANOID_BASELINE,
         criterion="Agent is seated down with both knees touching the floor facing outwards and "
                   "feet facing inwards.", rule="lotus", paper_success=1.0),
    Task("standing", "humanoid", "a humanoid robot standing up", _HUMANOID_BASELINE,
         criterion="Agent is standing up without falling.", rule="standing", paper_success=1.0),
    Task("arms_raised", "humanoid", "a humanoid robot standing up, with both arms raised",
         _HUMANOID_BASELINE, criterion="Agent is standing with both arms raised.",
         rule="arms_raised", paper_success=1.0),
    Task("splits", "humanoid", "a humanoid robot practicing gymnastics, doing the side splits",
         _HUMANOID_BASELINE,
         criterion="Agent is on the floor doing the side splits with legs stretched on the floor.",
         rule="splits", paper_success=1.0),
    Task("hands_on_hips", "humanoid", "a humanoid robot standing up with hands on hips",
         _HUMANOID_BASELINE,
         criterion="Agent is standing with both hands on the base of the hips (not on the chest).",
         rule="hands_on_hips", paper_success=0.64),
    Task("arms_crossed", "humanoid", "a humanoid robot standing up, with its arms crossed",
         _HUMANOID_BASELINE,
         criterion="Agent is standing with its arms crossed (hands touching but not crossing is "
                   "not valid).", rule="arms_crossed", paper_success=0.0),
    Task("one_leg", "humanoid", "a humanoid robot standing up on one leg", _HUMANOID_BASELINE,
         criterion="Agent is standing up with only one foot touching the floor, balanced.",
         rule="one_leg", paper_success=0.0),
]

TASKS: dict[str, Task] = {t.name: t for t in _BUILTIN}
"""Every registered task by name; built-ins first, then user tasks in registration order."""


def _unknown(kind: str, name: str, valid: list[str]) -> EvalkitError:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return EvalkitError(f"Unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(valid)}.")


def get_family(name: str) -> Family:
    """The environment family called ``name`` (a clear error listing valid names otherwise)."""
    if name not in FAMILIES:
        raise _unknown("environment family", name, list(FAMILIES))
    return FAMILIES[name]


def get_task(name: str) -> Task:
    """The task called ``name`` (a clear error listing valid names otherwise)."""
    _load_env_tasks_file()
    if name not in TASKS:
        raise _unknown("task", name, list(TASKS))
    return TASKS[name]


def all_tasks() -> list[Task]:
    """Every registered task, built-ins first."""
    _load_env_tasks_file()
    return list(TASKS.values())


def tasks_for_family(family: str) -> list[Task]:
    """The tasks that run on one environment family."""
    return [t for t in all_tasks() if t.family == family]


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Add a task to the registry. Refuses to shadow an existing name unless ``replace``."""
    get_family(task.family)
    if task.rule is not None:
        get_rule(task.rule, family=task.family)
    if task.name in TASKS and not replace and TASKS[task.name] != task:
        raise EvalkitError(
            f"A task called {task.name!r} already exists; choose another name or pass replace=True."
        )
    TASKS[task.name] = task
    return task


def load_tasks_file(path: str | os.PathLike[str]) -> list[Task]:
    """Register the tasks of a TOML file (see the module docstring) and return them."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise EvalkitError(f"Tasks file {p} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise EvalkitError(f"Tasks file {p} is not valid TOML: {exc}.") from None
    entries = data.get("task", [])
    if not isinstance(entries, list) or not entries:
        raise EvalkitError(f"Tasks file {p} has no [[task]] tables.")
    loaded = []
    for i, entry in enumerate(entries):
        missing = [k for k in ("name", "family", "goal", "baseline") if k not in entry]
        if missing:
            raise EvalkitError(f"Task #{i + 1} in {p} lacks {', '.join(missing)}.")
        family = get_family(entry["family"])
        default_rule = _default_rule(family.name)
        task = Task(
            name=str(entry["name"]),
            family=family.name,
            goal_prompt=str(entry["goal"]),
            baseline_prompt=str(entry["baseline"]),
            criterion=str(entry.get("criterion", "")),
            rule=entry.get("rule", default_rule),
            rule_params=dict(entry.get("rule_params", {})),
        )
        loaded.append(register_task(task, replace=bool(entry.get("replace", False))))
    return loaded


def _default_rule(family: str) -> str | None:
    """The rule a user task on ``family`` inherits when its file names none."""
    return {"cartpole": "cartpole_upright", "mountaincar": "mountaincar_at_flag"}.get(family)


_ENV_FILE_LOADED: set[str] = set()


def _load_env_tasks_file() -> None:
    path = os.environ.get("EVALKIT_TASKS_FILE")
    if path and path not in _ENV_FILE_LOADED:
        _ENV_FILE_LOADED.add(path)
        load_tasks_file(path)
