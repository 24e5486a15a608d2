"""Progress bars: a live bar on a terminal, a line every few percent in a log.

Every progress bar evalkit shows (embedding, collecting, training) is made by
:func:`progress_bar`. On a terminal it is an ordinary tqdm bar redrawn in place; when standard
error is a file or a pipe (a batch job's log, ``2> log``, CI) each redraw would be one more
``\\r``-separated line in the log, so the bar instead writes a whole line each time it passes
another :data:`LOG_STEP_PERCENT` percent (and one at its start and end).
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from tqdm import tqdm

LOG_STEP_PERCENT = 5
"""In a log, a progress line is written each time this many more percent are done."""

LOG_SECONDS_WITHOUT_TOTAL = 30.0
"""In a log, a bar without a known total writes a line this often (seconds)."""


class LogLines(tqdm):
    """A tqdm bar for files and pipes: whole lines, one per :data:`LOG_STEP_PERCENT` percent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._last_mark: int | None = None
        self._last_line_n: float | None = None
        kwargs.update(ascii=True, mininterval=0, miniters=1, dynamic_ncols=False, ncols=100)
        super().__init__(*args, **kwargs)

    def _mark(self) -> int:
        if self.total:
            return int(100 * self.n / self.total) // LOG_STEP_PERCENT
        return int((time.time() - self.start_t) // LOG_SECONDS_WITHOUT_TOTAL)

    def _line(self) -> None:
        self.fp.write(self.__str__() + "\n")
        self.fp.flush()
        self._last_line_n = self.n

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Write a line when another step is done (a "clear" request writes nothing)."""
        if msg == "":
            return False
        mark = self._mark()
        if self._last_mark is None or mark > self._last_mark:
            self._last_mark = mark
            self._line()
        return True

    def clear(self, nolock: bool = False) -> None:
        """Nothing to clear: lines already written stay (``tqdm.write`` calls this)."""

    def close(self) -> None:
        """Write the final count (if not written yet) and end without a carriage return."""
        if not self.disable and self._last_line_n != self.n and hasattr(self, "last_print_t"):
            self._line()
        self.leave = False
        super().close()


def progress_bar(
    total: int | None,
    desc: str,
    unit: str = "it",
    initial: int = 0,
    enabled: bool = True,
    file: IO[str] | None = None,
    **options: Any,
) -> tqdm:
    """A progress bar over ``total`` items on standard error (or ``file``).

    A terminal gets tqdm's live bar; a file or pipe gets :class:`LogLines`.

    :param total: how many items in all (``None``: unknown).
    :param desc: what is being done, shown before the bar.
    :param unit: the name of one item (``frame``, ``img``, ``step``).
    :param initial: items already done (a resumed job).
    :param enabled: ``False`` gives a bar that shows nothing (its ``update`` still works).
    :param options: other tqdm options for the terminal bar (``smoothing``, ``unit_scale``, ...).
    """
    stream = file if file is not None else sys.stderr
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    cls = tqdm if interactive else LogLines
    if interactive:
        options.setdefault("dynamic_ncols", True)
    return cls(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        file=stream,
        disable=not enabled,
        **options,
    )
