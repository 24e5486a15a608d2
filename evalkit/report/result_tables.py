"""The report's result tables: saved EPIC rows and the metric panel grouped for the page, in the metric registry's order."""

from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from evalkit.metrics.registry import result_rows
from evalkit.pipeline.figures import (
    result_label,
)
from evalkit.text import fixed


def panel_groups(panel: pd.DataFrame) -> list[dict[str, Any]]:
    """The other metrics of the panel, one table per (task, dataset, label set): a row per
    reward (model, weights, α), a column per metric with its interval."""
    groups: list[dict[str, Any]] = []
    if panel.empty:
        return groups
    for (task, dataset, label_set), rows in panel.groupby(
        ["task", "dataset", "label_set"], sort=True
    ):
        metrics = _registry_order(rows["metric"])
        table = []
        keys = ["reward_source", "model", "pretrained", "alpha"]
        for key, group in rows.groupby(keys, sort=True, dropna=False):
            source, model, pretrained, alpha = key
            by_metric = {r["metric"]: r for _, r in group.iterrows()}
            cells = []
            for m in metrics:
                r = by_metric.get(m)
                if r is None:
                    cells.append("—")
                    continue
                ci = math.isfinite(float(r.get("ci_low", math.nan)))
                cells.append(
                    fixed(r["estimate"])
                    + (f" [{fixed(r['ci_low'])}, {fixed(r['ci_high'])}]" if ci else "")
                )
            table.append(
                {
                    "reward": result_label(source, model),
                    "pretrained": pretrained or "—",
                    "alpha": "—" if pd.isna(alpha) else f"{float(alpha):g}",
                    "cells": cells,
                    "random_weights": bool(
                        group["random_weights"].fillna(False).astype(bool).any()
                    ),
                }
            )
        known = result_rows()
        groups.append(
            {
                "task": task,
                "dataset": dataset,
                "label_set": label_set,
                "metrics": metrics,
                "titles": [known[m][1].axis_label if m in known else m for m in metrics],
                "rows": table,
            }
        )
    return groups


def _registry_order(names: pd.Series) -> list[str]:
    """Result row names in the registry's order (rows of metrics no longer registered last)."""
    order = {name: i for i, name in enumerate(result_rows())}
    present = list(dict.fromkeys(names))
    return sorted(present, key=lambda m: (order.get(m, len(order)), present.index(m)))


def epic_groups(epic: pd.DataFrame, order: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """The EPIC table as one group per (task, dataset, label set), rows ready for the template.

    :param order: ``(model, pretrained)`` pairs in the order their rows are listed (e.g. by
        size); other rewards follow, by name.
    """
    groups: list[dict[str, Any]] = []
    if epic.empty:
        return groups
    table = epic.copy()
    table["_model"] = [
        result_label(source, model)
        for source, model in zip(table["reward_source"].astype(str), table["model"].astype(str))
    ]
    rank = {pair: i for i, pair in enumerate(order)}
    table["_rank"] = [
        rank.get((m, p), len(rank)) for m, p in zip(table["model"], table["pretrained"])
    ]
    for (task, dataset, label_set), rows in table.groupby(
        ["task", "dataset", "label_set"], sort=True
    ):
        rows = rows.sort_values(
            ["_rank", "_model", "pretrained", "alpha"], na_position="first", kind="stable"
        )
        best = rows.groupby(["_model", "pretrained"])["distance"].transform("min")
        out = []
        for (_, r), is_best in zip(rows.iterrows(), (rows["distance"] == best).to_numpy()):
            has_ci = math.isfinite(float(r.get("ci_low", math.nan)))
            out.append(
                {
                    "model": r["_model"],
                    "pretrained": r["pretrained"] or "—",
                    "alpha": "—" if pd.isna(r["alpha"]) else f"{float(r['alpha']):g}",
                    "distance": fixed(r["distance"]),
                    "interval": f"[{fixed(r['ci_low'])}, {fixed(r['ci_high'])}]" if has_ci else "—",
                    "rho": fixed(r["rho"]),
                    "n_goal": int(r["n_goal"]),
                    "n_nongoal": int(r["n_nongoal"]),
                    "n_episodes": int(r["n_episodes"]),
                    "random_weights": bool(r.get("random_weights") or False),
                    "best": bool(is_best) and len(rows) > 1,
                }
            )
        groups.append({"task": task, "dataset": dataset, "label_set": label_set, "rows": out})
    return groups
