"""Goal EPIC (:func:`evalkit.metrics.goal.epic_goal_columns`, unchanged) in the panel's result form.

``estimate`` is the distance ``sqrt(½(1 − ρ))`` and ``interval`` its interval; ``details``
carries ``rho``, ``rho_interval``, ``n_goal``, ``n_nongoal``, ``n_goal_episodes``, ``weighted``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from evalkit.metrics.goal import epic_goal_columns
from evalkit.metrics.metric_result import MetricResult
from evalkit.metrics.results import GoalEpicResult


def as_metric_result(res: GoalEpicResult) -> MetricResult:
    """A :class:`GoalEpicResult` as a :class:`MetricResult` (``metric="epic"``)."""
    return MetricResult(
        metric="epic",
        estimate=res.distance,
        interval=res.interval,
        method=res.method,
        ci_method=res.ci_method,
        confidence=res.confidence,
        n=res.n_frames,
        n_episodes=res.n_episodes,
        n_bootstrap=res.n_bootstrap,
        n_degenerate=res.n_degenerate,
        seed=res.seed,
        name=res.name,
        details={
            "rho": res.rho,
            "rho_interval": res.rho_interval,
            "n_goal": res.n_goal,
            "n_nongoal": res.n_nongoal,
            "n_goal_episodes": res.n_goal_episodes,
            "weighted": res.weighted,
        },
    )


def goal_epic(
    rewards: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    episodes: np.ndarray | None = None,
    *,
    n_bootstrap: int = 2000,
    ci_method: str = "bca",
    confidence: float = 0.95,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> list[MetricResult]:
    """Goal EPIC distance of each reward column to 0/1 labels, as :class:`MetricResult` objects."""
    return [
        as_metric_result(r)
        for r in epic_goal_columns(
            rewards,
            labels,
            weights,
            episodes,
            n_bootstrap=n_bootstrap,
            ci_method=ci_method,
            confidence=confidence,
            seed=seed,
            names=names,
        )
    ]
