"""Ctrl-C and SIGTERM during training: the first stops ``learn()`` cleanly, a second aborts."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator

from stable_baselines3.common.callbacks import BaseCallback

from evalkit.fileio import INTERRUPT_SIGNALS


class StopOnEvent(BaseCallback):
    """Stop ``learn()`` cleanly (at the next step) once ``event`` is set, e.g. by Ctrl-C."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event

    def _on_step(self) -> bool:
        return not self.event.is_set()


@contextlib.contextmanager
def stop_on_sigint(event: threading.Event, report: Callable[[str], None]) -> Iterator[None]:
    """While inside, the first Ctrl-C or SIGTERM sets ``event`` (training stops and saves); a
    second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in INTERRUPT_SIGNALS}

    def handler(signum: int, frame: Any) -> None:
        event.set()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        report(
            f"{name}: stopping after the step or block of updates in progress and saving a "
            "checkpoint (Ctrl-C again to abort without saving)."
        )
        for sig in INTERRUPT_SIGNALS:
            signal.signal(sig, signal.default_int_handler)

    for sig in INTERRUPT_SIGNALS:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
