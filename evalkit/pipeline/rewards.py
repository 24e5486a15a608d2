"""CLIP rewards of every frame of a dataset: embed it once (cached), then Definition 1.

:func:`dataset_rewards` takes goal (and baseline) prompts, :func:`task_rewards` a registered
task's prompts; both return a :class:`RewardTable`. The maths over embeddings is
:mod:`evalkit.rewards`; the embedding engine and its cache are :mod:`evalkit.vlm`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from evalkit.data.store import Dataset, open_dataset
from evalkit.rewards import DEFAULT_ALPHAS, as_prompts, check_alphas, clip_rewards
from evalkit.tasks import get_task

if TYPE_CHECKING:
    from evalkit.vlm import ImageEmbedder, ModelSpec


@dataclass(frozen=True)
class RewardTable:
    """Rewards of every frame of a dataset for one goal (and baseline), for several α.

    ``values[i, j]`` is the reward of frame ``i`` with ``alphas[j]``. With no baseline every
    column is the plain cosine reward.
    """

    values: np.ndarray
    alphas: tuple[float, ...]
    goal: tuple[str, ...]
    baseline: tuple[str, ...] | None
    model: str
    random_weights: bool
    dataset: str = ""

    def for_alpha(self, alpha: float) -> np.ndarray:
        """The reward column of one α (which must be one of ``alphas``)."""
        for j, a in enumerate(self.alphas):
            if abs(a - alpha) < 1e-12:
                return self.values[:, j]
        raise KeyError(f"alpha {alpha} is not among {self.alphas}")


def dataset_rewards(
    dataset: "Dataset | str | os.PathLike[str]",
    goal: "str | Sequence[str]",
    model: "ModelSpec | str",
    baseline: "str | Sequence[str] | None" = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    *,
    devices: str | Sequence[str] | None = "auto",
    batch_size: int | None = None,
    precision: str = "fp32",
    progress: bool = True,
    root: str | os.PathLike[str] | None = None,
    allow_upscale: bool = False,
) -> RewardTable:
    """CLIP rewards of every frame of a dataset: embeds it once (cached), then Definition 1.

    Text embeddings are cached next to the image embeddings, so a second call with the same
    prompts does not load the model at all.

    :param goal: goal prompt, or several (their embeddings are averaged and renormalised).
    :param model: a :class:`~evalkit.vlm.ModelSpec`, or ``"ARCH"`` / ``"ARCH:TAG"``.
    :param baseline: baseline prompt(s), or ``None`` for the plain cosine reward.
    """
    # torch and open_clip: loaded only when a model is used (figures and reports import this module)
    from evalkit.vlm import embed_dataset, resolve

    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset, root)
    goals = as_prompts(goal)
    baselines = None if baseline is None else as_prompts(baseline)
    a = tuple(float(x) for x in check_alphas(alphas))
    resolved = resolve(model)
    emb = embed_dataset(
        ds,
        resolved,
        devices=devices,
        batch_size=batch_size,
        precision=precision,
        progress=progress,
        allow_upscale=allow_upscale,
    )
    text = text_embeddings(ds, resolved, list(goals) + list(baselines or ()), precision, devices)
    g = text[: len(goals)]
    b = text[len(goals) :] if baselines else None
    values = clip_rewards(emb.values, g, b, a)
    return RewardTable(
        values=values,
        alphas=a,
        goal=goals,
        baseline=baselines,
        model=resolved.label,
        random_weights=resolved.random_weights,
        dataset=ds.name,
    )


def text_embeddings(
    dataset: Dataset,
    resolved: Any,
    prompts: Sequence[str],
    precision: str = "fp32",
    devices: str | Sequence[str] | None = "auto",
) -> np.ndarray:
    """Unit text embeddings ``(k, d)`` of ``prompts``, cached beside the dataset's image
    embeddings (the model is loaded only for prompts not cached yet).

    :param resolved: the model, as :func:`evalkit.vlm.resolve` gives it.
    """
    # torch and open_clip: loaded only when a model is used (figures and reports import this module)
    from evalkit.vlm import ImageEmbedder, parse_devices
    from evalkit.vlm.cache import EmbeddingCache

    cache = EmbeddingCache(dataset, resolved, precision)
    embedder: list[ImageEmbedder] = []

    def encode(todo: list[str]) -> np.ndarray:
        if not embedder:
            embedder.append(ImageEmbedder(resolved, parse_devices(devices)[0], precision))
        return embedder[0].embed_texts(todo)

    return cache.text_embeddings(list(prompts), encode)


def task_rewards(
    dataset: "Dataset | str | os.PathLike[str]",
    task: str,
    model: "ModelSpec | str",
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    **kwargs: Any,
) -> RewardTable:
    """:func:`dataset_rewards` with the goal and baseline prompts of a registered task."""
    t = get_task(task)
    return dataset_rewards(dataset, t.goal_prompt, model, t.baseline_prompt, alphas, **kwargs)
