"""Progress bars: a live bar on a terminal, whole lines every few percent in a log file."""

from __future__ import annotations

import io
import re

from tqdm import tqdm

from evalkit.progress import LOG_STEP_PERCENT, LogLines, progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _percents(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"(\d+)%\|", text)]


def test_a_log_gets_a_line_every_few_percent_and_no_carriage_returns():
    log = io.StringIO()
    with progress_bar(1000, "embed", "img", file=log) as bar:
        for _ in range(1000 // 7 + 1):
            bar.update(min(7, 1000 - bar.n))
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    percents = _percents(text)
    assert len(lines) == len(percents)  # every line is a whole progress line
    assert percents[0] == 0 and percents[-1] == 100 and "1000/1000" in lines[-1]
    assert percents == sorted(percents)
    assert len(lines) <= 100 // LOG_STEP_PERCENT + 2  # not one line per update (143 updates)
    gaps = [b - a for a, b in zip(percents, percents[1:])]
    assert max(gaps) <= LOG_STEP_PERCENT + 1  # and no long silence either


def test_a_resumed_bar_starts_at_its_initial_count_and_ends_once():
    log = io.StringIO()
    bar = progress_bar(200, "train", "step", initial=150, file=log)
    bar.update(50)
    bar.close()
    bar.close()
    percents = _percents(log.getvalue())
    assert percents == [75, 100]


def test_messages_written_beside_a_log_bar_stay_whole():
    log = io.StringIO()
    with progress_bar(100, "embed", file=log) as bar:
        bar.update(10)
        tqdm.write("batch size lowered to 16", file=log)
        bar.update(90)
    assert "\r" not in log.getvalue()
    assert "batch size lowered to 16\n" in log.getvalue()


def test_a_terminal_keeps_the_live_bar_and_a_disabled_bar_shows_nothing():
    term = _Terminal()
    bar = progress_bar(10, "collect", file=term)
    assert not isinstance(bar, LogLines)
    bar.update(10)
    bar.close()
    assert "\r" in term.getvalue()
    log = io.StringIO()
    with progress_bar(10, "collect", file=log, enabled=False) as quiet:
        quiet.update(10)
    assert log.getvalue() == ""
