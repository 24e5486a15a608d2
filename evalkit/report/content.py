"""The report's content: what :func:`~evalkit.report.builder.gather_report` collects and the page shows (datasets, figures, tables, runs), and the page's sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from evalkit.report.runs import RunEntry
from evalkit.report.studies import StudyEntry
from evalkit.text import short_count

TEMPLATE = "report.html.j2"


PAGE = "index.html"


FIGURES_DIR = "figures"


SHEETS_DIR = "datasets"


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
    studies: list[StudyEntry] = field(default_factory=list)

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
