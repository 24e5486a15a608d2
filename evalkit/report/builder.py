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
curves) are gathered by :mod:`evalkit.report.runs`; the page's content types are in
:mod:`~evalkit.report.content`, its figures in :mod:`~evalkit.report.figure_specs`, its tables in
:mod:`~evalkit.report.result_tables`, dataset entries in :mod:`~evalkit.report.dataset_entries`
and the reproducing command lines in :mod:`~evalkit.report.commands`.
"""

from __future__ import annotations

import math
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from evalkit import __version__
from evalkit.config import reports_root as default_reports_root
from evalkit.config import runs_root as default_runs_root
from evalkit.data.store import Dataset, iter_datasets, resolve_root
from evalkit.errors import DatasetError, EvalkitError
from evalkit.fileio import atomic_folder
from evalkit.pipeline.figures import (
    CLIP_SOURCE,
    parameter_count,
)
from evalkit.pipeline.results import COLUMNS as RESULT_COLUMNS
from evalkit.pipeline.results import EPIC_METRIC, load_epic_results, saved_results
from evalkit.pipeline.reward_kinds import (
    FramePrototypeReward,
    HeadReward,
)
from evalkit.plots.style import close, save_figure
from evalkit.report.commands import collect_command, epic_commands, quote
from evalkit.report.content import (
    FIGURES_DIR,
    PAGE,
    SECTIONS,
    SHEETS_DIR,
    TEMPLATE,
    FigureSpec,
    ReportContent,
    WeightsInfo,
)
from evalkit.report.dataset_entries import dataset_info, environment, write_contact_sheet
from evalkit.report.figure_specs import (
    has_state_axis,
    head_landscape_figure,
    histogram_figure,
    landscape_figure,
    of_kind,
    pairwise_figure,
    run_figure,
    scaling_figures,
)
from evalkit.report.result_tables import epic_groups, panel_groups
from evalkit.report.runs import gather_runs, run_rows
from evalkit.report.studies import StudyEntry, gather_studies
from evalkit.tasks import get_task
from evalkit.vlm.names import FILE_LABEL  # torch-free: reports never load a model


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
    studies: Sequence[str | os.PathLike[str]] = (),
    studies_root: str | os.PathLike[str] | None = None,
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
    :param studies: folders written by ``evalkit validate``, besides those under ``studies_root``.
    :param studies_root: where studies are found (default ``$EVALKIT_REPORTS`` or ``./reports``).
    :raises EvalkitError: no saved results match and there is no run and no study.
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
    study_root = Path(studies_root) if studies_root is not None else default_reports_root()
    study_entries, study_notes = gather_studies(study_root, studies)
    notes += study_notes
    if not parts and not run_entries and not study_entries:
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

    heads = epic[of_kind(epic, HeadReward)]
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
        figures += scaling_figures(
            pd.concat([rows, own_heads], ignore_index=True),
            dname,
            task,
            label_set,
            pairs,
            params,
            any_random,
        )
        figures.append(
            histogram_figure(
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
            figures.append(pairwise_figure(ds, rows, task, label_set, pairs, any_random))
        for model, pretrained in pairs:
            key = (dname, task, model, pretrained)
            if key in landscapes_done or not has_state_axis(ds):
                continue
            landscapes_done.add(key)
            alphas = sorted(
                rows[(rows["model"] == model) & (rows["pretrained"] == pretrained)]["alpha"]
                .dropna()
                .unique()
            )
            figures.append(
                landscape_figure(
                    ds, task, model, pretrained, alphas, random_of[(model, pretrained)]
                )
            )

    prototypes = epic[of_kind(epic, FramePrototypeReward)]
    keys = ["dataset", "task", "model", "pretrained", "reward_source"]
    for (dname, task, model, pretrained, source), rows in prototypes.groupby(keys, sort=True):
        if has_state_axis(by_name[dname]):
            random = bool(rows["random_weights"].fillna(False).astype(bool).any())
            alphas = sorted(rows["alpha"].dropna().unique())
            figures.append(
                landscape_figure(
                    by_name[dname], task, model, pretrained, alphas, random, prototype=source
                )
            )
    for (dname, task), rows in heads.groupby(["dataset", "task"], sort=True):
        if has_state_axis(by_name[dname]):
            figures.append(head_landscape_figure(by_name[dname], task, rows))
    figures += [run_figure(i, e) for i, e in enumerate(run_entries)]

    root_option = f" --root {quote(root)}" if root is not None else ""
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
        studies=study_entries,
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
            sheet, caption = write_contact_sheet(ds, tmp, sheet_frames)
            datasets.append(dataset_info(ds, sheet, caption))
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
            studies=study_blocks(content.studies, tmp / FIGURES_DIR),
            commands=content.commands,
            notes=notes,
            meta={
                "evalkit_version": __version__,
                "built": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "environment": environment(),
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
    studies: Sequence[str | os.PathLike[str]] = (),
    studies_root: str | os.PathLike[str] | None = None,
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
        studies=studies,
        studies_root=studies_root,
    )
    return render_report(content, out, sheet_frames=sheet_frames, progress=progress)


def study_blocks(studies: Sequence[StudyEntry], figures: Path) -> list[dict[str, Any]]:
    """The studies for the page, each study's own figure copied into ``figures`` (relative links)."""
    blocks = []
    for study in studies:
        links = {}
        for suffix in (".png", ".svg"):
            source = study.figure(suffix)
            if source is not None:
                figures.mkdir(parents=True, exist_ok=True)
                name = f"study_{_slug(study.name)}{suffix}"
                shutil.copyfile(source, figures / name)
                links[suffix] = f"{FIGURES_DIR}/{name}"
        blocks.append(
            {
                "entry": study,
                "png": links.get(".png"),
                "svg": links.get(".svg"),
                "width": _css_width(figures / Path(links[".png"]).name) if ".png" in links else 0,
            }
        )
    return blocks


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
