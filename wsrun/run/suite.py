"""
Running scenario files: each prepared before any runs, then run under its load, several at once.

Ctrl-C (or SIGTERM, or SIGHUP) stops the running scenarios within a second and
skips the rest; a second one stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..output.ndjson import NdjsonWriter
from ..scenario.custom_metrics import declared_trends
from ..scenario.models import Scenario
from ..session.load import Load, LoadRun, load_of
from ..session.overtime import OverTime
from ..session.plan import Plan, prepare
from ..session.record import LogSink, fan_out
from ..session.results import LogLine, RunResult, SessionResult
from ..transport.base import TransportName
from .signals import STOP_SIGNALS

if TYPE_CHECKING:
    # multiprocessing and the workers' module are imported only by a run with --workers.
    from .workers import Progress

__all__ = ["DEFAULT_CONCURRENCY", "Job", "Options", "Snapshot", "run_jobs"]

#: Scenarios of a suite running at once, unless --concurrency says otherwise: enough
#: for a suite of short scenarios to take about as long as its longest one.
DEFAULT_CONCURRENCY = 64

#: Live figures for a progress display: sessions active, sessions ended, messages received, failed checks.
Snapshot = Callable[[], tuple[int, int, int, int]]


def _live(run: LoadRun) -> Snapshot:
    def figures() -> tuple[int, int, int, int]:
        active, received, failed = run.snapshot()
        return active, run.result.sessions, received, failed

    return figures


def _figures(progress: Progress) -> Snapshot:
    return progress.total


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
    workers: int = 1
    quiet: bool = False
    out: str | None = None  # --out ndjson=PATH
    concurrency: int = DEFAULT_CONCURRENCY  # scenarios running at once
    transport: TransportName | None = None  # --transport, over each scenario's
    report: bool = False  # --report: record a timeline and samples over time


def _relocate_to(served: str) -> Callable[[str], str]:
    """Scenario URLs moved onto the embedded server (its module imported only with --serve)."""
    from ..server import serve_url

    return lambda url: serve_url(url, served)


@contextlib.asynccontextmanager
async def _maybe_server(serve: bool) -> AsyncIterator[str | None]:
    """The embedded server's URL while the block runs, if asked for."""
    if not serve:
        yield None
        return
    from ..server import PING_EVERY, running, url_of

    async with running(ping_every=PING_EVERY) as server:
        yield url_of(server)


async def run_jobs(
    jobs: list[Job],
    options: Options,
    *,
    on_log: LogSink | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    on_session: Callable[[SessionResult], None] | None = None,
    on_start: Callable[[Snapshot, Load], None] | None = None,
    on_hard_stop: Callable[[], None] | None = None,
) -> tuple[list[RunResult], signal.Signals | None]:
    """Run the scenarios, up to ``options.concurrency`` at a time; returns their results and the signal that stopped them.

    Every scenario is prepared before the first one runs, so that a missing
    environment variable or CA file stops everything before any connection.
    Results come back in the order of ``jobs``; ``on_result`` sees each as it ends.
    With ``--workers``, scenarios run one after another: each already has the
    processes to itself, and their --out parts are appended to one file in turn.
    """
    running: set[LoadRun] = set()
    stopped_by: signal.Signals | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal(signum: signal.Signals) -> None:
        """The first stop signal (Ctrl-C, SIGTERM, SIGHUP) stops the runs; a second stops waiting for anything."""
        nonlocal stopped_by
        if stopped_by is not None:
            if main is not None and not main.cancelling():
                main.cancel()
            return
        stopped_by = signum
        stop.set()
        for run in list(running):
            run.stop()

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    done: dict[int, RunResult] = {}
    # With workers, each writes its own part, appended to the file when its run ends.
    out_file = None if options.out is None else open(options.out, "w", encoding="utf-8")
    if out_file is not None and options.workers > 1:
        out_file.close()
        out_file = None
    writer: NdjsonWriter | None = None
    suite = len(jobs) > 1
    slots = asyncio.Semaphore(1 if options.workers > 1 else max(1, options.concurrency))

    started: set[int] = set()

    async def run_one(index: int, job: Job, plan: Plan, served: str | None) -> None:
        async with slots:
            if stopped_by is not None:
                return
            started.add(index)
            if options.report:
                plan = replace(plan, timeline=True)
            load = load_of(plan.scenario, vus=options.vus, iterations=options.iterations, duration=options.duration)
            workers = min(options.workers, load.vus_max)
            if workers > 1 and not load.single:
                from .workers import new_progress, run_in_workers

                progress = new_progress(workers)
                if on_start is not None and not suite:
                    on_start(_figures(progress), load)
                result = await run_in_workers(
                    plan,
                    load,
                    workers,
                    file=job.file,
                    url=options.url,
                    relocate_to=served,
                    overrides=job.overrides,
                    quiet=options.quiet,
                    stop=stop,
                    progress=progress,
                    out=options.out,
                    report=options.report,
                )
            else:
                over_time = OverTime() if options.report else None
                current = LoadRun(
                    plan,
                    load,
                    on_log=_labelled(on_log, job.file) if suite and on_log is not None else on_log,
                    on_session=on_session,
                    on_sample=fan_out(writer.sample if writer else None, over_time.sample if over_time else None),
                )
                current.result.over_time = over_time
                running.add(current)
                try:
                    if on_start is not None and not suite:
                        on_start(_live(current), load)
                    result = await current.run()
                finally:
                    running.discard(current)
            done[index] = result
            if on_result is not None:
                on_result(result)

    try:
        async with _maybe_server(options.serve) as served:
            relocate = None if served is None else _relocate_to(served)
            plans = [
                prepare(
                    job.scenario,
                    file=job.file,
                    url=options.url,
                    overrides=job.overrides,
                    env=os.environ,
                    relocate=relocate,
                    transport=options.transport,
                )
                for job in jobs
            ]
            if out_file is not None:
                writer = NdjsonWriter(
                    out_file,
                    trends={name for job in jobs for name in declared_trends(job.scenario)},
                    thresholds=[threshold for plan in plans for threshold in plan.thresholds],
                    custom={name: kind for job in jobs for name, kind in job.scenario.metrics.items()},
                )
            tasks = [
                asyncio.create_task(run_one(index, job, plan, served))
                for index, (job, plan) in enumerate(zip(jobs, plans, strict=True))
            ]
            try:
                await asyncio.gather(*tasks)  # the first error (a bug, a worker failing to start) ends the suite
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    except asyncio.CancelledError:  # the second stop signal: what ran is reported, the rest is dropped
        if stopped_by is None:  # cancelled from outside, not by a signal
            raise
        # A --workers run still reports what its workers sent in time; a run in this process has nothing.
        if on_hard_stop is not None and started - done.keys():
            on_hard_stop()
    finally:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)
            if handler is not None:  # what was there before the run (the command line's own, pytest's, …)
                signal.signal(signum, handler)
        if out_file is not None:
            out_file.close()
    return [done[index] for index in sorted(done)], stopped_by


def _labelled(on_log: LogSink, label: str) -> LogSink:
    """In a suite, each log line says which scenario file printed it."""

    def log(line: LogLine) -> None:
        line.source = label
        on_log(line)

    return log
