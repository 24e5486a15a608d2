"""``evalkit landscape``, ``evalkit scaling`` and ``evalkit histogram``: the paper's figures.

Each command gets its table through :mod:`evalkit.pipeline.figures` (rewards from the embedding cache,
EPIC distances from the saved results, computing what is missing the way ``evalkit epic``
does), draws it with :mod:`evalkit.plots` and writes PNG and SVG files. ``--out FILE`` picks the
file: a ``.png``/``.svg``/``.pdf`` suffix writes that format, no suffix writes PNG and SVG.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, List, Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import (
    ALPHA,
    BASELINE_FRAMES,
    BATCH_SIZE,
    BOOTSTRAP,
    DATASET,
    DEVICES,
    GOAL_FRAMES,
    LABELS,
    MODEL,
    PRETRAINED,
    ROOT,
    TASK,
    Options,
    check_bootstrap,
    check_option_rules,
    check_out_path,
    ignored_with,
    parse_alphas,
    takes,
)
from evalkit.cli._variants import VariantFlagsCommand, check_variant_flags, given_variants
from evalkit.config import DEFAULT_ALPHAS as _LIBRARY_ALPHAS
from evalkit.errors import EvalkitError
from evalkit.metrics.registry import result_rows_help
from evalkit.text import number_list

DEFAULT_ALPHAS = number_list(_LIBRARY_ALPHAS)
""":data:`evalkit.rewards.DEFAULT_ALPHAS` as the ``--alpha`` option writes them (``0,0.25,0.5,0.75,1``)."""


_EMBEDDING: Options = {
    "root": (Optional[Path], ROOT()),
    "devices": (Optional[str], DEVICES()),
    "batch_size": (Optional[int], BATCH_SIZE()),
}
"""The last options of every figure command: where datasets live, how missing frames are embedded."""


def _figure_out(help: str) -> tuple[Any, Any]:
    """A figure command's ``--out`` (checked by :func:`_check_figure_out`) with its help."""
    return Optional[Path], typer.Option(
        None, "--out", "-o", help=help, callback=lambda out: _check_figure_out(out)
    )


def _slug(*parts: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-._" else "-" for c in "_".join(p for p in parts if p))
    return keep.strip("-_.") or "figure"


def _target(out: Optional[Path], default_stem: str) -> Path:
    from evalkit.config import reports_root

    if out is None:
        return reports_root() / "figures" / default_stem
    if out.is_dir():
        return out / default_stem
    return out


MAX_BINS = 1000
"""Most histogram bins: more than a figure can show apart (and each costs drawing time)."""

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
"""The formats figures are written in (a name without a suffix gets PNG and SVG)."""


def _check_figure_out(out: Optional[Path], option: str = "--out") -> Optional[Path]:
    """``--out`` of a figure: a folder (the default name goes in it) or a name ending in one of
    :data:`FIGURE_SUFFIXES` or none, checked at once."""
    return check_out_path(out, FIGURE_SUFFIXES, "a figure", option=option, folder_ok=True)


def _save(fig, target: Path) -> list[Path]:
    from evalkit.plots import close, save_figure

    try:
        return save_figure(fig, target)
    except OSError as exc:
        raise EvalkitError(
            f"Cannot write {target} ({exc.strerror or exc}); choose another --out."
        ) from None
    finally:
        close(fig)


def _print_written(paths: list[Path], random_weights: bool, model: str) -> None:
    out = console()
    if random_weights:
        out.print(
            f"[bold red]WARNING: RANDOM WEIGHTS ({model}): this figure shows an untrained model and says "
            "nothing about CLIP; it is marked so in its title.[/]"
        )
    for p in paths:
        out.print(str(p), highlight=False, soft_wrap=True)


def _pairs(models: str, pretrained: Optional[str]) -> list[tuple[str, Optional[str]]]:
    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise typer.BadParameter("give at least one model, e.g. ViT-B-32.", param_hint="--models")
    if pretrained is None:
        return [(m, None) for m in names]
    tags = [p.strip() for p in pretrained.split(",")]
    if len(tags) == 1:
        tags = tags * len(names)
    if len(tags) != len(names):
        raise typer.BadParameter(
            f"give one weights tag for every model ({len(names)}) or one for all, not {len(tags)}.",
            param_hint="--pretrained",
        )
    return [(m, t or None) for m, t in zip(names, tags)]


LANDSCAPE_OPTIONS: Options = {
    "family": (
        str,
        typer.Argument(
            ..., help="An environment family with a state sweep (see 'evalkit collect --help')."
        ),
    ),
    "model": (
        Optional[str],
        MODEL(
            help="open_clip model (or evalkit-tiny-vit / evalkit-tiny-rn) of the text-prompt lines "
            "(default: ViT-B-32, or none when --reward is given).",
        ),
    ),
    "pretrained": (Optional[str], PRETRAINED()),
    "alpha": (
        Optional[str],
        ALPHA(
            help=f"Comma-separated α, one line each (default: {DEFAULT_ALPHAS}); heads have no α."
        ),
    ),
    "reward": (
        Optional[List[str]],
        typer.Option(
            None,
            "--reward",
            help="Also draw a reward head's score, one line each (repeat for several): head:PATH (a head fitted by "
            "'evalkit align'; it scores the frames with its own model), or a window:K:S:MODEL or episode:MODEL "
            "reward over a rollout's steps (with --dataset ROLLOUT --episode N).",
        ),
    ),
    "task": (
        Optional[str],
        TASK(default=None, help="Task whose prompts give the reward (default: the family's task)."),
    ),
    "dataset": (
        Optional[str],
        DATASET(help="Sweep dataset to use, collected if missing (default: the family's sweep)."),
    ),
    "n": (
        Optional[int],
        typer.Option(
            None,
            "--n",
            min=2,
            help="States in the sweep when it has to be collected (default: 1000).",
        ),
    ),
    "size": (
        Optional[int],
        typer.Option(
            None,
            "--size",
            min=1,
            help="Frame size when the sweep has to be collected (default: 224).",
        ),
    ),
    "episode": (
        Optional[int],
        typer.Option(
            None,
            "--episode",
            help="Draw episode N of --dataset (a rollout) against its steps: a reward over time (windows, whole episodes).",
        ),
    ),
    "goal_frames": (Optional[str], GOAL_FRAMES()),
    "baseline_frames": (Optional[str], BASELINE_FRAMES()),
    "raw": (
        bool,
        typer.Option(
            False, "--raw", help="Draw raw rewards instead of rescaling each α to [0, 1]."
        ),
    ),
    "out": _figure_out(
        "Output file (.png/.svg/.pdf; no suffix: PNG and SVG) (default: <reports>/figures/landscape_...)."
    ),
    **_EMBEDDING,
}
"""The options of this command, in the order of its help."""


@app.command("landscape", cls=VariantFlagsCommand)
@takes(LANDSCAPE_OPTIONS)
def landscape_command(ctx: typer.Context, **values: Any) -> None:
    """Reward landscape (paper Fig. 2): CLIP reward against the family's state axis (pole angle, car position...), one line per α.

    Collects the sweep and embeds it with the model if they are missing (with progress), then
    draws every α's reward min–max rescaled to [0, 1] (shapes compare, not magnitudes) with the
    goal as a dashed vertical line and the goal states (rule labels) shaded. --reward head:PATH
    adds a head's score as a line of its own (beside the text prompt's, or alone without --model).
    A family's render flags (such as --textured/--plain) pick the sweep's look, as in 'evalkit collect'.
    """
    v = SimpleNamespace(**values)
    from evalkit.pipeline.figure_requests import FigureRewards, LandscapeRequest
    from evalkit.pipeline.inputs import EmbedSettings
    from evalkit.plots import landscape_caption, plot_landscape
    from evalkit.tasks import get_family

    err = console(stderr=True)
    request = LandscapeRequest(
        v.family,
        FigureRewards(
            ((v.model, v.pretrained),) if v.model is not None else (),
            None if v.alpha is None else tuple(parse_alphas(v.alpha)),
            v.goal_frames,
            v.baseline_frames,
            tuple(v.reward or ()),
        ),
        task=v.task,
        dataset=v.dataset,
        n=v.n,
        size=v.size,
        variants=check_variant_flags(get_family(v.family), given_variants(ctx)),
        root=v.root,
        embed=EmbedSettings(v.devices, v.batch_size),
        on_note=lambda note: err.print(note, highlight=False),
        episode=v.episode,
    )
    result = request.run()
    data, model = result.data, result.model  # the default model when none was named
    fig = plot_landscape(
        data.table,
        data.state_label,
        data.goal_value,
        goal_region=data.goal_region,
        title=data.title,
        random_weights=data.random_weights,
        rescale=not v.raw,
    )
    stem = _slug(
        "landscape",
        result.dataset.name,
        model or "",
        data.pretrained,
        "heads" if v.reward else "",
        "" if v.episode is None else f"episode{v.episode}",
    )
    paths = _save(fig, _target(v.out, stem))
    _print_written(paths, data.random_weights, model or ", ".join(data.heads))
    console().print(
        landscape_caption(
            data.state_label,
            data.goal_value,
            rescale=not v.raw,
            heads=data.heads,
            clip=model is not None,
            over_time=v.episode is not None,
        ),
        highlight=False,
        soft_wrap=True,
    )


SCALING_OPTIONS: Options = {
    "task": (str, TASK()),
    "models": (
        str,
        typer.Option(
            "RN50,ViT-L-14,ViT-H-14,ViT-bigG-14",
            "--models",
            show_default=False,
            help="Comma-separated open_clip models (default: the paper's RN50, ViT-L-14, ViT-H-14, ViT-bigG-14).",
        ),
    ),
    "pretrained": (
        Optional[str],
        PRETRAINED(
            help="Comma-separated weights, one per model or one for all (default: each model's default tag).",
        ),
    ),
    "alpha": (str, ALPHA(default=DEFAULT_ALPHAS, help="Comma-separated α, one line each.")),
    "goal_frames": (Optional[str], GOAL_FRAMES()),
    "baseline_frames": (Optional[str], BASELINE_FRAMES()),
    "reward": (
        Optional[List[str]],
        typer.Option(
            None,
            "--reward",
            help="Also place a reward head (repeat for several): head:PATH, a point at its own model's size with "
            "its interval, marked apart from the α lines (a head has no α).",
        ),
    ),
    "dataset": (Optional[str], DATASET()),
    "labels": (str, LABELS()),
    "bootstrap": (
        int,
        BOOTSTRAP(help="Bootstrap resamples for EPIC results that have to be computed."),
    ),
    "compute": (
        bool,
        typer.Option(
            True,
            "--compute/--saved-only",
            help="Compute EPIC results that are not saved yet (embedding the dataset if needed), or fail.",
        ),
    ),
    "metric": (
        str,
        typer.Option(
            "epic",
            "--metric",
            help=f"What to draw: a result of a registered metric, one of {result_rows_help()} (see 'evalkit epic --metrics').",
        ),
    ),
    "out": _figure_out(
        "Output file stem: writes STEM_by_model and STEM_by_size (.png/.svg/.pdf suffix picks one format)."
    ),
    **_EMBEDDING,
}
"""The options of this command, in the order of its help."""


@app.command("scaling")
@takes(SCALING_OPTIONS)
def scaling_command(ctx: typer.Context, **values: Any) -> None:
    """Scaling (paper Fig. 4a, 4b): EPIC distance per model and α, and against parameter count.

    Reads the EPIC results 'evalkit epic' saved next to the dataset and computes those that are
    missing. Fig. 4a: one line per α over the models, bootstrap intervals as error bars.
    Fig. 4b: distance against parameters on a log axis with a least-squares fit
    distance = a + b·log10(params) per α; the slope b (per tenfold parameters) is in the legend.
    With --goal-frames every model's goal is a frame prototype instead (computed from its
    cached embeddings, and saved like any result). --reward head:PATH adds each head as a point
    of its own at its model (its EPIC computed as 'evalkit epic' does, and saved).
    """
    v = SimpleNamespace(**values)
    from rich.table import Table

    from evalkit.pipeline.figure_requests import FigureRewards, ScalingRequest
    from evalkit.pipeline.inputs import EmbedSettings
    from evalkit.plots import plot_scaling_by_model, plot_scaling_by_size

    check_option_rules(
        ctx,
        *(
            ignored_with(
                "compute",
                other,
                "covers the text-prompt rows only; the rows of {other} are computed now from "
                "the cached embeddings",
                when=lambda compute: not compute,
            )
            for other in ("goal_frames", "reward")
        ),
    )
    pairs = _pairs(v.models, v.pretrained)
    rewards = FigureRewards(
        tuple(pairs),
        tuple(parse_alphas(v.alpha)),
        v.goal_frames,
        v.baseline_frames,
        tuple(v.reward or ()),
    )
    err = console(stderr=True)
    result = ScalingRequest(
        v.task,
        rewards,
        dataset=v.dataset,
        labels=v.labels,
        n_bootstrap=check_bootstrap(v.bootstrap),
        compute=v.compute,
        metric=v.metric,
        root=v.root,
        embed=EmbedSettings(v.devices, v.batch_size),
        on_progress=lambda m: err.print(m, highlight=False),
    ).run()
    data, ds = result.data, result.dataset
    prototype = "" if v.goal_frames is None else f"goal {v.goal_frames}"
    target = _target(
        v.out, _slug("scaling", v.task, ds.name, "" if v.metric == "epic" else v.metric, prototype)
    )
    suffix = target.suffix if target.suffix.lower() in FIGURE_SUFFIXES else ""
    stem = target.with_suffix("") if suffix else target
    title = f"{v.task}, {v.labels} labels, {ds.name}" + (f", {prototype}" if prototype else "")
    drawn = {"title": title, "random_weights": data.random_weights, "metric": v.metric}
    paths = _save(
        plot_scaling_by_model(data.table, **drawn), stem.with_name(f"{stem.name}_by_model{suffix}")
    )
    if result.sized:
        paths += _save(
            plot_scaling_by_size(data.table, **drawn),
            stem.with_name(f"{stem.name}_by_size{suffix}"),
        )
    else:
        err.print(
            "No parameter counts for some models; Fig. 4b (EPIC against size) was not drawn.",
            highlight=False,
        )
    _print_written(paths, data.random_weights, ", ".join(m for m, _ in pairs))
    for line in result.head_lines():
        console().print(line, highlight=False)
    fits = result.fits()
    if fits:
        table = Table(title="log-linear fit: distance = a + b·log10(params)")
        for c in ("α", "slope b (per 10× params)", "intercept a", "R²", "models"):
            table.add_column(c, justify="right")
        for row in fits:
            f = row.fit
            table.add_row(
                f"{row.alpha:g}", f"{f.slope:+.4f}", f"{f.intercept:.4f}", f"{f.r2:.3f}", str(f.n)
            )
        console().print(table)


HISTOGRAM_OPTIONS: Options = {
    "task": (str, TASK()),
    "model": (
        Optional[str],
        MODEL(
            help="open_clip model; a comma-separated list draws one panel per model.",
        ),
    ),
    "goal_frames": (Optional[str], GOAL_FRAMES()),
    "baseline_frames": (Optional[str], BASELINE_FRAMES()),
    "reward": (
        Optional[List[str]],
        typer.Option(
            None,
            "--reward",
            help="Also draw another reward, one panel each (repeat for several): head:PATH (a head fitted by 'evalkit align') or MODULE:FUNCTION.",
        ),
    ),
    "pretrained": (
        Optional[str],
        PRETRAINED(
            help="Weights, one per model or one for all (default: each model's default tag).",
        ),
    ),
    "alpha": (
        str,
        ALPHA(
            default="0",
            help="Goal-baseline regularisation strength α of the reward; a comma-separated list draws one figure per α.",
        ),
    ),
    "dataset": (Optional[str], DATASET()),
    "labels": (str, LABELS()),
    "bins": (
        int,
        typer.Option(
            30, "--bins", min=1, max=MAX_BINS, help=f"Histogram bins (at most {MAX_BINS})."
        ),
    ),
    "out": _figure_out("Output file (.png/.svg/.pdf; no suffix: PNG and SVG)."),
    **_EMBEDDING,
}
"""The options of this command, in the order of its help."""


@app.command("histogram")
@takes(HISTOGRAM_OPTIONS)
def histogram_command(ctx: typer.Context, **values: Any) -> None:
    """Reward histograms (paper Fig. 7): CLIP rewards of goal vs non-goal frames, means marked.

    Each panel is annotated with the model's EPIC distance at this α (from the saved results,
    computed and saved if missing). With --goal-frames the models' goal is a frame prototype;
    --reward adds panels of heads or functions (their EPIC computed as 'evalkit epic' does).
    """
    v = SimpleNamespace(**values)
    from evalkit.pipeline.figure_requests import FigureRewards, HistogramRequest
    from evalkit.pipeline.inputs import EmbedSettings
    from evalkit.plots import plot_histograms

    alphas = parse_alphas(v.alpha)
    if v.out is not None and len(alphas) > 1:  # one figure per α: --out is a folder
        if v.out.suffix:
            raise typer.BadParameter(
                "with several α, give a folder: one figure per α goes into it.", param_hint="--out"
            )
        v.out.mkdir(parents=True, exist_ok=True)
    pairs = _pairs(v.model, v.pretrained) if v.model is not None else []
    result = HistogramRequest(
        v.task,
        FigureRewards(
            tuple(pairs), tuple(alphas), v.goal_frames, v.baseline_frames, tuple(v.reward or ())
        ),
        dataset=v.dataset,
        labels=v.labels,
        root=v.root,
        embed=EmbedSettings(v.devices, v.batch_size),
    ).run()
    ds = result.dataset
    for panel in result.panels:
        data, a = panel.data, panel.alpha
        fig = plot_histograms(
            data.table,
            models=data.models,
            annotations=panel.notes,
            bins=v.bins,
            title=f"{v.task}: reward at α = {a:g}, {v.labels} labels, {ds.name}",
            random_weights=data.random_weights,
            reward_labels=data.reward_labels,
        )
        drawn = [m for m, _ in pairs] + (["heads"] if v.reward else [])
        name = _slug("histogram", v.task, ds.name, *drawn, f"alpha{a:g}")
        _print_written(
            _save(fig, _target(v.out, name)), data.random_weights, ", ".join(data.models)
        )
