"""CLIP rewards with goal-baseline regularisation (Definition 1 of the VLM-RM paper).

With unit embeddings ``s`` (frame), ``g`` (goal prompt) and ``b`` (baseline prompt), ``d = g − b``
and the projection onto the line through ``b`` and ``g``,
``proj_L s = b + ((s − b)·d) d / ‖d‖²``, the regularised reward is::

    R_reg(s) = 1 − ½ ‖ α·proj_L s + (1 − α)·s − g ‖²

α = 0 is the plain CLIP reward ``s·g`` (cosine similarity); α = 1 keeps only the component of
``s`` along ``g − b``.

**Closed form used here.** Let ``t = (s − b)·d / ‖d‖²`` and ``r = s − b − t d`` (the part of
``s − b`` orthogonal to ``d``). Then ``α·proj_L s + (1 − α)s − g = (s − g) − α r`` and, since
``r ⟂ d`` and ``s − g = r + (t − 1) d``, ``r·(s − g) = ‖r‖²``, so::

    ‖(s − g) − α r‖² = ‖s − g‖² − α(2 − α)‖r‖²
    R_reg(s) = s·g + ½ α(2 − α) ‖r‖²,     ‖r‖² = ‖s − b‖² − t²‖d‖² = 2 − 2 s·b − t²‖d‖²

(unit vectors). Every α needs only the two dot products ``s·g`` and ``s·b`` per frame: one
matrix product for all prompt pairs, then an outer product with ``α(2 − α)``. α = 0 returns
``s·g`` itself, so it equals the cosine similarity exactly.

Several goal (or baseline) prompts are averaged and the mean is normalised again.

Functions of arrays (:func:`clip_rewards`, :func:`reward_sweep`) never touch a model;
:func:`dataset_rewards` / :func:`task_rewards` embed a dataset once (cached, see
:mod:`evalkit.vlm`) and then call them; :class:`RewardModel` scores frames in memory (RL training).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from evalkit.data.store import Dataset
    from evalkit.vlm import ImageEmbedder
    from evalkit.vlm.models import ModelSpec

DEFAULT_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def unit(v: np.ndarray, axis: int = -1) -> np.ndarray:
    """``v`` divided by its L2 norm along ``axis`` (float32 stays float32)."""
    v = np.asarray(v)
    v = v.astype(np.float32) if v.dtype not in (np.float32, np.float64) else v
    norm = np.linalg.norm(v, axis=axis, keepdims=True)
    if np.any(norm == 0) or not np.all(np.isfinite(norm)):
        raise ValueError("cannot normalise a zero or non-finite embedding")
    return v / norm


def combine_prompts(embeddings: np.ndarray) -> np.ndarray:
    """One unit direction from one or several prompt embeddings ``(d,)`` or ``(m, d)``: mean, renormalised."""
    e = np.asarray(embeddings)
    if e.ndim == 1:
        return unit(e)
    if e.ndim != 2 or len(e) == 0:
        raise ValueError(f"prompt embeddings must be (d,) or (m, d), got shape {e.shape}")
    return unit(unit(e).mean(axis=0))


def _alphas(alphas: Sequence[float] | float) -> np.ndarray:
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if a.ndim != 1 or len(a) == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"alphas must be a non-empty list of finite numbers, got {alphas!r}")
    return a


def reward_sweep(
    image_emb: np.ndarray,
    goal_emb: np.ndarray,
    baseline_emb: np.ndarray | None = None,
    alphas: Sequence[float] | float = (0.0,),
) -> np.ndarray:
    """Rewards of many prompt pairs and many α at once: ``(pairs, frames, alphas)``.

    :param image_emb: ``(n, d)`` unit image embeddings (as cached by :mod:`evalkit.vlm`).
    :param goal_emb: ``(p, d)``: one (already combined) goal direction per pair.
    :param baseline_emb: ``(p, d)`` baseline directions, or ``None`` for the plain cosine
        reward (every α column then equals ``s·g``).
    :param alphas: regularisation strengths.
    """
    s = np.asarray(image_emb)
    if s.ndim != 2:
        raise ValueError(f"image embeddings must be (n, d), got shape {s.shape}")
    dtype = s.dtype if s.dtype in (np.float32, np.float64) else np.float32
    g = unit(np.atleast_2d(goal_emb)).astype(dtype)
    a = _alphas(alphas)
    if g.shape[1] != s.shape[1]:
        raise ValueError(f"image embeddings have dimension {s.shape[1]} but prompts have {g.shape[1]}")
    p = len(g)
    out = np.empty((p, len(s), len(a)), dtype=dtype)
    if baseline_emb is None:
        sg = s @ g.T  # (n, p)
        out[:] = sg.T[:, :, None]
        return out
    b = unit(np.atleast_2d(baseline_emb)).astype(dtype)
    if b.shape != g.shape:
        raise ValueError(f"need one baseline per goal: goals {g.shape}, baselines {b.shape}")
    sgs = s @ g.T  # (n, p), computed exactly as in the cosine case above
    sbs = s @ b.T
    scale = (0.5 * a * (2.0 - a)).astype(dtype)  # ½ α(2 − α), zero for α = 0
    for i in range(p):
        gb = float(g[i] @ b[i])
        dd = max(2.0 - 2.0 * gb, 0.0)  # ‖g − b‖²
        sg, sb = sgs[:, i], sbs[:, i]
        if dd > 0:
            t = (sg - sb + (1.0 - gb)) / dd  # (s − b)·(g − b) / ‖d‖², with b·b = 1
            r2 = np.maximum(2.0 - 2.0 * sb - t * t * dd, 0.0)
        else:  # goal and baseline coincide: the line degenerates, nothing to project onto
            r2 = np.zeros_like(sg)
        np.multiply(r2[:, None], scale[None, :], out=out[i])
        out[i] += sg[:, None]
    return out


def clip_rewards(
    image_emb: np.ndarray,
    goal_emb: np.ndarray,
    baseline_emb: np.ndarray | None = None,
    alphas: Sequence[float] | float = (0.0,),
) -> np.ndarray:
    """CLIP rewards of frames for one goal (and baseline): ``(n, len(alphas))``.

    :param image_emb: ``(n, d)`` unit image embeddings.
    :param goal_emb: goal prompt embedding ``(d,)``, or ``(m, d)`` for several prompts (averaged
        and renormalised).
    :param baseline_emb: baseline prompt embedding(s) likewise, or ``None`` for the plain
        cosine reward ``s·g`` in every column.
    :param alphas: regularisation strengths (Definition 1); α = 0 is exactly ``s·g``.
    """
    g = combine_prompts(goal_emb)
    b = None if baseline_emb is None else combine_prompts(baseline_emb)
    return reward_sweep(image_emb, g[None], None if b is None else b[None], alphas)[0]


def regularised_reward_naive(s: np.ndarray, g: np.ndarray, b: np.ndarray, alpha: float) -> float:
    """Definition 1 for one frame, written as in the paper (a reference for tests)."""
    d = g - b
    proj = b + ((s - b) @ d) * d / (d @ d)
    v = alpha * proj + (1 - alpha) * s - g
    return float(1 - 0.5 * (v @ v))


# -- datasets and models -------------------------------------------------------------------------------


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


def _prompts(p: "str | Sequence[str]") -> tuple[str, ...]:
    out = (p,) if isinstance(p, str) else tuple(p)
    if not out or not all(isinstance(x, str) and x.strip() for x in out):
        from evalkit.errors import EvalkitError

        raise EvalkitError("Prompts must be non-empty strings.")
    return out


def dataset_rewards(
    dataset: "Dataset | str | os.PathLike[str]",
    spec: "ModelSpec | str",
    goal: "str | Sequence[str]",
    baseline: "str | Sequence[str] | None" = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
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
    :param baseline: baseline prompt(s), or ``None`` for the plain cosine reward.
    """
    from evalkit.data.store import Dataset, open_dataset
    from evalkit.vlm import ImageEmbedder, embed_dataset, parse_devices
    from evalkit.vlm.cache import EmbeddingCache
    from evalkit.vlm.models import resolve

    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset, root)
    goals = _prompts(goal)
    baselines = None if baseline is None else _prompts(baseline)
    a = tuple(float(x) for x in _alphas(alphas))
    resolved = resolve(spec)
    emb = embed_dataset(ds, resolved, devices=devices, batch_size=batch_size, precision=precision,
                        progress=progress, allow_upscale=allow_upscale)
    cache = EmbeddingCache(ds, resolved, precision)
    embedder: list[ImageEmbedder] = []

    def encode(prompts: list[str]) -> np.ndarray:
        if not embedder:
            embedder.append(ImageEmbedder(resolved, parse_devices(devices)[0], precision))
        return embedder[0].embed_texts(prompts)

    text = cache.text_embeddings(list(goals) + list(baselines or ()), encode)
    g = text[: len(goals)]
    b = text[len(goals) :] if baselines else None
    values = clip_rewards(emb.values, g, b, a)
    return RewardTable(values=values, alphas=a, goal=goals, baseline=baselines, model=resolved.label,
                       random_weights=resolved.random_weights, dataset=ds.name)


rewards = dataset_rewards
"""Short name of :func:`dataset_rewards` (``evalkit.rewards.rewards(dataset, model, goal=...)``)."""


def task_rewards(
    dataset: "Dataset | str | os.PathLike[str]",
    spec: "ModelSpec | str",
    task_name: str,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    **kwargs: Any,
) -> RewardTable:
    """:func:`dataset_rewards` with the goal and baseline prompts of a registered task."""
    from evalkit.tasks import get_task

    task = get_task(task_name)
    return dataset_rewards(dataset, spec, task.goal_prompt, task.baseline_prompt, alphas, **kwargs)


class RewardModel:
    """CLIP reward of frames in memory, for RL training (Algorithm 1 of the paper).

    The model is loaded once and the prompt embeddings are computed once; each call embeds a
    batch of ``uint8 (n, H, W, 3)`` frames and returns one reward per frame.

    :param model: a :class:`~evalkit.vlm.embedder.ImageEmbedder`, or a model spec to load one.
    :param goal: goal prompt(s); :param baseline: baseline prompt(s) or ``None``.
    :param alpha: regularisation strength.
    :param embedder_kwargs: ``device``, ``precision``, ``batch_size``, ``allow_upscale`` for a
        new embedder.

    Example::

        reward_fn = RewardModel("ViT-B-32", goal="a humanoid robot kneeling",
                                baseline="a humanoid robot", alpha=0.5, device="cuda:0")
        r = reward_fn(frames)          # (n,) float32
    """

    def __init__(self, model: "ImageEmbedder | ModelSpec | str", goal: "str | Sequence[str]",
                 baseline: "str | Sequence[str] | None" = None, alpha: float = 0.0, **embedder_kwargs: Any) -> None:
        from evalkit.vlm import ImageEmbedder

        self.embedder = model if isinstance(model, ImageEmbedder) else ImageEmbedder(model, **embedder_kwargs)
        self.goal = _prompts(goal)
        self.baseline = None if baseline is None else _prompts(baseline)
        self.alpha = float(alpha)
        self.goal_emb = combine_prompts(self.embedder.embed_texts(list(self.goal)))
        self.baseline_emb = None if self.baseline is None else combine_prompts(self.embedder.embed_texts(list(self.baseline)))

    @property
    def random_weights(self) -> bool:
        return self.embedder.random_weights

    def rewards(self, frames: np.ndarray, alphas: Sequence[float] | None = None) -> np.ndarray:
        """Rewards ``(n, len(alphas))`` of frames (default: this model's α)."""
        emb = self.embedder.embed_frames(frames)
        return clip_rewards(emb, self.goal_emb, self.baseline_emb, (self.alpha,) if alphas is None else alphas)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """One reward per frame, float32 ``(n,)``."""
        return self.rewards(frames)[:, 0]
