"""Build the HTML report: one page with every table and figure, PNG and SVG files beside it.

A report is a folder::

    reports/NAME/
      index.html            the page (Jinja2 template ``templates/report.html.j2``), inline CSS
      figures/*.png, *.svg  every figure, drawn by :mod:`evalkit.plots`
      datasets/*.png        a contact sheet of frames per dataset
      epic.csv              the EPIC table shown on the page

Every link is relative, so the folder can be zipped and opened anywhere without a server. The
folder is built in a hidden temporary folder next to it and renamed into place, so an
interrupted build leaves the previous report (or nothing), never half a report.

Building has two steps: :func:`gather_report` reads what other evalkit commands saved (datasets,
``<dataset>/results/epic.parquet``) and computes the figure tables through the library
(:mod:`evalkit.pipeline.figures`: rewards from the embedding cache); :func:`render_report` draws and
writes. :func:`build_report` does both. Training runs (their summaries, evaluations and learning
curves) are gathered by :mod:`evalkit.report.runs`.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit import __version__
from evalkit.config import runs_root as default_runs_root
from evalkit.data.contact_sheet import contact_sheet
from evalkit.data.poses import PoseSpec
from evalkit.data.store import Dataset, iter_datasets, resolve_root
from evalkit.envs.humanoid_poses import HUMANOID_TASKS
from evalkit.errors import DatasetError, EvalkitError
from evalkit.fileio import atomic_folder
from evalkit.metrics.registry import result_rows
from evalkit.pipeline.figures import (
    CLIP_SOURCE,
    PROTOTYPE_PREFIX,
    axis_label,
    distance_text,
    head_label,
    histogram_data,
    landscape_data,
    model_label,
    pairwise_data,
    parameter_count,
    prototype_frames,
    result_label,
    scaling_table_from_results,
)
from evalkit.pipeline.results import COLUMNS as RESULT_COLUMNS
from evalkit.pipeline.results import EPIC_METRIC, load_epic_results, saved_results
from evalkit.pipeline.reward_spec import HEAD_PREFIX
from evalkit.plots import (
    landscape_caption,
    plot_distance_heatmap,
    plot_histograms,
    plot_landscape,
    plot_scaling_by_model,
    plot_scaling_by_size,
)
from evalkit.plots.style import close, save_figure
from evalkit.report.runs import RunEntry, gather_runs, run_rows
from evalkit.tasks import FAMILIES, get_task
from evalkit.text import fixed, number_list, short_count
from evalkit.vlm.names import FILE_LABEL  # torch-free: reports never load a model

TEMPLATE = "report.html.j2"
PAGE = "index.html"
FIGURES_DIR = "figures"
SHEETS_DIR = "datasets"


# --------------------------------------------------------------------------- the report's content


@dataclass
class WeightsInfo:
    """One (model, pretrained weights) pair used in the report."""

    model: str
    pretrained: str
    random_weights: bool
    identity: str = ""
    params: int | None = None
    checkpoint_file: bool = False

    @property
    def kind(self) -> str:
        """What the weights are: random, a user's checkpoint file, or a trained pretrained tag."""
        if self.random_weights:
            return "random weights"
        return "checkpoint file" if self.checkpoint_file else "trained"

    @property
    def params_text(self) -> str:
        if not self.params:
            return "—"
        return short_count(float(self.params))


@dataclass
class DatasetEntry:
    """A dataset shown in the report, with its contact sheet (a relative path) if one was made."""

    name: str
    family: str
    generator: str
    n_frames: int
    n_episodes: int
    width: int
    height: int
    label_sets: list[str]
    content_hash: str
    params: str = ""
    sheet: str | None = None
    sheet_caption: str = ""


@dataclass
class FigureSpec:
    """A figure to draw: ``draw()`` returns a matplotlib Figure; files are ``figures/<key>.{png,svg}``."""

    key: str
    section: str
    title: str
    caption: str
    draw: Callable[[], Any]
    random_weights: bool = False


@dataclass
class ReportContent:
    """Everything the page shows, gathered before anything is drawn or written."""

    title: str
    tasks: list[str]
    datasets: list[Any]  # evalkit.data.store.Dataset objects (contact sheets are drawn from them)
    epic: pd.DataFrame  # rows of the saved EPIC results tables (evalkit.pipeline.results.COLUMNS)
    weights: list[WeightsInfo]
    figures: list[FigureSpec]
    commands: list[str]
    notes: list[str] = field(default_factory=list)
    panel: pd.DataFrame = field(default_factory=pd.DataFrame)  # the other metrics' saved rows
    runs: list[RunEntry] = field(default_factory=list)

    @property
    def any_random(self) -> bool:
        return any(w.random_weights for w in self.weights) or any(
            f.random_weights for f in self.figures
        )


SECTIONS = (
    (
        "landscapes",
        "Reward landscapes (paper Fig. 2)",
        "CLIP reward against the state variable that decides the task, one line per α, each line min–max "
        "rescaled to [0, 1] so shapes compare; the goal is the dashed vertical line, goal states (rule labels) "
        "are shaded.",
        "No landscape: it needs EPIC results of a CLIP model on a CartPole or MountainCar sweep "
        "(evalkit epic --task cartpole --model MODEL).",
        False,
    ),
    (
        "scaling",
        "Scaling with model size (paper Fig. 4a, 4b)",
        "EPIC distance per model and α with bootstrap intervals (a), and against the parameter count on a log "
        "axis with a least-squares fit distance = a + b·log10(params) per α (b).",
        "No scaling figure: it needs EPIC results of at least one model for a task (evalkit epic).",
        False,
    ),
    (
        "pairwise",
        "How alike the rewards are",
        "EPIC distance between every pair of CLIP rewards (model × α) on a dataset's labelled frames: 0 "
        "where two rewards rank and space the frames alike, 1 where one is the other reversed.",
        "No matrix: it needs EPIC results of at least two rewards (models or α) for a task.",
        False,
    ),
    (
        "histograms",
        "Reward histograms (paper Fig. 7)",
        "Distribution of the CLIP reward (α = 0 unless stated) over goal and non-goal frames, each normalised "
        "to unit area; dotted lines are the class means. The further apart, the better the reward separates "
        "goal states.",
        "No histogram: it needs EPIC results of a CLIP model for a task.",
        True,
    ),
)


# --------------------------------------------------------------------------- gathering


def _quote(x: Any) -> str:
    return shlex.quote(str(x))


def collect_command(ds: Any, root_option: str = "") -> str:
    """The ``evalkit collect`` command that rebuilds ``ds`` (a comment when it cannot be told)."""
    m = ds.manifest
    if m.generator == "sweep":
        p = m.params
        cmd = (
            f"evalkit collect {m.family} --n {p.get('n', m.n_frames)} --size {m.frame_shape[1]} "
            f"--seed {p.get('seed', 0)} --spacing {p.get('spacing', 'grid')}"
        )
        if m.family in FAMILIES:
            cmd += FAMILIES[m.family].variant_flags(m.render)
        return f"{cmd} --name {_quote(m.name)}{root_option}"
    if m.generator == "poses" and _default_pose_variation(m.params):
        r = m.render
        cmd = (
            f"evalkit collect humanoid --poses --per-task {m.params['per_task']} --size {m.frame_shape[1]} "
            f"--seed {m.params.get('seed', 0)} --profile {r.get('profile', 'fast')}"
            f"{'' if r.get('textured', True) else ' --plain'}{'' if r.get('fixed_camera', True) else ' --tracking-camera'}"
        )
        return f"{cmd} --name {_quote(m.name)}{root_option}"
    params = ", ".join(
        f"{k}={v}" for k, v in sorted({**m.params, "size": m.frame_shape[1]}.items())
    )
    return f"# dataset {m.name}: made by the '{m.generator}' generator of 'evalkit collect {m.family}' ({params})"


def _default_pose_variation(params: Mapping[str, Any]) -> bool:
    """Whether a pose dataset used the command line's pose variation (only --per-task and --seed vary)."""
    default = PoseSpec(per_task=int(params.get("per_task", 0)), tasks=HUMANOID_TASKS).to_params()
    return all(params.get(k) == v for k, v in default.items())


def epic_commands(epic: pd.DataFrame, root_option: str = "") -> list[str]:
    """One ``evalkit epic`` command per (dataset, task, label set, reward, interval settings) of the
    results table: rows computed with other bootstrap settings get their own command."""
    commands = []
    keys = [
        "dataset",
        "task",
        "label_set",
        "reward_source",
        "model",
        "pretrained",
        "n_bootstrap",
        "ci_method",
        "confidence",
        "seed",
    ]
    for (dataset, task, label_set, source, model, pretrained, *_), rows in epic.groupby(
        keys, sort=True, dropna=False
    ):
        first = rows.iloc[0]
        if source == "clip":
            what = f"--model {_quote(model)} --pretrained {_quote(pretrained)} --alpha {number_list(sorted(rows['alpha']))}"
        elif str(source).startswith(HEAD_PREFIX):
            what = f"--reward {_quote(source)}"
        elif str(source).startswith(PROTOTYPE_PREFIX):
            goal, base = prototype_frames(source)
            what = (
                f"--model {_quote(model)} --pretrained {_quote(pretrained)} --goal-frames {_quote(goal)}"
                + (f" --baseline-frames {_quote(base)}" if base else "")
                + f" --alpha {number_list(sorted(rows['alpha']))}"
            )
        elif str(source).startswith("function:"):
            what = f"--reward {_quote(str(source).split(':', 1)[1])}"
        else:
            what = f"--reward-column {_quote(str(source).split(':', 1)[1])}"
        boot = int(first["n_bootstrap"]) if pd.notna(first["n_bootstrap"]) else 0
        ci = (
            f" --ci {first['ci_method']} --confidence {float(first['confidence']):g}"
            if boot
            else ""
        )
        commands.append(
            f"evalkit epic --task {_quote(task)} {what} --dataset {_quote(dataset)} --labels {_quote(label_set)} "
            f"--bootstrap {boot}{ci} --seed {int(first['seed']) if pd.notna(first['seed']) else 0}{root_option}"
        )
    return commands


def _model_pairs(
    rows: pd.DataFrame, params: dict[tuple[str, str], int | None]
) -> list[tuple[str, str]]:
    pairs = list(dict.fromkeys(zip(rows["model"], rows["pretrained"])))
    return sorted(pairs, key=lambda p: (params.get(p) or math.inf, p[0], p[1]))


def gather_report(
    root: str | os.PathLike[str] | None = None,
    tasks: Sequence[str] | None = None,
    *,
    label_sets: Sequence[str] | None = None,
    title: str | None = None,
    command: str | None = None,
    histogram_alpha: float = 0.0,
    runs: Sequence[str | os.PathLike[str]] = (),
    runs_root: str | os.PathLike[str] | None = None,
) -> ReportContent:
    """Collect what the report shows from the datasets under ``root`` and their saved EPIC results,
    and from the training runs under ``runs_root`` and in ``runs``.

    Only results computed on a dataset's current content are used (a rebuilt dataset makes
    older results stale; they are left out with a note). Nothing is drawn or computed here:
    figures are :class:`FigureSpec` whose ``draw`` computes rewards (from the embedding cache)
    when :func:`render_report` calls it.

    :param tasks: only these tasks (default: every task with saved results).
    :param label_sets: only these label sets (default: all).
    :param command: the command that built the report, listed under "Reproduce".
    :param histogram_alpha: α of the rewards in the histograms (the closest saved α is used).
    :param runs: run folders, or folders of runs, to show besides those under ``runs_root``.
    :param runs_root: the folder of runs (default ``$EVALKIT_RUNS`` or ``./runs``; skipped if
        it does not exist). A folder there that is not a run is a note.
    :raises EvalkitError: no saved results match and there is no run.
    """
    wanted = [get_task(t).name for t in tasks] if tasks else None
    notes: list[str] = []
    datasets, parts, panel_parts = [], [], []
    for path in iter_datasets(root):
        try:
            ds = Dataset(path)
            ds.check_tables()  # a corrupt states, labels or results table skips this dataset
        except DatasetError as exc:
            notes.append(f"dataset folder {path.name} was skipped: {exc}")
            continue
        rows = load_epic_results(path)
        if wanted is not None:
            rows = rows[rows["task"].isin(wanted)]
        if label_sets:
            rows = rows[rows["label_set"].isin(list(label_sets))]
        checked = saved_results(ds, rows)
        note = checked.stale_note(ds.name)
        if note:
            notes.append(note)
            notes.extend(f"refresh: {c}" for c in epic_commands(checked.stale))
        rows = checked.current.assign(dataset=ds.name)
        others = rows["metric"] != EPIC_METRIC  # the panel's other metrics: their own table
        panel_parts.append(rows[others])
        rows = rows[~others]
        if rows.empty:
            continue
        datasets.append(ds)
        parts.append(rows)
    run_root = Path(runs_root) if runs_root is not None else default_runs_root()
    run_entries, run_notes = gather_runs(([run_root] if run_root.is_dir() else []) + list(runs))
    notes += run_notes
    if not parts and not run_entries:
        which = f" for task{'s' if len(wanted) > 1 else ''} {', '.join(wanted)}" if wanted else ""
        stale = " ".join(n for n in notes if " stale (" in n)
        raise EvalkitError(
            f"No saved EPIC results under {resolve_root(root)}{which}; run 'evalkit epic --task TASK --model MODEL' "
            "first (the report shows what it saved)." + (f" {stale}" if stale else "")
        )
    epic = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=list(RESULT_COLUMNS))  # a report of training runs alone
    )
    clip = epic[epic["reward_source"] == CLIP_SOURCE]

    params: dict[tuple[str, str], int | None] = {}
    weights = []
    for (model, pretrained), rows in clip.groupby(["model", "pretrained"], sort=True):
        params[(model, pretrained)] = parameter_count(model)
        identities = [i for i in rows["model_identity"].astype(str).unique() if i and i != "None"]
        weights.append(
            WeightsInfo(
                model=model,
                pretrained=pretrained,
                random_weights=bool(rows["random_weights"].fillna(False).astype(bool).any()),
                identity="; ".join(identities),
                params=params[(model, pretrained)],
                checkpoint_file=any(FILE_LABEL in i for i in identities),
            )
        )
    weights.sort(key=lambda w: (w.params or math.inf, w.model, w.pretrained))
    random_of = {(w.model, w.pretrained): w.random_weights for w in weights}
    by_name = {ds.name: ds for ds in datasets}

    heads = epic[epic["reward_source"].astype(str).str.startswith(HEAD_PREFIX)]
    for key in set(zip(heads["model"], heads["pretrained"])):
        params.setdefault(key, parameter_count(key[0]))

    figures: list[FigureSpec] = []
    landscapes_done: set[tuple[str, str, str, str]] = set()
    for (dname, task, label_set), rows in clip.groupby(["dataset", "task", "label_set"], sort=True):
        ds = by_name[dname]
        pairs = _model_pairs(rows, params)
        any_random = any(random_of[p] for p in pairs)
        own_heads = heads[
            (heads["dataset"] == dname)
            & (heads["task"] == task)
            & (heads["label_set"] == label_set)
        ]
        figures += _scaling_figures(
            pd.concat([rows, own_heads], ignore_index=True),
            dname,
            task,
            label_set,
            pairs,
            params,
            any_random,
        )
        figures.append(
            _histogram_figure(
                ds,
                pd.concat([rows, own_heads], ignore_index=True),
                task,
                label_set,
                pairs,
                histogram_alpha,
                any_random,
            )
        )
        if len(rows) >= 2:
            figures.append(_pairwise_figure(ds, rows, task, label_set, pairs, any_random))
        for model, pretrained in pairs:
            key = (dname, task, model, pretrained)
            if key in landscapes_done or not _has_state_axis(ds):
                continue
            landscapes_done.add(key)
            alphas = sorted(
                rows[(rows["model"] == model) & (rows["pretrained"] == pretrained)]["alpha"]
                .dropna()
                .unique()
            )
            figures.append(
                _landscape_figure(
                    ds, task, model, pretrained, alphas, random_of[(model, pretrained)]
                )
            )

    prototypes = epic[epic["reward_source"].astype(str).str.startswith(PROTOTYPE_PREFIX)]
    keys = ["dataset", "task", "model", "pretrained", "reward_source"]
    for (dname, task, model, pretrained, source), rows in prototypes.groupby(keys, sort=True):
        if _has_state_axis(by_name[dname]):
            random = bool(rows["random_weights"].fillna(False).astype(bool).any())
            alphas = sorted(rows["alpha"].dropna().unique())
            figures.append(
                _landscape_figure(
                    by_name[dname], task, model, pretrained, alphas, random, prototype=source
                )
            )
    for (dname, task), rows in heads.groupby(["dataset", "task"], sort=True):
        if _has_state_axis(by_name[dname]):
            figures.append(_head_landscape_figure(by_name[dname], task, rows))
    figures += [_run_figure(i, e) for i, e in enumerate(run_entries)]

    root_option = f" --root {_quote(root)}" if root is not None else ""
    commands = [collect_command(ds, root_option) for ds in datasets]
    commands += epic_commands(epic, root_option)
    if command:
        commands.append(command)
    shown = wanted or sorted({*epic["task"].unique(), *(e.summary.task for e in run_entries)})
    return ReportContent(
        title=title or f"evalkit report: {', '.join(shown)}",
        tasks=list(shown),
        datasets=datasets,
        epic=epic,
        panel=pd.concat(panel_parts, ignore_index=True) if panel_parts else pd.DataFrame(),
        weights=weights,
        figures=figures,
        commands=commands,
        notes=notes,
        runs=run_entries,
    )


def _learning_curves(run_dir: str) -> Any:
    from evalkit.train.learning_curves import learning_curve_figure  # torch: only when drawn

    return learning_curve_figure(run_dir)


def _run_figure(index: int, entry: RunEntry) -> FigureSpec:
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


def _has_state_axis(ds: Any) -> bool:
    fam = FAMILIES.get(ds.family)
    return bool(fam and fam.state_axis and fam.state_axis in ds.states.columns)


def _key(*parts: Any) -> str:
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    return "".join(c if c.isalnum() or c in "-." else "_" for c in text)


def _scaling_figures(
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


def _histogram_figure(
    ds: Any,
    rows: pd.DataFrame,
    task: str,
    label_set: str,
    pairs: list[tuple[str, str]],
    alpha: float,
    random: bool,
) -> FigureSpec:
    heads = rows[rows["reward_source"].astype(str).str.startswith(HEAD_PREFIX)]
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
            kinds=data.kinds,
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


def _pairwise_figure(
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


def _landscape_figure(
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


def _head_landscape_figure(ds: Any, task: str, rows: pd.DataFrame) -> FigureSpec:
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


# --------------------------------------------------------------------------- rendering


def panel_groups(panel: pd.DataFrame) -> list[dict[str, Any]]:
    """The other metrics of the panel, one table per (task, dataset, label set): a row per
    reward (model, weights, α), a column per metric with its interval."""
    groups: list[dict[str, Any]] = []
    if panel.empty:
        return groups
    for (task, dataset, label_set), rows in panel.groupby(
        ["task", "dataset", "label_set"], sort=True
    ):
        metrics = _registry_order(rows["metric"])
        table = []
        keys = ["reward_source", "model", "pretrained", "alpha"]
        for key, group in rows.groupby(keys, sort=True, dropna=False):
            source, model, pretrained, alpha = key
            by_metric = {r["metric"]: r for _, r in group.iterrows()}
            cells = []
            for m in metrics:
                r = by_metric.get(m)
                if r is None:
                    cells.append("—")
                    continue
                ci = math.isfinite(float(r.get("ci_low", math.nan)))
                cells.append(
                    fixed(r["estimate"])
                    + (f" [{fixed(r['ci_low'])}, {fixed(r['ci_high'])}]" if ci else "")
                )
            table.append(
                {
                    "reward": result_label(source, model),
                    "pretrained": pretrained or "—",
                    "alpha": "—" if pd.isna(alpha) else f"{float(alpha):g}",
                    "cells": cells,
                    "random_weights": bool(
                        group["random_weights"].fillna(False).astype(bool).any()
                    ),
                }
            )
        known = result_rows()
        groups.append(
            {
                "task": task,
                "dataset": dataset,
                "label_set": label_set,
                "metrics": metrics,
                "titles": [known[m][1].axis_label if m in known else m for m in metrics],
                "rows": table,
            }
        )
    return groups


def _registry_order(names: pd.Series) -> list[str]:
    """Result row names in the registry's order (rows of metrics no longer registered last)."""
    order = {name: i for i, name in enumerate(result_rows())}
    present = list(dict.fromkeys(names))
    return sorted(present, key=lambda m: (order.get(m, len(order)), present.index(m)))


def epic_groups(epic: pd.DataFrame, order: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """The EPIC table as one group per (task, dataset, label set), rows ready for the template.

    :param order: ``(model, pretrained)`` pairs in the order their rows are listed (e.g. by
        size); other rewards follow, by name.
    """
    groups: list[dict[str, Any]] = []
    if epic.empty:
        return groups
    table = epic.copy()
    table["_model"] = [
        result_label(source, model)
        for source, model in zip(table["reward_source"].astype(str), table["model"].astype(str))
    ]
    rank = {pair: i for i, pair in enumerate(order)}
    table["_rank"] = [
        rank.get((m, p), len(rank)) for m, p in zip(table["model"], table["pretrained"])
    ]
    for (task, dataset, label_set), rows in table.groupby(
        ["task", "dataset", "label_set"], sort=True
    ):
        rows = rows.sort_values(
            ["_rank", "_model", "pretrained", "alpha"], na_position="first", kind="stable"
        )
        best = rows.groupby(["_model", "pretrained"])["distance"].transform("min")
        out = []
        for (_, r), is_best in zip(rows.iterrows(), (rows["distance"] == best).to_numpy()):
            has_ci = math.isfinite(float(r.get("ci_low", math.nan)))
            out.append(
                {
                    "model": r["_model"],
                    "pretrained": r["pretrained"] or "—",
                    "alpha": "—" if pd.isna(r["alpha"]) else f"{float(r['alpha']):g}",
                    "distance": fixed(r["distance"]),
                    "interval": f"[{fixed(r['ci_low'])}, {fixed(r['ci_high'])}]" if has_ci else "—",
                    "rho": fixed(r["rho"]),
                    "n_goal": int(r["n_goal"]),
                    "n_nongoal": int(r["n_nongoal"]),
                    "n_episodes": int(r["n_episodes"]),
                    "random_weights": bool(r.get("random_weights") or False),
                    "best": bool(is_best) and len(rows) > 1,
                }
            )
        groups.append({"task": task, "dataset": dataset, "label_set": label_set, "rows": out})
    return groups


def _environment() -> list[tuple[str, str]]:
    env = [
        ("evalkit", __version__),
        ("python", platform.python_version()),
        ("platform", platform.platform()),
    ]
    for pkg in ("torch", "open_clip_torch", "numpy", "pandas", "matplotlib", "jinja2"):
        try:
            env.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            pass
    return env


def _flat(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Generator parameters as ``(name, value)`` pairs, nested dicts flattened, floats shortened."""
    out = []
    for k, v in sorted(params.items()):
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", f"{v:.6g}" if isinstance(v, float) else str(v)))
    return out


def _dataset_info(ds: Any, sheet: str | None, sheet_caption: str) -> DatasetEntry:
    m = ds.manifest
    h, w, _ = m.frame_shape
    params = ", ".join(f"{k}={v}" for k, v in _flat(m.params))
    return DatasetEntry(
        name=m.name,
        family=m.family,
        generator=m.generator,
        n_frames=m.n_frames,
        n_episodes=m.n_episodes,
        width=w,
        height=h,
        label_sets=ds.label_sets(),
        content_hash=m.content_hash,
        params=params,
        sheet=sheet,
        sheet_caption=sheet_caption,
    )


def _write_contact_sheet(ds: Any, folder: Path, n: int) -> tuple[str | None, str]:
    """A contact sheet PNG of ``ds`` (relative path, caption); ``(None, why)`` if it cannot be made."""
    try:
        image = contact_sheet(ds, n)
    except EvalkitError as exc:
        return None, f"(no contact sheet: {exc})"
    name = f"{ds.name}.png"
    image.save(folder / SHEETS_DIR / name, optimize=True)
    return (
        f"{SHEETS_DIR}/{name}",
        f"Contact sheet: {min(n, len(ds))} evenly spaced frames with their goal labels.",
    )


def _css_width(png: Path) -> int:
    """Display width in CSS pixels: 3/4 of the PNG's pixels (a 3.4 in figure at 200 dpi shows
    about 510 px wide), so figures keep one text size on the page whatever their width."""
    from PIL import Image

    with Image.open(png) as im:
        return int(round(im.width * 0.75))


def render_report(
    content: ReportContent,
    out: str | os.PathLike[str],
    *,
    sheet_frames: int = 12,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Draw every figure and write the report folder ``out`` atomically; returns the page's path.

    A figure that cannot be drawn (e.g. a degenerate table) is left out with a note on the page
    rather than failing the whole report.
    """
    import jinja2

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise EvalkitError(f"The report folder {out} is a file; pass another --out.")
    say = progress or (lambda _msg: None)
    with atomic_folder(out) as tmp:
        (tmp / FIGURES_DIR).mkdir()
        (tmp / SHEETS_DIR).mkdir()
        notes = list(content.notes)
        datasets = []
        for ds in content.datasets:
            say(f"contact sheet of {ds.name}")
            sheet, caption = _write_contact_sheet(ds, tmp, sheet_frames)
            datasets.append(_dataset_info(ds, sheet, caption))
        figures_by_section: dict[str, list[dict[str, Any]]] = {s[0]: [] for s in SECTIONS}
        for spec in content.figures:
            say(f"figure {spec.key}")
            try:
                fig = spec.draw()
            except EvalkitError as exc:
                notes.append(f"figure '{spec.title}' was left out: {exc}")
                continue
            try:
                save_figure(fig, tmp / FIGURES_DIR / spec.key, formats=["png", "svg"])
            finally:
                close(fig)
            figures_by_section.setdefault(spec.section, []).append(
                {
                    "key": spec.key,
                    "title": spec.title,
                    "caption": spec.caption,
                    "random_weights": spec.random_weights,
                    "css_width": _css_width(tmp / FIGURES_DIR / f"{spec.key}.png"),
                    "png": f"{FIGURES_DIR}/{spec.key}.png",
                    "svg": f"{FIGURES_DIR}/{spec.key}.svg",
                }
            )
        if not content.epic.empty:
            content.epic.to_csv(tmp / "epic.csv", index=False)
        sections = [
            {
                "id": sid,
                "heading": heading,
                "intro": intro,
                "empty": empty,
                "wide": wide,
                "figures": figures_by_section.get(sid, []),
            }
            for sid, heading, intro, empty, wide in SECTIONS
        ]
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("evalkit.report", "templates"),
            autoescape=jinja2.select_autoescape(
                ["html", "j2"], default_for_string=True, default=True
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=False,
            lstrip_blocks=False,
        )
        page = env.get_template(TEMPLATE).render(
            title=content.title,
            tasks=content.tasks,
            datasets=datasets,
            weights=content.weights,
            any_random=content.any_random,
            epic_groups=epic_groups(
                content.epic, [(w.model, w.pretrained) for w in content.weights]
            ),
            figure_sections=sections,
            panel_groups=panel_groups(content.panel),
            runs=run_rows(content.runs),
            run_figures=figures_by_section.get("runs", []),
            commands=content.commands,
            notes=notes,
            meta={
                "evalkit_version": __version__,
                "built": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "environment": _environment(),
            },
        )
        (tmp / PAGE).write_text(page, encoding="utf-8")
        for p in [tmp, *tmp.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return out / PAGE


def build_report(
    out: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    tasks: Sequence[str] | None = None,
    label_sets: Sequence[str] | None = None,
    title: str | None = None,
    histogram_alpha: float = 0.0,
    sheet_frames: int = 12,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
    runs: Sequence[str | os.PathLike[str]] = (),
    runs_root: str | os.PathLike[str] | None = None,
) -> Path:
    """Gather (:func:`gather_report`) and render (:func:`render_report`) a report into ``out``.

    :returns: the path of the report's ``index.html``.
    """
    content = gather_report(
        root,
        tasks,
        label_sets=label_sets,
        title=title,
        command=command,
        histogram_alpha=histogram_alpha,
        runs=runs,
        runs_root=runs_root,
    )
    return render_report(content, out, sheet_frames=sheet_frames, progress=progress)
