"""Honest selection among candidate rewards: ``evalkit select``.

A user who tries many prompts, α values, frame prototypes and heads and keeps the one with the
lowest EPIC distance is told an optimistic number: the winner was chosen *because* it scored
well on these very frames. :func:`select_rewards` measures how optimistic, by nested selection
with whole episodes held out:

1. the labelled frames are dealt into ``K`` episode-grouped folds (:func:`evalkit.heads.episode_folds`);
2. in each fold ``f``, every candidate is scored in-sample on the other folds (the *training*
   episodes; candidates that learn from labels — heads, prototypes of the evaluated dataset's
   labels — are fitted on those episodes only), the best one is *picked*, and the pick is scored
   on fold ``f``, which neither its fit nor its choice saw;
3. the nested estimate is the mean of the ``K`` held-out scores of the picks, with a Student-t
   interval over the ``K`` fold scores (the *fold spread*: the folds' frames differ, so this
   is an approximate interval that also carries the variation of which candidate was picked).

The *winner* is the candidate chosen the same way on all labelled frames; its naive in-sample
EPIC (with a bootstrap interval over episodes) is reported beside the nested estimate, and
``optimism = nested − naive`` (distances: lower is better, so a positive optimism is how much
worse the winner really is than it looks). Each candidate's own held-out EPIC (the mean over
folds of its score on the held-out fold) ranks the candidates.

Only cached embeddings are used (:func:`cached_image_embeddings`; text embeddings through
:func:`evalkit.pipeline.rewards.text_embeddings`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from scipy import stats

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.errors import DegenerateError, EvalkitError
from evalkit.fileio import atomic_write_text
from evalkit.heads import episode_folds
from evalkit.metrics.goal import epic_goal_columns
from evalkit.metrics.options import BootstrapOptions
from evalkit.metrics.results import GoalEpicResult
from evalkit.pipeline.heads import (
    check_enough_labels,
    check_task_family,
    dataset_json_path,
    fit_head,
    inner_folds,
)
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.prototypes import FrameSet, frame_set_embeddings
from evalkit.pipeline.reward_kinds import FramePrototypeReward, HeadReward
from evalkit.pipeline.rewards import text_embeddings
from evalkit.rewards import clip_rewards, combine_prompts
from evalkit.tasks import get_task

if TYPE_CHECKING:
    from evalkit.vlm import ModelSpec
    from evalkit.vlm.windows import WindowSpec

SELECTIONS_DIR = "selections"
INTERVAL_METHOD = "Student-t over the fold scores"

Fitter = Callable[[np.ndarray, int, int], np.ndarray]
"""``fit(fit_on, folds, seed) -> (m, k)`` rewards of every labelled frame from a candidate
fitted on the frames ``fit_on`` marks (λ chosen by ``folds``-fold cross-validation with ``seed``)."""


@dataclass(frozen=True)
class CandidateGroup:
    """Candidate rewards of the labelled frames, one column per candidate.

    :ivar kind: ``prompt``, ``prototype`` or ``head``.
    :ivar names: one per column.
    :ivar fixed: ``(m, k)`` rewards that no label shaped (prompts, prototypes of given frames).
    :ivar fit: for candidates that learn from labels: rewards from a fit on some frames only.
    """

    kind: str
    names: tuple[str, ...]
    fixed: np.ndarray | None = field(default=None, repr=False)
    fit: Fitter | None = field(default=None, repr=False)

    def rewards(self, fit_on: np.ndarray, folds: int, seed: int) -> np.ndarray:
        """``(m, len(names))`` rewards, learnt from the frames ``fit_on`` marks only."""
        if self.fixed is not None:
            return self.fixed
        assert self.fit is not None
        return self.fit(fit_on, folds, seed)


@dataclass(frozen=True)
class FoldEstimate:
    """The mean of per-fold scores with a Student-t interval over them."""

    mean: float
    low: float
    high: float
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"mean": _num(self.mean), "interval": [_num(self.low), _num(self.high)]}


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> FoldEstimate:
    """``mean ± t_{k−1} · sd / √k`` of ``k`` scores, clipped to the distance's range [0, 1]."""
    v = np.asarray(values, dtype=float)
    mean = float(v.mean()) if len(v) else math.nan
    if len(v) < 2 or not np.all(np.isfinite(v)):
        return FoldEstimate(mean, math.nan, math.nan, tuple(v.tolist()))
    half = float(stats.t.ppf((1 + confidence) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return FoldEstimate(mean, max(0.0, mean - half), min(1.0, mean + half), tuple(v.tolist()))


@dataclass(frozen=True)
class SelectionResult:
    """What :func:`select_rewards` found (see the module docstring).

    :ivar names: every candidate; :ivar kinds: its kind.
    :ivar in_sample: each candidate's naive EPIC on all labelled frames (bootstrap interval).
    :ivar fold_in_sample: ``(K, C)`` in-sample distances on each fold's training episodes.
    :ivar fold_heldout: ``(K, C)`` distances on each fold's held-out episodes.
    :ivar picks: the candidate picked in each fold.
    :ivar winner: the candidate picked on all labelled frames.
    :ivar nested: the held-out scores of the picks, with their fold-spread interval.
    :ivar heldout: each candidate's held-out EPIC over the folds.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    in_sample: tuple[GoalEpicResult | None, ...]
    fold_in_sample: np.ndarray = field(repr=False)
    fold_heldout: np.ndarray = field(repr=False)
    picks: tuple[int, ...]
    winner: int
    nested: FoldEstimate
    heldout: tuple[FoldEstimate, ...]
    folds: int
    seed: int
    confidence: float

    @property
    def naive(self) -> float:
        """The winner's in-sample EPIC distance on all labelled frames."""
        r = self.in_sample[self.winner]
        return math.nan if r is None else r.distance

    @property
    def optimism(self) -> float:
        """``nested − naive``: how much worse the winner scores on episodes it was not chosen on."""
        return self.nested.mean - self.naive

    def ranking(self) -> list[int]:
        """Candidates by held-out EPIC (best first; ties and undefined scores by in-sample)."""

        def key(i: int) -> tuple[float, float]:
            r = self.in_sample[i]
            return (_inf(self.heldout[i].mean), _inf(math.nan if r is None else r.distance))

        return sorted(range(len(self.names)), key=key)

    def sentence(self) -> str:
        """The summary a user who tried many candidates needs."""
        n = len(self.names)
        return (
            f"you tried {n} candidate{'s' if n != 1 else ''}; the best in-sample "
            f"({self.names[self.winner]}) looks {self.naive:.3f} but scores {self.nested.mean:.3f} "
            f"[{self.nested.low:.3f}, {self.nested.high:.3f}] on episodes it was not chosen on "
            f"(nested {self.folds}-fold selection; optimism {self.optimism:+.3f})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: the winner, the nested estimate and the ranking table."""
        winner = self.in_sample[self.winner]
        return {
            "candidates": len(self.names),
            "winner": self.names[self.winner],
            "winner_kind": self.kinds[self.winner],
            "naive_in_sample": None if winner is None else winner.to_dict(),
            "nested_heldout": {
                **self.nested.to_dict(),
                "folds": list(map(_num, self.nested.values)),
                "picks": [self.names[i] for i in self.picks],
                "interval_method": f"{self.confidence:.0%} {INTERVAL_METHOD} ({self.folds} folds)",
            },
            "optimism": _num(self.optimism),
            "folds": self.folds,
            "seed": self.seed,
            "ranking": [
                {
                    "rank": rank,
                    "candidate": self.names[i],
                    "kind": self.kinds[i],
                    "in_sample": None
                    if self.in_sample[i] is None
                    else {
                        "distance": _num(self.in_sample[i].distance),  # type: ignore[union-attr]
                        "interval": self.in_sample[i].to_dict()["interval"],  # type: ignore[union-attr]
                    },
                    "heldout": self.heldout[i].to_dict(),
                    "picked_in_folds": int(sum(p == i for p in self.picks)),
                }
                for rank, i in enumerate(self.ranking(), 1)
            ],
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _inf(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def distances(rewards: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """EPIC distance of every column of ``rewards`` to ``labels`` (NaN where undefined, e.g. a
    reward constant on these frames)."""
    return np.array([r.distance if r else math.nan for r in epic_columns(rewards, labels)])


def epic_columns(
    rewards: np.ndarray,
    labels: np.ndarray,
    episodes: np.ndarray | None = None,
    n_bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[GoalEpicResult | None]:
    """:func:`evalkit.metrics.goal.epic_goal_columns` of every column, ``None`` for a column whose
    distance is undefined (all columns at once, one by one only when one is degenerate)."""
    kwargs = dict(
        episodes=episodes,
        bootstrap=BootstrapOptions(n_bootstrap, seed=seed, confidence=confidence),
    )
    try:
        return list(epic_goal_columns(rewards, labels, **kwargs))
    except DegenerateError:
        out: list[GoalEpicResult | None] = []
        for j in range(rewards.shape[1]):
            try:
                out.append(epic_goal_columns(rewards[:, j], labels, **kwargs)[0])
            except DegenerateError:
                out.append(None)
        return out


def _pick(scores: np.ndarray) -> int:
    """The lowest distance (the first on ties; undefined distances never win)."""
    if not np.any(np.isfinite(scores)):
        raise EvalkitError("No candidate has a defined EPIC distance on these frames.")
    return int(np.argmin(np.where(np.isfinite(scores), scores, np.inf)))


def _check_folds(y: np.ndarray, folds_of: np.ndarray, folds: int) -> None:
    for f in range(folds):
        test = folds_of == f
        for count, what in ((int(y[test].sum()), "goal"), (int((~y[test]).sum()), "non-goal")):
            if count < 2:
                raise EvalkitError(
                    f"The held-out episodes of fold {f + 1} of {folds} hold {count} labelled {what} "
                    f"frame{'s' if count != 1 else ''}; a held-out EPIC distance needs at least 2: "
                    "use fewer --folds or label more episodes."
                )


def select_rewards(
    groups: Sequence[CandidateGroup],
    labels: np.ndarray,
    episodes: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    on_fold: Callable[[int, int], None] | None = None,
) -> SelectionResult:
    """Nested, episode-grouped selection among the candidates of ``groups`` (module docstring).

    :param labels: ``(m,)`` goal labels of the labelled frames; :param episodes: their episodes.
    :param on_fold: called with ``(fold, folds)`` before each outer fold (progress).
    :raises EvalkitError: fewer episodes than folds, or a held-out fold without 2 frames of a class.
    """
    y = np.asarray(labels, dtype=bool)
    ep = np.asarray(episodes)
    folds_of = episode_folds(ep, y, folds, seed)
    _check_folds(y, folds_of, folds)
    names = tuple(n for g in groups for n in g.names)
    kinds = tuple(g.kind for g in groups for _ in g.names)
    fold_in = np.full((folds, len(names)), math.nan)
    fold_out = np.full((folds, len(names)), math.nan)
    picks = []
    for f in range(folds):
        if on_fold is not None:
            on_fold(f, folds)
        train = folds_of != f
        r = np.hstack([g.rewards(train, inner_folds(folds), seed + 1 + f) for g in groups])
        fold_in[f] = distances(r[train], y[train])
        fold_out[f] = distances(r[~train], y[~train])
        picks.append(_pick(fold_in[f]))
    everything = np.ones(len(y), dtype=bool)
    r_all = np.hstack([g.rewards(everything, folds, seed) for g in groups])
    in_sample = epic_columns(r_all, y, ep, n_bootstrap, seed, confidence)
    winner = _pick(np.array([r.distance if r else math.nan for r in in_sample]))
    nested = mean_interval([fold_out[f, p] for f, p in enumerate(picks)], confidence)
    heldout = tuple(mean_interval(fold_out[:, j], confidence) for j in range(len(names)))
    return SelectionResult(
        names=names,
        kinds=kinds,
        in_sample=tuple(in_sample),
        fold_in_sample=fold_in,
        fold_heldout=fold_out,
        picks=tuple(picks),
        winner=winner,
        nested=nested,
        heldout=heldout,
        folds=folds,
        seed=seed,
        confidence=confidence,
    )


# -- candidates of a dataset -----------------------------------------------------------------


def read_prompts(path: str | Path) -> list[str]:
    """One prompt per line of a text file (a final newline is fine).

    :raises EvalkitError: the file is missing or unreadable, has a blank line, repeats a line,
        or holds no prompt.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalkitError(f"The prompts file {p} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalkitError(f"Cannot read the prompts file {p} ({exc}).") from None
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            raise EvalkitError(
                f"Line {number} of the prompts file {p} is blank; write one prompt per line, without blank lines."
            )
        if text in seen:
            raise EvalkitError(
                f"Line {number} of the prompts file {p} repeats line {seen[text]} ({text!r}); give each prompt once."
            )
        seen[text] = number
    if not seen:
        raise EvalkitError(f"The prompts file {p} holds no prompt; write one prompt per line.")
    return list(seen)


def cached_image_embeddings(
    dataset: Dataset, resolved: Any, precision: str = "fp32", pretrained: str | None = None
) -> np.ndarray:
    """The dataset's cached image embeddings of the model (never embeds).

    :raises EvalkitError: none are cached, with the command that embeds them.
    """
    from evalkit.vlm.cache import EmbeddingCache  # torch: only when a model is used

    values = EmbeddingCache(dataset, resolved, precision).load()
    if values is None:
        weights = f" --pretrained {pretrained}" if pretrained else ""
        raise EvalkitError(
            f"Dataset {dataset.name!r} has no cached {precision} embeddings of {resolved.label}; embed it first "
            f"with: evalkit embed {dataset.name} --model {resolved.spec.model}{weights}"
            f"{'' if precision == 'fp32' else ' --precision ' + precision}."
        )
    return values


@dataclass(frozen=True)
class DatasetSelection:
    """A selection on a dataset, with what it was run on."""

    result: SelectionResult
    dataset: str
    task: str
    label_set: str
    labels_hash: str
    model_identity: str
    random_weights: bool
    prompts: tuple[str, ...]
    alphas: tuple[float, ...]
    goal_frames: tuple[str, ...]
    heads: bool
    windows: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The saved and ``--json`` form."""
        return {
            "format": "evalkit-selection/1",
            "dataset": self.dataset,
            "task": self.task,
            "label_set": self.label_set,
            "labels_hash": self.labels_hash,
            "model_identity": self.model_identity,
            "random_weights": self.random_weights,
            "prompts": list(self.prompts),
            "alphas": list(self.alphas),
            "goal_frames": list(self.goal_frames),
            "heads": self.heads,
            "windows": list(self.windows),
            "summary": self.result.sentence(),
            **self.result.to_dict(),
        }


def _alpha_names(what: str, alphas: Sequence[float]) -> tuple[str, ...]:
    return tuple(f"{what} α={a:g}" for a in alphas)


def _is_own_labels(frame_set: FrameSet, dataset: Dataset) -> bool:
    return frame_set.label_set is not None and frame_set.dataset in (None, dataset.name)


def _prototype_group(
    frame_set: FrameSet,
    dataset: Dataset,
    task: str,
    ids: np.ndarray,
    images: np.ndarray,
    baseline: np.ndarray,
    alphas: Sequence[float],
    model: "ModelSpec | str",
    precision: str,
    devices: str | None,
) -> CandidateGroup:
    """A prototype goal: fixed frames, or — for the evaluated dataset's own labels — the goal
    frames of the fitting episodes only (so held-out labels never shape it)."""
    names = _alpha_names(f"prototype {frame_set.text}", alphas)
    x = images[ids]
    if not _is_own_labels(frame_set, dataset):
        embed = {"devices": devices} if devices else {}
        goal = combine_prompts(
            frame_set_embeddings(frame_set, dataset, task, model, precision, **embed)
        )
        return CandidateGroup(
            FramePrototypeReward.name, names, fixed=clip_rewards(x, goal, baseline, alphas)
        )
    assert frame_set.label_set is not None
    own = dataset_labels(dataset, task, frame_set.label_set)
    goal_ids = own.frame_ids[own.labels[own.frame_ids]]
    goal_episodes = dataset.episodes[goal_ids]
    scored_episodes = dataset.episodes[ids]

    def fit(fit_on: np.ndarray, folds: int, seed: int) -> np.ndarray:
        held_out = np.setdiff1d(scored_episodes[~fit_on], scored_episodes[fit_on])
        members = goal_ids[~np.isin(goal_episodes, held_out)]
        if len(members) == 0:
            raise EvalkitError(
                f"The fitting episodes of a fold hold no goal frame of {frame_set.text}; use fewer --folds."
            )
        goal = combine_prompts(np.asarray(images[members], dtype=np.float64))
        return clip_rewards(x, goal, baseline, alphas)

    return CandidateGroup(FramePrototypeReward.name, names, fit=fit)


def _head_group(x: np.ndarray, y: np.ndarray, episodes: np.ndarray) -> CandidateGroup:
    x64 = np.asarray(x, dtype=np.float64)

    def fit(fit_on: np.ndarray, folds: int, seed: int) -> np.ndarray:
        head = fit_head(x64[fit_on], y[fit_on], episodes[fit_on], folds, seed)
        return head.reward(x64)[:, None]

    return CandidateGroup(HeadReward.name, ("head (logistic, λ by cross-validation)",), fit=fit)


def select(
    dataset: Dataset,
    task: str,
    model: "ModelSpec | str",
    prompts: Sequence[str] = (),
    alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    *,
    goal_frames: Sequence[str] = (),
    baseline_frames: str | None = None,
    heads: bool = False,
    labels: str = RULE_LABELS,
    folds: int = 5,
    seed: int = 0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    precision: str = "fp32",
    devices: str | None = None,
    on_fold: Callable[[int, int], None] | None = None,
    windows: Sequence["WindowSpec"] = (),
    goal_video: str | None = None,
) -> DatasetSelection:
    """Honest selection among every prompt (as the goal, with the task's baseline prompt) × α,
    every goal frame set × α, a reward head if ``heads``, and every window × goal prompt × α
    (:func:`window_groups`; with ``goal_video``, its demonstration is one more goal of every
    window), on ``dataset``'s labelled frames.

    Uses the cached image embeddings of ``model`` only; prompt embeddings are cached beside them.
    Windows are embedded (once, into their cache) when they are not cached yet.

    :raises EvalkitError: no candidate, no cached embeddings, a task of another family, too few
        labelled frames or episodes for the folds.
    """
    # open_clip: loaded only when a model is used
    from evalkit.vlm import resolve

    check_task_family(task, dataset)
    if goal_video is not None and not windows:
        raise EvalkitError(
            "--goal-video is the goal of window candidates; give the windows with --windows."
        )
    if not prompts and not goal_frames and not heads and not windows:
        raise EvalkitError(
            "There is nothing to select from: give prompts (--prompts FILE), --goal-frames, "
            "--heads or --windows."
        )
    frame_sets = [FrameSet.parse(g) for g in goal_frames]
    resolved = resolve(model)
    goal = dataset_labels(dataset, task, labels)
    ids = goal.frame_ids
    y, episodes = goal.labels[ids], dataset.episodes[ids]
    a = tuple(float(v) for v in alphas)
    if resolved.embeds_windows:  # a video model: its windows are the only candidates
        if goal_frames or heads or baseline_frames:
            raise EvalkitError(
                f"{resolved.label} embeds windows, not single frames: --goal-frames, "
                "--baseline-frames and --heads need an image model (its windows: avg:MODEL)."
            )
        if not windows:
            raise EvalkitError(
                f"{resolved.label} embeds windows, not single frames: give the windows to try "
                "with --windows (e.g. --windows 4:1,8:2)."
            )
        groups = []
    else:
        if heads:
            check_enough_labels(goal.counts(), folds)
        groups = _frame_groups(
            dataset, task, resolved, model, prompts, a, frame_sets, baseline_frames, heads,
            ids, y, episodes, precision, devices,
        )  # fmt: skip
    groups += window_groups(
        dataset, task, resolved, prompts, a, windows, ids, precision, devices, goal_video
    )
    result = select_rewards(
        groups,
        y,
        episodes,
        folds=folds,
        seed=seed,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        on_fold=on_fold,
    )
    return _selection(
        dataset, task, resolved, prompts, a, goal_frames, heads, labels, goal.content_hash,
        result, windows,
    )  # fmt: skip


def _frame_groups(
    dataset: Dataset,
    task: str,
    resolved: Any,
    model: "ModelSpec | str",
    prompts: Sequence[str],
    a: tuple[float, ...],
    frame_sets: Sequence[FrameSet],
    baseline_frames: str | None,
    heads: bool,
    ids: np.ndarray,
    y: np.ndarray,
    episodes: np.ndarray,
    precision: str,
    devices: str | None,
) -> list[CandidateGroup]:
    """The single-frame candidates: prompts, prototypes and a head (none asked for: none)."""
    if not prompts and not frame_sets and not heads:
        return []
    images = cached_image_embeddings(dataset, resolved, precision, resolved.spec.pretrained)
    t = get_task(task)
    text = text_embeddings(
        dataset, resolved, [t.baseline_prompt, *prompts], precision, devices or "auto"
    )
    base_set = None if baseline_frames is None else FrameSet.parse(baseline_frames)
    if base_set is not None and base_set.label_set is not None and base_set.dataset is None:
        raise EvalkitError(
            f"--baseline-frames {baseline_frames} takes the baseline from the labels the "
            "candidates are scored against, in every fold (held-out episodes included); use "
            "frame ids, another dataset (DATASET@labels:…) or a folder."
        )
    baseline = (
        text[0]
        if base_set is None
        else combine_prompts(
            frame_set_embeddings(
                base_set,
                dataset,
                task,
                model,
                precision,
                **({"devices": devices} if devices else {}),
            )
        )
    )
    x = np.asarray(images[ids])
    groups = [
        CandidateGroup(
            "prompt", _alpha_names(f"prompt {p!r}", a), fixed=clip_rewards(x, g, baseline, a)
        )
        for p, g in zip(prompts, text[1:])
    ]
    groups += [
        _prototype_group(s, dataset, task, ids, images, baseline, a, model, precision, devices)
        for s in frame_sets
    ]
    if heads:
        groups.append(_head_group(x, y, episodes))
    return groups


def _selection(
    dataset: Dataset,
    task: str,
    resolved: Any,
    prompts: Sequence[str],
    a: tuple[float, ...],
    goal_frames: Sequence[str],
    heads: bool,
    labels: str,
    labels_hash: str,
    result: SelectionResult,
    windows: Sequence["WindowSpec"],
) -> DatasetSelection:
    return DatasetSelection(
        result=result,
        dataset=dataset.name,
        task=task,
        label_set=labels,
        labels_hash=labels_hash,
        model_identity=resolved.label,
        random_weights=bool(resolved.random_weights),
        prompts=tuple(prompts),
        alphas=a,
        goal_frames=tuple(goal_frames),
        heads=heads,
        windows=tuple(f"{w.frames}:{w.stride}" for w in windows),
    )


def window_model(resolved: Any) -> str:
    """The video model whose windows ``--windows`` tries: the model itself when it embeds
    windows, else the average of its frames (``avg:MODEL[:PRETRAINED]``)."""
    return str(resolved.spec) if resolved.embeds_windows else f"avg:{resolved.spec}"


def window_groups(
    dataset: Dataset,
    task: str,
    resolved: Any,
    prompts: Sequence[str],
    alphas: tuple[float, ...],
    windows: Sequence["WindowSpec"],
    ids: np.ndarray,
    precision: str,
    devices: str | None,
    goal_video: str | None = None,
) -> list[CandidateGroup]:
    """Every window (``k`` frames, stride ``s``) × goal prompt (``prompts``, or the task's
    goal prompt without any) × α, by :func:`window_model`, with the task's baseline prompt:
    the window reward (:class:`~evalkit.pipeline.window_reward.WindowReward`) of the labelled
    frames ``ids``; with ``goal_video``, the demonstration as one more goal of every window."""
    from evalkit.pipeline.demonstration import Demonstration
    from evalkit.pipeline.window_reward import WindowReward, demo_embedding, window_prompt_rewards

    t = get_task(task)
    goals = list(prompts) or [t.goal_prompt]
    demo = None if goal_video is None else Demonstration.parse(goal_video)
    embed: dict[str, Any] = {"precision": precision, "progress": False}
    if devices:
        embed["devices"] = devices
    model = window_model(resolved)
    groups = []
    for w in windows:
        values, _, _ = window_prompt_rewards(
            dataset, model, w, goals, t.baseline_prompt, alphas, **embed
        )
        names = [f" prompt {goal!r}" if prompts else "" for goal in goals]
        if demo is not None:
            goal = demo_embedding(demo, model, w.frames, dataset, embed)
            shown, _, _ = window_prompt_rewards(
                dataset, model, w, goals[:1], t.baseline_prompt, alphas, goal=goal, **embed
            )
            values = np.concatenate([values, shown], axis=1)
            names.append(f" demonstration {demo.text}")
        for j, name in enumerate(names):
            what = f"window {w.frames}:{w.stride}{name}"
            groups.append(
                CandidateGroup(WindowReward.name, _alpha_names(what, alphas), fixed=values[ids, j])
            )
    return groups


def selection_path(dataset: Dataset, task: str, model_label: str, labels: str) -> Path:
    """``<dataset>/selections/<task>-<model>-<labels>.json``."""
    return dataset_json_path(dataset, SELECTIONS_DIR, task, model_label, labels)


def save_selection(selection: DatasetSelection, path: str | Path) -> Path:
    """Write the selection as JSON, atomically (nothing half-written on Ctrl-C)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(json.dumps(selection.to_dict(), indent=2, ensure_ascii=False) + "\n", target)
    return target
