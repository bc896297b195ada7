"""
Running scenario files: each prepared before any runs, then run under its load, in turn.

Ctrl-C stops the running scenario within a second and skips the rest; a second
Ctrl-C stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .engine import LogSink
from .load import LoadRun, load_of
from .model import Scenario
from .plan import prepare
from .results import RunResult, SessionResult

__all__ = ["Job", "Options", "run_jobs"]


@dataclass(frozen=True)
class Job:
    """One scenario file to run, with the --var values that apply to it."""

    scenario: Scenario
    file: str
    overrides: dict[str, str]


@dataclass(frozen=True)
class Options:
    """What the command line says about every run."""

    url: str | None = None
    serve: bool = False
    vus: int | None = None
    iterations: int | None = None
    duration: float | None = None


def serve_url(url: str, served: str) -> str:
    """The scenario's URL moved onto the embedded server: same path and query."""
    parts, target = urlsplit(url), urlsplit(served)
    return urlunsplit(("ws", target.netloc, parts.path, parts.query, ""))


@contextlib.asynccontextmanager
async def _maybe_server(serve: bool) -> AsyncIterator[str | None]:
    """The embedded server's URL while the block runs, if asked for."""
    if not serve:
        yield None
        return
    from .server import running, url_of

    async with running(ping_every=0.5) as server:
        yield url_of(server)


async def run_jobs(
    jobs: list[Job],
    options: Options,
    *,
    on_log: LogSink | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    on_session: Callable[[SessionResult], None] | None = None,
    on_start: Callable[[LoadRun], None] | None = None,
    on_hard_stop: Callable[[], None] | None = None,
) -> tuple[list[RunResult], bool]:
    """Run the scenarios one after the other; returns their results and whether Ctrl-C stopped them.

    Every scenario is prepared before the first one runs, so that a missing
    environment variable or CA file stops everything before any connection.
    """
    current: LoadRun | None = None
    interrupted = False
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_sigint() -> None:
        nonlocal interrupted
        if interrupted and main is not None:  # a second Ctrl-C: stop waiting for anything
            main.cancel()
            return
        interrupted = True
        if current is not None:
            current.stop()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    results: list[RunResult] = []
    try:
        async with _maybe_server(options.serve) as served:
            relocate = None if served is None else (lambda target: serve_url(target, served))
            plans = [
                prepare(
                    job.scenario,
                    file=job.file,
                    url=options.url,
                    overrides=job.overrides,
                    env=os.environ,
                    relocate=relocate,
                )
                for job in jobs
            ]
            for plan in plans:
                if interrupted:
                    break
                load = load_of(plan.scenario, vus=options.vus, iterations=options.iterations, duration=options.duration)
                current = LoadRun(plan, load, on_log=on_log, on_session=on_session)
                if on_start is not None:
                    on_start(current)
                result = await current.run()
                results.append(result)
                if on_result is not None:
                    on_result(result)
    except asyncio.CancelledError:  # the second Ctrl-C: what ran is reported, the rest is dropped
        interrupted = True
        if on_hard_stop is not None:
            on_hard_stop()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return results, interrupted
