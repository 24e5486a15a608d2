"""The report's training runs: every run under the runs root (and any folder given), with its
summary numbers, its evaluation and its learning curves (:mod:`evalkit.train.learning_curves`).

A folder that is not a run, or whose files cannot be read, is a note on the page, never a failed
report. An evaluation of a checkpoint other than the one ``evalkit evaluate`` picks now (the run
trained on after it) is stale: left out of the table, with a note and the command to refresh it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from evalkit.errors import EvalkitError
from evalkit.text import fixed, significant

if TYPE_CHECKING:  # evalkit.train loads stable-baselines3 and torch: only when there are runs
    from evalkit.train.run_index import RunSummary


@dataclass(frozen=True)
class RunEntry:
    """A run shown in the report: its summary and the evaluation of its picked checkpoint."""

    summary: "RunSummary"
    evaluation: dict[str, Any] | None = None


def _checkpoint_stem(step: int) -> str:
    return f"step_{step:09d}"


def _evaluation(summary: RunSummary, notes: list[str]) -> dict[str, Any] | None:
    """The saved evaluation of the checkpoint ``evalkit evaluate`` picks now (``None``: none);
    one of another checkpoint is stale, and noted."""
    from evalkit.train.evaluate import EVAL_DIR, REPORT_FILE  # torch: only when there are runs

    folder = Path(summary.path) / EVAL_DIR
    done = sorted(p.parent.name for p in folder.glob(f"*/{REPORT_FILE}"))
    if summary.evaluated_step is None or not done:
        return None
    wanted = _checkpoint_stem(summary.evaluated_step)
    if wanted not in done:
        notes.append(
            f"run {summary.name}: its evaluation ({', '.join(done)}) is not of the checkpoint "
            f"'evalkit evaluate' picks now ({wanted}), so it is not shown; refresh: "
            f"evalkit evaluate {summary.path}"
        )
        return None
    try:
        return json.loads((folder / wanted / REPORT_FILE).read_text())
    except (OSError, ValueError) as exc:
        notes.append(f"run {summary.name}: its evaluation {wanted} cannot be read ({exc}).")
        return None


def gather_runs(folders: Sequence[str | Path]) -> tuple[list[RunEntry], list[str]]:
    """The runs found in ``folders`` (each a run, or a folder of runs), once each, and notes on
    what was skipped."""
    if not folders:
        return [], []
    from evalkit.train.run_index import find_runs, summarize_run  # torch: only when there are runs

    entries: list[RunEntry] = []
    notes: list[str] = []
    seen: set[Path] = set()
    for folder in folders:
        try:
            paths = find_runs(folder)
        except EvalkitError as exc:
            notes.append(f"runs folder {folder} was skipped: {exc}")
            continue
        for path in paths:
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                summary = summarize_run(path)
            except EvalkitError as exc:
                notes.append(f"run folder {path.name} was skipped: {exc}")
                continue
            entries.append(RunEntry(summary, _evaluation(summary, notes)))
    return entries, notes


def _reward_epic(evaluation: dict[str, Any]) -> str:
    for m in evaluation.get("reward_metrics") or []:
        if m.get("metric") == "epic" and "estimate" in m:
            return fixed(m["estimate"])
    return "—"


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:-])/[^\s(),;]+")
_RANDOM_NOTE = " — "


def short_reward(description: str) -> str:
    """A reward's description as a table shows it: each absolute path by its file name, and
    without the trailing note on random weights (the table tags those apart).

    :param description: the run's full reward description (``RunSummary.reward``).
    """
    text = description.split(_RANDOM_NOTE, 1)[0]
    return _ABSOLUTE_PATH.sub(lambda m: Path(m.group(0).rstrip("/")).name or "/", text)


def run_rows(entries: Sequence[RunEntry]) -> list[dict[str, Any]]:
    """The runs table's rows, ready for the template: ``reward`` is the short name, and
    ``reward_full`` the full identity (shown on demand)."""
    rows = []
    for e in entries:
        s, ev = e.summary, e.evaluation
        rows.append(
            {
                "name": s.name,
                "path": s.path,
                "task": s.task,
                "algo": s.algo.upper(),
                "reward": short_reward(s.reward),
                "reward_full": s.reward,
                "steps": f"{s.steps_done} / {s.steps_planned}",
                "best_gt": significant(s.best_gt_return),
                "fidelity": fixed(s.last_fidelity_epic),
                "status": s.status,
                "picked": "—" if s.evaluated_step is None else str(s.evaluated_step),
                "eval_success": "—" if ev is None else f"{ev['success_rate']:.0%}",
                "eval_gt": "—" if ev is None else significant(ev["gt_return_mean"]),
                "eval_epic": "—" if ev is None else _reward_epic(ev),
                "random_weights": s.reward_is_random,
            }
        )
    return rows
