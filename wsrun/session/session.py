"""
The interpreter: runs one session of a scenario's rules against a connection.

One loop per session takes events from the connection and fires timers on
absolute due times; rules run one at a time, in file order, like handlers in
k6's event loop. Every wait has a deadline: the scenario's ``timeout`` bounds
the session, and ``close_timeout`` bounds what runs after it.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import deque
from typing import Any

from ..errors import ConnectFailed
from ..scenario.models import Rule
from ..transport.base import Connection, describe_close, open_connection
from ..transport.events import Closed, Event, Message, Ping, Pong
from .actions import Actions
from .plan import Plan
from .record import LogSink, Recorder, SampleSink
from .results import TIMELINE_LENGTH, SessionResult
from .state import SessionState

__all__ = ["Session", "run_session"]


class Session:
    """One connection's life: connect, run the rules, close, evaluate the checks."""

    def __init__(
        self,
        plan: Plan,
        on_log: LogSink | None = None,
        *,
        name_lines: bool = False,
        on_sample: SampleSink | None = None,
    ) -> None:
        self.plan = plan
        self.scenario = plan.scenario
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._interrupting = True
        self._timeout: asyncio.Timeout | None = None
        self._grace: asyncio.Timeout | None = None
        self._closed_seen = False
        self._done = False
        #: The idle rules (by duration), when the last message arrived (from open), and how many fired since.
        self._idle: list[tuple[float, int, Rule]] = []
        self._heard = 0.0
        self._idle_fired = 0
        self.result = SessionResult(
            scenario=self.scenario.name,
            file=plan.file,
            url=plan.mask(plan.options.url),
            tags=dict(self.scenario.tags),
            transport=plan.options.transport,
            vu=plan.vu,
            iteration=plan.iteration,
        )
        tls = self.scenario.tls
        if tls is not None and tls.insecure and plan.options.url.startswith("wss://"):
            self.result.warnings.append("TLS verification is off (tls.insecure): the server's identity was not checked")
        if plan.timeline:
            self.result.transcript = deque(maxlen=TIMELINE_LENGTH)
        self._record = Recorder(self.result, plan.mask, on_log=on_log, on_sample=on_sample, name_lines=name_lines)
        self._record.register_checks(self.scenario)
        self._record.register_metrics(self.scenario)
        self.state = SessionState(plan, self.result)
        self.actions = Actions(self.state, self._record)

    # -- running ------------------------------------------------------------------------------

    def stop(self, *, interrupted: bool = True) -> None:
        """End the session now: Ctrl-C, or (``interrupted=False``) the end of a load run's graceful stop.

        What runs after is bounded by a second.
        """
        if self._done:
            return
        self._stopping = True
        self._interrupting = interrupted
        if self._timeout is not None and not self._timeout.expired():
            self._timeout.reschedule(self._loop.time())
        elif self._grace is not None:  # already ending after the timeout: shorten what is left
            when = self._grace.when()
            soon = self._loop.time() + 1.0
            self._grace.reschedule(soon if when is None else min(when, soon))

    async def run(self) -> SessionResult:
        self._record.count("ws_sessions")
        try:
            try:
                async with asyncio.timeout(self.scenario.timeout) as self._timeout:
                    if self._stopping:
                        self._timeout.reschedule(self._loop.time())
                    await self._session()
            except TimeoutError:
                if self._timeout is None or not self._timeout.expired():
                    raise
                await self._end_early()
        finally:
            self._done = True
            self._record.flush()  # the transcript, whole, whatever happens next
            if self.state.conn is not None:  # nothing outlives the session, even on cancellation
                await asyncio.wait_for(self.state.conn.abort(), 1.0)
        self._finish()
        return self.result

    async def _session(self) -> None:
        try:
            self.state.conn = conn = await open_connection(self.plan.options)
        except ConnectFailed as exc:
            self.result.status, self.result.headers = exc.status, exc.headers
            self._record.frame("received", "error", str(exc))
            self._record.log(str(exc), "error")
            await self.actions.fire("error")
            return
        self.result.status, self.result.headers, self.result.subprotocol = conn.status, conn.headers, conn.subprotocol
        self._record.measure("ws_connecting", conn.connecting * 1000)
        self._record.frame(
            "received",
            "open",
            f"HTTP {conn.status}" + (f", subprotocol {conn.subprotocol}" if conn.subprotocol else ""),
        )
        await self.actions.fire("open")
        await self._loop_events(conn)

    async def _loop_events(self, conn: Connection) -> None:
        opened = self._loop.time()
        loop_time = self._loop.time
        state = self.state
        # Timers: a heap of [due, file order, rule, runs so far]. Due times are computed from
        # the open time (opened + n * every), never by adding up delays, so they
        # do not drift; ties run in file order (the index breaks them: rules are never compared).
        timers: list[list[Any]] = []
        for index, rule in enumerate(self.scenario.rules):
            delay = rule.every if rule.every is not None else rule.after
            if delay is not None:
                timers.append([opened + delay, index, rule, 1])
        heapq.heapify(timers)
        # Idle rules by duration (ties in file order): in one silence they fire in this order, so
        # those fired so far are the first self._idle_fired, and a message re-arms them all at once.
        self._idle = idle = sorted(
            ((rule.idle, index, rule) for index, rule in enumerate(self.scenario.rules) if rule.idle is not None),
            key=lambda entry: (entry[0], entry[1]),
        )
        watch_pongs = self.scenario.pong_timeout is not None
        self._heard, self._idle_fired = opened, 0
        handled = 0
        yield_by = loop_time() + 0.05
        while True:
            # Each turn costs O(1) when nothing is pending: the earliest of the few deadlines is
            # compared, never searched for (issue 15: this runs once per message).
            if self.actions.failures:
                await self.actions.fire_failures()  # the failures the last event's handling decided
            if state.settle is not None and (self._settled() or loop_time() >= state.settle[3]):
                await self._close_settled()
            if timers and (state.closing or state.settle is not None):
                timers.clear()  # timers stop once the session closes, or waits to close
            wake = due = timers[0][0] if timers else None
            pong_due = self._pong_due(conn) if watch_pongs else None
            if pong_due is not None and (wake is None or pong_due < wake):
                wake = pong_due
            expect_due = None
            if state.pending:
                expect_due = min((d for p in state.pending if (d := p.due()) is not None), default=None)
                if expect_due is not None and (wake is None or expect_due < wake):
                    wake = expect_due
            if state.settle is not None and (wake is None or state.settle[3] < wake):
                wake = state.settle[3]
            idle_due = None
            if self._idle_fired < len(idle) and not state.closing and state.settle is None:
                idle_due = self._heard + idle[self._idle_fired][0]
            # What is due goes before the next queued event: a flood of messages must not starve the timers.
            # Silence is not such a deadline: it is over when a message is queued, so it is only heard
            # when the queue was looked at and was empty.
            looked = wake is None or loop_time() < wake
            listen = wake if idle_due is None else idle_due if wake is None else min(wake, idle_due)
            event = await conn.next_event_before(listen) if looked else None
            if event is None:
                if pong_due is not None and loop_time() >= pong_due:
                    await self._pong_timed_out(conn)
                    continue
                if expect_due is not None and loop_time() >= expect_due:
                    self.actions.expire_pending()
                    continue
                if looked and idle_due is not None and loop_time() >= idle_due and (due is None or idle_due <= due):
                    _, index, rule = idle[self._idle_fired]
                    self._idle_fired += 1
                    await self._run_timer(index, rule)
                    continue
                if not timers or loop_time() < timers[0][0]:
                    continue  # a close waiting for pending expectations came due: the top of the loop sends it
                timer = timers[0]
                _, index, rule, runs = timer
                if rule.every is None:
                    heapq.heappop(timers)
                else:
                    # The next slot after now: a late run causes no burst of catch-up runs.
                    behind = (loop_time() - opened) / rule.every
                    timer[3] = max(runs + 1, math.floor(behind) + 1)
                    timer[0] = opened + rule.every * timer[3]
                    heapq.heapreplace(timers, timer)
                await self._run_timer(index, rule)
                continue
            if type(event) is Message:
                await self._message(event)
            elif isinstance(event, Closed):
                await self._closed(event)
                return
            else:
                await self._dispatch(event)
            handled += 1
            if handled % 64 == 0 or loop_time() >= yield_by:
                # Queued events never suspend: let the deadline and Ctrl-C be seen during a flood,
                # and after events that took long to handle (schema validations, say).
                await asyncio.sleep(0)
                yield_by = loop_time() + 0.05

    async def _run_timer(self, index: int, rule: Rule) -> None:
        """A rule whose time came (every, after, idle)."""
        if self.plan.timeline:
            self._record.frame("local", "timer", f"{rule.trigger}: rules[{index}]")
        await self.actions.run_rule(index, rule)
        # A rule slower than its own interval would otherwise never let the
        # loop run: the session deadline and Ctrl-C must always get through.
        await asyncio.sleep(0)

    def _settled(self) -> bool:
        """Every expectation the waiting close waits for is decided: it can go now."""
        assert self.state.settle is not None
        waited = {id(pending) for pending in self.state.settle[2]}  # by identity: alike expectations are not one
        return not any(id(pending) in waited for pending in self.state.pending)

    async def _close_settled(self) -> None:
        """The close that waited for pending expectations (``close: {wait_for_pending: true}``)."""
        assert self.state.settle is not None
        code, reason, _, _ = self.state.settle
        self.state.settle = None
        if self.state.conn is not None and not self.state.conn.closed:  # else the server closed first: nothing to close
            await self.actions.close(code, reason)

    def _pong_due(self, conn: Connection) -> float | None:
        timeout = self.scenario.pong_timeout
        if timeout is None:
            return None
        sent = conn.oldest_unanswered_ping()
        return None if sent is None or conn.closed else sent + timeout

    async def _pong_timed_out(self, conn: Connection) -> None:
        """No pong in time: the peer is gone or stuck. Error rules run, then the connection is closed with 1011."""
        self._record.log(f"no pong within {self.scenario.pong_timeout:g}s of a ping: closing with 1011", "error")
        await self.actions.fire("error")
        if not conn.closed:
            await self.actions.close(1011, "pong timeout")

    async def _dispatch(self, event: Event, *, fire: bool = True) -> None:
        """Count and record an event, let the pending expectations that watch it see it, then run its rules.

        No rule fires once this session has sent its close frame (as in k6, where no
        handler runs after ``socket.close()``): what arrives during the closing
        handshake is counted, recorded and seen by expectations, nothing more.
        """
        fire = fire and not self.state.closing
        if isinstance(event, Message):
            await self._message(event, fire)
        elif isinstance(event, Ping):
            self.state.pings_received += 1
            self._record.frame("received", "ping", event.data)
            if self.state.pending:
                self.actions.feed_control("pings", event.data)
            if fire:
                self.state.ping_handled = event.data  # what a bare `pong` in its rules answers
                try:
                    await self.actions.fire("ping")
                finally:
                    self.state.ping_handled = None
        elif isinstance(event, Pong):
            self.state.pongs_received += 1
            if event.rtt is not None:
                self._record.measure("ws_ping", event.rtt * 1000)
            rtt = f" after {event.rtt * 1000:.1f}ms" if event.rtt is not None else " (unsolicited)"
            self._record.frame("received", "pong", event.data, rtt)
            if self.state.pending:
                self.actions.feed_control("pongs", event.data)
            if fire:
                await self.actions.fire("pong")

    async def _message(self, event: Message, fire: bool = True) -> None:
        """A data message: counted, recorded, seen by the pending expectations, then its rules run."""
        state = self.state
        fire = fire and not state.closing
        self._record.count("ws_msgs_received")
        state.last_message = data = event.data
        if self._idle:  # the silence is over: idle rules re-arm
            self._heard, self._idle_fired = self._loop.time(), 0
        text = isinstance(data, str)
        self._record.frame("received", "text" if text else "binary", data)
        if state.pending:
            self.actions.feed_pending(data)
        if fire:
            await self.actions.fire("message" if text else "binary")

    def _note_close(self, event: Closed) -> None:
        """How the connection closed, in the result (reasons masked)."""
        result = self.result
        result.close_code, result.closed_by = event.code, event.by
        result.close_reason = self.plan.mask(event.reason)
        result.close_handshake = event.handshake and self.plan.mask(event.handshake)

    async def _closed(self, event: Closed) -> None:
        self._closed_seen = True
        self._note_close(event)
        if event.by == "server" or event.error is None:  # the server's close frame, or its answer to ours
            self._record.frame("received", "close", describe_close(event.code, event.reason))
        if event.failed_with is not None:  # the close frame the transport sent when it failed the connection
            self._record.frame("sent", "close", describe_close(*event.failed_with))
        if event.error is not None:
            self._record.log(event.error, "error")
            await self.actions.fire("error")
        await self.actions.fire("close")

    async def _end_early(self) -> None:
        """The deadline passed or Ctrl-C: say so, close, and let error and close rules run, bounded."""
        conn = self.state.conn
        if self._stopping and self._interrupting:
            self.result.interrupted = True
            self._record.log("interrupted", "note")
        elif self._stopping:
            self.result.stopped = True
            self._record.log("stopped: the load run's duration and graceful stop are over", "note")
        else:
            self.result.timed_out = True
            self._record.log(f"session timed out after {self.scenario.timeout:g}s", "error")
        grace = min(self.scenario.close_timeout, 1.0) if self._stopping else self.scenario.close_timeout
        try:
            async with asyncio.timeout(grace) as self._grace:
                if self._closed_seen:  # the deadline passed while close rules ran: they do not run twice
                    return
                if not self._stopping:
                    await self.actions.fire("error")
                if conn is not None and not conn.closed:
                    reason = (
                        "wsrun: session timeout"
                        if not self._stopping
                        else "wsrun: interrupted"
                        if self._interrupting
                        else "wsrun: stopped at the end of the load run"
                    )
                    await self.actions.close(1001, reason)
                if conn is not None:
                    event = await conn.next_event()
                    drained = 0
                    while not isinstance(event, Closed):
                        # What arrives while closing is counted and seen by expectations; no rule runs.
                        await self._dispatch(event, fire=False)
                        drained += 1
                        if drained % 64 == 0:
                            await asyncio.sleep(0)  # let the grace deadline be seen
                        event = await conn.next_event()
                    if not self._stopping:
                        await self._closed(event)
                    else:
                        self._note_close(event)
        except TimeoutError:
            self._record.log(
                f"the session did not end within {grace:g}s after its deadline; connection dropped", "note"
            )

    def _finish(self) -> None:
        result, conn = self.result, self.state.conn
        result.duration = self._record.now()
        if conn is not None:
            self._record.count("data_sent", conn.bytes_sent)
            self._record.count("data_received", conn.bytes_received)
            self._record.measure("ws_session_duration", result.duration * 1000)
        now = self._loop.time()
        for pending in self.state.pending:
            if not result.stopped:
                self.actions.decide(pending, pending.end(now, interrupted=result.interrupted))
            # A session stopped by the load schedule is stopped, not failed (as in k6): what held so far
            # passes, what it still waited for, and rules it had not reached, count neither way.
            elif (held := pending.stopped(now)) is not None:
                self.actions.decide(pending, held)
        self.state.pending.clear()
        for index, check in enumerate(self.scenario.checks):
            self.actions.check(check, f"checks[{index}]")
        if not result.stopped:
            self._record.never_evaluated()


async def run_session(plan: Plan, on_log: LogSink | None = None) -> SessionResult:
    """Run one session of a prepared scenario and return what happened."""
    return await Session(plan, on_log).run()
