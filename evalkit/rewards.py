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
    R_reg(s) = s·g + ½ α(2 − α) ‖r‖²,     ‖r‖² = ‖s − b‖² − ((s − b)·u)²,   u = d / ‖d‖

(unit vectors, ``‖s − b‖² = 2 − 2 s·b``). Every α needs only the dot products ``s·g``, ``s·b`` and
``s·u`` per frame: matrix products for all prompt pairs, then an outer product with
``α(2 − α)``. The direction ``u`` is taken in float64 from the vector difference ``g − b`` and
``‖r‖²`` in float64, so the reward stays exact when goal and baseline are nearly equal
(``1 − g·b`` down to 1e-12; through ``1 − g·b`` in float32 it was off by up to 0.8). A goal
equal to its baseline with α > 0 is an error (no line). α = 0 returns ``s·g`` itself, so it
equals the cosine similarity exactly. Image embeddings must be unit length (checked).

Several goal (or baseline) prompts are averaged and the mean is normalised again.

Functions of arrays (:func:`clip_rewards`, :func:`reward_sweep`) never touch a model;
:func:`evalkit.pipeline.dataset_rewards` / :func:`evalkit.pipeline.task_rewards` embed a dataset
once (cached, see :mod:`evalkit.vlm`) and then call them; :class:`RewardModel` scores frames in
memory (RL training).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from evalkit import config
from evalkit.errors import EvalkitError, RewardError

if TYPE_CHECKING:
    from evalkit.vlm import ImageEmbedder, ModelSpec

DEFAULT_ALPHAS = config.DEFAULT_ALPHAS
"""α values evaluated when none are given (goal-baseline regularisation strength, paper Def. 1)."""


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


def check_alphas(alphas: Sequence[float] | float) -> np.ndarray:
    """α as a non-empty 1-D float64 array of finite numbers (``ValueError`` otherwise)."""
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
    s = s.astype(dtype, copy=False)
    g64 = unit(np.atleast_2d(np.asarray(goal_emb, dtype=np.float64)))
    g = g64.astype(dtype)
    a = check_alphas(alphas)
    if g.shape[1] != s.shape[1]:
        raise ValueError(
            f"image embeddings have dimension {s.shape[1]} but prompts have {g.shape[1]}"
        )
    _check_unit_rows(s)
    p = len(g)
    out = np.empty((p, len(s), len(a)), dtype=dtype)
    sgs = s @ g.T  # (n, p): the cosine reward, exactly as with α = 0 alone
    if baseline_emb is None:
        out[:] = sgs.T[:, :, None]
        return out
    b64 = unit(np.atleast_2d(np.asarray(baseline_emb, dtype=np.float64)))
    if b64.shape != g64.shape:
        raise ValueError(f"need one baseline per goal: goals {g64.shape}, baselines {b64.shape}")
    r2 = _off_line_sq(s, g64, b64, regularised=bool(np.any(a != 0)))  # (n, p), float64
    scale = 0.5 * a * (2.0 - a)  # ½ α(2 − α), zero for α = 0
    for i in range(p):
        np.multiply(r2[:, i, None], scale[None, :], out=out[i], casting="same_kind")
        out[i] += sgs[:, i, None]
    return out


UNIT_TOLERANCE = 1e-3
"""How far from 1 an image embedding's norm may be (float16/bfloat16 caches stay within it)."""


def _check_unit_rows(s: np.ndarray, chunk: int = 1 << 16) -> None:
    """Refuse image embeddings that are not unit length (rewards assume cosine similarities)."""
    for i0 in range(0, len(s), chunk):
        block = s[i0 : i0 + chunk]
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        bad = ~(np.abs(norms - 1.0) <= UNIT_TOLERANCE)
        if bad.any():
            j = i0 + int(np.argmax(bad))
            raise RewardError(
                f"Image embedding {j} has norm {norms[j - i0]:.6g}, not 1: rewards are cosine similarities of "
                "unit embeddings; normalise them first (evalkit.rewards.unit)."
            )


def _off_line_sq(s: np.ndarray, g: np.ndarray, b: np.ndarray, regularised: bool) -> np.ndarray:
    """``‖r‖²`` of every frame and pair: the squared distance of ``s − b`` from the line's direction.

    With the unit direction ``u = (g − b)/‖g − b‖`` taken in float64 from the difference of the
    vectors (not from ``1 − g·b``, which cancels when goal and baseline are nearly equal),
    ``‖r‖² = ‖s − b‖² − ((s − b)·u)²``: dot products of unit vectors in the embeddings' precision,
    the rest in float64.

    :raises RewardError: a goal equals its baseline (the line is undefined) while some α > 0.
    """
    d = g - b
    norm = np.linalg.norm(d, axis=1)
    if regularised and np.any(norm == 0):
        raise RewardError(
            "The goal and baseline embeddings are identical, so the line between them (Definition 1) is "
            "undefined for α > 0; use another baseline prompt or α = 0."
        )
    u = d / np.where(norm == 0, 1.0, norm)[:, None]
    bu = np.einsum("pd,pd->p", b, u)
    sb = (s @ b.T.astype(s.dtype)).astype(np.float64)
    su = (s @ u.T.astype(s.dtype)).astype(np.float64)
    return np.maximum(2.0 - 2.0 * sb - (su - bu) ** 2, 0.0)


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


def as_prompts(p: "str | Sequence[str]") -> tuple[str, ...]:
    """One prompt or several as a tuple of non-empty strings (:class:`EvalkitError` otherwise)."""
    out = (p,) if isinstance(p, str) else tuple(p)
    if not out or not all(isinstance(x, str) and x.strip() for x in out):
        raise EvalkitError("Prompts must be non-empty strings.")
    return out


class RewardModel:
    """CLIP reward of frames in memory, for RL training (Algorithm 1 of the paper).

    The model is loaded once and the prompt embeddings are computed once; each call embeds a
    batch of ``uint8 (n, H, W, 3)`` frames and returns one reward per frame.

    :param model: a :class:`~evalkit.vlm.embedder.ImageEmbedder`, or a model spec to load one.
    :param goal: goal prompt(s); :param baseline: baseline prompt(s) or ``None``.
    :param alpha: regularisation strength.
    :param goal_embedding: a unit goal embedding to use instead of embedding ``goal`` (e.g. a
        frame prototype); ``goal`` then only names it. :param baseline_embedding: the same for
        the baseline.
    :param embedder_kwargs: ``device``, ``precision``, ``batch_size``, ``allow_upscale`` for a
        new embedder.

    Example::

        reward_fn = RewardModel("ViT-B-32", goal="a humanoid robot kneeling",
                                baseline="a humanoid robot", alpha=0.5, device="cuda:0")
        r = reward_fn(frames)          # (n,) float32
    """

    def __init__(
        self,
        model: "ImageEmbedder | ModelSpec | str",
        goal: "str | Sequence[str]",
        baseline: "str | Sequence[str] | None" = None,
        alpha: float = 0.0,
        goal_embedding: np.ndarray | None = None,
        baseline_embedding: np.ndarray | None = None,
        **embedder_kwargs: Any,
    ) -> None:
        # torch: loaded only when a model is used
        from evalkit.vlm import ImageEmbedder

        self.embedder = (
            model if isinstance(model, ImageEmbedder) else ImageEmbedder(model, **embedder_kwargs)
        )
        self.goal = as_prompts(goal)
        self.baseline = None if baseline is None else as_prompts(baseline)
        self.alpha = float(alpha)
        self.goal_emb = (
            combine_prompts(self.embedder.embed_texts(list(self.goal)))
            if goal_embedding is None
            else np.asarray(goal_embedding, dtype=np.float32)
        )
        if baseline_embedding is not None:
            self.baseline_emb = np.asarray(baseline_embedding, dtype=np.float32)
        elif self.baseline is None:
            self.baseline_emb = None
        else:
            self.baseline_emb = combine_prompts(self.embedder.embed_texts(list(self.baseline)))

    @property
    def random_weights(self) -> bool:
        return self.embedder.random_weights

    def rewards(self, frames: np.ndarray, alphas: Sequence[float] | None = None) -> np.ndarray:
        """Rewards ``(n, len(alphas))`` of frames (default: this model's α)."""
        emb = self.embedder.embed_frames(frames)
        return clip_rewards(
            emb, self.goal_emb, self.baseline_emb, (self.alpha,) if alphas is None else alphas
        )

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """One reward per frame, float32 ``(n,)``."""
        return self.rewards(frames)[:, 0]
