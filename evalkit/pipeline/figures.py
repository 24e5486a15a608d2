"""The tables behind the figures, computed through evalkit's library — never a second implementation.

* Rewards come from the reward engine through :func:`evalkit.pipeline.clip_reward_source` (the
  same call ``evalkit epic`` makes: the dataset's cached embeddings, the task's prompts, Definition
  1 of the paper for every α), so a landscape and an EPIC row of the same model agree exactly.
* EPIC distances are read from the dataset's saved results table
  (:func:`evalkit.pipeline.load_epic_results`); rows that are missing are computed with
  :func:`evalkit.pipeline.evaluate_rewards` (and saved with ``save=True``), exactly as
  ``evalkit epic`` would.
* Parameter counts come from :mod:`evalkit.vlm`.

Models are given as :class:`~evalkit.vlm.ModelSpec` (or ``"ARCH"`` / ``"ARCH:TAG"`` strings).

Every function returns a small dataclass whose ``table`` is what the matching ``plot_*`` function
of :mod:`evalkit.plots` takes, plus what the figure needs to say (labels, the goal, whether the
weights were random).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from evalkit.envs.family import BOX
from evalkit.errors import EvalkitError
from evalkit.metrics.pairwise import epic_pairwise
from evalkit.metrics.registry import get_result_row
from evalkit.metrics.results import GoalEpicResult
from evalkit.pipeline.evaluate import evaluate_rewards
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.results import EPIC_METRIC, load_epic_results, saved_results
from evalkit.pipeline.reward_kinds import (
    RewardContext,
    RewardKind,
    TextPromptReward,
    model_rewards,
    parse_reward,
    saved_reward,
)
from evalkit.pipeline.sources import RewardSource, clip_reward_source
from evalkit.tasks import get_family, get_task
from evalkit.text import alpha_label, number_list

if TYPE_CHECKING:
    from evalkit.vlm import ModelSpec


def axis_label(family: Any) -> str:
    """The x-axis label of a family's landscape (:attr:`~evalkit.envs.family.Family.axis_label`,
    else the state column's name)."""
    return family.axis_label or family.state_axis or ""


CLIP_SOURCE = TextPromptReward().canonical
"""``reward_source`` of CLIP rewards in the saved EPIC results."""


def model_label(model: str, pretrained: str) -> str:
    """``ViT-B-32 (openai)``: how a model and its weights are named in titles."""
    return f"{model} ({pretrained})" if pretrained else model


def source_name(source: RewardSource) -> str:
    """``head NAME`` (the head file's name) for a head, the function or file for other ``--reward``s."""
    return source.reward.series() or source.source.split(":", 1)[-1]


def source_title(source: RewardSource) -> str:
    """``head NAME (MODEL (WEIGHTS))``: a reward that names its own model, with that model."""
    name = source_name(source)
    if not source.reward.own_model:
        return name
    return f"{name} ({model_label(source.model, source.pretrained)})"


def model_reward(
    task: str,
    model: "ModelSpec | str",
    alphas: Sequence[float],
    goal_frames: str | None = None,
    baseline_frames: str | None = None,
) -> RewardKind:
    """The reward of a model: CLIP with the task's prompts, or with ``goal_frames``."""
    context = RewardContext(
        model, None, tuple(float(a) for a in alphas), goal_frames, baseline_frames, task
    )
    return model_rewards(context)


def other_rewards(
    dataset: Any, task: str, specs: Sequence[str], **embed: Any
) -> list[RewardSource]:
    """The rewards of ``--reward`` specs on every frame of ``dataset``."""
    return [parse_reward(spec).dataset_rewards(dataset, task, **embed) for spec in specs]


@dataclass(frozen=True)
class LandscapeData:
    """Rewards of a state sweep for a landscape (:func:`evalkit.plots.plot_landscape`).

    :ivar table: ``state_value, alpha, reward``, one row per frame and α.
    :ivar state_label: x-axis label.
    :ivar goal_value: the family's goal on the state axis (vertical line).
    :ivar goal_region: ``(low, high)`` of the state values of goal frames (rule labels), if they
        form one interval.
    :ivar model: the CLIP model of the α lines (``""``: none, only other rewards are drawn).
    :ivar heads: the other rewards drawn (``--reward``), each a line of its own without α, named
        with their model (:func:`source_title`); the table's ``series`` names every row's line.
    """

    table: pd.DataFrame
    dataset: str
    task: str
    model: str
    pretrained: str
    random_weights: bool
    state_label: str
    goal_value: float | None
    goal_region: tuple[float, float] | None
    heads: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """``ViT-B-32 (openai), cartpole-sweep`` (the task first when it is not the family's own)."""
        drawn = [model_label(self.model, self.pretrained)] if self.model else []
        text = f"{', '.join(drawn + self.heads)}, {self.dataset}"
        return text if self.dataset.startswith(self.task) else f"{self.task}: {text}"


@dataclass(frozen=True)
class HistogramData:
    """Rewards and goal labels of a dataset for reward histograms (:func:`evalkit.plots.plot_histograms`).

    :ivar table: ``model, reward, label`` (``model`` is the display name of model and weights,
        or of the frame-prototype goal or reward head).
    :ivar random_weights: whether any model had random weights.
    :ivar epic: the EPIC distance of each panel that is not a saved CLIP reward (frame
        prototypes, heads), as ``evalkit epic`` computes it.
    :ivar reward_labels: each panel's reward axis label, as its reward kind names it.
    """

    table: pd.DataFrame
    dataset: str
    task: str
    label_set: str
    alpha: float
    random_weights: bool
    models: list[str] = field(default_factory=list)
    epic: dict[str, GoalEpicResult] = field(default_factory=dict)
    reward_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScalingData:
    """EPIC distances per model and α for the scaling figures.

    :ivar table: ``model, base_model, pretrained, params, alpha, distance, low, high,
        random_weights`` (see :func:`scaling_table_from_results`; ``params`` is NaN when unknown).
    :ivar computed: models whose results were not saved yet and were computed now.
    """

    table: pd.DataFrame
    dataset: str
    task: str
    label_set: str
    random_weights: bool
    computed: list[str] = field(default_factory=list)
    metric: str = "epic"


def _model_name(model: "ModelSpec | str") -> str:
    """The architecture name of a model given as a spec or a string (as titles show it)."""
    return model if isinstance(model, str) else model.model


def goal_interval(values: np.ndarray, labels: np.ndarray) -> tuple[float, float] | None:
    """``(min, max)`` of the goal frames' state values if no non-goal frame lies between them."""
    values = np.asarray(values, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    if not labels.any():
        return None
    lo, hi = values[labels].min(), values[labels].max()
    inside = (values >= lo) & (values <= hi)
    return (float(lo), float(hi)) if labels[inside].all() else None


def refuse_temporal(rewards: Sequence[str]) -> None:
    """Refuse, in one sentence, a reward that reads the frames before each step on a sweep.

    :raises EvalkitError: one of ``rewards`` is a window or an episode reward.
    """
    temporal = [spec for spec in rewards if parse_reward(spec).temporal]
    if temporal:
        raise EvalkitError(
            f"The reward {temporal[0]} reads the frames before each step, and a sweep's "
            "states have no order in time; draw it over a rollout's steps with --dataset "
            "ROLLOUT --episode N."
        )


def _episode_rows(dataset: Any, episode: int | None, rewards: Sequence[str]) -> np.ndarray | None:
    """The rows of ``episode`` in step order (``None``: no episode asked for, a sweep).

    :raises EvalkitError: a reward that reads earlier frames on a sweep, or no such episode.
    """
    if episode is None:
        refuse_temporal(rewards)
        return None
    mine = np.flatnonzero(dataset.episodes == episode)
    if len(mine) == 0:
        raise EvalkitError(
            f"Dataset {dataset.name!r} has no episode {episode} (it has "
            f"{len(np.unique(dataset.episodes))}, from {int(np.min(dataset.episodes))})."
        )
    return mine[np.argsort(dataset.states["step"].to_numpy()[mine], kind="stable")]


def landscape_data(
    dataset: Any,
    task: str,
    model: "ModelSpec | str | None",
    alphas: Sequence[float],
    *,
    devices: str | None = None,
    batch_size: int | None = None,
    goal_frames: str | None = None,
    baseline_frames: str | None = None,
    rewards: Sequence[str] = (),
    episode: int | None = None,
) -> LandscapeData:
    """CLIP rewards of every frame of a sweep dataset, against the family's state axis; or, with
    ``episode``, of one episode of a rollout dataset against its steps (a reward over time, the
    only landscape of a reward that reads the frames before each step: a window, an episode).

    Embeds the dataset first if the model's embeddings are not cached. With ``goal_frames`` (and
    ``baseline_frames``) the goal is a prototype of example frames instead of the task's sentence
    (:mod:`evalkit.pipeline.prototypes`).

    :param model: the CLIP model of the α lines; ``None`` draws only ``rewards``.
    :param rewards: ``--reward`` specs (``head:PATH``: each head scores the frames with its own
        model), each one line without α.
    :param episode: draw this episode's rewards against its steps.
    :raises EvalkitError: the dataset's family has no state axis (the humanoid), or nothing to
        draw, or a reward that reads earlier frames without ``episode``, or no such episode.
    """
    t = get_task(task)
    fam = get_family(dataset.family)
    if t.family != dataset.family:
        raise EvalkitError(
            f"Task {task!r} runs on {t.family}, but dataset {dataset.name!r} holds {dataset.family} states."
        )
    rows = _episode_rows(dataset, episode, rewards)
    if rows is None and (fam.state_axis is None or fam.state_axis not in dataset.states.columns):
        raise EvalkitError(
            f"Dataset {dataset.name!r} ({dataset.family}) has no single state axis to plot a reward landscape "
            "against; landscapes exist for sweeps of families with one (cartpole, mountaincar)."
        )
    if model is None and not rewards:
        raise EvalkitError(
            "Say which rewards to draw: a CLIP model, a --reward head:PATH, or both."
        )
    if rows is None and dataset.manifest.params.get("spacing") == BOX:
        warnings.warn(
            f"Dataset {dataset.name!r} draws every state variable at random (--spacing box), so "
            f"the reward against {fam.axis_label or fam.state_axis} mixes states that differ in the others; a "
            f"landscape reads best on a sweep (evalkit collect {fam.name}).",
            stacklevel=2,
        )
    embed = {k: v for k, v in (("devices", devices), ("batch_size", batch_size)) if v}
    sources: list[tuple[RewardSource, list[str]]] = []
    if model is not None:
        chosen = model_reward(task, model, alphas, goal_frames, baseline_frames)
        clip = chosen.dataset_rewards(dataset, task, **embed)
        sources.append((clip, [alpha_label(a) for a in clip.alphas]))
    others = other_rewards(dataset, task, rewards, **embed)
    sources += [(s, [source_name(s)]) for s in others]
    keep = slice(None) if rows is None else rows
    column = "step" if rows is not None else str(fam.state_axis)
    x = dataset.states[column].to_numpy(dtype=float)[keep]
    parts = [
        pd.DataFrame(
            {
                "state_value": x,
                "alpha": math.nan if a is None else float(a),
                "reward": np.asarray(source.values, dtype=float)[keep, j],
                "series": name,
            }
        )
        for source, names in sources
        for j, (a, name) in enumerate(zip(source.alphas, names))
    ]
    labels = dataset.labels(task)[keep] if t.rule is not None else None
    region = goal_interval(x, labels) if labels is not None else None
    return LandscapeData(
        table=pd.concat(parts, ignore_index=True),
        dataset=dataset.name,
        task=task,
        model="" if model is None else _model_name(model),
        pretrained=sources[0][0].pretrained if model is not None else "",
        random_weights=any(s.random_weights for s, _ in sources),
        state_label=axis_label(fam) if rows is None else f"step of episode {episode}",
        goal_value=fam.goal_value if rows is None else None,
        goal_region=region,
        heads=[source_title(s) for s in others],
    )


def histogram_data(
    dataset: Any,
    task: str,
    models: "Sequence[ModelSpec | str]",
    *,
    alpha: float = 0.0,
    label_set: str = "rule",
    devices: str | None = None,
    batch_size: int | None = None,
    goal_frames: str | None = None,
    baseline_frames: str | None = None,
    rewards: Sequence[str] = (),
) -> HistogramData:
    """CLIP rewards at one α and goal labels, for each model (and each other reward).

    Only the frames the label set labels are used (human labels rarely cover a whole dataset),
    the same frames ``evalkit epic`` evaluates.

    :param goal_frames: the goal as example frames instead of the task's sentence (with
        ``baseline_frames``, the baseline too; :mod:`evalkit.pipeline.prototypes`).
    :param rewards: ``--reward`` specs drawn beside the models: ``head:PATH`` or a function.
    """
    goal = dataset_labels(dataset, task, label_set)
    frame_ids, labels = goal.frame_ids, goal.labels[goal.mask]
    embed = {k: v for k, v in (("devices", devices), ("batch_size", batch_size)) if v}
    panels: list[tuple[str, RewardSource]] = []
    for model in models:
        chosen = model_reward(task, model, [alpha], goal_frames, baseline_frames)
        source = chosen.dataset_rewards(dataset, task, **embed)
        name = model_label(_model_name(model), source.pretrained)
        panels.append((name if goal_frames is None else f"{name}, goal {goal_frames}", source))
    for source in other_rewards(dataset, task, rewards, **embed):
        panels.append((source_name(source), source))
    parts, epic = [], {}
    for name, source in panels:
        values = np.asarray(source.values, dtype=float)[frame_ids, 0]
        parts.append(
            pd.DataFrame({"model": name, "reward": values, "label": np.asarray(labels, dtype=bool)})
        )
        if (
            not source.reward.text_prompts
        ):  # a text-prompt reward's EPIC is read back from saved results
            epic[name] = evaluate_rewards(dataset, task, source, label_set=label_set).results[0]
    return HistogramData(
        table=pd.concat(parts, ignore_index=True),
        dataset=dataset.name,
        task=task,
        label_set=label_set,
        alpha=float(alpha),
        random_weights=any(s.random_weights for _, s in panels),
        models=[name for name, _ in panels],
        epic=epic,
        reward_labels={name: source.reward.axis_label for name, source in panels},
    )


@dataclass(frozen=True)
class PairwiseData:
    """EPIC distances between reward sources on one dataset's labelled frames.

    :ivar table: ``source_a, source_b, distance`` for every pair (the heat map's input).
    """

    table: pd.DataFrame
    dataset: str
    task: str
    random_weights: bool


def pairwise_data(
    dataset: Any,
    task: str,
    sources: "Sequence[tuple[ModelSpec | str, Sequence[float]]]",
    *,
    label_set: str = "rule",
    devices: str | None = None,
    batch_size: int | None = None,
) -> PairwiseData:
    """The EPIC distance (Pearson distance of the rewards, per frame) between every pair of CLIP
    rewards ``(model, α)`` on the frames the label set labels (those ``evalkit epic`` scores)."""
    goal = dataset_labels(dataset, task, label_set)
    columns, names, random = [], [], False
    for model, alphas in sources:
        source = clip_reward_source(
            dataset, task, model, list(alphas), devices=devices, batch_size=batch_size
        )
        random |= source.random_weights
        columns.append(np.asarray(source.values, dtype=float)[goal.frame_ids])
        names += [f"{_model_name(model)}, {alpha_label(a)}" for a in source.alphas]
    values = np.concatenate(columns, axis=1)
    pairs = epic_pairwise(values, episodes=dataset.episodes[goal.frame_ids], names=names)
    i, j = np.triu_indices(len(names), k=1)
    table = pd.DataFrame(
        {
            "source_a": [names[a] for a in i],
            "source_b": [names[b] for b in j],
            "distance": pairs.distance[i, j],
        }
    )
    return PairwiseData(table=table, dataset=dataset.name, task=task, random_weights=random)


def parameter_count(model: str) -> int | None:
    """Parameters of the whole model (image and text towers), of any backend
    (:func:`evalkit.vlm.models.model_parameters`); ``None`` if unknown.

    The count depends on the architecture only, so it takes the architecture's name, not weights.
    """
    # open_clip: only when counting
    from evalkit.vlm.models import model_parameters

    try:
        n = model_parameters(model)
    except EvalkitError:
        return None
    return int(n) if n else None


def saved_clip_results(
    dataset: Any, task: str, label_set: str = "rule", metric: str = "epic"
) -> pd.DataFrame:
    """The saved EPIC rows of CLIP rewards for ``task`` on ``dataset`` that are current: computed
    on its present content and labels, with the task's present prompts (stale rows are left out,
    so callers recompute them or say which command does)."""
    table = load_epic_results(dataset.path)
    keep = (
        (table["task"] == task)
        & (table["label_set"] == label_set)
        & (table["reward_source"] == CLIP_SOURCE)
        & (table["metric"] == metric)
    )
    return saved_results(dataset, table[keep]).current


def _select(rows: pd.DataFrame, resolved: Any, alphas: Sequence[float]) -> pd.DataFrame:
    """Rows of one model and its weights (by the reward engine's identity of the weights, or by
    name and weights tag), at the wanted α."""
    names = {
        str(resolved.spec.pretrained or ""),
        str(resolved.tag or ""),
        str(resolved.weights_path or ""),
    }
    if resolved.random_weights:
        names.add("none")
    names.discard("")
    same = (rows["model_identity"].astype(str) == resolved.label) | (
        (rows["model"] == resolved.display_name) & rows["pretrained"].astype(str).isin(names)
    )
    rows = rows[same]
    wanted = np.asarray(alphas, dtype=float)
    hit = np.isclose(rows["alpha"].to_numpy(dtype=float)[:, None], wanted[None, :]).any(axis=1)
    return rows[hit].drop_duplicates(subset="alpha", keep="last")


def scaling_data(
    dataset: Any,
    task: str,
    models: "Sequence[ModelSpec | str]",
    alphas: Sequence[float],
    *,
    label_set: str = "rule",
    compute_missing: bool = True,
    n_bootstrap: int = 2000,
    devices: str | None = None,
    batch_size: int | None = None,
    progress: Callable[[str], None] | None = None,
    save: bool = False,
    metric: str = "epic",
    goal_frames: str | None = None,
    baseline_frames: str | None = None,
    rewards: Sequence[str] = (),
) -> ScalingData:
    """EPIC distance (or another metric of the panel) with its interval for every model and α.

    :param metric: a row name of the results table: a result row of a registered metric
        (:func:`evalkit.metrics.result_rows`: ``epic``, ``auc``, …, ``erc_pearson``).
    :param goal_frames: the goal as example frames instead of the task's sentence (with
        ``baseline_frames``, the baseline too): every model's prototype reward is computed from
        its cached embeddings (never read from saved results, which hold CLIP rows only).
    :param rewards: ``head:PATH`` specs: each head is one more row, at its own model (whose
        parameter count places it) with no α, its metric computed on its rewards now.

    Saved results are used when they exist for this dataset's content; missing ones are computed
    with :func:`evalkit.pipeline.evaluate_rewards` when ``compute_missing`` (and saved when
    ``save``), otherwise they are an error that says which ``evalkit epic`` command to run.
    """
    # open_clip and torch: loaded only when a model is used
    from evalkit.vlm import ModelSpec, resolve

    say = progress or (lambda _msg: None)
    saved = saved_clip_results(dataset, task, label_set, metric)
    what = "EPIC" if metric == EPIC_METRIC else metric
    producer = get_result_row(metric)[0].name
    metric_option = "" if producer == EPIC_METRIC else f" --metrics {producer}"
    parts, computed, params = [], [], {}
    for spec in models:
        spec = ModelSpec.coerce(spec)
        model, pretrained = spec.model, spec.pretrained
        resolved = resolve(spec)
        name = resolved.tag or ("none" if resolved.random_weights else str(pretrained or ""))
        rows = _select(saved, resolved, alphas) if goal_frames is None else saved.iloc[:0]
        if len(rows) < len(alphas):
            if not compute_missing and goal_frames is None:
                raise EvalkitError(
                    f"No saved {what} results of {model} ({name}) for task {task!r} on {dataset.name!r} for every α; "
                    f"run 'evalkit epic --task {task} --model {model} --pretrained {name} --dataset {dataset.name} "
                    f"--labels {label_set} --alpha {number_list(alphas)}{metric_option}'."
                )
            if goal_frames is None:
                say(f"{what} of {model} ({name}) on {dataset.name} is not saved yet: computing it")
            embed = {k: v for k, v in (("devices", devices), ("batch_size", batch_size)) if v}
            chosen = model_reward(task, spec, alphas, goal_frames, baseline_frames)
            source = chosen.dataset_rewards(dataset, task, **embed)
            measured = _metric_rows(
                dataset, task, source, label_set, n_bootstrap, save, metric, f"on {dataset.name!r}"
            )
            rows = _select(measured, resolved, alphas)
            computed.append(model)
        for key in set(zip(rows["model"], rows["pretrained"])):
            params[key] = parameter_count(model)
        parts.append(rows)
    for spec in rewards:
        rows = _head_rows(
            dataset, task, spec, label_set, n_bootstrap, save, metric, devices, batch_size
        )
        params[(rows["model"].iloc[0], rows["pretrained"].iloc[0])] = parameter_count(
            rows["model"].iloc[0]
        )
        parts.append(rows)
    table = scaling_table_from_results(pd.concat(parts, ignore_index=True), params)
    return ScalingData(
        table=table,
        dataset=dataset.name,
        task=task,
        label_set=label_set,
        random_weights=bool(table["random_weights"].any()),
        computed=computed,
        metric=metric,
    )


def _head_rows(
    dataset: Any,
    task: str,
    spec: str,
    label_set: str,
    n_bootstrap: int,
    save: bool,
    metric: str,
    devices: str | None,
    batch_size: int | None,
) -> pd.DataFrame:
    """The results row of one ``head:PATH`` reward for the scaling table (computed now)."""
    reward = parse_reward(spec)
    if not reward.own_model:
        raise EvalkitError(
            f"The scaling figures place a reward at its model's size; {spec!r} is not a head nor "
            "another reward with a model of its own (give a head fitted by evalkit align)."
        )
    embed = {k: v for k, v in (("devices", devices), ("batch_size", batch_size)) if v}
    source = reward.dataset_rewards(dataset, task, **embed)
    return _metric_rows(dataset, task, source, label_set, n_bootstrap, save, metric, f"of {spec}")


def _metric_rows(
    dataset: Any,
    task: str,
    source: RewardSource,
    label_set: str,
    n_bootstrap: int,
    save: bool,
    metric: str,
    where: str,
) -> pd.DataFrame:
    """The results rows of ``metric`` of a reward source, computed now (and saved with ``save``).

    :raises EvalkitError: the metric is not defined here (``where`` says for what, in the error).
    """
    run = evaluate_rewards(
        dataset,
        task,
        source,
        label_set=label_set,
        n_bootstrap=n_bootstrap,
        save=save,
        metrics=[get_result_row(metric)[0].name],
    )
    table = run.table()
    rows = table if table.empty else table[table["metric"] == metric]
    if rows.empty:
        reason = "; ".join(r.reason for r in run.skipped()) or "it is not defined here"
        raise EvalkitError(f"The metric {metric} cannot be computed {where}: {reason}")
    return rows


def _saved(reward_source: str, model: str = "") -> RewardKind | None:
    try:
        return saved_reward(str(reward_source), model)
    except EvalkitError:
        return None


def head_label(reward_source: str) -> str:
    """The name of a saved row's own line in scaling figures (``head NAME`` for a head's row),
    ``""`` for rows drawn with their model's α lines."""
    reward = _saved(reward_source)
    return reward.series() if reward is not None else ""


def prototype_frames(reward_source: str) -> tuple[str | None, str | None]:
    """The goal and baseline frame sets of a saved row (``None``: none, or the task's prompt)."""
    reward = _saved(reward_source)
    return reward.frame_sets() if reward is not None else (None, None)


def result_label(reward_source: str, model: str) -> str:
    """How a saved result's reward is named in tables: the model (CLIP), ``head NAME (MODEL)``,
    ``MODEL, prototype goal G[, baseline B]``, else the function or file."""
    reward = _saved(reward_source, model)
    return reward.label(model) if reward is not None else (model or str(reward_source))


def scaling_table_from_results(
    rows: pd.DataFrame, params: dict[tuple[str, str], int | None]
) -> pd.DataFrame:
    """Rows of the saved EPIC results (:data:`evalkit.pipeline.results.COLUMNS`) as the scaling figures' table.

    ``model`` is the display name: the model name, or ``model (pretrained)`` when one model
    appears with several weights; ``base_model`` is always the model name. ``head`` names the
    reward head of a head's row (:func:`head_label`; ``""`` for CLIP and prototype rows, which
    have an α).
    """
    pretrained_per_model = rows.groupby("model")["pretrained"].nunique()
    names = [
        model_label(m, p) if pretrained_per_model[m] > 1 else m
        for m, p in zip(rows["model"], rows["pretrained"])
    ]
    sizes = [params.get((m, p)) for m, p in zip(rows["model"], rows["pretrained"])]
    return pd.DataFrame(
        {
            "model": names,
            "base_model": rows["model"].to_numpy(),
            "pretrained": rows["pretrained"].to_numpy(),
            "params": [float(s) if s else math.nan for s in sizes],
            "alpha": rows["alpha"].to_numpy(dtype=float),
            "distance": rows["estimate"].to_numpy(dtype=float),
            "low": rows["ci_low"].to_numpy(dtype=float),
            "high": rows["ci_high"].to_numpy(dtype=float),
            "random_weights": rows["random_weights"].fillna(False).to_numpy(dtype=bool),
            "head": [head_label(r) for r in rows["reward_source"]],
        }
    )


def distance_text(distance: float, low: float, high: float) -> str:
    """``0.512 [0.498, 0.527]`` (the interval left out when there is none)."""
    if math.isfinite(low) and math.isfinite(high):
        return f"{distance:.3f} [{low:.3f}, {high:.3f}]"
    return f"{distance:.3f}"
