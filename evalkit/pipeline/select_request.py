"""What ``evalkit select`` asks for, and running it: :class:`SelectRequest` →
:class:`SelectOutcome` (the selection of :func:`evalkit.pipeline.selection.select`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from evalkit.data.store import RULE_LABELS
from evalkit.errors import EvalkitError
from evalkit.pipeline.inputs import labelled_dataset, warn_few_episodes
from evalkit.pipeline.selection import (
    DatasetSelection,
    read_prompts,
    save_selection,
    select,
    selection_path,
)
from evalkit.rewards import DEFAULT_ALPHAS
from evalkit.vlm import ModelSpec, resolve
from evalkit.vlm.windows import parse_window


def _silent(message: str) -> None:
    """A progress line nobody reads."""


@dataclass(frozen=True)
class SelectOutcome:
    """The selection, and where to save it (``None``: not saved)."""

    selection: DatasetSelection
    target: Path | None

    def save(self) -> Path | None:
        """Write the selection to :attr:`target` (nothing when it is ``None``)."""
        return None if self.target is None else save_selection(self.selection, self.target)


@dataclass(frozen=True)
class SelectRequest:
    """Honest (nested) selection among prompts × α, frame prototypes × α and a reward head.

    :param dataset: the dataset whose labelled frames score the candidates.
    :param prompts: a text file of goal prompts, one per line.
    :param goal_frames: frame sets tried as the goal.
    :param heads: also try a reward head.
    :param goal_video: a demonstration tried as the goal of every window.
    :param windows: windows ``K:S`` tried with every goal prompt and α (the model's windows, or
        its frames averaged over each window).
    :param save: save the selection (to ``out``, default beside the dataset).
    :param on_progress: where the progress line of each fold goes.
    """

    dataset: str
    task: str
    model: str
    pretrained: str | None = None
    prompts: Path | None = None
    alphas: tuple[float, ...] = tuple(DEFAULT_ALPHAS)
    goal_frames: tuple[str, ...] = ()
    baseline_frames: str | None = None
    heads: bool = False
    labels: str = RULE_LABELS
    folds: int = 5
    n_bootstrap: int = 1000
    seed: int = 0
    save: bool = True
    out: Path | None = None
    root: Path | None = None
    devices: str | None = None
    windows: tuple[str, ...] = ()
    goal_video: str | None = None
    on_progress: Callable[[str], None] = _silent

    def run(self) -> SelectOutcome:
        """Check the inputs, open the dataset and select.

        :raises EvalkitError: a baseline without goals, a dataset of another family or without
            the label set, no candidate, too few labelled episodes for the folds.
        """
        if self.baseline_frames and not self.goal_frames and not self.prompts:
            raise EvalkitError(
                "--baseline-frames needs goals to go with it (--prompts or --goal-frames)."
            )
        prompts = read_prompts(self.prompts) if self.prompts is not None else []
        windows = [parse_window(w) for w in self.windows]
        ds = labelled_dataset(self.dataset, self.task, self.labels, self.root)
        warn_few_episodes(ds.manifest.n_episodes, self.n_bootstrap)
        spec = ModelSpec.coerce(self.model, self.pretrained)
        n = (len(prompts) + len(self.goal_frames)) * len(self.alphas) + int(self.heads)
        goals = max(1, len(prompts)) + int(self.goal_video is not None)
        n += len(windows) * goals * len(self.alphas)

        def on_fold(f: int, k: int) -> None:
            self.on_progress(f"fold {f + 1}/{k}: scoring {n} candidates on its fitting episodes")

        selection = select(
            ds,
            self.task,
            spec,
            prompts,
            list(self.alphas),
            goal_frames=list(self.goal_frames),
            baseline_frames=self.baseline_frames,
            heads=self.heads,
            labels=self.labels,
            folds=self.folds,
            seed=self.seed,
            n_bootstrap=self.n_bootstrap,
            devices=self.devices,
            on_fold=on_fold,
            windows=windows,
            goal_video=self.goal_video,
        )
        target = None
        if self.save:
            target = self.out or selection_path(ds, self.task, resolve(spec).label, self.labels)
        return SelectOutcome(selection, target)
