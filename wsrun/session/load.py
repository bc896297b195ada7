"""
Many sessions at once: k6's executors over asyncio tasks, in one event loop.

- no load option: one session (1 vu, 1 iteration);
- ``vus`` + ``duration``: each vu runs sessions back to back until the duration ends (constant-vus);
- ``iterations`` (+ ``vus``, + ``duration`` as a maximum): the vus share that many sessions (shared-iterations);
- ``stages``: the number of vus follows the ramps (ramping-vus).

When the duration ends, running sessions get ``graceful_stop`` to finish, then are
stopped; none outlives the run. Starts are spread so that thousands of sessions
neither connect nor ping in the same millisecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..scenario.models import Scenario
from .plan import Plan
from .record import LogSink, SampleSink
from .results import LogLine, RunResult, SessionResult
from .session import Session
from .verdicts import evaluate

__all__ = ["Load", "LoadRun", "load_of"]

#: k6's default maximum duration of shared iterations.
MAX_DURATION = 600.0
#: Starting N sessions at once is spread over min(N x this, 1 s).
START_SPREAD = 0.001
#: Vus started between two turns of the event loop when starts are due at once.
START_BATCH = 64
#: From this many vus on, the cycle collector's full passes are held back for the run (see _few_full_collections).
MANY_VUS = 1000
#: The full pass's threshold (Python's default is 10): young-generation passes between two full ones.
FULL_COLLECTION_EVERY = 1000


@contextlib.contextmanager
def _few_full_collections(vus: int) -> Iterator[None]:
    """Thousands of held sessions are millions of objects: keep the cycle collector's full passes off them.

    A full pass visits every object the process holds; while 10,000 sessions connect,
    CPython runs one each time the old generation grows by a quarter, about 18 in all,
    of up to 2 s each, and every session waits meanwhile. What exists
    when the run starts (modules, the plan) is frozen out of every pass, and full passes
    are held back until the run ends; the young generations are still collected, so
    short-lived cycles go as before. Nothing changes for a few sessions.
    """
    if vus < MANY_VUS:
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], FULL_COLLECTION_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@dataclass(frozen=True)
class Load:
    """How many sessions, for how long: the scenario's load options after the command line's."""

    vus: int = 1
    iterations: int | None = None
    duration: float | None = None
    stages: tuple[tuple[float, int], ...] = ()
    graceful_stop: float = 30.0
    #: vus alone (no duration, no iterations): each vu runs exactly one session, as k6's
    #: "1 iterations for each of N VUs"; shared iterations would let a quick vu take a late one's.
    one_each: bool = False

    @property
    def single(self) -> bool:
        return self.iterations == 1 and self.vus == 1 and self.duration is None and not self.stages

    @property
    def vus_max(self) -> int:
        return max([self.vus, *(target for _, target in self.stages)])

    def target(self, elapsed: float) -> int:
        """How many vus should run at this time into a staged run (linear ramps, as k6)."""
        previous, start = self.vus, 0.0
        for duration, target in self.stages:
            if elapsed < start + duration:
                fraction = (elapsed - start) / duration if duration else 1.0
                return round(previous + (target - previous) * fraction)
            previous, start = target, start + duration
        return previous

    @property
    def total_duration(self) -> float | None:
        if self.stages:
            return sum(duration for duration, _ in self.stages)
        return self.duration


def load_of(
    scenario: Scenario, *, vus: int | None = None, iterations: int | None = None, duration: float | None = None
) -> Load:
    """The load of a run: command-line values override the scenario's, as in k6."""
    vus = vus if vus is not None else scenario.vus
    iterations = iterations if iterations is not None else scenario.iterations
    duration = duration if duration is not None else scenario.duration
    stages = (
        ()
        if duration is not None or iterations is not None
        else tuple((stage.duration, stage.target) for stage in scenario.stages or ())
    )
    if stages:
        return Load(vus=vus or 1, stages=stages, graceful_stop=scenario.graceful_stop)
    if duration is None and iterations is None:
        # k6: vus without duration or iterations run one iteration each
        return Load(vus=vus or 1, iterations=vus or 1, graceful_stop=scenario.graceful_stop, one_each=True)
    return Load(vus=vus or 1, iterations=iterations, duration=duration, graceful_stop=scenario.graceful_stop)


class LoadRun:
    """Runs a plan's sessions under a load, folding each finished session into a RunResult."""

    def __init__(
        self,
        plan: Plan,
        load: Load,
        *,
        on_log: LogSink | None = None,
        on_session: Callable[[SessionResult], None] | None = None,
        on_sample: SampleSink | None = None,
        first_vu: int = 1,
        vu_step: int = 1,
        part: bool = False,
    ) -> None:
        self.plan, self.load = plan, load
        # A share of a run spread over processes: the whole run is judged after the merge.
        self._part = part
        self._on_log, self._on_session, self._on_sample = on_log, on_session, on_sample
        # Worker processes number their vus first_vu, first_vu + vu_step, ... so that ids stay unique.
        self._first_vu, self._vu_step = first_vu, vu_step
        self._loop = asyncio.get_running_loop()
        self._sessions: set[Session] = set()
        self._stopping = False
        self._done = asyncio.Event()
        self._next_iteration = 0
        self._retire: set[int] = set()
        # The running vus' tasks, by vu number; the tasks starting more; vus asked for but not started yet.
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._starters: set[asyncio.Task[None]] = set()
        self._unstarted = 0
        self._winding_down = False
        self._idle = asyncio.Event()  # no vu running and none left to start
        self._ids = itertools.count(first_vu, vu_step)
        self._free: list[int] = []  # numbers of vus that ended, started again first by a ramp (a heap)
        self._end: float | None = None
        self.active = 0
        scenario = plan.scenario
        self.result = RunResult(
            scenario.name, plan.file, plan.mask(plan.options.url), dict(scenario.tags), plan.options.transport
        )

    def snapshot(self) -> tuple[int, int, int]:
        """Live figures for a progress display: sessions active, messages received, failed checks so far."""
        running = [session.result for session in self._sessions]
        received = self.result.series.select().counters.get("ws_msgs_received", 0) if self.result.sessions else 0
        received += sum(result.metrics.counters["ws_msgs_received"] for result in running)
        failed = sum(check.fails for check in self.result.checks.values())
        failed += sum(check.fails for result in running for check in result.checks.values())
        return len(running), int(received), failed

    # -- stopping ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ctrl-C: start no session, and stop the running ones now."""
        self._stopping = True
        for session in list(self._sessions):
            session.stop()
        self._done.set()

    # -- one vu --------------------------------------------------------------------------------

    def _take_iteration(self) -> bool:
        """Shared iterations: whether one is left to run."""
        if self.load.iterations is None:
            return True
        if self._next_iteration >= self.load.iterations:
            return False
        self._next_iteration += 1
        return True

    async def _vu(self, vu: int, deadline: float | None) -> None:
        iteration = 0
        while not self._stopping and vu not in self._retire:
            if deadline is not None and self._loop.time() >= deadline:
                break
            if not self._take_iteration():
                break
            await self._session(vu, iteration)
            iteration += 1
            if self.load.one_each:
                break
        self._retire.discard(vu)

    async def _session(self, vu: int, iteration: int) -> None:
        plan = self.plan if (vu, iteration) == (1, 0) else self.plan.for_session(vu, iteration)
        session = Session(plan, self._on_log, name_lines=not self.load.single, on_sample=self._on_sample)
        self._sessions.add(session)
        self.active += 1
        try:
            result = await session.run()
        except Exception as exc:  # a bug of wsrun's: reported as the session's error, never lost
            result = session.result
            text = plan.mask(f"internal error in wsrun: {exc!r}")  # a secret may be in the exception
            result.errors.append(LogLine(result.duration, text, "error"))
        finally:
            self._sessions.discard(session)
            self.active -= 1
        self.result.add(result, {**self.plan.scenario.tags, "url": result.url, "status": str(result.status or "")})
        if self._on_session is not None:
            self._on_session(result)

    # -- starting vus ------------------------------------------------------------------------------

    def _start(self, count: int) -> None:
        """Ask for ``count`` more vus, started by a task that spreads them (see START_SPREAD)."""
        self._unstarted += count
        self._idle.clear()
        starter = asyncio.create_task(self._starting(count))
        self._starters.add(starter)
        starter.add_done_callback(self._starter_done)

    async def _starting(self, count: int) -> None:
        """Start up to ``count`` vus, spread over min(count x START_SPREAD, 1 s).

        A vu's task exists only from its start to its end, so memory follows the
        sessions running, not ``vus``; the loop gets through between starts, so
        Ctrl-C is seen at once whatever the count.
        """
        spread = min(count * START_SPREAD, 1.0)
        began = self._loop.time()
        for position in range(count):
            if self._stopping or self._winding_down or self._unstarted <= 0:
                return
            due = began + spread * position / count
            if due > self._loop.time():
                await asyncio.sleep(due - self._loop.time())
            elif position % START_BATCH == 0:
                await asyncio.sleep(0)
            if self._stopping or self._winding_down or self._unstarted <= 0:
                return
            self._unstarted -= 1
            vu = heapq.heappop(self._free) if self._free else next(self._ids)
            task = asyncio.create_task(self._vu(vu, self._end))
            self._tasks[vu] = task
            # The most vus that ran at once: not the number asked for, which a run stopped early never reached.
            self.result.vus_max = max(self.result.vus_max, len(self._tasks))
            task.add_done_callback(functools.partial(self._vu_done, vu))

    def _vu_done(self, vu: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(vu) is task:
            del self._tasks[vu]
        if self.load.stages:  # a ramp starts the lowest free numbers again
            heapq.heappush(self._free, vu)
        self._check_idle()

    def _starter_done(self, starter: asyncio.Task[None]) -> None:
        self._starters.discard(starter)
        if not self._starters:
            self._unstarted = 0
        self._check_idle()

    def _check_idle(self) -> None:
        if not self._tasks and not self._starters:
            self._idle.set()

    # -- the executors ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run the load; returns when every session has ended."""
        started = self._loop.time()
        self.result.started = time.time()
        load = self.load
        end = None if load.total_duration is None else started + load.total_duration
        if load.iterations is not None and end is None:
            end = started + MAX_DURATION
        self._end = end
        with _few_full_collections(load.vus_max):
            try:
                if load.stages:
                    await self._ramp(started)
                else:
                    self._start(load.vus)
                    await self._until(end)
                await self._wind_down()
            finally:
                self._winding_down = True
                for task in [*self._starters, *self._tasks.values()]:
                    task.cancel()
                await asyncio.gather(*self._starters, *self._tasks.values(), return_exceptions=True)
        self.result.duration = self._loop.time() - started
        self.result.interrupted = self.result.interrupted or self._stopping
        if not self._part:  # a share of a run spread over processes is judged whole, after the merge
            self.result.judge_unreached()
            self.result.thresholds = evaluate(
                self.plan.thresholds, self.result.series, self.result.checks_tally, self.result.duration
            )
        return self.result

    async def _until(self, end: float | None) -> None:
        """Wait until every vu is done, the end time, or Ctrl-C, whichever comes first."""
        every_vu = asyncio.ensure_future(self._idle.wait())
        stop = asyncio.ensure_future(self._done.wait())
        try:
            timeout = None if end is None else max(0.0, end - self._loop.time())
            await asyncio.wait([every_vu, stop], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (every_vu, stop):
                waiter.cancel()
            await asyncio.gather(every_vu, stop, return_exceptions=True)

    async def _ramp(self, started: float) -> None:
        """Follow the stages: start vus when the target rises; retire the newest after their session when it falls."""
        total = self.load.total_duration or 0.0
        while not self._stopping:
            elapsed = self._loop.time() - started
            if elapsed >= total:
                break
            target = self.load.target(elapsed)
            live = sorted(vu for vu, task in self._tasks.items() if not task.done() and vu not in self._retire)
            wanted = len(live) + self._unstarted
            if wanted < target:
                self._start(target - wanted)
            elif wanted > target:
                fewer = min(self._unstarted, wanted - target)  # vus not started yet go first
                self._unstarted -= fewer
                self._retire.update(live[target:])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(0.1, max(0.0, total - elapsed))):
                    await self._done.wait()

    async def _wind_down(self) -> None:
        """The end: no new sessions; running ones get graceful_stop, then are stopped."""
        self._winding_down = True
        self._retire.update(self._tasks)
        running = [task for task in self._tasks.values() if not task.done()]
        if running and not self._stopping:
            await asyncio.wait(running, timeout=self.load.graceful_stop)
        for session in list(self._sessions):
            session.stop(interrupted=self._stopping)
        running = [task for task in self._tasks.values() if not task.done()]
        if running:
            # Each stopped session ends within about a second (its close, bounded); allow a margin.
            await asyncio.wait(running, timeout=5.0)
