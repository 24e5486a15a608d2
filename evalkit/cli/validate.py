"""``evalkit validate``: does an offline metric's verdict predict the outcome of training?"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalkit.cli._app import app, console
from evalkit.cli._common import check_bootstrap, seed_option

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
