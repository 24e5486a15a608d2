"""Synthetic results tables for the figure tests (no torch, no datasets)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
# The paper's four models with the parameter counts of their open_clip configurations.
MODELS = {
    "RN50": 102_007_137,
    "ViT-L-14": 427_616_513,
    "ViT-H-14": 986_109_185,
    "ViT-bigG-14": 2_539_567_362,
}


def landscape_table(alphas=ALPHAS, n: int = 121, seed: int = 0) -> pd.DataFrame:
    """Rewards peaked at angle 0 on a different scale and offset for every α."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-math.pi / 2, math.pi / 2, n)
    parts = []
    for i, a in enumerate(alphas):
        shape = np.cos(x) ** (1 + 2 * a) + 0.05 * rng.standard_normal(n)
        parts.append(
            pd.DataFrame(
                {"state_value": x, "alpha": a, "reward": 0.2 + 0.01 * i + (0.02 + 0.3 * a) * shape}
            )
        )
    return pd.concat(parts, ignore_index=True)


def scaling_table(
    alphas=ALPHAS, slope: float = -0.06, intercept: float = 1.15, seed: int = 0
) -> pd.DataFrame:
    """EPIC distances exactly log-linear in the parameter count (+ a small α effect)."""
    rows = []
    for model, params in MODELS.items():
        for a in alphas:
            d = intercept + slope * math.log10(params) - 0.02 * a * (1 - a)
            rows.append(
                {
                    "model": model,
                    "params": params,
                    "alpha": a,
                    "distance": d,
                    "low": d - 0.015,
                    "high": d + 0.02,
                }
            )
    return pd.DataFrame(rows)


def histogram_data(n: int = 600, p_goal: float = 0.15, gap: float = 0.03, seed: int = 0):
    """Rewards of goal frames ``gap`` higher on average than non-goal frames."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < p_goal
    rewards = 0.22 + gap * labels + 0.01 * rng.standard_normal(n)
    return rewards, labels
