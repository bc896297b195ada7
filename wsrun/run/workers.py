"""
Spreading a load run over several processes, when one core is not enough.

Each worker process loads the scenario file again, runs its share of the vus
(vu numbers k, k + n, k + 2n, … so they stay unique), and sends its RunResult
back; the parent merges them exactly (histograms bucket by bucket, counters,
check tallies) and evaluates the thresholds on the merged metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from ..output.ndjson import NdjsonWriter
from ..scenario.namespace import declared_trends
from ..session.load import Load, LoadRun
from ..session.overtime import OverTime
from ..session.plan import Plan
from ..session.record import fan_out
from ..session.results import RunResult
from ..session.verdicts import evaluate
from ..transport.base import TransportName
from . import aio
from .signals import STOP_SIGNALS

__all__ = ["Progress", "run_in_workers", "share"]


def _part(total: int, workers: int, index: int) -> int:
    return total // workers + (1 if index < total % workers else 0)


def share(load: Load, workers: int, index: int) -> Load:
    """Worker ``index``'s part of a load: vus, iterations and stage targets split as evenly as possible."""
    return replace(
        load,
        vus=max(_part(load.vus, workers, index), 0),
        iterations=None if load.iterations is None else _part(load.iterations, workers, index),
        stages=tuple((duration, _part(target, workers, index)) for duration, target in load.stages),
    )


FIGURES = 4  # sessions active, sessions ended, messages received, failed checks


@dataclass
class Progress:
    """Live figures the workers share with the parent: one row of FIGURES numbers per worker."""

    cells: Any

    def write(self, worker: int, figures: tuple[int, int, int, int]) -> None:
        self.cells[worker * FIGURES : (worker + 1) * FIGURES] = figures

    def total(self) -> tuple[int, int, int, int]:
        values = self.cells[:]
        active, ended, received, failed = (sum(values[i::FIGURES]) for i in range(FIGURES))
        return active, ended, received, failed


@dataclass(frozen=True)
class _Task:
    file: str
    url: str | None
    relocate_to: str | None
    overrides: dict[str, str]
    load: Load
    first_vu: int
    vu_step: int
    quiet: bool
    out: str | None  # this worker's part of --out ndjson=PATH
    transport: TransportName = "websockets"
    report: bool = False  # --report: the first worker records vu 1 #0's timeline; all record samples over time
    parent: int = 0  # the parent's process id: a worker whose parent is gone stops


#: How often a worker looks whether its parent is still there, and reports its progress.
WATCH_EVERY = 0.25
#: After a stop, how long workers get to end their sessions and send their results.
STOP_GRACE = 5.0
#: After a second stop signal, how long workers get to write what they have before they are killed.
HARD_STOP_GRACE = 2.0


def _worker(task: _Task, pipe: Connection, progress: Progress) -> None:
    """A worker process: run its share and send the result back (or the error, as text)."""
    from ..output.console import Reporter
    from ..output.stdout import guard_stdout
    from ..scenario.loader import load
    from ..server import serve_url
    from ..session.plan import prepare

    guard_stdout()
    for signum in STOP_SIGNALS:  # before the event loop runs, any stop signal ends the worker quietly
        signal.signal(signum, signal.default_int_handler)
    message: object = None
    try:
        # Blocked by the parent while this process started (see run_in_workers): one that came meanwhile is
        # delivered now, to the handler just installed, rather than as a traceback from Python's start-up.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        scenario = load(task.file)
        relocate = None if task.relocate_to is None else (lambda url: serve_url(url, task.relocate_to or ""))
        plan = prepare(
            scenario,
            file=task.file,
            url=task.url,
            overrides=task.overrides,
            env=os.environ,
            relocate=relocate,
            transport=task.transport,
        )
        if task.report and task.first_vu == 1:
            plan = replace(plan, timeline=True)
        reporter = Reporter(quiet=task.quiet)
        message = aio.run(_run_share(plan, task, reporter, progress))
    except KeyboardInterrupt:  # stopped before the loop was running: nothing to report
        message = None
    except Exception as exc:  # sent to the parent, which reports it once
        message = f"it failed: {exc}"
    try:
        pipe.send(message)
    except OSError:  # the parent is gone: nobody to tell
        pass
    finally:
        pipe.close()


async def _run_share(plan: Plan, task: _Task, reporter: object, progress: Progress) -> RunResult:
    from ..output.console import Reporter

    assert isinstance(reporter, Reporter)
    writer = None
    if task.out is not None:
        trends = declared_trends(plan.scenario)
        writer = NdjsonWriter(open(task.out, "w", encoding="utf-8"), trends=trends, thresholds=plan.thresholds)
    over_time = OverTime() if task.report else None
    run = LoadRun(
        plan,
        task.load,
        on_log=reporter.log,
        on_sample=fan_out(writer.sample if writer else None, over_time.sample if over_time else None),
        first_vu=task.first_vu,
        vu_step=task.vu_step,
    )
    run.result.over_time = over_time
    loop = asyncio.get_running_loop()
    # Any stop signal stops the share (the parent forwards its own; a terminal sends them to every process):
    # idempotent, so that one arriving twice is still one stop. A second stop is the parent's to decide.
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, run.stop)

    async def watch() -> None:
        """Report progress; stop when the parent is gone (killed with SIGKILL, say), so that no worker outlives it."""
        while True:
            if os.getppid() != task.parent:
                run.stop()
                return
            active, received, failed = run.snapshot()
            progress.write(task.first_vu - 1, (active, run.result.sessions, received, failed))
            await asyncio.sleep(WATCH_EVERY)

    watching = asyncio.create_task(watch())
    try:
        return await run.run()
    finally:
        watching.cancel()
        if writer is not None:
            writer.close()


async def run_in_workers(
    plan: Plan,
    load: Load,
    workers: int,
    *,
    file: str,
    url: str | None,
    relocate_to: str | None,
    overrides: dict[str, str],
    quiet: bool,
    stop: asyncio.Event,
    progress: Progress | None = None,
    out: str | None = None,
    report: bool = False,
) -> RunResult:
    """Run ``load`` over ``workers`` processes and merge their results.

    A worker that ends without its result (killed, out of memory, an error) is lost:
    the run fails, saying so, and its part is left out of everything, --out included,
    so that every output counts the same sessions. When the run is cancelled (a
    second Ctrl-C), workers get HARD_STOP_GRACE to write their --out part, then are
    killed; whatever they wrote is appended to --out all the same.
    """
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no event loop or sockets inherited
    progress = progress or new_progress(workers)
    pipes: list[Connection] = []
    processes: list[multiprocessing.process.BaseProcess] = []
    parts = [None if out is None else f"{out}.worker{index + 1}" for index in range(workers)]
    shares = [share(load, workers, index) for index in range(workers)]
    merged = RunResult(
        plan.scenario.name, plan.file, plan.mask(plan.options.url), dict(plan.scenario.tags), plan.options.transport
    )
    merged.started = time.time()
    merged.over_time = OverTime() if report else None
    lost: list[str] = []
    loop = asyncio.get_running_loop()

    def forward_stop() -> None:
        """A Ctrl-C at a terminal reaches every worker; a signal sent to this process alone is passed on."""
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGINT)

    async def forward_when_stopped() -> None:
        await stop.wait()
        forward_stop()

    forwarding = asyncio.create_task(forward_when_stopped())
    finished = False
    try:
        for index in range(workers):
            receiving, sending = context.Pipe(duplex=False)
            task = _Task(
                file,
                url,
                relocate_to,
                overrides,
                shares[index],
                index + 1,
                workers,
                quiet,
                parts[index],
                plan.options.transport,
                report,
                os.getpid(),
            )
            process = context.Process(target=_worker, args=(task, sending, progress), daemon=True)
            # The worker inherits blocked stop signals, until its handlers are in place; here they wait, not lost.
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            try:
                process.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            sending.close()
            pipes.append(receiving)
            processes.append(process)
            if stop.is_set():  # stopped while starting: the new worker hears it too
                forward_stop()
        for index, (pipe, worker) in enumerate(zip(pipes, processes, strict=True)):
            part = await _receive(pipe, worker, loop, stop)
            if isinstance(part, RunResult):
                merged.merge(part)
            elif isinstance(part, str) or not stop.is_set():  # None: stopped before it ran, which only a stop explains
                why = part if isinstance(part, str) else "it was stopped before it started"
                lost.append(_lost(index, workers, shares[index], why))
                _drop(parts[index])
                parts[index] = None
        finished = True
    finally:
        forwarding.cancel()
        try:
            if not finished:  # cancelled (a second Ctrl-C): stop the workers, give them a moment to write
                forward_stop()
            await _ended(processes, loop, STOP_GRACE if finished else HARD_STOP_GRACE)
        finally:
            for worker in processes:
                if worker.is_alive():
                    worker.kill()
            for pipe in pipes:
                pipe.close()
            if out is not None:
                _concatenate(out, [part for part in parts if part is not None])
    if lost:
        merged.warnings.extend(lost)
        merged.lost_workers.extend(lost)
    merged.interrupted = merged.interrupted or stop.is_set()
    merged.thresholds = evaluate(plan.thresholds, merged.series, merged.checks_tally, merged.duration)
    return merged


def _lost(index: int, workers: int, load: Load, why: str) -> str:
    """What the report says of a worker that sent no result."""
    return (
        f"worker {index + 1} of {workers} was lost ({why}): its {load.vus} vus' sessions are missing from this"
        " report and from every output, so the run fails"
    )


def _drop(part: str | None) -> None:
    """A lost worker's --out part: removed, so that --out counts what the summary counts."""
    if part is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(part)


async def _ended(
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


async def _receive(
    pipe: Connection, process: multiprocessing.process.BaseProcess, loop: asyncio.AbstractEventLoop, stop: asyncio.Event
) -> object:
    """A worker's result, or why there is none; after a stop, workers get STOP_GRACE before they are killed."""
    deadline: float | None = None
    while True:
        if await loop.run_in_executor(None, pipe.poll, 0.2):
            try:
                return pipe.recv()
            except EOFError:
                return _ended_how(process)
        if not process.is_alive() and not pipe.poll():
            return _ended_how(process)
        if stop.is_set():
            deadline = deadline or loop.time() + STOP_GRACE
            if loop.time() > deadline:
                process.kill()
                return f"it did not stop within {STOP_GRACE:.0f}s and was killed"


def _ended_how(process: multiprocessing.process.BaseProcess) -> str:
    process.join(1.0)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"it ended with exit code {code} and no result"


def _concatenate(target: str, parts: list[str]) -> None:
    """Append the workers' ndjson parts to the output file, then remove them.

    Each part declares its metrics; the file declares each once, as k6's does.
    """
    declared: set[str] = set()
    with open(target, "a", encoding="utf-8") as out:
        for part in parts:
            try:
                with open(part, encoding="utf-8") as source:
                    for line in source:
                        if line.startswith('{"type": "Metric"'):
                            name = json.loads(line).get("metric")
                            if name in declared:
                                continue
                            declared.add(name)
                        out.write(line)
                os.remove(part)
            except FileNotFoundError:
                continue


def new_progress(workers: int) -> Progress:
    return Progress(multiprocessing.get_context("spawn").Array("q", workers * FIGURES))
