"""The datasets a request reads, opened and checked before any work: :func:`task_dataset`,
:func:`labelled_dataset`, :func:`check_label_set`, and the warning on intervals over few
episodes (:func:`warn_few_episodes`).

Every check ends in one sentence (an :class:`~evalkit.errors.EvalkitError`) naming the option
that fixes it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from evalkit.data.store import RULE_LABELS, Dataset, dataset_path, open_dataset, resolve_root
from evalkit.errors import EvalkitError, FewEpisodesWarning
from evalkit.tasks import get_task

MIN_INTERVAL_EPISODES = 50
"""Fewest episodes over which a bootstrap interval covers about as often as it says (measured:
a 95 % AUC interval covered 88 % of the time at 20 episodes, 94.5 % at 60)."""


def warn_few_episodes(n_episodes: int, n_bootstrap: int) -> None:
    """A one-line warning when intervals rest on fewer than :data:`MIN_INTERVAL_EPISODES` episodes.

    :param n_episodes: the episodes the bootstrap resamples.
    :param n_bootstrap: the resamples asked for (0: no interval, no warning).
    """
    if n_bootstrap and n_episodes < MIN_INTERVAL_EPISODES:
        warnings.warn(
            f"the intervals rest on {n_episodes} episodes, fewer than {MIN_INTERVAL_EPISODES}: "
            "bootstrap intervals over few episodes are too narrow (a 95 % interval covered 88 % "
            "of the time at 20 episodes); collect more episodes, or read them as optimistic.",
            FewEpisodesWarning,
            stacklevel=2,
        )


def task_dataset(task_name: str, dataset: str | None, root: Path | None) -> Dataset:
    """The dataset a task is evaluated on: ``dataset`` if given, else the task's default one
    (with a clear error saying how to make it when it is not there, or which file is corrupt)."""
    task = get_task(task_name)
    if dataset is None:
        name = task.dataset
        if not dataset_path(name, root).exists():
            command = task.collect_hint()
            make = f"make it with '{command}'" if command else "make it"
            raise EvalkitError(
                f"Task {task.name!r} is evaluated on the dataset {name!r} by default, and there is none under "
                f"{resolve_root(root)}; {make} (or pass --dataset)."
            )
        dataset = name
    ds = open_dataset(dataset, root)
    if ds.family != task.family:  # before anything is embedded or computed for it
        raise EvalkitError(
            f"Dataset {ds.name!r} holds {ds.family} states but task {task.name!r} runs on "
            f"{task.family}; pass a {task.family} dataset with --dataset (default: "
            f"{task.dataset})."
        )
    ds.check_tables()  # a corrupt states, labels or results table is one sentence, before any work
    return ds


def check_label_set(ds: Dataset, labels: str, option: str = "--labels") -> None:
    """A label set the dataset has (``rule`` is always there: computed from the states)."""
    if labels != RULE_LABELS and labels not in ds.label_sets():
        raise EvalkitError(
            f"Dataset {ds.name!r} has no label set {labels!r} ({option}; it has: "
            f"{', '.join(sorted({RULE_LABELS, *ds.label_sets()}))}); label it with 'evalkit label "
            f"serve {ds.name}' or import labels with 'evalkit label import'."
        )


def check_task_family(ds: Dataset, task: str) -> None:
    """A task that runs on the dataset's family (its name checked too), before any work."""
    family = get_task(task).family
    if family != ds.family:
        raise EvalkitError(
            f"Task {task!r} runs on {family}, but {ds.name!r} holds {ds.family} states; pass a "
            "task of that family (see 'evalkit tasks')."
        )


def labelled_dataset(name: str, task: str, labels: str, root: Path | None) -> Dataset:
    """Dataset ``name`` with its tables checked, of ``task``'s family, holding label set ``labels``."""
    ds = open_dataset(name, root)
    ds.check_tables()
    check_task_family(ds, task)
    check_label_set(ds, labels)
    return ds


def check_frame_options(
    goal_frames: str | None, baseline_frames: str | None, model: str | None
) -> None:
    """``--goal-frames`` / ``--baseline-frames`` need ``--model``, and a baseline needs a goal."""
    if (goal_frames or baseline_frames) and model is None:
        raise EvalkitError(
            "--goal-frames and --baseline-frames need --model (whose embeddings they use)."
        )
    if baseline_frames and not goal_frames:
        raise EvalkitError("--baseline-frames needs --goal-frames (the goal as frames too).")


@dataclass(frozen=True)
class EmbedSettings:
    """How frames not cached yet are embedded (``--devices``, ``--batch-size``; ``None``: the
    engine's default)."""

    devices: str | None = None
    batch_size: int | None = None

    def options(self) -> dict[str, object]:
        """As keyword arguments of the embedding engine (unset ones left out)."""
        pairs = (("devices", self.devices), ("batch_size", self.batch_size))
        return {k: v for k, v in pairs if v}
