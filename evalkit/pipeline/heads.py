"""Reward heads on a dataset: fit one with honest held-out scores (:func:`align`), use one as a
reward source (:func:`head_reward_source`).

:func:`align` embeds the dataset with the model (cached), takes the task's goal labels from a
label set and fits an L2-regularised logistic head (:mod:`evalkit.heads`). Its held-out EPIC is
measured by nested cross-validation with whole episodes held out: each outer fold is predicted
by a head whose λ was chosen, and whose weights were fitted, on the other folds only, so the
score is on frames that neither the fit nor the choice of λ saw. The saved head is then fitted
on every labelled frame with λ chosen by cross-validation on all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.errors import EvalkitError
from evalkit.fileio import digest
from evalkit.heads import (
    L2_GRID,
    MIN_PER_CLASS,
    L2Choice,
    LogisticHead,
    check_head_fits,
    choose_l2,
    episode_folds,
    fit_logistic,
    head_file_identity,
    load_head,
    save_head,
)
from evalkit.metrics.goal import epic_goal
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.results import GoalEpicResult
from evalkit.pipeline.labels import DatasetLabels, dataset_labels
from evalkit.pipeline.reward_kinds import HeadReward
from evalkit.pipeline.sources import RewardSource
from evalkit.tasks import get_task

if TYPE_CHECKING:
    from evalkit.pipeline.reward_kinds import FrameRewardSettings
    from evalkit.vlm import ModelSpec

HEADS_DIR = "heads"


@dataclass(frozen=True)
class AlignResult:
    """A fitted head and how good it is on frames it was not fitted on.

    :ivar head: the head fitted on every labelled frame (λ by cross-validation).
    :ivar path: where it was saved (``None``: not saved).
    :ivar heldout: goal EPIC of the nested cross-validated rewards (the honest score).
    :ivar in_sample: goal EPIC of the final head on the frames it was fitted on (optimistic).
    :ivar l2: the cross-validation on all frames that chose the final head's λ.
    :ivar folds: number of folds.
    """

    head: LogisticHead
    path: Path | None
    heldout: GoalEpicResult
    in_sample: GoalEpicResult
    l2: L2Choice
    folds: int


def _embeddings(
    dataset: Dataset, model: "ModelSpec | str", precision: str, **embed: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """The dataset's image embeddings (cached) and what a head must match to use them."""
    # torch and open_clip: loaded only when a model is used
    from evalkit.vlm import embed_dataset, resolve

    resolved = resolve(model)
    emb = embed_dataset(dataset, resolved, precision=precision, **embed)
    fields = dict(emb.identity)
    fit = {
        "model_identity": resolved.label,
        "model_key": digest(json.dumps(fields.get("model", {}), sort_keys=True, default=str)),
        "model": _spec_name(resolved),
        "pretrained": resolved.spec.pretrained,
        "random_weights": bool(resolved.random_weights),
        "embedding": {
            "precision": precision,
            "preprocess_version": fields.get("preprocess_version"),
            "dim": int(emb.values.shape[1]),
        },
    }
    return np.asarray(emb.values), fit


def check_task_family(task: str, dataset: Dataset) -> None:
    """Refuse a task of another environment family than the dataset's states."""
    family = get_task(task).family
    if family != dataset.family:
        raise EvalkitError(
            f"Task {task!r} runs on {family}, but dataset {dataset.name!r} holds {dataset.family} states."
        )


@dataclass(frozen=True)
class LabelledEmbeddings:
    """The labelled frames of a dataset for a task, as a head is fitted on them.

    :ivar labels: the label set's labels of every frame.
    :ivar x: ``(m, d)`` float64 image embeddings of the labelled frames (frame order).
    :ivar y: their goal labels; :ivar episodes: their episodes.
    :ivar fit_meta: what a head fitted on them must record (model identity, embedding).
    """

    labels: DatasetLabels
    x: np.ndarray
    y: np.ndarray
    episodes: np.ndarray
    fit_meta: dict[str, Any]


def labelled_embeddings(
    dataset: Dataset,
    task: str,
    model: "ModelSpec | str",
    labels: str = RULE_LABELS,
    precision: str = "fp32",
    *,
    folds: int = 5,
    **embed: Any,
) -> LabelledEmbeddings:
    """The embeddings and labels of ``dataset``'s labelled frames, checked to be enough for
    ``folds``-fold nested cross-validation (embedded with the model first if not cached).

    :raises EvalkitError: a task of another family, or too few labelled frames of a class.
    """
    check_task_family(task, dataset)
    goal = dataset_labels(dataset, task, labels)
    check_enough_labels(goal.counts(), folds)
    ids = goal.frame_ids
    x_all, fit_meta = _embeddings(dataset, model, precision, **embed)
    x = np.asarray(x_all[ids], dtype=np.float64)
    return LabelledEmbeddings(goal, x, goal.labels[ids], dataset.episodes[ids], fit_meta)


def _spec_name(resolved: Any) -> str:
    """The model name a :class:`~evalkit.vlm.ModelSpec` takes back: a model config file's path
    (its display name is only the file's stem), else the display name."""
    if getattr(resolved, "arch", resolved.display_name) != resolved.display_name:
        return str(Path(resolved.spec.model).expanduser().resolve())
    return str(resolved.display_name)


def align(
    dataset: Dataset,
    task: str,
    model: "ModelSpec | str",
    *,
    labels: str = RULE_LABELS,
    folds: int = 5,
    grid: Sequence[float] = L2_GRID,
    seed: int = 0,
    n_bootstrap: int = 1000,
    precision: str = "fp32",
    save_to: str | Path | None = None,
    **embed: Any,
) -> AlignResult:
    """Fit a reward head for ``task`` on the labelled frames of ``dataset`` (see the module docstring).

    :param labels: the label set (``rule``, ``human``, ``human-NAME`` or a stored set).
    :param folds: episode-grouped folds of the cross-validation.
    :param grid: the λ tried.
    :param save_to: write the head there (``.json`` + ``.safetensors``; default: do not save).
    :param embed: passed to the embedding engine (``devices``, ``batch_size``, ``progress``).
    :raises EvalkitError: too few labelled frames or episodes, or a task of another family.
    """
    data = labelled_embeddings(dataset, task, model, labels, precision, folds=folds, **embed)
    goal, x, y, episodes, fit_meta = data.labels, data.x, data.y, data.episodes, data.fit_meta

    outer = episode_folds(episodes, y, folds, seed)
    heldout = np.empty(len(y))
    for f in range(folds):
        test = outer == f
        fold_head = fit_head(
            x[~test], y[~test], episodes[~test], inner_folds(folds), seed + 1 + f, grid
        )
        heldout[test] = fold_head.reward(x[test])

    choice = choose_l2(x, y, outer, grid)
    final = fit_logistic(x, y, choice.l2)
    n_goal, n_non = goal.counts()
    meta = {
        **fit_meta,
        "task": task,
        "label_set": labels,
        "labels_hash": goal.content_hash,
        "n_goal": n_goal,
        "n_nongoal": n_non,
        "dataset": dataset.name,
        "dataset_hash": dataset.content_hash,
        "folds": folds,
        "seed": seed,
    }
    score = {"bootstrap": BootstrapOptions(n_bootstrap, seed=seed)}
    held = epic_goal(heldout, y, episodes=episodes, **score)
    meta["heldout_epic"] = {"distance": held.distance, "interval": held.interval}
    head = LogisticHead(weights=final.weights, bias=final.bias, l2=final.l2, meta=meta)
    in_sample = epic_goal(head.reward(x), y, episodes=episodes, **score)
    path = save_head(head, save_to) if save_to is not None else None
    return AlignResult(head, path, held, in_sample, choice, folds)


def inner_folds(folds: int) -> int:
    """Folds of the cross-validation that chooses λ inside one outer fold's training part."""
    return folds - 1 if folds > 2 else 2


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    episodes: np.ndarray,
    folds: int,
    seed: int,
    grid: Sequence[float] = L2_GRID,
) -> LogisticHead:
    """A head fitted on these frames only, λ chosen by ``folds``-fold episode-grouped
    cross-validation on them (folds dealt by :func:`episode_folds` with ``seed``)."""
    l2 = choose_l2(x, y, episode_folds(episodes, y, folds, seed), grid).l2
    return fit_logistic(x, y, l2)


def check_enough_labels(counts: tuple[int, int], folds: int) -> None:
    """Nested cross-validation fits on (folds − 2)/folds of the frames: each class needs enough."""
    if folds < 3:
        raise EvalkitError(f"Nested cross-validation needs at least 3 folds, not {folds}.")
    needed = -(-MIN_PER_CLASS * folds // (folds - 2))
    for count, what in zip(counts, ("goal", "non-goal")):
        if count < needed:
            raise EvalkitError(
                f"Fitting a head with {folds}-fold nested cross-validation needs at least {needed} "
                f"labelled {what} frames; there are {count}: label more, or use fewer --folds."
            )


def dataset_json_path(
    dataset: Dataset, folder: str, task: str, model_label: str, labels: str
) -> Path:
    """``<dataset>/<folder>/<task>-<model>-<labels>.json`` (other characters as ``-``)."""
    slug = "".join(
        c if c.isalnum() or c in "-._" else "-" for c in f"{task}-{model_label}-{labels}"
    )
    return dataset.path / folder / f"{slug}.json"


def default_head_path(dataset: Dataset, task: str, model_label: str, labels: str) -> Path:
    """``<dataset>/heads/<task>-<model>-<labels>.json``."""
    return dataset_json_path(dataset, HEADS_DIR, task, model_label, labels)


def head_reward_source(
    dataset: Dataset, path: str | Path, *, precision: str | None = None, **embed: Any
) -> RewardSource:
    """The rewards of a saved head on every frame of ``dataset`` (embedded with the head's model).

    :raises EvalkitError: the head file is missing or corrupt, or its model or embedding
        preprocessing differs from the ones that embed this dataset.
    """
    head = load_head(path)
    meta = head.meta
    if not meta.get("model"):
        raise EvalkitError(f"The head {path} does not name the model it was fitted on.")
    check_same_family(head, dataset.family, path, dataset.name)
    from evalkit.vlm import ModelSpec  # open_clip: only when a model is used

    spec = ModelSpec(str(meta["model"]), meta.get("pretrained"))
    fitted_precision = str(meta.get("embedding", {}).get("precision", "fp32"))
    x, fit_meta = _embeddings(dataset, spec, precision or fitted_precision, **embed)
    check_head_fits(head, fit_meta["model_identity"], fit_meta["embedding"])
    if meta.get("model_key") not in (None, fit_meta["model_key"]):
        raise EvalkitError(
            f"The head {path} was fitted on another build of {meta.get('model_identity')} (its config or "
            "weights differ); fit it again with evalkit align."
        )
    return RewardSource(
        reward=HeadReward(str(path)),
        values=head.reward(x)[:, None],
        alphas=(None,),
        model=str(meta["model"]),
        pretrained=str(meta.get("pretrained") or ""),
        model_identity=str(meta.get("model_identity", "")),
        random_weights=bool(meta.get("random_weights", False)),
        identity=head_file_identity(path),
    )


def check_same_family(
    head: LogisticHead, family: str, path: str | Path, dataset: str | None = None
) -> None:
    """Refuse a head used on states of another environment family than the one it was fitted on
    (every command that uses a head goes through here: ``epic``, ``landscape``, ``train``...).

    :param family: the family of the states it would score; :param dataset: their dataset, if any.
    """
    task = head.meta.get("task")
    own = get_task(str(task)).family if task else None
    if own is not None and own != family:
        target = f"dataset {dataset!r} of {family} states" if dataset else f"{family} states"
        raise EvalkitError(
            f"The head {path} was fitted on {own} states (task {task!r} on dataset "
            f"{head.meta.get('dataset')!r}), so it cannot score {target}; fit a head on that family "
            "with evalkit align."
        )


class HeadRewardModel:
    """A reward head's reward of frames in memory (training): the frames are embedded by the
    head's model, as in :class:`evalkit.rewards.RewardModel`, then scored by the head (the
    probability of a goal state)."""

    def __init__(self, path: str | Path, settings: "FrameRewardSettings") -> None:
        from evalkit.vlm import ImageEmbedder, ModelSpec  # torch: loaded only when a model is used

        self.head = load_head(path)
        model = self.head.meta.get("model")
        if not model:
            raise EvalkitError(f"The head {path} does not name the model it was fitted on.")
        self.embedder = ImageEmbedder(
            ModelSpec(str(model), self.head.meta.get("pretrained")),
            device=settings.device,
            precision=settings.precision,
            batch_size=settings.batch_size,
            on_message=settings.on_message,
        )
        check_head_fits(
            self.head,
            self.embedder.resolved.label,
            {"precision": settings.precision, "dim": self.embedder.embed_dim},
        )

    @property
    def random_weights(self) -> bool:
        return self.embedder.random_weights

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """One reward per frame, float32 ``(n,)``."""
        return self.head.reward(self.embedder.embed_frames(frames)).astype(np.float32)


@dataclass(frozen=True)
class TransferResult:
    """A head fitted on one dataset and scored on another of the same family.

    :ivar fitted_on: the dataset it was fitted on.
    :ivar own_heldout: its nested held-out EPIC there (distance, interval), as saved in the head
        file (``None``: the file has none).
    :ivar dataset: the other dataset.
    :ivar other: its EPIC on that dataset's labels (every labelled frame is held out: the head
        was fitted on none of them).
    """

    fitted_on: str
    own_heldout: tuple[float, tuple[float, float] | None] | None
    dataset: str
    other: GoalEpicResult

    def sentence(self) -> str:
        """``fitted on A: 0.210 held-out; on B: EPIC distance 0.350 ...``."""
        own = "no held-out score saved"
        if self.own_heldout is not None:
            distance, interval = self.own_heldout
            ci = "" if interval is None else f" [{interval[0]:.3f}, {interval[1]:.3f}]"
            own = f"{distance:.3f}{ci} held-out"
        return f"fitted on {self.fitted_on}: {own}; on {self.dataset}: {self.other}"


def transfer(
    path: str | Path,
    dataset: Dataset,
    task: str,
    *,
    labels: str = RULE_LABELS,
    n_bootstrap: int = 1000,
    seed: int = 0,
    **embed: Any,
) -> TransferResult:
    """The saved head at ``path`` scored on the ``labels`` of another dataset of its family,
    beside its held-out score on its own dataset.

    :param embed: passed to the embedding engine (``devices``, ``batch_size``, ``progress``).
    :raises EvalkitError: the dataset holds another family's states, or the head another model's.
    """
    head = load_head(path)
    source = head_reward_source(dataset, path, **embed)
    goal = dataset_labels(dataset, task, labels)
    ids = goal.frame_ids
    other = epic_goal(
        source.values[ids, 0],
        goal.labels[ids],
        episodes=dataset.episodes[ids],
        bootstrap=BootstrapOptions(n_bootstrap, seed=seed),
    )
    saved = head.meta.get("heldout_epic")
    own = None
    if isinstance(saved, dict) and "distance" in saved:
        interval = saved.get("interval")
        own = (float(saved["distance"]), None if interval is None else tuple(interval))
    return TransferResult(str(head.meta.get("dataset", "?")), own, dataset.name, other)
