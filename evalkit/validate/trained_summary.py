"""The trained study's folder outputs: ``summary.json`` (read by ``evalkit report``),
``summary.md`` with the table and one sentence generated from the numbers, and the figure
``validity.png``/``.svg`` (each metric against success, error bars over seeds)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.fileio import atomic_write_text
from evalkit.metrics import get_result_row
from evalkit.tasks import get_task
from evalkit.validate.correlate import Correlation
from evalkit.validate.trained_offline import SPREAD

if TYPE_CHECKING:
    from evalkit.validate.trained_study import TrainedStudy

SUMMARY = "summary.json"
SUMMARY_MD = "summary.md"
FIGURE = "validity"
LEAD_METRIC = "epic (held-out)"
"""The metric the summary's sentence leads with (when the study has it)."""


def base_metric(row: str) -> str:
    """``epic`` of ``epic (held-out)``."""
    return row.split(" (", 1)[0]


def higher_is_better(row: str) -> bool:
    """The direction of a better reward for an offline metric row (a larger spread: better)."""
    if row == SPREAD:
        return True
    try:
        return get_result_row(base_metric(row))[1].higher_is_better
    except EvalkitError:
        return True


def agreement(c: Correlation) -> float:
    """Kendall τ-b with the outcome, signed so that positive means "the metric's better
    direction goes with a better outcome"."""
    return c.kendall if higher_is_better(c.metric) else -c.kendall


def best_metric(rows: list[Correlation]) -> str | None:
    """The metric whose verdict agrees best with the outcome (direction-adjusted τ-b)."""
    ranked = [c for c in rows if np.isfinite(c.kendall)]
    return max(ranked, key=agreement).metric if ranked else None


def _num(value: float, interval: Any = None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:+.2f}"
    if interval is not None:
        text += f" [{interval[0]:+.2f}, {interval[1]:+.2f}]"
    return text.replace("-", "−")


def verdict_sentence(study: "TrainedStudy", outcome: str) -> str:
    """One sentence a user can act on, from the numbers: how the lead metric and the best one
    rank the trained rewards by ``outcome`` (by the ground-truth return where ``outcome`` did
    not vary across the rewards)."""
    title = get_task(study.settings.task).env.title or study.settings.task
    mean = study.outcomes.mean[outcome]
    trained = mean[np.isfinite(mean)]
    if len(trained) < 3:
        return (
            f"On {title}, {len(trained)} rewards finished training; a rank correlation needs at "
            "least 3, so no metric could be compared with the outcome yet."
        )
    prefix = f"On {title} ({len(trained)} rewards trained, {study.settings.seeds} seeds each), "
    if np.ptp(trained) == 0:
        fallback = outcome.replace("success", "return")
        prefix += (
            f"every reward reached the same {outcome} ({trained[0]:.3g}), so the ranking is by "
            f"ground-truth return instead: "
        )
        outcome = fallback
    rows = study.correlations[outcome]
    by_name = {c.metric: c for c in rows}
    lead = by_name.get(LEAD_METRIC) or rows[0]
    best = by_name.get(best_metric(rows) or "", lead)
    what = outcome.split(" ", 1)[0]

    def part(c: Correlation) -> str:
        direction = "higher" if higher_is_better(c.metric) else "lower"
        return (
            f"{c.metric} ranks the {c.n_rows} rewards by {what} with Spearman "
            f"{_num(c.spearman, c.spearman_interval)} (a {direction} value is the better verdict)"
        )

    text = prefix + part(lead)
    if best.metric != lead.metric:
        text += (
            f"; the metric that agrees best is {best.metric}, Spearman "
            f"{_num(best.spearman, best.spearman_interval)}"
        )
    interval = lead.spearman_interval
    if interval is not None and interval[0] <= 0 <= interval[1]:
        text += (
            f"; the interval of {lead.metric} includes 0, so this study cannot tell whether it "
            f"predicts {what}"
        )
    return text + "."


def summary_dict(study: "TrainedStudy") -> dict[str, Any]:
    """Everything ``summary.json`` holds (the report reads ``study``, ``settings``,
    ``correlations``, ``metrics``, ``best_metric`` and ``outcome``)."""
    names = study.outcomes.names
    rows = study.correlations.get(PRIMARY_OUTCOME, [])
    grid = study.grid
    return {
        "study": "trained",
        "task": study.settings.task,
        "settings": study.settings.identity(),
        "outcome": "success rate of the best checkpoint (highest training reward), mean over seeds",
        "n_rewards": len(names),
        "metrics": {m: _description(m) for m in study.metrics},
        "correlations": [c.to_dict() for c in rows],
        "correlations_by_outcome": {
            o: [c.to_dict() for c in cs] for o, cs in study.correlations.items()
        },
        "best_metric": best_metric(rows),
        "sentence": verdict_sentence(study, PRIMARY_OUTCOME),
        "candidates": [
            {
                **c.to_dict(),
                "offline": {m: _finite(v[i]) for m, v in study.metrics.items()},
                "outcomes": {
                    o: {
                        "mean": _finite(study.outcomes.mean[o][i]),
                        "std": _finite(study.outcomes.std[o][i]),
                    }
                    for o in study.outcomes.mean
                },
                "per_seed": study.outcomes.per_seed.get(c.name, {}),
            }
            for i, c in enumerate(study.candidates)
        ],
        "offline_detail": study.offline,
        "trials": {
            "finished": sorted(grid.finished),
            "reused": sorted(grid.reused),
            "failed": grid.failed,
            "seconds": grid.seconds,
        },
    }


PRIMARY_OUTCOME = "success (best)"


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float (an undefined correlation) as ``None``: strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _description(row: str) -> str:
    if row == SPREAD:
        return "standard deviation of the reward on a random policy's states"
    try:
        metric, result_row = get_result_row(base_metric(row))
    except EvalkitError:
        return ""
    where = row[len(base_metric(row)) :].strip(" ()")
    return f"{result_row.label} on the {where} states ({metric.description})"


def summary_markdown(study: "TrainedStudy") -> str:
    """``summary.md``: the sentence, the correlation table, the rewards and their outcomes."""
    s = study.settings
    names = study.outcomes.names
    lines = [
        f"# Does the offline verdict predict training? ({s.task})",
        "",
        verdict_sentence(study, PRIMARY_OUTCOME),
        "",
        f"{len(names)} rewards × {s.seeds} seeds, {s.steps} steps each, {s.size}-pixel frames; "
        f"outcome: success rate (the family's criterion) and ground-truth return over "
        f"{s.episodes} evaluation episodes, mean over seeds. Rank correlations over rewards, "
        f"95 % bootstrap interval resampling rewards ({s.bootstrap} resamples).",
        "",
        "| metric | better | rewards | Spearman (success, best) | Kendall τ-b (success, best) "
        "| Spearman (return, best) | Spearman (success, last) |",
        "|---|---|---|---|---|---|---|",
    ]
    by = {o: {c.metric: c for c in cs} for o, cs in study.correlations.items()}
    for c in study.correlations.get(PRIMARY_OUTCOME, []):
        ret = by.get("return (best)", {}).get(c.metric)
        last = by.get("success (last)", {}).get(c.metric)
        lines.append(
            f"| {c.metric} | {'higher' if higher_is_better(c.metric) else 'lower'} | {c.n_rows} | "
            f"{_num(c.spearman, c.spearman_interval)} | {_num(c.kendall, c.kendall_interval)} | "
            f"{_num(ret.spearman, ret.spearman_interval) if ret else 'n/a'} | "
            f"{_num(last.spearman, last.spearman_interval) if last else 'n/a'} |"
        )
    lines += [
        "",
        "| reward | what | held-out EPIC | spread | success (best) | return (best) | success (last) |",
        "|---|---|---|---|---|---|---|",
    ]
    epic = study.metrics.get(LEAD_METRIC, np.full(len(names), np.nan))
    o = study.outcomes
    for i, c in enumerate(study.candidates):
        lines.append(
            f"| {c.name} | {c.description} | {_plain(epic[i])} | {_plain(study.metrics[SPREAD][i])} | "
            f"{_pm(o.mean['success (best)'][i], o.std['success (best)'][i])} | "
            f"{_pm(o.mean['return (best)'][i], o.std['return (best)'][i])} | "
            f"{_pm(o.mean['success (last)'][i], o.std['success (last)'][i])} |"
        )
    if study.grid.failed:
        lines += ["", "Failed trials (left out of the outcomes):", ""]
        lines += [f"- {k}: {v.splitlines()[0]}" for k, v in sorted(study.grid.failed.items())]
    secs = list(study.grid.seconds.values())
    if secs:
        lines += [
            "",
            f"Trials finished in this run: {len(secs)}, {np.mean(secs):.0f} s each on average "
            f"({min(secs):.0f}–{max(secs):.0f} s).",
        ]
    lines += ["", f"Figure: {FIGURE}.png (each metric against success, error bars over seeds)."]
    return "\n".join(lines) + "\n"


def _plain(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.3g}"


def _pm(mean: float, std: float) -> str:
    return "—" if not np.isfinite(mean) else f"{mean:.3g} ± {std:.2g}"


def write_summary(study: "TrainedStudy", folder: Path) -> None:
    """Write ``summary.json``, ``summary.md`` and the figure into the study folder."""
    from evalkit.plots.validity import plot_outcome_validity  # matplotlib only when writing

    body = json.dumps(strict_json(summary_dict(study)), indent=2, allow_nan=False)
    atomic_write_text(body + "\n", folder / SUMMARY)
    atomic_write_text(summary_markdown(study), folder / SUMMARY_MD)
    rows = {c.metric: c.spearman for c in study.correlations.get(PRIMARY_OUTCOME, [])}
    plot_outcome_validity(
        study.metrics,
        study.outcomes.mean[PRIMARY_OUTCOME],
        study.outcomes.std[PRIMARY_OUTCOME],
        np.array([c.group for c in study.candidates]),
        rows,
        "success rate (best checkpoint)",
        folder / FIGURE,
        ylim=(-0.05, 1.05),
    )
