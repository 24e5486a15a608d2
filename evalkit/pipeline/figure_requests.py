"""What ``evalkit landscape``, ``scaling`` and ``histogram`` ask for, and the tables they draw:
:class:`LandscapeRequest`, :class:`ScalingRequest`, :class:`HistogramRequest`.

Each request holds the command's parsed inputs; its ``run`` checks them, opens (or collects)
the dataset and returns the data of the figures (:mod:`evalkit.pipeline.figures`), which the
command draws with :mod:`evalkit.plots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from evalkit.data.store import RULE_LABELS, Dataset, dataset_path, open_dataset
from evalkit.data.sweeps import collect_sweep, sweep_families
from evalkit.errors import DatasetError, EvalkitError
from evalkit.metrics.registry import get_result_row
from evalkit.pipeline.figures import (
    HistogramData,
    LandscapeData,
    ScalingData,
    distance_text,
    histogram_data,
    landscape_data,
    model_label,
    refuse_temporal,
    scaling_data,
)
from evalkit.pipeline.inputs import EmbedSettings, check_frame_options, task_dataset
from evalkit.plots import LogLinearFit, fit_log_linear
from evalkit.rewards import DEFAULT_ALPHAS
from evalkit.tasks import get_family, get_task, tasks_for_family
from evalkit.vlm import ModelSpec

DEFAULT_LANDSCAPE_MODEL = "ViT-B-32"
"""The model of a landscape's text-prompt lines when neither ``--model`` nor ``--reward`` is given."""

SWEEP_STATES = 1000
"""States of a sweep the landscape collects (``--n``)."""

SWEEP_SIZE = 224
"""Frame side of a sweep the landscape collects (``--size``)."""


def _silent(message: str) -> None:
    """A note nobody reads."""


def model_specs(pairs: Sequence[tuple[str, str | None]]) -> list[ModelSpec]:
    """``(model, pretrained)`` pairs as the pipeline's model specs."""
    return [ModelSpec.coerce(m, p) for m, p in pairs]


def default_task(family: str) -> str:
    """The first task on ``family``, or one sentence when it has none."""
    own = tasks_for_family(family)
    if not own:
        raise EvalkitError(
            f"The family {family!r} has no task yet; register one (evalkit.tasks.register_task "
            "in a plugin, or a [[task]] in a tasks file) and pass --task NAME."
        )
    return own[0].name


@dataclass(frozen=True)
class FigureRewards:
    """The rewards a figure draws: CLIP models (with their weights) at each α, with the task's
    prompts or frame goals, and other rewards (``--reward``), each without α.

    :param models: ``(model, pretrained)`` pairs (``pretrained`` ``None``: the default tag).
    :param alphas: α of the CLIP lines (``None``: not given, the defaults).
    """

    models: tuple[tuple[str, str | None], ...] = ()
    alphas: tuple[float, ...] | None = None
    goal_frames: str | None = None
    baseline_frames: str | None = None
    rewards: tuple[str, ...] = ()

    @property
    def alpha_list(self) -> list[float]:
        """The α asked for, or the defaults."""
        return list(DEFAULT_ALPHAS if self.alphas is None else self.alphas)

    def specs(self) -> list[ModelSpec]:
        """The CLIP models as specs."""
        return model_specs(self.models)

    def frame_goals(self) -> dict[str, str | None]:
        """``goal_frames`` and ``baseline_frames`` as keyword arguments of the figure tables."""
        return {"goal_frames": self.goal_frames, "baseline_frames": self.baseline_frames}


@dataclass(frozen=True)
class LandscapeResult:
    """A landscape's table (:class:`~evalkit.pipeline.figures.LandscapeData`), its dataset and the
    model of its α lines (``None``: only other rewards)."""

    data: LandscapeData
    dataset: Dataset
    model: str | None


@dataclass(frozen=True)
class LandscapeRequest:
    """A reward landscape: rewards of a family's sweep against its state axis.

    :param family: a family with a state sweep.
    :param rewards: the rewards (at most one model; with no model and no other reward, the
        default model's text-prompt lines).
    :param task: the task whose prompts give the reward (``None``: the family's first).
    :param dataset: the sweep (``None``: the family's sweep of ``variants``), collected if missing.
    :param n: states of a sweep to collect (``None``: :data:`SWEEP_STATES`; given: collect).
    :param size: frame side of a sweep to collect (``None``: :data:`SWEEP_SIZE`; given: collect).
    :param variants: the family's render variants, checked.
    :param on_note: where notes go (a sweep collected, α that a head ignores).
    """

    family: str
    rewards: FigureRewards
    task: str | None = None
    dataset: str | None = None
    n: int | None = None
    size: int | None = None
    variants: Mapping[str, bool] = field(default_factory=dict)
    root: Path | None = None
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    on_note: Callable[[str], None] = _silent
    episode: int | None = None
    """Draw this episode of ``dataset`` (a rollout) against its steps instead of a sweep."""

    def model(self) -> tuple[str | None, str | None]:
        """The model of the α lines and its weights (the default one when nothing is named)."""
        if self.rewards.models:
            return self.rewards.models[0]
        return (None, None) if self.rewards.rewards else (DEFAULT_LANDSCAPE_MODEL, None)

    def task_name(self) -> str:
        """The task (the family's first by default), checked to run on the family."""
        name = self.task or default_task(self.family)
        family = get_task(name).family
        if family != self.family:
            raise EvalkitError(f"Task {name!r} runs on {family}, not {self.family}.")
        return name

    def sweep(self) -> Dataset:
        """The sweep dataset: the one there (of this family), or collected now."""
        fam = get_family(self.family)
        name = self.dataset or fam.sweep_dataset_name(self.variants)
        if dataset_path(name, self.root).exists() and self.n is None and self.size is None:
            ds = open_dataset(name, self.root)
            if ds.family != self.family:
                raise EvalkitError(
                    f"Dataset {ds.name!r} holds {ds.family} states, not {self.family}."
                )
            return ds
        try:
            result = collect_sweep(
                self.family,
                self.n or SWEEP_STATES,
                self.size or SWEEP_SIZE,
                name=name,
                root=self.root,
                progress=True,
                variants=self.variants,
            )
        except DatasetError as exc:
            if "different parameters" not in str(exc):
                raise
            raise EvalkitError(
                f"Dataset {name!r} exists with other parameters than --n/--size ask for; drop them "
                "to use it, or pass --dataset NEW-NAME to collect another sweep."
            ) from None
        if result.created:
            ds = result.dataset
            self.on_note(f"collected {ds.name}: {len(ds)} frames -> {ds.path}")
        return result.dataset

    def run(self) -> LandscapeResult:
        """Check the inputs, get the sweep, embed what is missing and compute the rewards.

        :raises EvalkitError: a family without a sweep, a task of another family, bad frame goals,
            ``--episode`` without ``--dataset``.
        """
        if self.episode is not None and self.dataset is None:
            raise EvalkitError(
                "--episode draws a rollout's reward over its steps; name the rollout with --dataset."
            )
        if self.episode is None:
            refuse_temporal(self.rewards.rewards)
        if self.episode is None and get_family(self.family).sweep is None:
            raise EvalkitError(
                f"Reward landscapes exist for {', '.join(sweep_families())}; {self.family!r} has "
                "no single state axis."
            )
        model, pretrained = self.model()
        r = self.rewards
        check_frame_options(r.goal_frames, r.baseline_frames, model)
        if r.rewards and r.alphas is not None:
            self.on_note(
                "note: --alpha applies to the text-prompt reward"
                + (f" of {model}" if model else " (none is drawn: give --model)")
                + "; a reward head has no α, its line is its score as it is."
            )
        task = self.task_name()
        ds = self.sweep() if self.episode is None else open_dataset(str(self.dataset), self.root)
        spec = model_specs([(model, pretrained)])[0] if model is not None else None
        data = landscape_data(
            ds,
            task,
            spec,
            r.alpha_list,
            devices=self.embed.devices,
            batch_size=self.embed.batch_size,
            rewards=r.rewards,
            episode=self.episode,
            **r.frame_goals(),
        )
        return LandscapeResult(data, ds, model)


@dataclass(frozen=True)
class FitRow:
    """The log-linear fit of one α's distances against parameter counts."""

    alpha: float
    fit: LogLinearFit


@dataclass(frozen=True)
class ScalingResult:
    """The scaling table (:class:`~evalkit.pipeline.figures.ScalingData`) and its dataset."""

    data: ScalingData
    dataset: Dataset

    @property
    def sized(self) -> bool:
        """Whether every row has a parameter count (Fig. 4b can be drawn)."""
        table = self.data.table
        known = table.dropna(subset=["params"])
        return known["params"].nunique() >= 1 and len(known) == len(table)

    def head_lines(self) -> list[str]:
        """One line per reward head: its model and its metric with the interval."""
        table, metric = self.data.table, self.data.metric
        return [
            f"{r.head} ({r.model}): {metric} {distance_text(r.distance, r.low, r.high)}"
            for r in table[table["head"] != ""].itertuples()
        ]

    def fits(self) -> list[FitRow]:
        """``distance = a + b·log10(params)`` per α over models of two sizes or more (heads,
        without α, are not fitted; none when a model's size is unknown)."""
        table = self.data.table
        if not (table["params"].notna().all() and table["params"].nunique() >= 2):
            return []
        return [
            FitRow(float(a), fit_log_linear(rows["params"], rows["distance"]))
            for a, rows in table.groupby("alpha")
            if rows["params"].nunique() >= 2
        ]


@dataclass(frozen=True)
class ScalingRequest:
    """A metric of every model and α (paper Fig. 4), from saved results, computing what is missing.

    :param compute: compute (and save) results that are not saved yet; else fail on them.
    :param metric: a result row of a registered metric.
    :param n_bootstrap: resamples of results computed now.
    :param on_progress: where progress lines go.
    """

    task: str
    rewards: FigureRewards
    dataset: str | None = None
    labels: str = RULE_LABELS
    n_bootstrap: int = 2000
    compute: bool = True
    metric: str = "epic"
    root: Path | None = None
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    on_progress: Callable[[str], None] = _silent

    def run(self) -> ScalingResult:
        """Check the inputs, open the dataset and gather (or compute) the table.

        :raises EvalkitError: an unknown metric, bad frame goals, a dataset that is not there.
        """
        r = self.rewards
        check_frame_options(r.goal_frames, r.baseline_frames, "models" if r.models else None)
        get_result_row(self.metric)
        specs = r.specs()
        ds = task_dataset(self.task, self.dataset, self.root)
        data = scaling_data(
            ds,
            self.task,
            specs,
            r.alpha_list,
            label_set=self.labels,
            compute_missing=self.compute,
            n_bootstrap=self.n_bootstrap,
            devices=self.embed.devices,
            batch_size=self.embed.batch_size,
            progress=self.on_progress,
            save=True,
            metric=self.metric,
            rewards=r.rewards,
            **r.frame_goals(),
        )
        return ScalingResult(data, ds)


@dataclass(frozen=True)
class HistogramPanel:
    """The histograms at one α: the table and the EPIC note of each panel."""

    alpha: float
    data: HistogramData
    notes: dict[str, str]


@dataclass(frozen=True)
class HistogramResult:
    """The histograms at every α asked for, and their dataset."""

    panels: list[HistogramPanel]
    dataset: Dataset


@dataclass(frozen=True)
class HistogramRequest:
    """Rewards of goal and non-goal frames (paper Fig. 7), one figure per α, each panel noted
    with its EPIC distance (saved results, computed and saved if missing)."""

    task: str
    rewards: FigureRewards
    dataset: str | None = None
    labels: str = RULE_LABELS
    root: Path | None = None
    embed: EmbedSettings = field(default_factory=EmbedSettings)

    def check(self) -> None:
        """Something to draw, and frame goals that go with a model.

        :raises EvalkitError: no model and no other reward, or frame goals without a model.
        """
        r = self.rewards
        if not r.models and not r.rewards:
            raise EvalkitError(
                "Say which rewards to draw: --model (CLIP), --reward head:PATH, or both."
            )
        check_frame_options(r.goal_frames, r.baseline_frames, "models" if r.models else None)

    def run(self) -> HistogramResult:
        """Check the inputs, open the dataset and compute every α's panels.

        :raises EvalkitError: see :meth:`check`; a dataset that is not there.
        """
        self.check()
        r = self.rewards
        ds = task_dataset(self.task, self.dataset, self.root)
        specs = r.specs()
        embed = {"devices": self.embed.devices, "batch_size": self.embed.batch_size}
        saved = None
        if specs and r.goal_frames is None:
            saved = scaling_data(
                ds, self.task, specs, r.alpha_list, label_set=self.labels, save=True, **embed
            ).table
        panels = []
        for a in r.alpha_list:
            data = histogram_data(
                ds,
                self.task,
                specs,
                alpha=a,
                label_set=self.labels,
                rewards=r.rewards,
                **embed,
                **r.frame_goals(),
            )
            notes = {
                name: f"EPIC distance {distance_text(e.distance, *(e.interval or (math.nan, math.nan)))}"
                for name, e in data.epic.items()
            }
            if saved is not None:
                notes |= _saved_notes(saved, a)
            panels.append(HistogramPanel(a, data, notes))
        return HistogramResult(panels, ds)


def _saved_notes(table: Any, alpha: float) -> dict[str, str]:
    """The EPIC note of each model's panel at ``alpha``, from the scaling table."""
    return {
        model_label(r.base_model, r.pretrained): (
            f"EPIC distance {distance_text(r.distance, r.low, r.high)}"
        )
        for r in table[table["alpha"].sub(alpha).abs() < 1e-12].itertuples()
    }
