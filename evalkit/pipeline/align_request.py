"""What ``evalkit align`` asks for, and running it: :class:`AlignRequest` fits a reward head
(:func:`evalkit.pipeline.heads.align`), then, if asked, scores it on another dataset
(:meth:`AlignRequest.transfer`) and draws how many labels it needs
(:meth:`AlignRequest.label_curve`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from evalkit.data.store import RULE_LABELS, Dataset, open_dataset
from evalkit.errors import EvalkitError
from evalkit.pipeline.heads import AlignResult, TransferResult, align, default_head_path, transfer
from evalkit.pipeline.inputs import check_label_set, labelled_dataset, warn_few_episodes
from evalkit.pipeline.label_curve import LabelCurve, dataset_label_curve
from evalkit.pipeline.reward_kinds import HeadReward
from evalkit.vlm import ModelSpec, resolve


@dataclass(frozen=True)
class AlignOutcome:
    """A fitted head, with the datasets it was fitted on and will be scored on."""

    result: AlignResult
    dataset: Dataset
    spec: ModelSpec
    other: Dataset | None

    def use_options(self) -> str:
        """The options of ``evalkit epic`` that evaluate the head."""
        return HeadReward(str(self.result.path)).command_options("", "", [])


@dataclass(frozen=True)
class AlignRequest:
    """Fit a reward head to a dataset's goal labels, with nested held-out scores.

    :param out: where to save the head (default beside the dataset).
    :param eval_dataset: another dataset of the family to score the head on too.
    :param eval_labels: its label set (default: ``labels``).
    :param curve_repeats: random subsets per size of the label curve.
    """

    dataset: str
    task: str
    model: str
    pretrained: str | None = None
    labels: str = RULE_LABELS
    folds: int = 5
    out: Path | None = None
    n_bootstrap: int = 1000
    seed: int = 0
    eval_dataset: str | None = None
    eval_labels: str | None = None
    curve_repeats: int = 5
    root: Path | None = None
    devices: str | None = None

    def _embed(self) -> dict[str, str]:
        return {"devices": self.devices} if self.devices else {}

    def other(self, ds: Dataset) -> Dataset | None:
        """``eval_dataset``, checked: of ``ds``'s family, with its label set."""
        if self.eval_dataset is None:
            return None
        other = open_dataset(self.eval_dataset, self.root)
        if other.family != ds.family:
            raise EvalkitError(
                f"--eval-dataset {other.name!r} holds {other.family} states, not {ds.family} ones "
                f"like {ds.name!r}: a head is scored only on datasets of the family it was fitted on."
            )
        other.check_tables()
        check_label_set(other, self.eval_labels or self.labels, "--eval-labels")
        return other

    def run(self) -> AlignOutcome:
        """Check both datasets, fit the head and save it.

        :raises EvalkitError: a dataset of another family or without the label set, too few labels.
        """
        ds = labelled_dataset(self.dataset, self.task, self.labels, self.root)
        warn_few_episodes(ds.manifest.n_episodes, self.n_bootstrap)
        other = self.other(ds)
        spec = ModelSpec.coerce(self.model, self.pretrained)
        target = self.out or default_head_path(ds, self.task, resolve(spec).label, self.labels)
        result = align(
            ds,
            self.task,
            spec,
            labels=self.labels,
            folds=self.folds,
            seed=self.seed,
            n_bootstrap=self.n_bootstrap,
            save_to=target,
            **self._embed(),
        )
        return AlignOutcome(result, ds, spec, other)

    def transfer(self, outcome: AlignOutcome) -> TransferResult | None:
        """The head scored on ``eval_dataset`` (``None`` when none was given)."""
        if outcome.other is None:
            return None
        return transfer(
            outcome.result.path,
            outcome.other,
            self.task,
            labels=self.eval_labels or self.labels,
            n_bootstrap=self.n_bootstrap,
            seed=self.seed,
            **self._embed(),
        )

    def label_curve(
        self, outcome: AlignOutcome, on_point: Callable[[int, int], None] | None = None
    ) -> LabelCurve:
        """The head's held-out EPIC against the labelled episodes it is fitted on."""
        return dataset_label_curve(
            outcome.dataset,
            self.task,
            outcome.spec,
            labels=self.labels,
            repeats=self.curve_repeats,
            folds=self.folds,
            seed=self.seed,
            n_bootstrap=self.n_bootstrap,
            on_point=on_point,
            **self._embed(),
        )
