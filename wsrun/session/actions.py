"""
Rules and actions: what a session does when an event fires, and its expectations.

The session's loop (:class:`~wsrun.session.session.Session`) decides when a rule
fires; :class:`Actions` runs it. Both work on one
:class:`~wsrun.session.state.SessionState`, given to each.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import Disconnected, TemplateError
from ..scenario import conditions
from ..scenario.conditions import Outcome
from ..scenario.models import (
    Add,
    AnswerPings,
    CheckAction,
    Close,
    Expect,
    Increment,
    Log,
    Payload,
    Request,
    Rule,
    Send,
    SendBinary,
    SendJson,
    SizedText,
    Store,
)
from ..scenario.models import Ping as PingAction
from ..scenario.models import Pong as PongAction
from ..scenario.namespace import dig
from ..scenario.templates import MISSING, render, render_value, text_of
from ..transport.base import Connection, close_reason_bytes, describe_close
from .expect import Pending, arm_expect, arm_request
from .metrics import sample_value
from .record import Recorder
from .state import SessionState

__all__ = ["Actions"]


class _Skipped(Exception):
    """An action could not run; the reason goes to the report as an error."""


class _NotSent(Exception):
    """An action could not go out because the connection had already ended from the server's side.

    A note, not an error: whether a send comes just before or just after the
    server's close frame is a race, and the close itself is judged by its code.
    """


#: A compiled action: its handler, the two arguments it is called with, and its place (rules[i].do[j]).
_Step = tuple[Callable[[Any, str], Awaitable[None]], Any, str, str]


def _json_text(payload: Any, what: str) -> str:
    """A payload as JSON text; never the Infinity or NaN no JSON parser accepts (a value a server sent, say)."""
    try:
        return json.dumps(payload, ensure_ascii=False, default=text_of, allow_nan=False)
    except ValueError:
        raise _Skipped(f"{what} skipped: a number in it is infinite or NaN, which JSON cannot carry") from None


class Actions:
    """Running rules and actions, and deciding expectations, on a session's state."""

    def __init__(self, state: SessionState, record: Recorder) -> None:
        self.state = state
        self.record = record
        self.plan = state.plan
        self.lookup = state.lookup
        self._loop = asyncio.get_running_loop()
        scenario = state.plan.scenario
        self.secrets = scenario.secrets
        # Each action's handler, by its type: looked up once per scenario, not per run (issue 15).
        handlers: dict[type, Callable[[Any, str], Awaitable[None]]] = {
            Log: self._log,
            Send: self._send_text,
            SendJson: self._send_json,
            SendBinary: self._send_binary,
            PingAction: self._ping,
            PongAction: self._pong,
            AnswerPings: self._answer_pings,
            Close: self._close,
            CheckAction: self._check,
            Expect: self._expect,
            Request: self._request,
            Store: self._store,
            Increment: self._increment,
            Add: self._add,
        }
        # Every rule's steps, compiled once: its handlers with their arguments, and rules[i].do[j].
        # A text sent as written (no template) goes straight to _send: nothing is rendered per message.
        self._steps: list[list[_Step]] = []
        for index, rule in enumerate(scenario.rules):
            steps: list[_Step] = []
            for position, action in enumerate(rule.do):
                where = f"rules[{index}].do[{position}]"
                if type(action) is Send and isinstance(action.send, str) and "{{" not in action.send:
                    steps.append((self._send, action.send, "send", where))
                else:
                    handler = next(handlers[kind] for kind in type(action).__mro__ if kind in handlers)
                    steps.append((handler, action, where, where))
            self._steps.append(steps)
        # Each rule's condition, compiled when it is a plain comparison with a number (None: the general path).
        self._tests = [conditions.predicate(rule.when) for rule in scenario.rules]
        # The rules of each event, in file order: looked up for every message.
        self._rules_on: dict[str, list[tuple[int, Rule]]] = {}
        for index, rule in enumerate(scenario.rules):
            if rule.on is not None:
                self._rules_on.setdefault(rule.on, []).append((index, rule))
        #: Failures decided while rules may fire, for ``on: failure`` rules: the session's loop fires
        #: them (fire_failures) once the event that decided them is handled, before the next one.
        self.failures: deque[dict[str, str]] = deque()
        self._watch_failures = "failure" in self._rules_on

    async def fire(self, event: str) -> None:
        """Run every rule for an event, in file order."""
        for index, rule in self._rules_on.get(event, ()):
            await self.run_rule(index, rule)

    async def run_rule(self, index: int, rule: Rule) -> None:
        """Run a rule's actions in order, if its condition holds; a failing action does not stop the rest."""
        if rule.when is not None:
            test = self._tests[index]
            try:
                if test is not None:
                    if not test(self.lookup):
                        return
                elif not conditions.holds(rule.when, self.lookup, explain=False, schemas=self.plan.schemas).passed:
                    return
            except TemplateError as exc:
                self.record.log(f"rules[{index}].when ({rule.trigger}): {exc}", "error")
                return
        for handler, argument, detail, where in self._steps[index]:
            try:
                await handler(argument, detail)
            except TemplateError as exc:
                self.record.log(f"{where} ({rule.trigger}): {exc}", "error")
            except _Skipped as exc:
                self.record.log(f"{where} ({rule.trigger}): {exc}", "error")
            except _NotSent as exc:
                self.record.log(f"{where} ({rule.trigger}): {exc}", "note")

    async def fire_failures(self) -> None:
        """Run the ``failure`` rules for each failure queued, in order, with ``failure`` set.

        A failure decided inside a failure rule fires nothing (no loop), and once the
        session has sent its close frame no rule fires: what is still queued is dropped.
        """
        self._watch_failures = False
        try:
            while self.failures and not self.state.closing:
                self.state.failure = self.failures.popleft()
                await self.fire("failure")
        finally:
            self.state.failure = None
            self.failures.clear()
            self._watch_failures = True

    def _failed(self, name: str, outcome: Outcome) -> None:
        """Queue a failure for the ``failure`` rules, its reason as the report shows it (masked)."""
        if not outcome.passed and self._watch_failures and not self.state.closing:
            self.failures.append({"name": name, "reason": self.record.shown(outcome.reason)})

    def _gone(self, what: str) -> Exception:
        """Why an action that needs the connection cannot run now that it is closed."""
        if self.state.closing:  # the scenario closed it: an action after its own close is a mistake in the file
            return _Skipped(f"{what} skipped: the connection is closed")
        return _NotSent(f"{what} not sent: the connection was already closed from the server's side")

    def _connection(self, what: str) -> Connection:
        conn = self.state.conn
        if conn is None:
            raise _Skipped(f"{what} skipped: there is no connection")
        if conn.closed:
            raise self._gone(what)
        return conn

    async def _send(self, data: str | bytes, what: str) -> None:
        conn = self._connection(what)
        try:
            await conn.send(data)
        except Disconnected:
            raise self._gone(what) from None
        except ValueError as exc:
            raise _Skipped(f"{what} skipped: {exc}") from None
        self.record.count("ws_msgs_sent")
        self.record.frame("sent", "text" if isinstance(data, str) else "binary", data)

    def _built(self, payload: Payload | SizedText, what: str) -> str | bytes:
        """A payload as built now (prebuilt when constant); rendered text that does not decode skips the send."""
        try:
            built = payload.build(self.lookup)
        except ValueError as exc:
            raise _Skipped(f"{what} skipped: {exc}") from None
        if payload.size is not None and payload.constant is None and not payload.random and self.record.mask:
            # A pattern repeated to a size may stop inside a secret: what it shows of it is a secret too.
            if cut := self.record.mask.cut_short(built):
                self.record.hide(cut)
        return built

    async def _log(self, action: Log, where: str) -> None:
        self.record.log(render(action.log, self.lookup))

    async def _send_text(self, action: Send, where: str) -> None:
        send = action.send
        await self._send(render(send, self.lookup) if isinstance(send, str) else self._built(send, "send"), "send")

    async def _send_json(self, action: SendJson, where: str) -> None:
        payload = render_value(action.send_json, self.lookup)
        await self._send(_json_text(payload, "send_json"), "send_json")

    async def _send_binary(self, action: SendBinary, where: str) -> None:
        await self._send(self._built(action.send_binary, "send_binary"), "send_binary")

    async def _ping(self, action: PingAction, where: str) -> None:
        conn = self._connection("ping")
        data = action.ping.data if action.ping is not None else None
        payload = render(data, self.lookup).encode() if data is not None else None
        try:
            payload = await conn.ping(payload)
        except ValueError as exc:
            raise _Skipped(f"ping skipped: {exc}") from None
        except Disconnected:
            raise self._gone("ping") from None
        self.record.frame("sent", "ping", payload)

    async def _answer_pings(self, action: AnswerPings, where: str) -> None:
        # Needs no open connection: after the close it changes nothing, and is no mistake.
        if self.state.conn is not None:
            self.state.conn.answer_pings(action.answer_pings)

    async def _close(self, action: Close, where: str) -> None:
        self._connection("close")
        options = action.close
        code, reason = (options.code, render(options.reason, self.lookup)) if options else (1000, "")
        try:  # a rendered reason too long for a close frame is an error now, not when it goes out
            close_reason_bytes(reason)
        except ValueError as exc:
            raise _Skipped(f"close skipped: {exc}") from None
        if options is not None and options.wait_for_pending:
            # The loop closes once nothing pending has a deadline, and at the latest when the last deadline
            # pending now passes: what rules arm meanwhile does not hold the close back.
            waited = [pending for pending in self.state.pending if pending.deadline is not None]
            latest = max((pending.deadline for pending in waited if pending.deadline is not None), default=0.0)
            self.state.settle = (code, reason, waited, max(latest, self._loop.time()))
            return
        await self.close(code, reason)

    async def _check(self, action: CheckAction, where: str) -> None:
        self.check(action.check, where)

    async def _expect(self, action: Expect, where: str) -> None:
        # No connection needed: messages already received are still to be processed.
        self.state.pending.append(arm_expect(action.expect, where, self._loop.time(), self.plan.schemas))

    async def _request(self, action: Request, where: str) -> None:
        request = action.request
        payload = render_value(request.send_json, self.lookup)
        request_id = dig(payload, request.id.split("."))
        if request_id is MISSING:  # pragma: no cover - the loader refuses a request without its id
            raise _Skipped(f"request skipped: the request has no {request.id}")
        try:
            await self._send(_json_text(payload, "request"), "request")
        except (_Skipped, _NotSent) as exc:
            # Unsent, it cannot be answered: its check fails, as it would had it gone out unanswered.
            failed = Outcome(False, str(exc))
            self.record.outcome(request.name, where, failed)
            self._failed(request.name, failed)
            raise
        self.state.pending.append(arm_request(request, request_id, where, self._loop.time()))

    async def _store(self, action: Store, where: str) -> None:
        value = self.lookup(action.store.from_)
        if value is MISSING:
            raise _Skipped(f"store skipped: {action.store.from_} is not set")
        self.state.stored[action.store.as_] = value
        if action.store.as_ in self.secrets:
            self.record.hide(value)

    async def _increment(self, action: Increment, where: str) -> None:
        self.record.add(action.increment, "counter", 1)

    async def _add(self, action: Add, where: str) -> None:
        """A sample of one of the scenario's own metrics; a value that kind cannot hold skips it, as an error."""
        metric, value = action.add.metric, action.add.value
        kind = self.plan.scenario.metrics[metric]
        try:
            sample = sample_value(kind, render_value(value, self.lookup) if isinstance(value, str) else value)
        except ValueError as exc:
            raise _Skipped(f"add to {metric} skipped: {exc}") from None
        self.record.add(metric, kind, sample)

    async def _pong(self, action: PongAction, where: str) -> None:
        """A pong with the given payload; the bare word answers the ping being handled (else it is empty)."""
        conn = self._connection("pong")
        data = action.pong.data if action.pong is not None else None
        payload = render(data, self.lookup).encode() if data is not None else self.state.ping_handled or b""
        try:
            await conn.pong(payload)
        except ValueError as exc:
            raise _Skipped(f"pong skipped: {exc}") from None
        except Disconnected:
            raise self._gone("pong") from None
        self.record.frame("sent", "pong", payload)

    async def close(self, code: int, reason: str) -> None:
        """Send our close frame (its answer comes as the Closed event); from now on no rule fires."""
        conn = self._connection("close")
        self.state.closing = True
        self.state.settle = None
        self.record.frame("sent", "close", describe_close(code, reason))
        await conn.close(code, reason)

    def feed_pending(self, message: Any, of: str = "messages") -> None:
        """Every pending expectation sees every message (or ping, or pong, as it watches), in the order they
        were armed."""
        now = self._loop.time()
        for pending in list(self.state.pending):
            if pending.of != of:
                continue
            try:
                outcome = pending.feed(now, self.lookup, message)
            except TemplateError as exc:  # a condition's template names a value not set now
                outcome = Outcome(False, f"a condition could not be evaluated: {exc}")
            if outcome is not None:
                self.state.pending.remove(pending)
                if outcome.passed and pending.kind == "request":
                    assert pending.request is not None
                    if pending.request.as_ is not None:
                        self.state.stored[pending.request.as_] = message
                self.decide(pending, outcome)

    def feed_control(self, of: str, data: bytes) -> None:
        """A ping or a pong, to the expectations that watch them (``of``): while they look, ``message`` is its
        payload, as text when it is UTF-8, else bytes."""
        if not any(pending.of == of for pending in self.state.pending):
            return
        state = self.state
        received = state.last_message
        try:
            state.last_message = data.decode()
        except UnicodeDecodeError:
            state.last_message = data
        try:
            self.feed_pending(state.last_message, of)
        finally:
            state.last_message = received

    def expire_pending(self) -> None:
        now = self._loop.time()
        for pending in list(self.state.pending):
            due = pending.due()
            if due is not None and now >= due:
                outcome = pending.expire(now)
                if outcome is not None:
                    self.state.pending.remove(pending)
                    self.decide(pending, outcome)

    def decide(self, pending: Pending, outcome: Outcome) -> None:
        """Record an expectation's outcome: a check result, a latency, the frames around a failure."""
        now = self._loop.time()
        latency = (time.perf_counter() - pending.armed_precisely) * 1000
        if outcome.passed and pending.kind == "request":
            assert pending.request is not None
            self.record.measure(pending.request.metric, latency)
        elif outcome.passed and pending.kind == "message":
            self.record.measure("ws_expect_latency", latency)
        # The transcript around a failure: from a little before the expectation was armed.
        since = self.record.now() - (now - pending.armed) - 0.5
        # The reason alone: the report, JUnit and the HTML report show where it is beside it.
        self.record.outcome(pending.name, pending.where, outcome, since)
        self._failed(pending.name, outcome)

    def check(self, check: Any, where: str) -> None:
        try:
            outcome = conditions.holds(check, self.lookup, schemas=self.plan.schemas)
        except TemplateError as exc:
            outcome = conditions.Outcome(False, str(exc))
        self.record.outcome(check.name, where, outcome)
        self._failed(check.name, outcome)
