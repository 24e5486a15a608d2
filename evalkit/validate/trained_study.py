"""The trained validity study: does a reward's offline verdict predict how well RL trains on it?

``run_trained_study(settings, out)`` runs, in the study folder ``out``:

1. the shared stage (:mod:`evalkit.validate.trained_spectrum`; resumable, recorded in
   ``stages.json``): box datasets, a random tower, the candidate rewards;
2. the grid (:mod:`evalkit.validate.grid`): every (candidate, seed) trained and evaluated in
   ``trials/<candidate>-s<seed>/`` (:mod:`evalkit.validate.trained_trial`), on a local pool or
   on Ray; finished trials are reused, Ctrl-C keeps them, a failed trial is reported;
3. the offline verdicts (:mod:`evalkit.validate.trained_offline`), on-expert from the first
   ground-truth trial's rollouts;
4. each offline metric's Spearman and Kendall τ-b with each outcome (success rate and
   ground-truth return, mean over seeds, at the best and at the last checkpoint), with a
   bootstrap interval that resamples rewards (:func:`evalkit.validate.correlate.correlate`);
5. ``summary.json``, ``summary.md`` and ``validity.png``/``.svg``
   (:mod:`evalkit.validate.trained_summary`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from evalkit.bench.stages import STAGES_FILE, Stage, StageLog, run_stages
from evalkit.train.config import TrainConfig
from evalkit.validate.correlate import Correlation, correlate
from evalkit.validate.grid import GridOptions, GridProgress, GridResult, Trial
from evalkit.validate.study_folder import check_study_folder as refuse_other_studies
from evalkit.validate.trained_offline import (
    StateSet,
    candidate_config,
    metric_table,
    offline_verdicts,
)
from evalkit.validate.trained_settings import TrainedSettings
from evalkit.validate.trained_spectrum import (
    HELDOUT,
    Candidate,
    SharedLayout,
    build_candidates,
    collect_datasets,
    read_candidates,
    save_tower,
)
from evalkit.validate.trained_trial import CHECKPOINTS, read_outcome, train_and_evaluate

STUDY_KIND = "trained"
"""``summary.json``'s ``study`` field for this study."""
TRIALS = "trials"
OFFLINE_FILE = "offline.json"
OUTCOMES = {
    "success": ("success_rate", "success rate"),
    "return": ("gt_return_mean", "ground-truth return"),
}
"""Outcome name → (the field of a trial's checkpoint record, its words)."""
PRIMARY = "success (best)"
"""The outcome the summary's main table ranks by."""

Say = Callable[[str], None]


def check_study_folder(out: Path, settings: TrainedSettings) -> None:
    """Refuse a folder that holds something else or a study of other settings (one sentence).

    A folder with the same settings is resumed.
    """
    refuse_other_studies(out, STAGES_FILE, settings.identity(), STUDY_KIND)


def shared_stage(settings: TrainedSettings, out: Path, say: Say) -> list[Candidate]:
    """Run (or reuse) the shared stage; the candidates."""
    layout = SharedLayout(out / "shared")
    log = StageLog(out, settings.identity(), what="trained study")
    stages = [
        Stage(
            "datasets",
            f"{settings.fit_states} + {settings.heldout_states} states over the state box",
            lambda: collect_datasets(settings, layout),
        ),
        Stage(
            "tower",
            "a random-weight ViT; both datasets embedded",
            lambda: save_tower(settings, layout),
        ),
        Stage(
            "candidates",
            "fitting the heads; the spectrum of rewards",
            lambda: {"candidates": [c.name for c in build_candidates(settings, layout)]},
        ),
    ]
    run_stages(stages, log, say)
    return read_candidates(layout)


def is_ground_truth(settings: TrainedSettings, candidate: Candidate) -> bool:
    """Whether ``candidate`` is the environment's reward (no model scores frames)."""
    return not TrainConfig.from_dict(candidate_config(settings, candidate, 0)).model_reward


def trial_key(candidate: Candidate, seed: int) -> str:
    """The trial's folder name."""
    return f"{candidate.name}-s{seed}"


def study_trials(settings: TrainedSettings, candidates: list[Candidate]) -> list[Trial]:
    """Every (candidate, seed) trial: the ground truth's first seed first (the on-expert states
    need it), then seed by seed (an interrupted study has every reward at its first seeds)."""
    seeds = range(settings.seed, settings.seed + settings.seeds)
    pairs = sorted(
        ((c, seed) for seed in seeds for c in candidates),
        key=lambda p: not (is_ground_truth(settings, p[0]) and p[1] == settings.seed),
    )
    trials = []
    for c, seed in pairs:
        kwargs = {
            "config": candidate_config(settings, c, seed),
            "episodes": settings.episodes,
            "keep_rollouts": is_ground_truth(settings, c) and seed == settings.seed,
        }
        trials.append(Trial(trial_key(c, seed), train_and_evaluate, kwargs))
    return trials


def expert_states(
    settings: TrainedSettings, candidates: list[Candidate], trials: Path
) -> tuple[StateSet | None, str]:
    """The first ground-truth trial's evaluation rollouts, or ``None`` and why."""
    from evalkit.data.store import open_dataset

    gt = next(c for c in candidates if is_ground_truth(settings, c))
    folder = trials / trial_key(gt, settings.seed)
    try:
        rollouts = read_outcome(folder)["best"]["rollouts"]
    except (OSError, ValueError, KeyError):
        return None, f"the ground-truth trial {folder.name} did not finish"
    ds = open_dataset(folder / rollouts)
    return StateSet(np.asarray(ds.frames), ds.states, ds.episodes), ""


@dataclass
class Outcomes:
    """Each candidate's outcomes over its finished seeds.

    :ivar names: the candidates, in study order.
    :ivar mean: outcome (``success (best)``...) → ``(K,)`` mean over seeds (NaN: no finished seed).
    :ivar std: the same, standard deviation over seeds.
    :ivar per_seed: candidate → outcome → values of its finished seeds.
    """

    names: list[str]
    mean: dict[str, np.ndarray] = field(default_factory=dict)
    std: dict[str, np.ndarray] = field(default_factory=dict)
    per_seed: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def read_outcomes(settings: TrainedSettings, candidates: list[Candidate], trials: Path) -> Outcomes:
    """The outcomes of every finished trial under ``trials``."""
    result = Outcomes([c.name for c in candidates])
    for c in candidates:
        seeds: dict[str, list[float]] = {}
        for seed in range(settings.seed, settings.seed + settings.seeds):
            folder = trials / trial_key(c, seed)
            if not (folder / "trial.json").is_file():
                continue
            record = read_outcome(folder)
            for checkpoint in CHECKPOINTS:
                for name, (key, _) in OUTCOMES.items():
                    seeds.setdefault(f"{name} ({checkpoint})", []).append(
                        float(record[checkpoint][key])
                    )
        result.per_seed[c.name] = seeds
    for checkpoint in CHECKPOINTS:
        for name in OUTCOMES:
            outcome = f"{name} ({checkpoint})"
            vals = [result.per_seed[n].get(outcome, []) for n in result.names]
            result.mean[outcome] = np.array([np.mean(v) if v else np.nan for v in vals])
            result.std[outcome] = np.array([np.std(v) if v else np.nan for v in vals])
    return result


def correlations(
    metrics: dict[str, np.ndarray], outcome: np.ndarray, settings: TrainedSettings
) -> list[Correlation]:
    """Each metric's Spearman and Kendall τ-b with ``outcome`` over the candidates, with a
    bootstrap interval that resamples candidates (each reward its own block)."""
    trained = np.isfinite(outcome)
    k = int(trained.sum())
    out = []
    for name, values in metrics.items():
        out.append(
            correlate(
                name,
                values[trained][:, None],
                outcome[trained][:, None],
                np.arange(k),
                n_bootstrap=settings.bootstrap,
                seed=settings.seed,
            )
        )
    return out


@dataclass
class TrainedStudy:
    """A finished (or partly finished) trained study."""

    settings: TrainedSettings
    candidates: list[Candidate]
    offline: dict[str, dict[str, Any]]
    metrics: dict[str, np.ndarray]
    outcomes: Outcomes
    correlations: dict[str, list[Correlation]]
    grid: GridResult


def run_trained_study(
    settings: TrainedSettings,
    out: str | Path,
    options: GridOptions = GridOptions(),
    say: Say = print,
    progress: Callable[[GridProgress], None] | None = None,
) -> TrainedStudy:
    """Run (or resume) the study into ``out`` and write its summary; the study.

    :raises KeyboardInterrupt: Ctrl-C / SIGTERM during the grid (finished trials are kept).
    """
    settings.check()
    options.check()  # a Ray address that does not answer fails before the shared stage
    folder = Path(out).absolute()  # heads and runs record these paths
    check_study_folder(folder, settings)
    folder.mkdir(parents=True, exist_ok=True)
    candidates = shared_stage(settings, folder, say)
    say(f"grid: {len(candidates)} rewards × {settings.seeds} seeds")
    grid = options.run(study_trials(settings, candidates), folder / TRIALS, progress=progress)
    for key, error in grid.failed.items():
        say(f"trial {key} failed: {error.splitlines()[0]}")
    offline = offline_stage(settings, candidates, folder, say)
    names = [c.name for c in candidates]
    metrics = metric_table(offline, names)
    outcomes = read_outcomes(settings, candidates, folder / TRIALS)
    corr = {o: correlations(metrics, outcomes.mean[o], settings) for o in outcomes.mean}
    study = TrainedStudy(settings, candidates, offline, metrics, outcomes, corr, grid)
    from evalkit.validate.trained_summary import write_summary

    write_summary(study, folder)
    return study


def offline_stage(
    settings: TrainedSettings, candidates: list[Candidate], folder: Path, say: Say
) -> dict[str, dict[str, Any]]:
    """The offline verdicts (cached in ``shared/offline.json`` once the expert's states exist)."""
    from evalkit.data.store import open_dataset
    from evalkit.fileio import atomic_write_text

    cache = folder / "shared" / OFFLINE_FILE
    if cache.is_file():
        return json.loads(cache.read_text())
    say("offline metrics: held-out, on-expert, spread on random states")
    expert, reason = expert_states(settings, candidates, folder / TRIALS)
    ds = open_dataset(HELDOUT, SharedLayout(folder / "shared").datasets)
    heldout = StateSet(np.asarray(ds.frames), ds.states, ds.episodes)
    offline = offline_verdicts(settings, candidates, heldout, expert, reason)
    if expert is not None:  # without it, a rerun computes them again
        atomic_write_text(json.dumps(offline, indent=2) + "\n", cache)
    return offline
