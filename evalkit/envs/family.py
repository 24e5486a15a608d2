"""Environment families: everything evalkit knows about one environment, in one object.

A :class:`Family` names its gymnasium environment and says how evalkit uses it: which states a
uniform sweep visits (:class:`SweepSpec`), which state the reward landscape is drawn against,
its goal rules and the default one, its own tasks (:class:`FamilyTask`), when an evaluation
episode is a success (:class:`SuccessCriterion`), the paper's training settings per algorithm
(:class:`TrainingSettings`) and its render variants (:class:`Variant`, such as MountainCar's
``textured``, which ``evalkit collect`` and ``evalkit landscape`` offer as flags). Every other
module asks the family instead of branching on its name.

Adding an environment is one module: the gymnasium class (meeting the contract of
:class:`evalkit.envs.base.RenderableEnv`) and a :class:`Family` passed to
:func:`register_family`, which checks that contract at once::

    from evalkit.envs import Family, FamilyTask, SweepSpec, register_family

    register_family(Family(
        name="pendulum", env_id="mine/Pendulum-v0", entry_point=PendulumEnv,
        episode_length=200, default_dataset="pendulum-sweep",
        sweep=SweepSpec("theta", -3.14, 3.14, {"theta_dot": 0.0}), axis_label="pole angle (rad)",
        goal_value=0.0, rules={"pendulum_up": pendulum_up}, default_rule="pendulum_up",
        tasks=(FamilyTask("pendulum_up", "a pendulum pointing up", "a pendulum",
                          rule="pendulum_up"),),
    ))

Then ``evalkit collect pendulum``, ``evalkit landscape pendulum`` and tasks with
``family = "pendulum"`` work. Such a module is loaded as a plugin (:mod:`evalkit.plugins`:
``$EVALKIT_PLUGINS`` or the ``evalkit.plugins`` entry-point group) or with ``modules = [...]`` in
a tasks file. The built-in families are in ``cartpole_family``, ``mountaincar_family`` and
``humanoid_family`` beside this module.

This module and the family modules import only numpy (registering an id with gymnasium imports
that); an environment given as a ``"module:Class"`` string is imported (and checked) when it is
first made, so that listing families stays light.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Mapping

import numpy as np

from evalkit.envs.base import check_entry_point, check_env_class, resolve_entry_point
from evalkit.errors import EvalkitError
from evalkit.text import plural_noun

RuleFn = Callable[..., np.ndarray]
"""``rule(states: pandas.DataFrame, **params) -> bool array`` with one entry per row."""

Spacing = Literal["grid", "random", "box"]
SPACINGS: tuple[str, ...] = ("grid", "random", "box")
BOX: Spacing = "box"
"""The spacing that draws every state variable uniformly over the family's box
(:attr:`SweepSpec.box`), not only the sweep axis."""


def sweep_values(
    n: int, low: float, high: float, spacing: Spacing = "grid", seed: int = 0
) -> np.ndarray:
    """``n`` values covering ``[low, high]`` uniformly: evenly spaced including both ends
    (``"grid"``) or independent uniform draws with ``seed``, sorted (``"random"``; ``"box"``
    draws the same values)."""
    if n <= 0:
        raise EvalkitError(f"The number of states must be positive, not {n}.")
    if spacing == "grid":
        return np.linspace(low, high, n)
    if spacing in ("random", BOX):
        return np.sort(np.random.default_rng(seed).uniform(low, high, n))
    raise EvalkitError(f"Unknown spacing {spacing!r}; use one of: {', '.join(SPACINGS)}.")


@dataclass(frozen=True)
class SweepSpec:
    """Which states a family's uniform sweep visits.

    :param axis: the state column swept.
    :param low: smallest value of ``axis``.
    :param high: largest value of ``axis``.
    :param fixed: values of the other state columns.
    :param summary: the sweep in words, for ``--help`` (default: made from the numbers).
    :param box: ``(low, high)`` of every state column for ``spacing="box"``: states drawn
        uniformly over this box cover what a learning agent visits (the cart moves, the pole
        swings round), not only the axis (empty: the family has no box).
    """

    axis: str
    low: float
    high: float
    fixed: Mapping[str, float] = field(default_factory=dict)
    summary: str = ""
    box: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def states(self, n: int, spacing: Spacing = "grid", seed: int = 0) -> Any:
        """``n`` states as a pandas table, one row each, columns ``axis`` and the fixed ones
        (``"box"``: every column of :attr:`box` drawn uniformly, the table sorted by ``axis``)."""
        import pandas as pd  # here so that importing the family registry stays light

        if spacing == BOX:
            return self.box_states(n, seed)
        table = pd.DataFrame({self.axis: sweep_values(n, self.low, self.high, spacing, seed)})
        for name, value in self.fixed.items():
            table[name] = float(value)
        return table

    def box_states(self, n: int, seed: int = 0) -> Any:
        """``n`` states drawn independently and uniformly over :attr:`box` with ``seed``,
        sorted by :attr:`axis` (so frame order still follows the axis).

        :raises EvalkitError: the family has no box, or ``n`` is not positive.
        """
        import pandas as pd  # here so that importing the family registry stays light

        if not self.box:
            raise EvalkitError(
                "This family has no state box, so no 'box' spacing; use grid or random."
            )
        if n <= 0:
            raise EvalkitError(f"The number of states must be positive, not {n}.")
        rng = np.random.default_rng(seed)
        table = pd.DataFrame(
            {name: rng.uniform(low, high, n) for name, (low, high) in self.box.items()}
        )
        return table.sort_values(self.axis, kind="stable").reset_index(drop=True)

    def describe_box(self) -> str:
        """The box in one phrase (``cart_position in [-2.4, 2.4], angle in [-3.14, 3.14]``)."""
        return ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in self.box.items())

    def describe(self) -> str:
        """The sweep in one phrase (``angle uniform in [-1.57, 1.57]``)."""
        return self.summary or f"{self.axis} uniform in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Variant:
    """A switch of how a family's frames look (a keyword argument of its environment).

    :param name: the environment's keyword argument (``textured``).
    :param default: its value in the paper's setting.
    :param on_flag: command-line flag for ``True`` (``--textured``).
    :param off_flag: command-line flag for ``False`` (``--plain``).
    :param help: what it switches, for ``--help``.
    :param dataset_suffix: suffix of a sweep's default dataset name for ``False`` and ``True``
        (``("-plain", "-textured")``; empty strings: the name does not change).
    :param box: state-box ranges that replace the sweep's while the variant is on (a view that
        shows more of the world lets the box cover more of it).
    """

    name: str
    default: bool
    on_flag: str
    off_flag: str
    help: str
    dataset_suffix: tuple[str, str] = ("", "")
    box: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def flag(self, value: bool) -> str:
        """The command-line flag that selects ``value``."""
        return self.on_flag if value else self.off_flag


@dataclass(frozen=True)
class SuccessCriterion:
    """When an evaluation episode counts as a success, from its per-step goal labels."""

    description: str
    judge: Callable[[np.ndarray], bool]


@dataclass(frozen=True)
class TrainingSettings:
    """How ``evalkit train`` runs on a family (the paper's Appendix C where it says).

    :param action_space: ``discrete`` or ``continuous``.
    :param default_algo: the paper's algorithm for this family.
    :param steps: total environment steps of a paper run.
    :param checkpoint_every: environment steps between checkpoints.
    :param reward_batch_size: most frames embedded by CLIP in one forward pass.
    :param env_kwargs: keyword arguments for ``gym.make`` in training.
    :param algo_kwargs: stable-baselines3 constructor arguments per algorithm name; an algorithm
        that is missing uses the library's defaults.
    """

    action_space: str
    default_algo: str
    steps: int
    checkpoint_every: int
    reward_batch_size: int = 3200
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    algo_kwargs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class FamilyTask:
    """A task that a family brings with it: a goal sentence on this family (the task registry,
    :mod:`evalkit.tasks`, holds it as a :class:`evalkit.tasks.Task` of the family).

    :param name: identifier used on the command line (``kneeling``).
    :param goal_prompt: the task sentence (paper Table 3, "goal").
    :param baseline_prompt: the generic sentence for goal-baseline regularisation.
    :param criterion: the human success criterion (paper Table 2), shown to labellers.
    :param rule: name of one of the family's goal rules (``None``: human labels only).
    :param rule_params: keyword arguments for the rule (thresholds).
    :param paper_success: success rate reported in the paper's Table 1, if any.
    :param default_dataset: the dataset the task is evaluated on when none is given (``None``:
        the family's, :attr:`Family.default_dataset`), for families with a dataset per task.
    :param collect_command: the command that makes :attr:`default_dataset` (``None``: the
        family's, :attr:`Family.collect_command`).
    """

    name: str
    goal_prompt: str
    baseline_prompt: str
    criterion: str = ""
    rule: str | None = None
    rule_params: Mapping[str, float] = field(default_factory=dict)
    paper_success: float | None = None
    default_dataset: str | None = None
    collect_command: str | None = None


@dataclass(frozen=True)
class Family:
    """An environment family: one gymnasium environment and everything evalkit does with it.

    :param name: short name used on the command line (``cartpole``).
    :param env_id: gymnasium id (registered by :func:`register_family`).
    :param entry_point: ``"module:Class"`` (or the class) of the environment.
    :param episode_length: fixed episode length (truncation) from the paper.
    :param default_dataset: dataset that commands use when none is given (a task may name its
        own, :attr:`FamilyTask.default_dataset`).
    :param collect_command: the command that makes :attr:`default_dataset` (default
        ``evalkit collect <name>``; see :meth:`collect_hint`).
    :param sweep: the uniform state sweep (``None``: the family has no single state axis).
    :param axis_label: how the landscape's x axis is labelled (``pole angle (rad)``).
    :param goal_value: where the goal sits on the sweep axis (a vertical line in landscapes).
    :param rules: goal rules by name (predicates on a state table).
    :param default_rule: the rule a user task on this family inherits when it names none.
    :param tasks: the family's own tasks, registered with the task registry (the first is the
        default of ``evalkit landscape``).
    :param human_labels: the paper labels this family's goals by hand (its rules approximate them).
    :param success: when an evaluation episode is a success (``None``: evaluation refuses).
    :param training: training settings (``None``: ``evalkit train`` refuses).
    :param variants: render variants, each a boolean keyword argument of the environment.
    :param seed_kwarg: environment keyword argument that receives a dataset's seed (textures).
    :param task_kwarg: environment keyword argument that receives the task's name in training
        (one environment per task, as Meta-World's; ``None``: the task is only a reward).
    :param env_return_is_ground_truth: whether the environment's own reward is the task's
        ground truth (the humanoid's is locomotion, not the task).
    :param progress: how far a state is towards the goal, as an expression of state columns
        (``-abs(angle)``; see :meth:`progress_values`) for the rank metrics (``None``: none).
    :param quality: the quality of a frame's episode (higher is better), as an expression of state
        columns (``1 - epsilon`` for graded datasets), for the policy-ranking metrics (``None``:
        none).
    :param title: the environment's name in prose (``CartPole``; default: :attr:`name`).
    :param description: one line for listings.
    """

    name: str
    env_id: str
    entry_point: Any
    episode_length: int
    default_dataset: str
    sweep: SweepSpec | None = None
    axis_label: str | None = None
    goal_value: float | None = None
    rules: Mapping[str, RuleFn] = field(default_factory=dict)
    default_rule: str | None = None
    tasks: tuple[FamilyTask, ...] = ()
    human_labels: bool = False
    success: SuccessCriterion | None = None
    training: TrainingSettings | None = None
    variants: tuple[Variant, ...] = ()
    seed_kwarg: str | None = None
    task_kwarg: str | None = None
    env_return_is_ground_truth: bool = True
    progress: str | None = None
    quality: str | None = None
    title: str = ""
    description: str = ""
    collect_command: str = ""

    def collect_hint(self) -> str:
        """The command that makes the family's default dataset (``evalkit collect <name>``
        unless the family says otherwise)."""
        return self.collect_command or f"evalkit collect {self.name}"

    @property
    def state_axis(self) -> str | None:
        """The state column that reward landscapes are drawn against (the sweep's axis)."""
        return self.sweep.axis if self.sweep else None

    def variant(self, name: str) -> Variant:
        """The render variant called ``name``."""
        for v in self.variants:
            if v.name == name:
                return v
        raise EvalkitError(
            f"{self.name} has no {name!r} option"
            + (
                f"; its options: {', '.join(v.name for v in self.variants)}."
                if self.variants
                else "."
            )
        )

    def resolve_variants(self, given: Mapping[str, bool | None]) -> dict[str, bool]:
        """Every variant's value: ``given`` where set (not ``None``), else its default.

        :raises EvalkitError: a variant this family does not have is set.
        """
        for key, value in given.items():
            if value is not None:
                self.variant(key)
        return {
            v.name: v.default if given.get(v.name) is None else bool(given[v.name])
            for v in self.variants
        }

    def sweep_dataset_name(self, variants: Mapping[str, bool]) -> str:
        """A sweep's default dataset name: :attr:`default_dataset` for the paper's variants,
        else the base name with each variant's suffix (``mountaincar-sweep-plain``)."""
        values = self.resolve_variants(variants)
        if all(values[v.name] == v.default for v in self.variants):
            return self.default_dataset
        base = self.default_dataset
        for v in self.variants:
            base = base.removesuffix(v.dataset_suffix[v.default])
        return base + "".join(v.dataset_suffix[values[v.name]] for v in self.variants)

    def env_kwargs(self, variants: Mapping[str, bool], seed: int | None = None) -> dict[str, Any]:
        """Keyword arguments for ``gym.make`` that select ``variants`` (and the seed, if used)."""
        kwargs: dict[str, Any] = dict(self.resolve_variants(variants))
        if self.seed_kwarg and seed is not None:
            kwargs[self.seed_kwarg] = int(seed)
        return kwargs

    def sweep_for(self, variants: Mapping[str, bool | None]) -> SweepSpec:
        """The sweep with the box ranges of the variants that are on (:attr:`Variant.box`)."""
        spec = self.require_sweep()
        values = self.resolve_variants(variants)
        box = dict(spec.box)
        for v in self.variants:
            if values[v.name]:
                box.update(v.box)
        return spec if box == dict(spec.box) else replace(spec, box=box)

    def variant_flags(self, render: Mapping[str, Any]) -> str:
        """The command-line flags that select the variants recorded in a manifest's ``render``."""
        return "".join(f" {v.flag(bool(render.get(v.name, v.default)))}" for v in self.variants)

    def require_sweep(self) -> SweepSpec:
        """The sweep, or a clear error naming the families that have one."""
        if self.sweep is None:
            with_sweep = [f.name for f in all_families() if f.sweep is not None]
            raise EvalkitError(
                f"Family {self.name!r} has no single state axis, so no state sweep or reward landscape; "
                f"they exist for: {', '.join(with_sweep)}."
            )
        return self.sweep

    def require_success(self) -> SuccessCriterion:
        """The success criterion, or a clear error (never another family's)."""
        if self.success is None:
            raise EvalkitError(
                f"The environment family {self.name!r} defines no success criterion for evaluation."
            )
        return self.success

    def task_env_kwargs(self, task: str) -> dict[str, Any]:
        """Keyword arguments that make the environment of ``task`` (see :attr:`task_kwarg`)."""
        return {} if self.task_kwarg is None else {self.task_kwarg: task}

    def require_training(self) -> TrainingSettings:
        """The training settings, or a clear error (never another family's)."""
        if self.training is None:
            with_settings = [f.name for f in all_families() if f.training is not None]
            raise EvalkitError(
                f"evalkit has no training settings for the environment family {self.name!r}; "
                f"families with settings: {', '.join(with_settings)}."
            )
        return self.training

    def progress_values(self, states: Any, expression: str | None = None) -> np.ndarray:
        """The progress variable of every row of a state table: ``expression`` (a state column
        or an expression of columns such as ``-abs(angle)``), else the family's own.

        :raises EvalkitError: no expression and the family has none, or one that cannot be
            computed from the table.
        """
        return progress_values(states, expression or self.progress, self.name, hint=PROGRESS_HINT)

    def state_values(
        self, attribute: str, states: Any, expression: str | None = None, hint: str = ""
    ) -> np.ndarray:
        """A per-frame variable the family names by an expression of state columns (its
        ``progress`` or ``quality`` attribute), or ``expression`` instead.

        :param hint: appended to the message when the family names none (how to name one).
        :raises EvalkitError: the family names none, or the expression does not compute.
        """
        return progress_values(
            states, expression or getattr(self, attribute), self.name, attribute, hint
        )

    def env_class(self) -> type:
        """The environment class (imported from a ``"module:Class"`` entry point), checked
        against the contract of :class:`evalkit.envs.base.RenderableEnv`.

        :raises EvalkitError: it cannot be imported or does not meet the contract.
        """
        cls = resolve_entry_point(self.name, self.entry_point)
        check_env_class(self.name, cls)
        return cls

    def make_env(self, **kwargs: Any) -> Any:
        """``gym.make(env_id, **kwargs)`` (registering the family's id first)."""
        import gymnasium as gym

        self.env_class()
        register_with_gymnasium(self)
        return gym.make(self.env_id, **kwargs)


PROGRESS_HINT = (
    "; name one with --progress COLUMN or an expression of state columns such as '-abs(angle)'"
)


def progress_values(
    states: Any,
    expression: str | None,
    family: str = "",
    what: str = "progress",
    hint: str = PROGRESS_HINT,
) -> np.ndarray:
    """An expression of state columns evaluated on a state table (pandas ``DataFrame.eval``:
    column names, numbers, + − * / **, ``abs``, comparisons), one finite number per row.

    :param what: the variable's name in messages (``progress``, ``quality``).
    :param hint: appended to the message when there is no expression (how to name one).
    """
    if not expression:
        raise EvalkitError(f"The family {family!r} has no {what} variable{hint}.")
    try:
        values = states.eval(expression, engine="python")
    except Exception as exc:  # the user's expression: say what is wrong in one sentence
        columns = ", ".join(map(str, states.columns))
        raise EvalkitError(
            f"The {what} {expression!r} cannot be computed from the state columns ({columns}): {exc}."
        ) from None
    try:
        out = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):  # e.g. a quoted string: text, not numbers
        out = np.array([np.nan])
    if out.shape != (len(states),) or not np.all(np.isfinite(out)):
        raise EvalkitError(f"The {what} {expression!r} must give one finite number per frame.")
    return out


FAMILIES: dict[str, Family] = {}
"""Every registered family by name (the built-ins register on ``import evalkit.envs``)."""


def _check_tasks(family: Family) -> None:
    """Every task the family brings names one of its rules, with parameters that rule takes."""
    for task in family.tasks:
        if not isinstance(task, FamilyTask):
            raise EvalkitError(
                f"Family {family.name!r}: its tasks must be FamilyTask objects, not {task!r}."
            )
        if task.rule is not None and task.rule not in family.rules:
            raise EvalkitError(
                f"Family {family.name!r}: task {task.name!r} names the rule {task.rule!r}, "
                f"which is not among its rules ({', '.join(family.rules) or 'none'})."
            )


def register_with_gymnasium(family: Family) -> None:
    """Register the family's environment id with gymnasium (again if the family changed it), so
    that ``gym.make(family.env_id)`` works anywhere, in training too."""
    import gymnasium as gym  # evalkit.envs has imported it already

    spec = gym.registry.get(family.env_id)
    if spec is not None and (spec.entry_point, spec.max_episode_steps) == (
        family.entry_point,
        family.episode_length,
    ):
        return
    gym.registry.pop(family.env_id, None)
    gym.register(
        id=family.env_id, entry_point=family.entry_point, max_episode_steps=family.episode_length
    )


def register_family(family: Family, *, replace: bool = False) -> Family:
    """Add ``family`` to the registry and its environment id to gymnasium's.

    :raises EvalkitError: the name is taken by another family (unless ``replace``), the
        environment does not meet the contract of :class:`evalkit.envs.base.RenderableEnv`, or
        the default rule or a task's rule is not among the family's rules.
    """
    if not isinstance(family, Family):
        raise EvalkitError(f"register_family takes a Family, not {family!r}.")
    if family.name in FAMILIES and FAMILIES[family.name] != family and not replace:
        raise EvalkitError(f"An environment family called {family.name!r} already exists.")
    check_entry_point(family.name, family.entry_point)
    if family.default_rule is not None and family.default_rule not in family.rules:
        raise EvalkitError(
            f"Family {family.name!r}: default rule {family.default_rule!r} is not among its rules."
        )
    _check_tasks(family)
    FAMILIES[family.name] = family
    register_with_gymnasium(family)
    return family


def unknown_name(kind: str, name: str, valid: list[str], kinds: str | None = None) -> EvalkitError:
    """The error for an unknown name: the valid names and the closest one.

    :param kinds: the plural of ``kind`` (default: :func:`evalkit.text.plural_noun`).
    """
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return EvalkitError(
        f"Unknown {kind} {name!r}.{hint} Valid {kinds or plural_noun(kind)}: {', '.join(valid)}."
    )


def get_family(name: str) -> Family:
    """The environment family called ``name`` (a clear error listing valid names otherwise)."""
    if name not in FAMILIES:
        raise unknown_name("environment family", name, list(FAMILIES), "environment families")
    return FAMILIES[name]


def all_families() -> list[Family]:
    """Every registered family, built-ins first."""
    return list(FAMILIES.values())
