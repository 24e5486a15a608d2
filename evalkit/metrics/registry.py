"""The metric registry: every reward-quality metric is one :class:`Metric` registered once.

A metric says what it needs beyond the rewards (:data:`NEEDS`), how it is computed (a
:class:`Computation`, which metrics sharing tables share), the result rows it produces (each with
its axis label and direction for figures) and, optionally, a check of the data beyond its needs.
The panel (:func:`evalkit.metrics.metric_panel`), ``evalkit epic --metrics``,
``evalkit scaling --metric``, evaluation rollouts and the report all read this registry, so a new
metric is one module that calls :func:`register_metric`::

    from evalkit.metrics import Metric, ResultRow, register_metric

    def compute(metrics, inputs, options):  # -> one MetricResult per reward column
        ...

    register_metric(Metric(
        name="pearson_progress",
        needs=("progress",),
        description="Pearson r with the progress variable",
        compute=compute,
        rows=(ResultRow("pearson_progress", "Pearson r with progress", higher_is_better=True,
                        reference=0.0, reference_label="uncorrelated (0)"),),
    ))

This module imports no numerical library: the command line reads names and help texts from it
without loading the computations (built-in computations are imported on first use).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from evalkit.errors import DegenerateError, EvalkitError

if TYPE_CHECKING:
    from evalkit.metrics.metric_result import MetricResult
    from evalkit.metrics.tables import BootstrapOptions

NEEDS: Mapping[str, str] = MappingProxyType(
    {
        "labels": "goal labels",
        "progress": "a progress variable (a state column or expression)",
        "episodes": "episode ids",
        "gt_rewards": "a ground-truth reward per frame (evaluation rollouts that store one)",
        "quality": "an episode quality per frame (e.g. a dataset's tier: 1 − ε)",
    }
)
"""What a metric can need beyond the rewards, and how a message names it."""

FAMILY_NEEDS: Mapping[str, str] = MappingProxyType({"progress": "progress", "quality": "quality"})
"""The needs read from a dataset's state table through its family: need → the
:class:`~evalkit.envs.family.Family` attribute holding the expression of state columns that
gives it (``None`` there: the family has none, and the metrics needing it are skipped)."""


@dataclass(frozen=True)
class PanelInputs:
    """What the panel hands a computation: rewards ``(n, k)`` and the optional per-frame inputs.

    :ivar rewards: ``(n, k)`` finite rewards, one column per reward (e.g. per α).
    :ivar labels: 0/1 goal label per frame, or ``None``.
    :ivar progress: progress variable per frame, or ``None``.
    :ivar episodes: episode id per frame (the bootstrap's unit), or ``None``.
    :ivar gt_rewards: ground-truth reward per frame, or ``None``.
    :ivar quality: the quality of the frame's episode (higher is better), or ``None``.
    :ivar weights: frame weights ``≥ 0``, or ``None`` (equal).
    :ivar names: a name per reward column, or ``None``.
    """

    rewards: Any
    labels: Any = None
    progress: Any = None
    episodes: Any = None
    gt_rewards: Any = None
    quality: Any = None
    weights: Any = None
    names: Sequence[str] | None = None

    def given(self, need: str) -> bool:
        """Whether the input a metric may need (a key of :data:`NEEDS`) was given."""
        return getattr(self, need) is not None


class Computation(Protocol):
    """Computes the chosen metrics that share it, for every reward column.

    :return: :class:`~evalkit.metrics.metric_result.MetricResult` objects ordered by the
        metrics' result rows, then by column.
    """

    def __call__(
        self, metrics: Sequence[Metric], inputs: PanelInputs, options: BootstrapOptions
    ) -> list[MetricResult]: ...


Check = Callable[["Metric", PanelInputs], "str | None"]
"""Why a metric (the first argument) is not defined on these inputs (one sentence), beyond its
needs; ``None``: it is."""


class Lazy:
    """A callable imported from ``"module:attribute"`` on its first call (built-in metrics use it
    so that reading the registry loads no numerical library). Equal targets share one object only
    if the same :class:`Lazy` instance is used."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._fn: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._fn is None:
            module, _, attribute = self.target.partition(":")
            self._fn = getattr(import_module(module), attribute)
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


@dataclass(frozen=True)
class ResultRow:
    """One result row a metric produces, and how figures draw its value.

    :ivar name: the row's name in results (``"erc_pearson"``); a metric with one row names it
        after itself.
    :ivar label: what the value is, for an axis (``"ROC-AUC"``).
    :ivar higher_is_better: the direction of a better reward.
    :ivar reference: the value of an uninformative reward (a reference line), or ``None``.
    :ivar reference_label: the reference line's legend text.
    """

    name: str
    label: str
    higher_is_better: bool
    reference: float | None = None
    reference_label: str = ""

    @property
    def axis_label(self) -> str:
        """The y-axis label: ``"ROC-AUC (higher is better)"``."""
        return f"{self.label} ({'higher' if self.higher_is_better else 'lower'} is better)"


@dataclass(frozen=True)
class Metric:
    """A reward-quality metric: what it needs, how it is computed, the rows it produces.

    :ivar name: the name users give (``--metrics NAME``).
    :ivar needs: a subset of :data:`NEEDS` (inputs beyond the rewards).
    :ivar description: one line for help texts.
    :ivar compute: the :class:`Computation`; metrics that share one object are computed together
        in one call (from the same tables and resamples).
    :ivar rows: the result rows it produces, in order (at least one).
    :ivar check: why the metric is undefined on inputs that hold its needs, or ``None``.
    """

    name: str
    needs: tuple[str, ...]
    description: str
    compute: Computation
    rows: tuple[ResultRow, ...]
    check: Check | None = None

    def unavailable(self, inputs: PanelInputs) -> str | None:
        """Why this metric cannot be computed on ``inputs`` (one sentence), or ``None``."""
        for need in self.needs:
            if not inputs.given(need):
                return f"The metric {self.name} needs {NEEDS[need]}, and none was given."
        return None if self.check is None else self.check(self, inputs)


_REGISTRY: dict[str, Metric] = {}
METRICS: Mapping[str, Metric] = MappingProxyType(_REGISTRY)
"""Every registered metric by name, in registration order (a read-only live view)."""


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the registry (panel, commands, figures and report then know it).

    :raises EvalkitError: a name (of the metric or of a result row) already registered, a need
        not in :data:`NEEDS`, or no result row.
    """
    if metric.name in _REGISTRY:
        raise EvalkitError(f"A metric named {metric.name!r} is already registered.")
    unknown = [n for n in metric.needs if n not in NEEDS]
    if unknown:
        raise EvalkitError(
            f"The metric {metric.name!r} needs {unknown[0]!r}, which is not one of {', '.join(NEEDS)}."
        )
    if not metric.rows:
        raise EvalkitError(f"The metric {metric.name!r} declares no result row.")
    taken = {row.name: m.name for m in _REGISTRY.values() for row in m.rows}
    clash = next((row.name for row in metric.rows if row.name in taken), None)
    if clash is not None:
        raise EvalkitError(
            f"The metric {metric.name!r} produces rows named {clash!r}, as {taken[clash]!r} does."
        )
    _REGISTRY[metric.name] = metric
    return metric


def unregister_metric(name: str) -> Metric:
    """Remove a registered metric (tests, plugins reloading) and return it.

    :raises EvalkitError: no metric of that name.
    """
    get_metric(name)
    return _REGISTRY.pop(name)


def get_metric(name: str) -> Metric:
    """The registered metric ``name``.

    :raises DegenerateError: an unknown name, with the known ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DegenerateError(
            f"Unknown metric {name!r}; use one or more of {', '.join(_REGISTRY)}, or all."
        ) from None


def result_rows() -> dict[str, tuple[Metric, ResultRow]]:
    """Every result row name, in registry order, with its metric and row."""
    return {row.name: (m, row) for m in _REGISTRY.values() for row in m.rows}


def get_result_row(name: str) -> tuple[Metric, ResultRow]:
    """The metric that produces the result row ``name``, and the row.

    :raises DegenerateError: no registered metric produces it.
    """
    rows = result_rows()
    if name not in rows:
        raise DegenerateError(f"Unknown metric {name!r}; use one of {', '.join(rows)}.")
    return rows[name]


def metric_names(metrics: str | Sequence[str] | None = None) -> list[str]:
    """The registered names in order (no argument), or the chosen ones validated and expanded.

    :param metrics: ``"all"``, a comma-separated string or a sequence of names.
    :return: registry order, no repeats.
    :raises DegenerateError: nothing named, or an unknown name.
    """
    if metrics is None:
        return list(_REGISTRY)
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    names = [m for m in names if m]
    if not names:
        raise DegenerateError(
            f"No metric was named; use one or more of {', '.join(_REGISTRY)}, or all."
        )
    for m in names:
        if m != "all":
            get_metric(m)
    if "all" in names:
        return list(_REGISTRY)
    return [m for m in _REGISTRY if m in names]


def needing(need: str, metrics: Sequence[str]) -> list[str]:
    """The names among ``metrics`` whose metric needs ``need`` (a key of :data:`NEEDS`)."""
    return [m for m in metrics if need in get_metric(m).needs]


def names_help() -> str:
    """The registered names for a help text: ``"epic, auc, …"``."""
    return ", ".join(_REGISTRY)


def result_rows_help() -> str:
    """The result row names for a help text."""
    return ", ".join(result_rows())
