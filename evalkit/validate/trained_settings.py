"""What a trained validity study runs with (:class:`TrainedSettings`), its two presets, and the
check that a task's family can carry one.

A family can carry the study when it has rule labels for the task (the heads' labels and the
offline metrics' truth), a state box (the uniform box datasets), a success criterion (the
outcome) and training settings (the learner). The default design (:data:`CARTPOLE`) fits on a
2-core CPU in under an hour; :data:`CARTPOLE_QUICK` runs in seconds (tests, a first look).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

from evalkit.bench.e2e import DQN_KWARGS, L2_GRID
from evalkit.errors import EvalkitError
from evalkit.heads import MIN_PER_CLASS
from evalkit.tasks import get_task

STUDY_VISION: dict[str, Any] = {"patch_size": 8, "width": 128, "layers": 1, "head_width": 32}
"""The study's random image tower: the e2e bench's ViT at half its width (128 channels), on
48-pixel frames (36 patches instead of 100 at 80 pixels). Training cost is the tower's forward
over every frame a run renders; this tower embeds about 4.5 times faster than the e2e one
(measured: ~1 160 frames/s per thread, with its held-out head EPIC 0.26 on whole-track frames)."""


@dataclass(frozen=True)
class TrainedSettings:
    """A trained validity study (a study folder records them; other settings are refused).

    :ivar task: the task (its family must pass :func:`check_family`).
    :ivar variants: the family's variants in every stage (``{"full_track": True}``).
    :ivar size: frame side in pixels (the tower's input size).
    :ivar fit_states: frames of the box dataset the heads are fitted on.
    :ivar heldout_states: frames of the held-out box dataset (another seed).
    :ivar vision: the random tower's open_clip ``vision_cfg`` besides its input size.
    :ivar embed_dim: its embedding dimension.
    :ivar flips: fractions of rule labels flipped before fitting a head (0: the clean head).
    :ivar few_labels: sizes of the few-label heads' training sets (frames).
    :ivar alphas: α of the text-prompt candidates.
    :ivar steps: environment steps of each training run.
    :ivar seeds: training seeds per candidate.
    :ivar episodes: evaluation episodes per checkpoint.
    :ivar checkpoint_every: steps between checkpoints.
    :ivar reward_batch_size: frames embedded together in training.
    :ivar algo_kwargs: the learner's constructor arguments (the family's default algorithm).
    :ivar folds: folds of the clean head's nested cross-validation.
    :ivar l2_grid: the λ the heads' cross-validation tries.
    :ivar random_episodes: episodes of the random policy whose states give each reward's spread.
    :ivar bootstrap: resamples of every interval (0: none).
    :ivar seed: seed of the datasets, heads and bootstrap (trial seeds are ``seed … seed+seeds−1``).
    """

    task: str = "cartpole"
    variants: Mapping[str, bool] = field(default_factory=lambda: {"full_track": True})
    size: int = 48
    fit_states: int = 2000
    heldout_states: int = 1000
    vision: Mapping[str, Any] = field(default_factory=lambda: dict(STUDY_VISION))
    embed_dim: int = 128
    flips: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4)
    few_labels: tuple[int, ...] = (20, 100)
    alphas: tuple[float, ...] = (0.0, 0.5, 1.0)
    steps: int = 30_000
    seeds: int = 3
    episodes: int = 10
    checkpoint_every: int = 5000
    reward_batch_size: int = 1024
    algo_kwargs: Mapping[str, Any] = field(default_factory=lambda: dict(DQN_KWARGS))
    folds: int = 5
    l2_grid: tuple[float, ...] = L2_GRID
    random_episodes: int = 5
    bootstrap: int = 1000
    seed: int = 0

    def identity(self) -> dict[str, Any]:
        """The settings as JSON values (what a study folder records)."""
        values = asdict(self)
        values["variants"] = dict(self.variants)
        return json.loads(json.dumps(values))  # tuples as lists, as a folder reads them back

    def check(self) -> None:
        """Raise one sentence for settings that cannot run."""
        check_family(self.task)
        for what, value, least in (
            ("--seeds", self.seeds, 1),
            ("--steps", self.steps, 1),
            ("--episodes", self.episodes, 1),
            ("the frame size", self.size, 8),
        ):
            if value < least:
                raise EvalkitError(f"{what} must be at least {least}, not {value}.")
        if any(not 0 <= f < 0.5 for f in self.flips):
            raise EvalkitError("Label-flip fractions must lie in [0, 0.5); at 0.5 nothing is left.")
        if any(n < 2 * MIN_PER_CLASS for n in self.few_labels):
            raise EvalkitError(
                f"A few-label head needs at least {2 * MIN_PER_CLASS} labelled frames "
                f"({MIN_PER_CLASS} per class)."
            )
        if self.bootstrap < 0:
            raise EvalkitError(f"--bootstrap must be 0 or more, not {self.bootstrap}.")


CARTPOLE = TrainedSettings()
"""The default CartPole design (about 13 rewards × 3 seeds; under an hour on 2 cores)."""

CARTPOLE_QUICK = TrainedSettings(
    size=32,
    fit_states=300,
    heldout_states=200,
    vision={"patch_size": 8, "width": 32, "layers": 1, "head_width": 16},
    embed_dim=32,
    flips=(0.0, 0.2, 0.4),
    few_labels=(20,),
    alphas=(0.0, 1.0),
    steps=400,
    seeds=2,
    episodes=1,
    checkpoint_every=200,
    reward_batch_size=128,
    algo_kwargs={**DQN_KWARGS, "learning_starts": 100, "train_freq": 50, "gradient_steps": 5},
    folds=3,
    l2_grid=(1e-4, 1e-2),
    random_episodes=1,
    bootstrap=50,
)
"""Seconds per trial: tiny data, a tiny tower, a few hundred steps (nothing learns)."""


def check_family(task: str) -> None:
    """Refuse a task whose family cannot carry a trained study, naming what it lacks.

    :raises EvalkitError: an unknown task, or a family without rule labels for the task, a state
        box, a success criterion or training settings.
    """
    t = get_task(task)
    family = t.env
    missing = []
    if t.rule is None:
        missing.append("rule labels for the task")
    if family.sweep is None or not family.sweep.box:
        missing.append("a state box to sample datasets from")
    if family.success is None:
        missing.append("a success criterion")
    if family.training is None:
        missing.append("training settings")
    if missing:
        raise EvalkitError(
            f"A trained validity study of {task!r} needs {', '.join(missing)}, which the "
            f"{family.name} family does not define."
        )


def with_overrides(settings: TrainedSettings, **given: Any) -> TrainedSettings:
    """``settings`` with the options a user gave (``None``: keep the preset's)."""
    return replace(settings, **{k: v for k, v in given.items() if v is not None})
