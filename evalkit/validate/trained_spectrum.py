"""The trained study's shared stage: box datasets, a random tower, and a spectrum of rewards of
graded quality, each a reward that ``evalkit train`` accepts.

Built once per study folder (under ``shared/``) from :class:`TrainedSettings`:

- a *fit* box dataset (the heads' frames) and a *held-out* one (another seed: the offline
  metrics), states drawn uniformly over the family's state box, rule labels on both;
- a random-weight ViT saved as a local open_clip checkpoint (:func:`evalkit.bench.e2e.save_random_model`);
- the candidates (:class:`Candidate`): heads fitted on the rule labels with a fraction of them
  flipped (0 %: the clean head, fitted by :func:`evalkit.pipeline.align`), heads fitted on a few
  labelled frames, the inverted clean head (its weights and bias negated: ``1 − r``), the
  tower's text-prompt reward at each α, a frame prototype of the fit dataset's goal frames, and
  the environment's ground truth (the ceiling).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.bench.e2e import E2ESettings, save_random_model
from evalkit.data.store import Dataset, open_dataset
from evalkit.data.sweeps import collect_sweep
from evalkit.envs.family import BOX
from evalkit.fileio import atomic_write_text
from evalkit.heads import (
    MIN_PER_CLASS,
    LogisticHead,
    choose_l2,
    episode_folds,
    fit_logistic,
    load_head,
    save_head,
)
from evalkit.pipeline import align
from evalkit.tasks import get_task
from evalkit.validate.trained_settings import TrainedSettings
from evalkit.vlm import ModelSpec, embed_dataset

FIT, HELDOUT = "fit", "heldout"
CANDIDATES_FILE = "candidates.json"


@dataclass(frozen=True)
class Candidate:
    """One reward of the spectrum.

    :ivar name: its trial-folder prefix (``head-flip10``).
    :ivar group: its kind of candidate, for the figure (``label flips``, ``text prompt``...).
    :ivar description: what it is, in words.
    :ivar reward: the :class:`~evalkit.train.config.TrainConfig` fields that select it
        (``reward`` and, for a model's text or frame prototype, ``model``, ``pretrained``,
        ``alpha``, ``goal_frames``).
    :ivar design: the value of its design knob (flip fraction, labelled frames, α), if any.
    """

    name: str
    group: str
    description: str
    reward: dict[str, Any] = field(default_factory=dict)
    design: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class SharedLayout:
    """Where the shared stage's artefacts live under a study folder's ``shared/``."""

    root: Path

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def model_config(self) -> Path:
        return self.root / "model" / "tower.json"

    @property
    def model_weights(self) -> Path:
        return self.root / "model" / "tower.safetensors"

    def head(self, name: str) -> Path:
        return self.root / "heads" / f"{name}.json"

    @property
    def prototype(self) -> Path:
        return self.root / "prototype-goal"

    @property
    def candidates(self) -> Path:
        return self.root / CANDIDATES_FILE

    def dataset(self, which: str) -> Dataset:
        return open_dataset(which, self.datasets)

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(str(self.model_config), str(self.model_weights))


def flip_labels(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``labels`` with exactly ``round(fraction · n)`` of them, drawn without replacement, flipped."""
    y = np.asarray(labels, dtype=bool).copy()
    k = int(round(fraction * len(y)))
    flipped = rng.choice(len(y), size=k, replace=False)
    y[flipped] = ~y[flipped]
    return y


def few_label_ids(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` frame ids drawn at random, stratified: the goal frames in their dataset proportion
    but at least :data:`~evalkit.heads.MIN_PER_CLASS` of each class (a head needs both)."""
    y = np.asarray(labels, dtype=bool)
    goal, other = np.flatnonzero(y), np.flatnonzero(~y)
    n = min(n, len(y))
    least = MIN_PER_CLASS
    n_goal = int(np.clip(round(n * y.mean()), least, max(least, n - least)))
    n_goal = min(n_goal, len(goal))
    picks = np.concatenate(
        [rng.choice(goal, n_goal, replace=False), rng.choice(other, n - n_goal, replace=False)]
    )
    return np.sort(picks)


def collect_datasets(settings: TrainedSettings, layout: SharedLayout) -> dict[str, Any]:
    """The fit and held-out box datasets (seeds ``seed`` and ``seed + 1``)."""
    family = get_task(settings.task).family
    out = {}
    for offset, which in enumerate((FIT, HELDOUT)):
        n = settings.fit_states if which == FIT else settings.heldout_states
        ds = collect_sweep(
            family,
            n,
            settings.size,
            seed=settings.seed + offset,
            spacing=BOX,
            name=which,
            variants=dict(settings.variants),
            root=layout.datasets,
            progress=False,
        ).dataset
        out[which] = {"frames": len(ds), "goal_frames": int(ds.labels(settings.task).sum())}
    return out


def save_tower(settings: TrainedSettings, layout: SharedLayout) -> dict[str, Any]:
    """The random tower (the e2e bench's recipe at the study's size and width), and both
    datasets embedded by it."""
    tower = E2ESettings(
        size=settings.size, vision=dict(settings.vision), embed_dim=settings.embed_dim
    )
    label = save_random_model(tower, layout.model_config, layout.model_weights)
    for which in (FIT, HELDOUT):
        embed_dataset(layout.dataset(which), layout.spec, devices="cpu", progress=False)
    return {"label": label, "config": str(layout.model_config)}


def _save_variant(clean: LogisticHead, fitted: LogisticHead, path: Path, labels: str) -> str:
    """Save a head fitted on the clean head's embeddings with other labels; its reward string."""
    meta = {k: v for k, v in clean.meta.items() if k != "heldout_epic"}
    meta["label_set"] = labels
    save_head(LogisticHead(fitted.weights, fitted.bias, fitted.l2, meta), path)
    return f"head:{path}"


def fit_heads(settings: TrainedSettings, layout: SharedLayout) -> list[Candidate]:
    """The head candidates: label flips (0 %: :func:`~evalkit.pipeline.align`'s clean head),
    few labelled frames, and the inverted clean head."""
    s, ds = settings, layout.dataset(FIT)
    clean_path = layout.head("head-flip0")
    result = align(
        ds,
        s.task,
        layout.spec,
        folds=s.folds,
        grid=s.l2_grid,
        seed=s.seed,
        n_bootstrap=0,
        save_to=clean_path,
        devices="cpu",
        progress=False,
    )
    clean = load_head(clean_path)
    x = np.asarray(embed_dataset(ds, layout.spec, devices="cpu", progress=False).values, float)
    y, episodes = ds.labels(s.task).astype(bool), ds.episodes
    rng = np.random.default_rng([s.seed, 7])
    out = []
    for f in s.flips:
        name = f"head-flip{round(100 * f)}"
        if f == 0:
            reward = f"head:{result.path}"
        else:
            yf = flip_labels(y, f, rng)
            l2 = choose_l2(x, yf, episode_folds(episodes, yf, s.folds, s.seed), s.l2_grid).l2
            head = fit_logistic(x, yf, l2)
            reward = _save_variant(clean, head, layout.head(name), f"rule, {f:.0%} flipped")
        what = "the clean head" if f == 0 else f"{f:.0%} of its labels flipped"
        out.append(
            Candidate(
                name, "label flips", f"head on the rule labels, {what}", {"reward": reward}, f
            )
        )
    for n in s.few_labels:
        ids = few_label_ids(y, n, rng)
        head = fit_logistic(x[ids], y[ids], clean.l2)
        name = f"head-few{n}"
        reward = _save_variant(clean, head, layout.head(name), f"rule, {len(ids)} frames")
        out.append(
            Candidate(
                name,
                "few labels",
                f"head on {len(ids)} labelled frames ({int(y[ids].sum())} goal), the clean head's λ",
                {"reward": reward},
                float(n),
            )
        )
    inverted = LogisticHead(-clean.weights, -clean.bias, clean.l2, clean.meta)
    reward = _save_variant(clean, inverted, layout.head("head-inverted"), "rule, inverted")
    out.append(
        Candidate("head-inverted", "inverted", "the clean head negated (1 − r)", {"reward": reward})
    )
    return out


def save_prototype_frames(settings: TrainedSettings, layout: SharedLayout) -> int:
    """Write the fit dataset's goal frames (rule labels) as PNGs: the prototype's frame set."""
    from PIL import Image

    ds = layout.dataset(FIT)
    ids = np.flatnonzero(ds.labels(settings.task))
    layout.prototype.mkdir(parents=True, exist_ok=True)
    for i in ids:
        Image.fromarray(np.asarray(ds.frames[i])).save(layout.prototype / f"goal-{i:05d}.png")
    return len(ids)


def model_candidates(settings: TrainedSettings, layout: SharedLayout) -> list[Candidate]:
    """The tower's text-prompt rewards at each α, its frame prototype, and the ground truth."""
    task = get_task(settings.task)
    model = {"model": str(layout.model_config), "pretrained": str(layout.model_weights)}
    out = [
        Candidate(
            f"text-a{a:g}",
            "text prompt",
            f"the tower's text prompts ({task.goal_prompt!r} vs {task.baseline_prompt!r}), α = {a:g}",
            {"reward": "clip", **model, "alpha": float(a)},
            float(a),
        )
        for a in settings.alphas
    ]
    out.append(
        Candidate(
            "prototype",
            "frame prototype",
            "mean embedding of the fit dataset's goal frames as the goal, α = 0",
            {"reward": "clip", **model, "alpha": 0.0, "goal_frames": str(layout.prototype)},
        )
    )
    out.append(
        Candidate(
            "ground-truth",
            "ground truth",
            "the environment's reward (the ceiling)",
            {"reward": "ground-truth"},
        )
    )
    return out


def build_candidates(settings: TrainedSettings, layout: SharedLayout) -> list[Candidate]:
    """Fit the heads, write the prototype frames; every candidate, saved in ``candidates.json``."""
    save_prototype_frames(settings, layout)
    candidates = fit_heads(settings, layout) + model_candidates(settings, layout)
    body = [c.to_dict() for c in candidates]
    atomic_write_text(json.dumps(body, indent=2) + "\n", layout.candidates)
    return candidates


def read_candidates(layout: SharedLayout) -> list[Candidate]:
    """The candidates the shared stage saved."""
    return [Candidate(**c) for c in json.loads(layout.candidates.read_text())]
