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
import multiprocessing.resource_tracker
import os
import signal
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from ..output.ndjson import NdjsonWriter
from ..scenario.custom_metrics import declared_trends
from ..session.load import Load, LoadRun
from ..session.overtime import OverTime
from ..session.plan import Plan
from ..session.record import fan_out
from ..session.results import RunResult
from ..session.verdicts import evaluate
from ..transport.base import TransportName
from . import aio
from .signals import STOP_SIGNALS, Stopped, raise_stopped
from .watch import HARD_STOP_GRACE, STOP_GRACE, WATCH_EVERY, Reply, Watch, ended, ended_how, longest

__all__ = ["Progress", "judge", "run_in_workers", "share"]


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
    """Live figures the workers share with the parent: one row of FIGURES numbers per worker, and a beat
    per worker that its event loop counts up every WATCH_EVERY, which tells the parent it still answers.

    Shared without a lock: a worker stopped (SIGSTOP) while holding one would freeze the parent.
    One writer per row, and a torn read only shows a figure a moment old.
    """

    cells: Any
    beats: Any

    def write(self, worker: int, figures: tuple[int, int, int, int]) -> None:
        self.cells[worker * FIGURES : (worker + 1) * FIGURES] = figures
        self.beats[worker] += 1

    def beat(self, worker: int) -> int:
        return int(self.beats[worker])

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


def _worker(task: _Task, pipe: Connection, progress: Progress) -> None:
    """A worker process: run its share and send the result back (or the error, as text)."""
    from ..output.console import Reporter
    from ..output.stdout import guard_stdout
    from ..scenario.loader import load
    from ..server import serve_url
    from ..session.plan import prepare

    guard_stdout()
    for signum in STOP_SIGNALS:  # before the event loop runs, any stop signal ends the worker quietly
        signal.signal(signum, raise_stopped)
    reply: Reply | None = None
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
        aio.run(_run_share(plan, task, reporter, progress, pipe))  # sends its reply itself
    except KeyboardInterrupt:  # stopped before the loop was running: nothing to report
        reply = Reply(signum=signal.SIGINT)
    except Stopped as stopped:
        reply = Reply(signum=stopped.signum)
    except Exception as exc:  # sent to the parent, which reports it once
        reply = Reply(error=f"it failed: {exc}")
    try:
        if reply is not None:
            pipe.send(reply)
    except OSError:  # the parent is gone: nobody to tell
        pass
    finally:
        pipe.close()


async def _run_share(plan: Plan, task: _Task, reporter: object, progress: Progress, pipe: Connection) -> None:
    from ..output.console import Reporter

    assert isinstance(reporter, Reporter)
    writer = None
    if task.out is not None:
        trends = declared_trends(plan.scenario)
        writer = NdjsonWriter(
            open(task.out, "w", encoding="utf-8"),
            trends=trends,
            thresholds=plan.thresholds,
            custom=plan.scenario.metrics,
        )
    over_time = OverTime() if task.report else None
    run = LoadRun(
        plan,
        task.load,
        on_log=reporter.log,
        on_sample=fan_out(writer.sample if writer else None, over_time.sample if over_time else None),
        first_vu=task.first_vu,
        vu_step=task.vu_step,
        part=True,  # the parent judges the whole run, once merged
    )
    run.result.over_time = over_time
    loop = asyncio.get_running_loop()
    signalled: list[int] = []

    def stop(signum: int) -> None:
        """Any stop signal stops the share (the parent forwards its own; a terminal sends them to every process):
        idempotent, so that one arriving twice is still one stop. A second stop is the parent's to decide.
        The first is told to the parent: one it did not send means part of the load never ran."""
        signalled[:] = signalled or [signum]
        run.stop()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)

    async def watch() -> None:
        """Report progress (the parent's sign of life); stop when the parent is gone (killed with SIGKILL, say),
        so that no worker outlives it."""
        while True:
            if os.getppid() != task.parent:
                run.stop()
                return
            active, received, failed = run.snapshot()
            progress.write(task.first_vu - 1, (active, run.result.sessions, received, failed))
            await asyncio.sleep(WATCH_EVERY)

    watching = asyncio.create_task(watch())
    try:
        try:
            result = await run.run()
        finally:
            if writer is not None:
                writer.close()
        # Sent while the beat goes on: a large result takes as long as the parent needs to read it.
        with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
            await loop.run_in_executor(None, pipe.send, Reply(result, signum=signalled[0] if signalled else None))
    finally:
        watching.cancel()


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

    A worker that ends without its result (killed, out of memory, an error), stops
    answering for SILENT_AFTER, or is still running past its share's end is lost (the
    last two are killed): the run fails, saying so, and its part is left out of
    everything, --out included, so that every output counts the same sessions. A
    worker stopped by a signal the parent did not get sends what it did, which is
    kept, but the run fails all the same: part of its load never ran. When the run is
    cancelled (a second Ctrl-C), workers get HARD_STOP_GRACE to send their results,
    which are merged as usual, then are killed.
    """
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no event loop or sockets inherited
    progress = progress or new_progress(workers)
    processes: list[multiprocessing.process.BaseProcess] = []
    parts = [None if out is None else f"{out}.worker{index + 1}" for index in range(workers)]
    shares = [share(load, workers, index) for index in range(workers)]
    merged = RunResult(
        plan.scenario.name, plan.file, plan.mask(plan.options.url), dict(plan.scenario.tags), plan.options.transport
    )
    merged.started = time.time()
    merged.over_time = OverTime() if report else None
    loop = asyncio.get_running_loop()
    watch = Watch(progress.beat, loop, longest(load))

    def forward_stop() -> None:
        """A Ctrl-C at a terminal reaches every worker; a signal sent to this process alone is passed on."""
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGINT)

    async def forward_when_stopped() -> None:
        await stop.wait()
        forward_stop()

    # Started now: starting it unblocks SIGINT and SIGTERM, which must stay blocked while a worker starts (below).
    multiprocessing.resource_tracker.ensure_running()
    forwarding = asyncio.create_task(forward_when_stopped())
    kept: set[int] = set()  # the workers whose result arrived: their --out parts are kept
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
            processes.append(process)
            watch.add(index, process, receiving)
            if stop.is_set():  # stopped while starting: the new worker hears it too
                forward_stop()
        try:
            await watch.replies(stop)
        except asyncio.CancelledError:
            if not stop.is_set():  # cancelled from outside, not by a second stop signal
                raise
            # The second stop: what the workers send within HARD_STOP_GRACE is reported like any result.
            forward_stop()
            watch.hurry(HARD_STOP_GRACE)
            await watch.replies(stop)
        kept = {w.index for w in watch.watched if isinstance(w.outcome, Reply) and w.outcome.result is not None}
    finally:
        forwarding.cancel()
        try:
            with contextlib.suppress(asyncio.CancelledError):  # a second stop now: the results are in already
                await ended(processes, loop, STOP_GRACE)
        finally:
            for worker in processes:
                if worker.is_alive():
                    worker.kill()
            for index, part in enumerate(parts):
                if index not in kept:
                    _drop(part)
            if out is not None:
                _concatenate(out, [part for index, part in enumerate(parts) if part is not None and index in kept])
    for w in watch.watched:
        outcome = w.outcome if w.outcome is not None else ended_how(w.process)
        result, failure = judge(outcome, stopped=stop.is_set(), vus=shares[w.index].vus)
        if result is not None:
            merged.merge(result)
        if failure is not None:
            merged.lost_workers.append(f"worker {w.index + 1} of {workers} {failure}")
    merged.warnings.extend(merged.lost_workers)
    merged.interrupted = stop.is_set()  # a worker stopped by a signal wsrun did not get is a failure (above)
    merged.judge_unreached()
    merged.thresholds = evaluate(plan.thresholds, merged.series, merged.checks_tally, merged.duration)
    return merged


def judge(outcome: object, *, stopped: bool, vus: int) -> tuple[RunResult | None, str | None]:
    """A worker's outcome (its Reply, or why there is none): its result to merge, and why the run fails.

    ``stopped``: the run was stopped (so a stop signal the worker got was the run's); ``vus``: its share.
    """
    if not isinstance(outcome, Reply):
        why = str(outcome)
    elif outcome.result is not None:
        if outcome.signum is None or stopped:
            return outcome.result, None
        return outcome.result, (
            f"was stopped by {signal.Signals(outcome.signum).name}, a signal sent to it alone: its sessions until"
            f" then are counted, the rest of its {vus} vus' load never ran, so the run fails"
        )
    elif outcome.error is not None:
        why = outcome.error
    elif stopped:  # stopped before it ran, which the run's stop explains
        return None, None
    else:
        why = "it sent nothing" if outcome.signum is None else f"stopped by {signal.Signals(outcome.signum).name}"
    return None, (
        f"was lost ({why}): its {vus} vus' sessions are missing from this report and from every output,"
        " so the run fails"
    )


def _drop(part: str | None) -> None:
    """A lost worker's --out part: removed, so that --out counts what the summary counts."""
    if part is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(part)


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
    context = multiprocessing.get_context("spawn")
    return Progress(context.Array("q", workers * FIGURES, lock=False), context.Array("q", workers, lock=False))
