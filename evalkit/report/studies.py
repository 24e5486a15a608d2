"""The report's validity studies: the folders ``evalkit validate`` wrote under the reports root
(and any folder given), each shown as its table of rank correlations between an offline metric
and the outcome of optimising the reward, with its figure.

A study folder holds ``summary.json`` with a ``study`` field (``"tabular"``, ``"trained"``), its
``settings``, one row per metric in ``correlations`` and, where it is not regret, its ``outcome``; the report reads only that file and the figure
``validity.png``/``.svg`` beside it, so it never imports the study code. A folder whose summary
cannot be read is a note on the page, never a failed report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from evalkit.text import fixed

SUMMARY = "summary.json"
FIGURE_STEM = "validity"

REGRET_OUTCOME = "normalised regret of the candidate's optimal policy under the ground truth"
"""The outcome of a study whose summary names none (the tabular study's)."""

KIND_TITLES = {
    "tabular": "exact regret on random tabular MDPs",
    "trained": "rewards of graded quality trained with RL, outcome measured",
}
"""How the page names each kind of study (a kind it does not know is shown by its name)."""


class NotAStudy(ValueError):
    """A folder whose readable ``summary.json`` belongs to something else (a benchmark, ...)."""


@dataclass(frozen=True)
class StudyRow:
    """One metric of a study: its rank correlations with the outcome, formatted for the page."""

    metric: str
    description: str
    rows: int
    spearman: str
    kendall: str
    per_problem: str
    best: bool


@dataclass(frozen=True)
class StudyEntry:
    """A study shown in the report."""

    name: str
    path: Path
    kind: str
    settings: str
    outcome: str
    rows: list[StudyRow] = field(default_factory=list)
    best: str = ""
    sentence: str = ""

    @property
    def title(self) -> str:
        """``name: what the study measures``."""
        return f"{self.name}: {KIND_TITLES.get(self.kind, self.kind)}"

    def figure(self, suffix: str) -> Path | None:
        """The study's own figure file (``.png``/``.svg``), or ``None``."""
        path = self.path / f"{FIGURE_STEM}{suffix}"
        return path if path.is_file() else None


def _with_interval(value: Any, interval: Any) -> str:
    """``+0.954 [+0.95, +0.96]`` (signed, 3 decimals; the interval at 2), ``—`` when undefined."""
    if not isinstance(value, (int, float)) or value != value:
        return "—"
    text = f"{value:+.3f}"
    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        low, high = interval
        text += f" [{low:+.2f}, {high:+.2f}]"
    return text


def _settings_text(settings: dict[str, Any]) -> str:
    """``n_mdps=50, n_states=32, …`` in the summary's order."""
    return ", ".join(f"{k}={fixed(v) if isinstance(v, float) else v}" for k, v in settings.items())


def read_study(folder: Path) -> StudyEntry:
    """The study in ``folder`` (its ``summary.json``).

    :raises ValueError: not a study folder, or a summary that cannot be read.
    """
    try:
        summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"its {SUMMARY} cannot be read ({exc})") from None
    if not isinstance(summary, dict) or "study" not in summary:
        raise NotAStudy(f"its {SUMMARY} is not a study's (no 'study' field)")
    try:
        best = str(summary.get("best_metric", ""))
        descriptions = summary.get("metrics", {})
        rows = [
            StudyRow(
                metric=c["metric"],
                description=str(descriptions.get(c["metric"], "")),
                rows=int(c["n_rows"]),
                spearman=_with_interval(c["spearman"], c.get("spearman_interval")),
                kendall=_with_interval(c["kendall"], c.get("kendall_interval")),
                per_problem=_with_interval(c["per_mdp_spearman"], c.get("per_mdp_interval")),
                best=c["metric"] == best,
            )
            for c in summary["correlations"]
        ]
        settings = summary.get("settings", {})
        entry = StudyEntry(
            name=folder.name,
            path=folder,
            kind=str(summary["study"]),
            settings=_settings_text(settings if isinstance(settings, dict) else {}),
            outcome=str(summary.get("outcome", REGRET_OUTCOME)),
            rows=rows,
            best=best,
            sentence=str(summary.get("sentence", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"its {SUMMARY} lacks a field the report needs ({exc})") from None
    return entry


def gather_studies(
    root: Path | None, extra: Sequence[str | Path] = ()
) -> tuple[list[StudyEntry], list[str]]:
    """Every study folder directly under ``root`` (skipped if it does not exist) and in ``extra``.

    :return: the studies by name, and notes on folders that are not readable studies (a folder
        under ``root`` whose summary is something else's passes silently).
    """
    found: dict[Path, StudyEntry] = {}
    notes: list[str] = []
    candidates: list[tuple[Path, bool]] = []
    if root is not None and root.is_dir():
        candidates += [(p, False) for p in sorted(root.iterdir()) if (p / SUMMARY).is_file()]
    candidates += [(Path(p), True) for p in extra]
    for folder, given in candidates:
        key = folder.resolve()
        if key in found:
            continue
        try:
            found[key] = read_study(folder)
        except NotAStudy as exc:
            if given:
                notes.append(f"The folder {folder} is not shown as a study: {exc}.")
        except ValueError as exc:
            notes.append(f"The folder {folder} is not shown as a study: {exc}.")
    return sorted(found.values(), key=lambda s: s.name), notes
