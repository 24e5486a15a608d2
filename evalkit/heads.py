"""Few-shot reward heads: L2-regularised logistic regression on normalised image embeddings.

A head turns a frame's unit image embedding ``x`` into a reward, the probability that the frame
is a goal state::

    r(x) = σ(w·x + b),    σ(z) = 1 / (1 + e^−z)

fitted on labelled frames by minimising the mean log-loss plus ``½ λ ‖w‖²`` (the bias is not
penalised). The strength ``λ`` is chosen by cross-validation with whole episodes held out
(:func:`episode_folds`: no episode is in both the fitting and the held-out part, since frames of
one episode are alike), by the held-out log-loss (:func:`choose_l2`). Heads are saved as a
small safetensors file of ``w`` beside a JSON file naming what they were fitted on: the model's
identity, the embedding's preprocessing and precision, the dataset, its content hash and the
labels' content hash (:func:`save_head`, :func:`load_head`), so that a head is never applied to
another model's embeddings. Everything here is numpy and scipy; reading embeddings and labels
from a dataset is :mod:`evalkit.pipeline`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_path, atomic_write_text, digest, file_lock

HEAD_FORMAT = "evalkit-head/1"
L2_GRID: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""Regularisation strengths tried by default (per frame: the loss is a mean)."""
MIN_PER_CLASS = 5
"""Fewest labelled frames of each class a head is fitted on."""


@dataclass(frozen=True)
class LogisticHead:
    """A fitted head: ``r(x) = σ(w·x + b)``.

    :ivar weights: ``w``, shape ``(d,)``.
    :ivar bias: ``b``.
    :ivar l2: the ``λ`` it was fitted with.
    :ivar meta: what it was fitted on (model identity, embedding preprocessing, dataset, labels).
    """

    weights: np.ndarray = field(repr=False)
    bias: float
    l2: float
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """The embedding dimension it takes."""
        return int(self.weights.shape[0])

    def logit(self, embeddings: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        """``w·x + b`` of every row of ``embeddings`` ``(n, d)``, in float64 whatever their dtype
        (in chunks, so float32 caches are not copied whole)."""
        x = np.asarray(embeddings)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise EvalkitError(
                f"The head takes {self.dim}-dimensional embeddings, not an array of shape {x.shape}; "
                "it belongs to another model."
            )
        out = np.empty(len(x))
        for i in range(0, len(x), chunk):
            out[i : i + chunk] = x[i : i + chunk].astype(np.float64) @ self.weights
        return out + self.bias

    def reward(self, embeddings: np.ndarray) -> np.ndarray:
        """The head's reward of every frame: the probability that it is a goal state."""
        return expit(np.asarray(self.logit(embeddings), dtype=np.float64))


def _check_training_data(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) != len(y):
        raise EvalkitError(
            f"A head needs (n, d) embeddings and n labels, not {x.shape} and {y.shape}."
        )
    if not np.all(np.isfinite(x)):
        raise EvalkitError("The embeddings have NaN or infinite values.")
    y = y.astype(bool)
    n_goal, n_non = int(y.sum()), int((~y).sum())
    if min(n_goal, n_non) < MIN_PER_CLASS:
        raise EvalkitError(
            f"A head needs at least {MIN_PER_CLASS} labelled goal and {MIN_PER_CLASS} non-goal frames; "
            f"there are {n_goal} goal and {n_non} non-goal frames: label more."
        )
    return x, y


def log_loss(head_logit: np.ndarray, y: np.ndarray) -> float:
    """Mean log-loss of logits ``z`` for 0/1 labels: ``−mean(y log σ(z) + (1 − y) log σ(−z))``."""
    z = np.asarray(head_logit, dtype=np.float64)
    yb = np.asarray(y, dtype=bool)
    return float(-np.mean(np.where(yb, log_expit(z), log_expit(-z))))


def fit_logistic(embeddings: np.ndarray, labels: np.ndarray, l2: float = 1e-2) -> LogisticHead:
    """Fit ``w, b`` minimising ``mean log-loss + ½ λ ‖w‖²`` (L-BFGS with the exact gradient).

    :param embeddings: ``(n, d)`` unit image embeddings of labelled frames.
    :param labels: ``(n,)`` goal labels.
    :param l2: ``λ > 0``.
    :raises EvalkitError: too few frames of a class, or bad shapes.
    """
    if not l2 > 0 or not math.isfinite(l2):
        raise EvalkitError(f"The regularisation strength must be a positive number, not {l2!r}.")
    x, y = _check_training_data(embeddings, labels)
    n, d = x.shape
    target = y.astype(np.float64)
    prior = float(np.clip(target.mean(), 1e-6, 1 - 1e-6))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = x @ w + b
        loss = -np.mean(target * log_expit(z) + (1.0 - target) * log_expit(-z)) + 0.5 * l2 * (w @ w)
        residual = (expit(z) - target) / n
        grad = np.empty(d + 1)
        grad[:d] = x.T @ residual + l2 * w
        grad[d] = residual.sum()
        return float(loss), grad

    start = np.zeros(d + 1)
    start[d] = math.log(prior / (1 - prior))
    fit = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-10, "ftol": 1e-14},
    )
    return LogisticHead(weights=fit.x[:d].copy(), bias=float(fit.x[d]), l2=float(l2))


def episode_folds(
    episodes: np.ndarray, labels: np.ndarray, k: int = 5, seed: int = 0
) -> np.ndarray:
    """A fold number ``0..k−1`` per frame, whole episodes to a fold, balanced in frames and in
    goal frames: episodes are shuffled with ``seed``, then dealt, those with most goal frames
    first, each to the fold with the fewest goal frames (then the fewest frames) so far.

    :raises EvalkitError: fewer than ``k`` episodes, or fewer than 2 folds.
    """
    ep = np.asarray(episodes)
    y = np.asarray(labels, dtype=bool)
    uniq, inverse = np.unique(ep, return_inverse=True)
    if k < 2:
        raise EvalkitError(f"Cross-validation needs at least 2 folds, not {k}.")
    if len(uniq) < k:
        raise EvalkitError(
            f"There are {len(uniq)} episodes, fewer than the {k} folds; held-out scores need whole "
            "episodes held out (use fewer folds or more episodes)."
        )
    sizes = np.bincount(inverse, minlength=len(uniq))
    goals = np.bincount(inverse, weights=y.astype(float), minlength=len(uniq))
    order = np.random.default_rng(seed).permutation(len(uniq))
    order = order[np.argsort(-goals[order], kind="stable")]
    fold_of = np.empty(len(uniq), dtype=np.int64)
    fold_goals, fold_sizes = np.zeros(k), np.zeros(k)
    for e in order:
        f = (
            int(np.lexsort((fold_sizes, fold_goals))[0])
            if goals[e] > 0
            else int(np.argmin(fold_sizes))
        )
        fold_of[e] = f
        fold_goals[f] += goals[e]
        fold_sizes[f] += sizes[e]
    return fold_of[inverse]


def out_of_fold_logits(
    embeddings: np.ndarray, labels: np.ndarray, folds: np.ndarray, l2: float
) -> np.ndarray:
    """The logit of every frame from a head fitted on the other folds."""
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    out = np.empty(len(x))
    for f in np.unique(folds):
        test = folds == f
        out[test] = fit_logistic(x[~test], y[~test], l2).logit(x[test])
    return out


@dataclass(frozen=True)
class L2Choice:
    """Which ``λ`` cross-validation chose, and the held-out log-loss of each candidate."""

    l2: float
    losses: dict[float, float]


def choose_l2(
    embeddings: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    grid: Sequence[float] = L2_GRID,
) -> L2Choice:
    """The ``λ`` of ``grid`` with the lowest held-out log-loss over ``folds``."""
    losses = {
        float(l2): log_loss(out_of_fold_logits(embeddings, labels, folds, l2), labels)
        for l2 in grid
    }
    best = min(losses, key=lambda l2: (losses[l2], -l2))  # ties: the stronger regularisation
    return L2Choice(l2=best, losses=losses)


# -- files --------------------------------------------------------------------------------------


def head_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The weights file and the JSON file of a head saved as ``path`` (suffixes optional).

    :raises EvalkitError: ``path`` is empty or a folder (a head is a pair of files).
    """
    text = os.fspath(path)
    if not str(text).strip():
        raise EvalkitError(
            "No head file given: name a head's .json file, as in head:heads/cartpole.json."
        )
    p = Path(text)
    if p.is_dir():
        raise EvalkitError(
            f"{p} is a folder; name a head's .json file in it (a head is a .json and a .safetensors file)."
        )
    base = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    return base.with_suffix(".safetensors"), base.with_suffix(".json")


@contextmanager
def _head_folder_lock(folder: Path, shared: bool) -> Iterator[None]:
    """Hold an ``flock`` on the head's folder: writers exclusive, readers shared, so that a reader
    never pairs the ``.json`` of one writer with the ``.safetensors`` of another (and two writers
    publish one after the other)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened for locking: its files are read as they are
        yield
        return
    try:
        with file_lock(fd, shared=shared):
            yield
    finally:
        os.close(fd)


def _read_head_files(path: str | os.PathLike[str]) -> tuple[bytes, bytes]:
    """The bytes of a saved head's JSON and weights files, read as one unit.

    :raises OSError: a file is missing or unreadable.
    """
    weights_path, meta_path = head_paths(path)
    with _head_folder_lock(meta_path.parent, shared=True):
        return meta_path.read_bytes(), weights_path.read_bytes()


def head_file_identity(path: str | os.PathLike[str]) -> str:
    """The content hash of a saved head's two files (what results computed with it record).

    :raises OSError: a file is missing or unreadable.
    """
    meta, weights = _read_head_files(path)
    # as :func:`evalkit.fileio.file_digest` of each file: results saved before still match
    return digest(*(hashlib.blake2b(b, digest_size=8).hexdigest() for b in (meta, weights)))


def save_head(head: LogisticHead, path: str | os.PathLike[str]) -> Path:
    """Write ``head`` as ``PATH.safetensors`` (``w``) and ``PATH.json`` (the rest); returns the JSON path.

    The two files are published as one unit: under an exclusive lock of their folder (readers
    take it shared), each written to a temporary name and renamed; the JSON also records the
    weights' hash, so a pair torn by a writer that does not lock is refused on load.
    """
    from safetensors.numpy import save

    weights_path, meta_path = head_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    weights = save({"weights": np.ascontiguousarray(head.weights, dtype=np.float64)})
    doc = {
        "format": HEAD_FORMAT,
        "kind": "logistic",
        "bias": head.bias,
        "l2": head.l2,
        "dim": head.dim,
        "weights_file": weights_path.name,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        **dict(head.meta),
    }
    with _head_folder_lock(weights_path.parent, shared=False):
        with atomic_path(weights_path) as tmp:
            tmp.write_bytes(weights)
        atomic_write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", meta_path)
    return meta_path


_NUMBER_FIELDS = ("bias", "l2")
_TEXT_FIELDS = ("model", "model_identity", "task", "dataset")


def _check_head_doc(doc: Any, meta_path: Path) -> None:
    """Refuse a head description whose fields have the wrong type or are not finite, naming the field."""
    if not isinstance(doc, dict) or doc.get("format") != HEAD_FORMAT:
        raise EvalkitError(f"{meta_path} is not an evalkit head (format {HEAD_FORMAT}).")
    for key in ("bias", "l2", "dim"):
        if key not in doc:
            raise EvalkitError(
                f"The head {meta_path} has no {key!r} field; fit it again with evalkit align."
            )
    for key in _NUMBER_FIELDS:
        value = doc[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise EvalkitError(
                f"The head {meta_path} has {key} = {value!r}, not a finite number; fit it again with evalkit align."
            )
    if isinstance(doc["dim"], bool) or not isinstance(doc["dim"], int) or doc["dim"] < 1:
        raise EvalkitError(
            f"The head {meta_path} has dim = {doc['dim']!r}, not a positive whole number; fit it again with evalkit align."
        )
    for key in _TEXT_FIELDS:
        if key in doc and doc[key] is not None and not isinstance(doc[key], str):
            raise EvalkitError(
                f"The head {meta_path} has {key} = {doc[key]!r}, not a text; fit it again with evalkit align."
            )
    if "embedding" in doc and not isinstance(doc["embedding"], dict):
        raise EvalkitError(
            f"The head {meta_path} has embedding = {doc['embedding']!r}, not a table; fit it again with evalkit align."
        )


def load_head(path: str | os.PathLike[str]) -> LogisticHead:
    """Read a head written by :func:`save_head`.

    :raises EvalkitError: the files are missing or corrupt, or of another format.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    weights_path, meta_path = head_paths(path)
    for p in (meta_path, weights_path):
        if not p.is_file():
            raise EvalkitError(
                f"The head file {p} does not exist (a head is a .json and a .safetensors file)."
            )
    try:
        meta_bytes, weights_bytes = _read_head_files(path)
        doc = json.loads(meta_bytes.decode())
        weights = load(weights_bytes)["weights"]
    except (ValueError, KeyError, SafetensorError, UnicodeDecodeError) as exc:
        raise EvalkitError(
            f"The head {meta_path} is corrupt ({exc}); fit it again with evalkit align."
        ) from None
    _check_head_doc(doc, meta_path)
    recorded = doc.get("weights_sha256")
    if recorded is not None and recorded != hashlib.sha256(weights_bytes).hexdigest():
        raise EvalkitError(
            f"The head {meta_path} and its weights {weights_path.name} come from different fits "
            "(written at once by two processes?); fit it again with evalkit align."
        )
    if weights.shape != (doc["dim"],) or not np.all(np.isfinite(weights)):
        raise EvalkitError(
            f"The head {meta_path} is corrupt (its weights do not match its description)."
        )
    meta = {k: v for k, v in doc.items() if k not in _FILE_FIELDS}
    return LogisticHead(weights=weights, bias=float(doc["bias"]), l2=float(doc["l2"]), meta=meta)


_FILE_FIELDS = ("format", "kind", "bias", "l2", "dim", "weights_file", "weights_sha256")
"""Fields of a head's JSON that describe the file, not what the head was fitted on."""


def check_head_fits(head: LogisticHead, model_identity: str, embedding: Mapping[str, Any]) -> None:
    """Refuse a head used with another model or another embedding preprocessing than its own.

    :param model_identity: the reward engine's identity of the model and weights in use.
    :param embedding: the embedding settings in use (``precision``, ``preprocess``, ``dim``).
    """
    own = head.meta.get("model_identity")
    if own != model_identity:
        raise EvalkitError(
            f"This head was fitted on embeddings of {own!r}, not {model_identity!r}; use it with its own "
            "model, or fit one for this model with evalkit align."
        )
    fitted = dict(head.meta.get("embedding", {}))
    for key, value in embedding.items():
        if key in fitted and fitted[key] != value:
            raise EvalkitError(
                f"This head was fitted on embeddings with {key} = {fitted[key]!r}, not {value!r}; fit one "
                "for these embeddings with evalkit align."
            )
