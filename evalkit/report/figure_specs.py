"""The report's figures: scaling, histograms, the distance matrix, landscapes and learning curves, each a :class:`~evalkit.report.content.FigureSpec` drawn by :mod:`evalkit.plots`."""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
import pandas as pd

from evalkit.pipeline.figures import (
    axis_label,
    distance_text,
    head_label,
    histogram_data,
    landscape_data,
    model_label,
    pairwise_data,
    prototype_frames,
    result_label,
    scaling_table_from_results,
)
from evalkit.pipeline.reward_kinds import (
    HeadReward,
    RewardContext,
    RewardKind,
)
from evalkit.plots import (
    landscape_caption,
    plot_distance_heatmap,
    plot_histograms,
    plot_landscape,
    plot_scaling_by_model,
    plot_scaling_by_size,
)
from evalkit.report.content import FigureSpec
from evalkit.report.runs import RunEntry
from evalkit.tasks import FAMILIES


def _learning_curves(run_dir: str) -> Any:
    from evalkit.train.learning_curves import learning_curve_figure  # torch: only when drawn

    return learning_curve_figure(run_dir)


def run_figure(index: int, entry: RunEntry) -> FigureSpec:
    s = entry.summary
    picked = f"step {s.evaluated_step}" if s.evaluated_step is not None else "none saved yet"
    return FigureSpec(
        key=_key("run", index, s.name, "learning_curves"),
        section="runs",
        title=f"{s.name}: learning curves ({s.task}, {s.status})",
        caption=f"{s.reward}. Ground-truth and training-reward returns of the recent training episodes, "
        "success rate and the reward's fidelity on the visited states (goal EPIC with its interval, AUC) "
        f"against environment steps; dashed: the checkpoint 'evalkit evaluate' picks ({picked}).",
        draw=functools.partial(_learning_curves, s.path),
        random_weights=s.reward_is_random,
    )


def has_state_axis(ds: Any) -> bool:
    fam = FAMILIES.get(ds.family)
    return bool(fam and fam.state_axis and fam.state_axis in ds.states.columns)


def _key(*parts: Any) -> str:
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    return "".join(c if c.isalnum() or c in "-." else "_" for c in text)


def scaling_figures(
    rows: pd.DataFrame,
    dname: str,
    task: str,
    label_set: str,
    pairs: list[tuple[str, str]],
    params: dict[tuple[str, str], int | None],
    random: bool,
) -> list[FigureSpec]:
    table = scaling_table_from_results(rows, params)
    where = f"{label_set} labels, dataset {dname}"
    specs = [
        FigureSpec(
            key=_key("scaling", task, dname, label_set, "by_model"),
            section="scaling",
            title=f"{task}: EPIC distance by model ({where})",
            caption="Fig. 4a: EPIC distance to the labels per model (ordered by size), one line per α; error bars are "
            "the bootstrap confidence intervals saved by evalkit epic. The dotted line is √½, an uninformative reward.",
            draw=lambda t=table, tt=f"{task}: EPIC by model": plot_scaling_by_model(
                t, title=tt, random_weights=random
            ),
            random_weights=random,
        )
    ]
    sizes = [params.get(p) for p in pairs]
    if all(sizes) and len(set(sizes)) >= 2:
        specs.append(
            FigureSpec(
                key=_key("scaling", task, dname, label_set, "by_size"),
                section="scaling",
                title=f"{task}: EPIC distance by parameter count ({where})",
                caption="Fig. 4b: EPIC distance against the number of parameters (log axis); dashed lines are least-squares "
                "fits distance = a + b·log10(params), one per α, with the slope b per tenfold increase in parameters "
                "in the legend.",
                draw=lambda t=table.dropna(subset=["params"]), tt=f"{task}: EPIC by size": (
                    plot_scaling_by_size(t, title=tt, random_weights=random)
                ),
                random_weights=random,
            )
        )
    return specs


def histogram_figure(
    ds: Any,
    rows: pd.DataFrame,
    task: str,
    label_set: str,
    pairs: list[tuple[str, str]],
    alpha: float,
    random: bool,
) -> FigureSpec:
    heads = rows[of_kind(rows, HeadReward)]
    rows = rows.drop(heads.index)
    available = rows["alpha"].dropna().unique()
    a = float(available[np.argmin(np.abs(available - alpha))]) if len(available) else alpha
    at = rows[np.isclose(rows["alpha"].to_numpy(dtype=float), a)]
    notes = {
        model_label(r.model, r.pretrained): f"EPIC {distance_text(r.distance, r.ci_low, r.ci_high)}"
        for r in at.itertuples()
    }
    notes |= {
        head_label(r.reward_source): f"EPIC {distance_text(r.distance, r.ci_low, r.ci_high)}"
        for r in heads.itertuples()
    }

    def draw() -> Any:
        from evalkit.vlm import ModelSpec  # open_clip: only when the figure is drawn

        data = histogram_data(
            ds,
            task,
            [ModelSpec.coerce(m, p) for m, p in pairs],
            alpha=a,
            label_set=label_set,
            rewards=list(heads["reward_source"]),
        )
        return plot_histograms(
            data.table,
            models=data.models,
            annotations=notes,
            title=f"{task}: reward at α = {a:g}, {label_set} labels",
            random_weights=data.random_weights,
            reward_labels=data.reward_labels,
        )

    return FigureSpec(
        key=_key("histogram", task, ds.name, label_set, f"alpha{a:g}"),
        section="histograms",
        title=f"{task}: rewards of goal and non-goal frames at α = {a:g} ({label_set} labels, dataset {ds.name})",
        caption="Fig. 7: one panel per model; each histogram normalised to unit area, dotted lines at the class means, "
        "EPIC distance with its interval under each panel's title.",
        draw=draw,
        random_weights=random,
    )


MAX_PAIRWISE_SOURCES = 24
"""Most rewards drawn in one distance matrix (the smallest models first)."""


def pairwise_figure(
    ds: Any,
    rows: pd.DataFrame,
    task: str,
    label_set: str,
    pairs: list[tuple[str, str]],
    random: bool,
) -> FigureSpec:
    alphas = {p: sorted(g["alpha"].dropna()) for p, g in rows.groupby(["model", "pretrained"])}
    chosen, count = [], 0
    for pair in pairs:
        take = alphas.get(pair, [])[: max(0, MAX_PAIRWISE_SOURCES - count)]
        if take:
            chosen.append((pair, take))
            count += len(take)

    def draw() -> Any:
        from evalkit.vlm import ModelSpec  # open_clip: only when the figure is drawn

        sources = [(ModelSpec.coerce(m, p), a) for (m, p), a in chosen]
        data = pairwise_data(ds, task, sources, label_set=label_set)
        return plot_distance_heatmap(
            data.table, title=f"{task}: rewards compared", random_weights=data.random_weights
        )

    return FigureSpec(
        key=_key("pairwise", task, ds.name, label_set),
        section="pairwise",
        title=f"{task}: EPIC distance between rewards ({label_set} labels, dataset {ds.name})",
        caption=f"EPIC distance between every pair of {count} CLIP rewards on the labelled frames.",
        draw=draw,
        random_weights=random,
    )


def _plot_landscape(data: Any, title: str | None) -> Any:
    """The landscape of :func:`~evalkit.pipeline.figures.landscape_data`'s result (``title``:
    its own title unless given)."""
    return plot_landscape(
        data.table,
        data.state_label,
        data.goal_value,
        goal_region=data.goal_region,
        title=title or data.title,
        random_weights=data.random_weights,
    )


def landscape_figure(
    ds: Any,
    task: str,
    model: str,
    pretrained: str,
    alphas: Sequence[float],
    random: bool,
    prototype: str = "",
) -> FigureSpec:
    """The landscape of a model's CLIP reward, or (``prototype``: a row's ``reward_source``) of
    its frame-prototype reward."""
    fam = FAMILIES[ds.family]
    goal, base = prototype_frames(prototype) if prototype else (None, None)

    def draw() -> Any:
        from evalkit.vlm import ModelSpec  # open_clip: only when the figure is drawn

        data = landscape_data(
            ds,
            task,
            ModelSpec.coerce(model, pretrained),
            alphas,
            goal_frames=goal,
            baseline_frames=base,
        )
        return _plot_landscape(data, data.title + (f", prototype goal {goal}" if goal else ""))

    label = axis_label(fam)
    what = f"{model} ({pretrained})"
    if prototype:
        what = f"{result_label(prototype, model)} ({pretrained})"
    return FigureSpec(
        key=_key("landscape", ds.name, task, model, pretrained, "prototype" if goal else "", goal),
        section="landscapes",
        title=f"{task}: reward landscape of {what} on {ds.name}",
        caption="Fig. 2: "
        + landscape_caption(label, fam.goal_value)
        + (f" The goal is the prototype of the frames {goal}." if goal else "")
        + " Shaded: goal states by the task's rule.",
        draw=draw,
        random_weights=random,
    )


def head_landscape_figure(ds: Any, task: str, rows: pd.DataFrame) -> FigureSpec:
    """The landscape of the reward heads with saved results on a sweep: a line per head."""
    fam = FAMILIES[ds.family]
    specs = sorted(rows["reward_source"].astype(str).unique())
    names = [result_label(s, m) for s, m in rows.groupby("reward_source")["model"].first().items()]

    def draw() -> Any:
        return _plot_landscape(landscape_data(ds, task, None, [], rewards=specs), None)

    return FigureSpec(
        key=_key("landscape", ds.name, task, "heads"),
        section="landscapes",
        title=f"{task}: reward landscape of {', '.join(names)} on {ds.name}",
        caption="Fig. 2: "
        + landscape_caption(axis_label(fam), fam.goal_value, heads=names, clip=False)
        + " Shaded: goal states by the task's rule.",
        draw=draw,
        random_weights=bool(rows["random_weights"].fillna(False).astype(bool).any()),
    )


def of_kind(rows: pd.DataFrame, kind: type[RewardKind]) -> pd.Series:
    """Which saved rows are of the reward kind ``kind``."""
    return (
        rows["reward_source"]
        .astype(str)
        .map(lambda s: kind.accepts(s, RewardContext()))
        .astype(bool)
    )
