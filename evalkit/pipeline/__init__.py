"""Orchestration: from a dataset and a model to rewards, EPIC results and the tables behind figures.

The layers below do one thing each (:mod:`evalkit.rewards`: Definition 1 over embeddings;
:mod:`evalkit.metrics`: arrays in, results out; :mod:`evalkit.plots`: tables in, figures out);
this package puts them together. Models are given one way everywhere: a
:class:`~evalkit.vlm.ModelSpec` (or a ``"ARCH"`` / ``"ARCH:TAG"`` string), the argument after
the dataset and the task (or the goal prompts). Nothing is written to disk unless asked
(``save=True``); embeddings are cached as the engine always does.

- :mod:`evalkit.pipeline.rewards` — :func:`dataset_rewards`, :func:`task_rewards`: a dataset's
  CLIP rewards (embedded once, cached) as a :class:`RewardTable`.
- :mod:`evalkit.pipeline.sources` — :class:`RewardSource` and its builders
  :func:`clip_reward_source`, :func:`function_reward_source` (``--reward module:fn``),
  :func:`column_reward_source` (``--reward-column``).
- :mod:`evalkit.pipeline.labels` — :func:`dataset_labels`: rule or human labels (fresh from the
  journal) with the mask of labelled frames.
- :mod:`evalkit.pipeline.evaluate` — :func:`evaluate_rewards`: EPIC of a source against labels.
- :mod:`evalkit.pipeline.results` — the saved results table (:func:`load_epic_results`,
  :func:`upsert_epic_results`, :func:`saved_results`: current rows apart from stale ones).
- :mod:`evalkit.pipeline.heads` — :func:`align`: fit a reward head with nested, episode-grouped
  held-out scores; :func:`head_reward_source`: a saved head as a reward source; ``transfer``:
  a head scored on another dataset of its family.
- :mod:`evalkit.pipeline.selection` — ``select``: honest (nested) selection among prompts × α,
  frame prototypes and heads (``evalkit select``).
- :mod:`evalkit.pipeline.label_curve` — ``dataset_label_curve``: a head's held-out EPIC against
  the labels it is fitted on (``evalkit align --label-curve``).
- :mod:`evalkit.pipeline.figures` — the tables behind the paper's figures.
- :mod:`evalkit.pipeline.reward_kinds` — reward kinds as objects (``register_reward_kind`` adds one);
  :mod:`~evalkit.pipeline.window_reward` (``window:K:S:MODEL``) and
  :mod:`~evalkit.pipeline.episode_reward` (``episode:MODEL``, RoboCLIP's sparse reward) register
  the rewards of several frames.
- :mod:`evalkit.pipeline.epic_request`, :mod:`~evalkit.pipeline.figure_requests`,
  :mod:`~evalkit.pipeline.select_request`, :mod:`~evalkit.pipeline.align_request` — the request
  objects that ``evalkit epic``, ``landscape``, ``scaling``, ``histogram``, ``select`` and
  ``align`` fill from their options and call.
"""

from evalkit.pipeline import (
    episode_reward,  # noqa: F401 - registers the episode reward kind
    window_reward,  # noqa: F401 - registers the window reward kind
)
from evalkit.pipeline.evaluate import DatasetEpic, evaluate_rewards
from evalkit.pipeline.figures import histogram_data, landscape_data, scaling_data
from evalkit.pipeline.heads import AlignResult, align, head_reward_source
from evalkit.pipeline.labels import DatasetLabels, dataset_labels
from evalkit.pipeline.results import (
    SavedResults,
    load_epic_results,
    results_path,
    saved_results,
    upsert_epic_results,
)
from evalkit.pipeline.reward_kinds import (
    RewardKind,
    parse_reward,
    register_reward_kind,
    registered_reward_kinds,
)
from evalkit.pipeline.rewards import RewardTable, dataset_rewards, task_rewards
from evalkit.pipeline.sources import (
    RewardSource,
    clip_reward_source,
    column_reward_source,
    function_reward_source,
    pretrained_name,
)

__all__ = [
    "AlignResult",
    "DatasetEpic",
    "DatasetLabels",
    "RewardKind",
    "RewardSource",
    "RewardTable",
    "SavedResults",
    "align",
    "clip_reward_source",
    "column_reward_source",
    "dataset_labels",
    "dataset_rewards",
    "evaluate_rewards",
    "function_reward_source",
    "head_reward_source",
    "histogram_data",
    "landscape_data",
    "load_epic_results",
    "parse_reward",
    "pretrained_name",
    "register_reward_kind",
    "registered_reward_kinds",
    "results_path",
    "saved_results",
    "scaling_data",
    "task_rewards",
    "upsert_epic_results",
]
