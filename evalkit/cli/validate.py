"""``evalkit validate``: does an offline metric's verdict predict the outcome of training?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from evalkit.validate.grid import GridProgress

from evalkit.cli._app import app, console
from evalkit.cli._common import check_bootstrap, seed_option
from evalkit.cli._grid import GPUS_PER_TRIAL_OPTION, RAY_OPTION, WORKERS_OPTION, grid_options

validate_app = typer.Typer(
    help="Does the offline verdict predict training? Studies that rank rewards by a metric and by the outcome of optimising them.",
    no_args_is_help=True,
)
app.add_typer(validate_app, name="validate")


@validate_app.command()
def tabular(
    mdps: int = typer.Option(
        50, "--mdps", help="Random MDPs (each used with a dense and a goal ground truth)."
    ),
    states: int = typer.Option(32, "--states", help="States per MDP."),
    actions: int = typer.Option(4, "--actions", help="Actions per state."),
    gamma: float = typer.Option(0.9, "--gamma", help="Discount γ, in [0, 1)."),
    branching: int = typer.Option(
        4,
        "--branching",
        help="Next states reachable from each state and action (sparse Dirichlet transitions).",
    ),
    seed: Optional[int] = seed_option(0, "Seed of the MDPs, rewards and bootstrap."),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", help="Bootstrap resamples of MDPs for the intervals (0: none)."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        help="Study folder (default: reports/validate-tabular under $EVALKIT_REPORTS).",
    ),
) -> None:
    """Exact study on random finite MDPs: which metric ranks rewards by regret?

    For each random MDP and each ground truth (dense R(s, a, s′), and 1 on a set of goal
    states) a spectrum of candidate rewards: noise interpolations, potential-shaped, scaled
    and shifted copies (regret 0: the invariance rows), partial sign flips, state-only
    prototypes overlapping the goal set, a random reward, and decoys rewarding states a
    half-coverage dataset never visits. Each candidate's outcome is the exact normalised
    regret of its optimal policy under the ground truth (0: optimal, 1: the worst policy).
    Metrics: general EPIC (uniform and half coverage), STARC, the goal metrics (state-only
    candidates of goal truths), and naive Pearson and L2 of raw rewards.

    Prints each metric's Spearman and Kendall τ-b with regret (95 % bootstrap interval over
    MDPs) and writes summary.json, summary.md, validity.png/.svg and mdps.npz (every array
    needed to recompute the numbers with plain numpy) to --out.
    """
    from evalkit.config import reports_root
    from evalkit.validate.tabular import (
        TabularSettings,
        check_study_folder,
        run_tabular_study,
        summary_markdown,
        write_study,
    )

    settings = TabularSettings(
        n_mdps=mdps,
        n_states=states,
        n_actions=actions,
        gamma=gamma,
        branching=branching,
        seed=seed if seed is not None else 0,
        n_bootstrap=check_bootstrap(bootstrap),
    )
    settings.check()
    target = out if out is not None else reports_root() / "validate-tabular"
    check_study_folder(target, settings)
    err = console(stderr=True)
    with err.status("building MDPs and rewards") as status:

        def progress(stage: str, done: int, total: int) -> None:
            status.update(f"{stage}: {done}/{total}")

        study = run_tabular_study(settings, progress)
        status.update("writing the study folder")
        write_study(study, target)
    console().print(summary_markdown(study), markup=False)
    err.print(f"Wrote {target}")


@validate_app.command()
def cartpole(
    seeds: Optional[int] = typer.Option(
        None, "--seeds", min=1, help="Training seeds per reward (default 3; --quick: 2)."
    ),
    steps: Optional[int] = typer.Option(
        None, "--steps", min=1, help="Environment steps per training run (default 30000)."
    ),
    episodes: Optional[int] = typer.Option(
        None, "--episodes", min=1, help="Evaluation episodes per checkpoint (default 10)."
    ),
    bootstrap: Optional[int] = typer.Option(
        None, "--bootstrap", help="Bootstrap resamples of every interval (default 1000; 0: none)."
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Tiny data, a tiny tower and a few hundred steps: seconds per trial, for tests and a first look (nothing learns).",
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        help="Study folder (default: reports/validate-cartpole under $EVALKIT_REPORTS); rerunning with the same settings resumes it.",
    ),
    workers: Optional[int] = WORKERS_OPTION,
    ray: Optional[str] = RAY_OPTION,
    gpus_per_trial: Optional[float] = GPUS_PER_TRIAL_OPTION,
) -> None:
    """Train a spectrum of CartPole rewards: does the offline verdict predict the outcome?

    Shared stage (once per study folder): a box dataset of CartPole states to fit heads on and
    a held-out one, a random-weight ViT, and the rewards: heads on the rule labels with 0, 10,
    20, 30 and 40 % of labels flipped, heads on 20 and 100 labelled frames, the inverted head,
    the tower's text prompts at α = 0, 0.5 and 1, a frame prototype of the goal frames, and
    the ground truth (the ceiling).

    Offline, for each reward: the metric panel (EPIC, AUC, ... with intervals) on the held-out
    dataset and on a ground-truth policy's states, and its spread on a random policy's states.
    Then each (reward, seed) is trained with DQN and evaluated (success rate, ground-truth
    return; best and last checkpoint), on --workers local processes or on Ray (--ray).

    Prints and writes (to --out) each metric's Spearman and Kendall τ-b with the outcome
    (95 % bootstrap interval over rewards): summary.json, summary.md, validity.png/.svg.
    Ctrl-C keeps finished trials; rerun the same command to resume.
    """
    run_trained_command(
        "cartpole", seeds, steps, episodes, bootstrap, quick, out, workers, ray, gpus_per_trial
    )


def run_trained_command(
    task: str,
    seeds: Optional[int],
    steps: Optional[int],
    episodes: Optional[int],
    bootstrap: Optional[int],
    quick: bool,
    out: Optional[Path],
    workers: Optional[int],
    ray: Optional[str],
    gpus_per_trial: Optional[float],
) -> None:
    """Run the trained study of ``task`` as the command's options say."""
    import dataclasses

    from evalkit.config import reports_root
    from evalkit.validate.trained_settings import CARTPOLE, CARTPOLE_QUICK, with_overrides
    from evalkit.validate.trained_study import check_study_folder, run_trained_study
    from evalkit.validate.trained_summary import SUMMARY_MD

    options = grid_options(workers, ray, gpus_per_trial)
    preset = dataclasses.replace(CARTPOLE_QUICK if quick else CARTPOLE, task=task)
    settings = with_overrides(
        preset,
        seeds=seeds,
        steps=steps,
        episodes=episodes,
        bootstrap=None if bootstrap is None else check_bootstrap(bootstrap),
    )
    settings.check()
    target = out if out is not None else reports_root() / f"validate-{task}"
    check_study_folder(target.absolute(), settings)
    err = console(stderr=True)
    with err.status("starting") as status:

        def say(line: str) -> None:
            err.print(line, markup=False)

        def progress(p: GridProgress) -> None:
            status.update(f"trials: {p.line()}")

        run_trained_study(settings, target, options, say=say, progress=progress)
    console().print((target / SUMMARY_MD).read_text(), markup=False)
    err.print(f"Wrote {target}")
