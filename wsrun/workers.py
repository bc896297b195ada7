"""
Spreading a load run over several processes, when one core is not enough.

Each worker process loads the scenario file again, runs its share of the vus
(vu numbers k, k + n, k + 2n, … so they stay unique), and sends its RunResult
back; the parent merges them exactly (histograms bucket by bucket, counters,
check tallies) and evaluates the thresholds on the merged metrics.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from . import aio
from .connection import TransportName
from .load import Load, LoadRun
from .namespace import declared_trends
from .ndjson import NdjsonWriter
from .overtime import OverTime
from .plan import Plan
from .record import fan_out
from .results import RunResult
from .thresholds import evaluate

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


def _worker(task: _Task, pipe: Connection, progress: Progress) -> None:
    """A worker process: run its share and send the result back (or the error, as text)."""
    from .loader import load
    from .plan import prepare
    from .report import Reporter
    from .suite import serve_url

    try:
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
        result = aio.run(_run_share(plan, task, reporter, progress))
        pipe.send(result)
    except KeyboardInterrupt:  # Ctrl-C before the loop was running: nothing to report
        pipe.send(None)
    except Exception as exc:  # sent to the parent, which reports it once
        pipe.send(f"worker {task.first_vu}: {exc}")
    finally:
        pipe.close()


async def _run_share(plan: Plan, task: _Task, reporter: object, progress: Progress) -> RunResult:
    from .report import Reporter

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
    loop.add_signal_handler(signal.SIGINT, run.stop)

    async def report_progress() -> None:
        while True:
            active, received, failed = run.snapshot()
            progress.write(task.first_vu - 1, (active, run.result.sessions, received, failed))
            await asyncio.sleep(0.25)

    reporting = asyncio.create_task(report_progress())
    try:
        return await run.run()
    finally:
        reporting.cancel()
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
    """Run ``load`` over ``workers`` processes and merge their results."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no event loop or sockets inherited
    progress = progress or new_progress(workers)
    pipes, processes = [], []
    for index in range(workers):
        receiving, sending = context.Pipe(duplex=False)
        part_file = None if out is None else f"{out}.worker{index + 1}"
        task = _Task(
            file,
            url,
            relocate_to,
            overrides,
            share(load, workers, index),
            index + 1,
            workers,
            quiet,
            part_file,
            plan.options.transport,
            report,
        )
        process = context.Process(target=_worker, args=(task, sending, progress), daemon=True)
        process.start()
        sending.close()
        pipes.append(receiving)
        processes.append(process)
    merged = RunResult(
        plan.scenario.name, plan.file, plan.mask(plan.options.url), dict(plan.scenario.tags), plan.options.transport
    )
    merged.started = time.time()
    merged.over_time = OverTime() if report else None
    problems: list[str] = []
    loop = asyncio.get_running_loop()

    async def forward_ctrl_c() -> None:
        """A Ctrl-C at a terminal reaches every worker; a SIGINT sent to this process alone is passed on."""
        await stop.wait()
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGINT)

    forwarding = asyncio.create_task(forward_ctrl_c())
    try:
        for pipe, process in zip(pipes, processes, strict=True):
            part = await _receive(pipe, process, loop, stop)
            if isinstance(part, RunResult):
                merged.merge(part)
            elif isinstance(part, str):
                problems.append(part)
    finally:
        forwarding.cancel()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for pipe in pipes:
            pipe.close()
    if out is not None:
        _concatenate(out, [f"{out}.worker{index + 1}" for index in range(workers)])
    if problems:
        merged.warnings.extend(problems)
    merged.interrupted = merged.interrupted or stop.is_set()
    merged.thresholds = evaluate(plan.thresholds, merged.series, merged.checks_tally, merged.duration)
    return merged


async def _receive(
    pipe: Connection, process: multiprocessing.process.BaseProcess, loop: asyncio.AbstractEventLoop, stop: asyncio.Event
) -> object:
    """A worker's result; after Ctrl-C, workers get a few seconds before they are killed."""
    deadline: float | None = None
    while True:
        if await loop.run_in_executor(None, pipe.poll, 0.2):
            try:
                return pipe.recv()
            except EOFError:
                return f"worker {process.name} ended without a result (exit code {process.exitcode})"
        if not process.is_alive() and not pipe.poll():
            return f"worker {process.name} ended without a result (exit code {process.exitcode})"
        if stop.is_set():
            deadline = deadline or loop.time() + 5.0
            if loop.time() > deadline:
                process.kill()
                return f"worker {process.name} did not stop in time after Ctrl-C"


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
