"""
Stop signals: SIGINT (Ctrl-C), SIGTERM and SIGHUP end a run the same way, and its outputs are written whole.

Light on purpose: the command line imports it before it knows whether a run will happen.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STOP_SIGNALS", "Held", "Stopped", "exit_for", "raise_stopped", "signals_caught", "signals_held"]

#: Signals that stop a run as Ctrl-C does: Ctrl-C, `kill`/`timeout`/`docker stop`, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal arrived outside the run's event loop (while loading, say): as KeyboardInterrupt for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def raise_stopped(signum: int, frame: object) -> None:
    """A signal handler: raise Stopped."""
    raise Stopped(signum)


def exit_for(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum


@contextmanager
def signals_caught() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Stopped while the block runs (Ctrl-C already raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, raise_stopped) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Held:
    """Stop signals that arrived while the outputs were being written: the first one decides the exit code."""

    signum: int | None = None


@contextmanager
def signals_held() -> Iterator[Held]:
    """Every output is written whole: a stop signal arriving meanwhile is noted, not obeyed, until the block ends."""
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def note(signum: int, frame: object) -> None:
        held.signum = held.signum or signum

    previous = {signum: signal.signal(signum, note) for signum in STOP_SIGNALS}
    try:
        yield held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
