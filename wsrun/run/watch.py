"""
The parent's side of --workers: every worker's reply awaited, and every wait with a deadline.

A worker's event loop counts its beat up every WATCH_EVERY (see workers.Progress). One
that stops answering (hung, stopped with SIGSTOP), does not start, is still running past
its share's end, or does not stop after a stop is killed: it is then lost, never waited
for. Its reply is read on a thread of its own, so that the event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from ..session.load import MAX_DURATION, Load
from ..session.results import RunResult

__all__ = [
    "HARD_STOP_GRACE",
    "SILENT_AFTER",
    "STOP_GRACE",
    "WATCH_EVERY",
    "Reply",
    "Watch",
    "ended",
    "ended_how",
    "longest",
    "overdue",
    "read_reply",
]

#: How often a worker looks whether its parent is still there, and reports its progress.
WATCH_EVERY = 0.25
#: After a stop, how long workers get to end their sessions and send their results.
STOP_GRACE = 5.0
#: After a second stop signal, how long workers get to send their results before they are killed.
HARD_STOP_GRACE = 2.0
#: A worker whose beat has not moved for this long has stopped answering (hung, or stopped with SIGSTOP):
#: it is killed and lost. Twenty beats: a busy event loop misses a few, never twenty.
SILENT_AFTER = 5.0
#: The same, for a worker's first beat: starting Python, importing wsrun and loading the scenario.
START_WITHIN = 30.0
#: Past its share's longest run (duration, graceful_stop), the margin a worker has to stop its sessions
#: (about a second each, 5 s at most) and send its result before it is killed and lost.
OVERDUE_MARGIN = 15.0


@dataclass(frozen=True)
class Reply:
    """What a worker sends back: its result, or the error that stopped it; and the stop signal it got, if any."""

    result: RunResult | None = None
    error: str | None = None
    signum: int | None = None


def longest(load: Load) -> float:
    """How long after its first beat a worker may still run: its share's duration (or k6's maximum for
    iterations), then graceful_stop, then OVERDUE_MARGIN to stop its sessions and send its result."""
    duration = load.total_duration
    return (MAX_DURATION if duration is None else duration) + load.graceful_stop + OVERDUE_MARGIN


def overdue(
    now: float,
    *,
    spawned: float,
    first: float | None,
    heard: float | None,
    longest: float,
    stopped_at: float | None = None,
    grace: float = STOP_GRACE,
) -> str | None:
    """Why a worker that has not replied must be killed now (it is then lost), or None while it may go on.

    Times are the parent's: when it was started, its first beat, its last beat, the stop (if any).
    """
    if stopped_at is not None and now - stopped_at > grace:
        return f"it had not stopped {grace:.0f}s after the stop and was killed"
    if first is None or heard is None:
        if now - spawned > START_WITHIN:
            return f"it had not started {START_WITHIN:.0f}s after it was launched and was killed"
        return None
    if now - heard > SILENT_AFTER:
        return f"it stopped answering: no progress for {SILENT_AFTER:.0f}s, so it was killed"
    if now - first > longest:
        return f"still running {now - first:.0f}s after it started, past the run's end, so it was killed"
    return None


@dataclass
class _Watched:
    """One worker as the parent sees it while waiting for its reply."""

    index: int
    process: multiprocessing.process.BaseProcess
    reply: asyncio.Future[object]  # a Reply, or None when its pipe ended without one (the worker died)
    spawned: float
    beat: int = 0
    first: float | None = None  # its first beat: its share's clock has started
    heard: float | None = None  # its last beat
    outcome: object = None  # its Reply, or why there is none


class Watch:
    """The parent's side: every worker's reply awaited, each wait with a deadline (see overdue)."""

    #: How often the beats are looked at.
    TICK = WATCH_EVERY

    def __init__(self, beat: Callable[[int], int], loop: asyncio.AbstractEventLoop, longest: float) -> None:
        self.beat, self.loop, self.longest = beat, loop, longest
        self.watched: list[_Watched] = []
        self.stopped_at: float | None = None
        self.grace = STOP_GRACE

    def add(self, index: int, process: multiprocessing.process.BaseProcess, pipe: Connection) -> None:
        self.watched.append(_Watched(index, process, read_reply(pipe, self.loop), self.loop.time()))

    def hurry(self, grace: float) -> None:
        """A second stop: whatever is still running has ``grace`` from now."""
        now = self.loop.time()
        if self.stopped_at is None or self.stopped_at + self.grace > now + grace:
            self.stopped_at, self.grace = now, grace

    async def replies(self, stop: asyncio.Event) -> None:
        """Until every worker has replied, died or been killed: each then has its outcome."""
        while pending := [w for w in self.watched if w.outcome is None]:
            await asyncio.wait([w.reply for w in pending], timeout=self.TICK, return_when=asyncio.FIRST_COMPLETED)
            now = self.loop.time()
            if stop.is_set() and self.stopped_at is None:
                self.stopped_at = now
            for w in pending:
                if w.reply.done():
                    w.outcome = w.reply.result()  # None (no reply): why is known once the process is reaped
                    if w.outcome is None:
                        w.outcome = ended_how(w.process)
                    continue
                beat = self.beat(w.index)
                if beat != w.beat:
                    w.beat, w.heard, w.first = beat, now, w.first or now
                why = overdue(
                    now,
                    spawned=w.spawned,
                    first=w.first,
                    heard=w.heard,
                    longest=self.longest,
                    stopped_at=self.stopped_at,
                    grace=self.grace,
                )
                if why is not None:
                    w.process.kill()
                    w.outcome = why


def read_reply(pipe: Connection, loop: asyncio.AbstractEventLoop) -> asyncio.Future[object]:
    """A worker's reply, read on a thread of its own, which owns the pipe: a reply is read whole however
    slowly it is written, and a worker that dies (or is killed) mid-reply ends the read. None: no reply."""
    future: asyncio.Future[object] = loop.create_future()

    def settle(message: object) -> None:
        if not future.done():
            future.set_result(message)

    def read() -> None:
        message: object
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            message = None
        except Exception as exc:  # a reply that cannot be unpickled: the worker is lost, saying why
            message = Reply(error=f"its result could not be read: {exc}")
        finally:
            pipe.close()
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, message)

    threading.Thread(target=read, name="wsrun-worker-reply", daemon=True).start()
    return future


async def ended(
    processes: Sequence[multiprocessing.process.BaseProcess], loop: asyncio.AbstractEventLoop, grace: float
) -> None:
    """Wait (without blocking the loop) until every process has ended, for at most ``grace`` seconds."""
    sentinels = [process.sentinel for process in processes if process.is_alive()]
    deadline = loop.time() + grace
    while sentinels and loop.time() < deadline:
        await loop.run_in_executor(None, multiprocessing.connection.wait, sentinels, min(0.2, grace))
        sentinels = [process.sentinel for process in processes if process.is_alive()]
    for process in processes:
        if not process.is_alive():
            process.join()  # reaps it at once


def ended_how(process: multiprocessing.process.BaseProcess) -> str:
    process.join(1.0)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"it ended with exit code {code} and no result"
