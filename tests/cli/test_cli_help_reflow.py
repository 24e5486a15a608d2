"""Command help: source-wrapped docstring lines are joined, deliberate line breaks kept."""

from __future__ import annotations

from typer.testing import CliRunner

from evalkit.cli import app
from evalkit.cli._app import reflow_help


def test_wrapped_lines_join_and_list_lines_stay():
    doc = """First line of the summary.

    A paragraph that the source wrapped
    in the middle of a sentence, and then
    ended.

    finished: every step trained.
    interrupted: stopped early.
    - one item
    - another item
    """
    assert reflow_help(doc).splitlines() == [
        "First line of the summary.",
        "",
        "A paragraph that the source wrapped in the middle of a sentence, and then ended.",
        "",
        "finished: every step trained.",
        "interrupted: stopped early.",
        "- one item",
        "- another item",
    ]


def test_a_command_help_is_one_paragraph_at_any_width():
    out = CliRunner().invoke(app, ["select", "--help"], env={"COLUMNS": "200"}).output
    assert "(as the goal, with the task's baseline prompt) and every --goal-frames" in out
