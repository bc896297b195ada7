"""
Expectations in time: what the messages to come must (or must not) be.

An expectation is armed by an action (``expect`` or ``request``) and then sees
every incoming message (or, with ``of``, every ping or pong) until it is decided:
by a message, by its deadline, or by the end of the session. Several can be pending at once; each sees every message,
so messages arriving together or out of order never confuse them. Decisions are
pure: the engine feeds messages and times in, and records the outcomes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..scenario import conditions
from ..scenario.conditions import Outcome, show
from ..scenario.models import AllOf, AnyOf, Condition, ExpectOptions, RequestOptions, matcher_conditions
from ..scenario.namespace import dig
from ..scenario.templates import MISSING, Lookup

__all__ = ["Pending", "arm_expect", "arm_request"]

#: A condition on messages, as written: one condition, a list, an all or an any.
Matcher = Any


def describe(matcher: Matcher, noun: str = "message", *, inside: bool = False) -> str:
    """A matcher in words: ``message.type equals "ack"``, ``(message.type equals "ack" or message.ok equals true)``;
    the word any as ``any ping``.

    ``inside``: part of a larger matcher, where an ``or`` is put in parentheses.
    """
    if isinstance(matcher, Condition):
        name, expected = matcher.comparison
        shown = f"/{expected}/" if name == "matches" else show(expected, 60)
        return f"{matcher.that} {name} {shown}"
    if isinstance(matcher, AnyOf):
        text = " or ".join(describe(part, inside=True) for part in matcher.any)
        return f"({text})" if inside and len(matcher.any) > 1 else text
    parts = matcher.all if isinstance(matcher, AllOf) else matcher
    if not parts:  # the word any
        return f"any {noun}"
    text = " and ".join(describe(part, inside=True) for part in parts)
    return f"({text})" if inside and len(parts) > 1 else text


def _same_id(reply: Any, request: Any) -> bool:
    """Ids match as JSON values, strictly: the id 5 is not the id "5", true is not 1."""
    if isinstance(reply, bool) or isinstance(request, bool):
        return reply is request
    if isinstance(reply, (int, float)) and isinstance(request, (int, float)):
        return reply == request
    return type(reply) is type(request) and bool(reply == request)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms"


@dataclass
class Pending:
    """One armed expectation and its progress."""

    name: str
    where: str
    kind: str
    armed: float
    deadline: float | None
    matchers: list[Matcher]
    options: ExpectOptions | None = None
    request: RequestOptions | None = None
    request_id: Any = None
    #: What it watches: messages, pings or pongs (ExpectOptions.of).
    of: str = "messages"
    step: int = 0
    count: int = 0
    last: float = 0.0
    schemas: Mapping[str, Any] = field(default_factory=dict)
    # For latencies: perf_counter, as uvloop's loop clock moves in whole milliseconds.
    armed_precisely: float = field(default_factory=time.perf_counter)

    def _what(self, matcher: Matcher, *, plural: bool = False) -> str:
        """What matches, in words: ``message matching message.type equals "ack"``, or ``pings`` for any."""
        noun = self.of if plural else self.of[:-1]
        return f"{noun} matching {describe(matcher)}" if matcher else noun

    def _matches(self, matcher: Matcher, lookup: Lookup) -> bool:
        return conditions.holds(matcher, lookup, explain=False, schemas=self.schemas).passed

    def due(self) -> float | None:
        """The next time this expectation must be looked at without a message."""
        if self.kind == "heartbeat":
            assert self.options is not None and self.options.every is not None
            gap = self.last + self.options.every
            return gap if self.deadline is None else min(gap, self.deadline)
        return self.deadline

    def feed(self, now: float, lookup: Lookup, message: Any) -> Outcome | None:
        """A message arrived; the outcome if it decides the expectation, else None.

        Time is judged first: a message taken from the queue after the deadline
        (or after a heartbeat's longest gap) comes too late, whatever it says.
        """
        due = self.due()
        if due is not None and now >= due:
            late = self.expire(now)
            if late is not None:
                return late
        after = now - self.armed
        if self.kind == "request":
            assert self.request is not None
            reply_id = dig(message, (self.request.reply_id or self.request.id).split("."))
            if reply_id is not MISSING and _same_id(reply_id, self.request_id):
                return Outcome(True, f"reply after {_ms(after)}")
            return None
        if self.kind == "message":
            return Outcome(True, f"after {_ms(after)}") if self._matches(self.matchers[0], lookup) else None
        if self.kind == "no_message":
            if self._matches(self.matchers[0], lookup):
                return Outcome(
                    False, f"got a {self._what(self.matchers[0])} {_ms(after)} after it was armed: {show(message)}"
                )
            return None
        if self.kind == "sequence":
            for later in range(self.step + 1, len(self.matchers)):
                if self._matches(self.matchers[later], lookup) and not self._matches(self.matchers[self.step], lookup):
                    return Outcome(
                        False,
                        f"step {later + 1} ({describe(self.matchers[later], self.of[:-1])}) arrived before step"
                        f" {self.step + 1} ({describe(self.matchers[self.step], self.of[:-1])}): {show(message)}",
                    )
            if self._matches(self.matchers[self.step], lookup):
                self.step += 1
                if self.step == len(self.matchers):
                    return Outcome(True, f"in order, after {_ms(after)}")
            return None
        if self.kind == "count":
            assert self.options is not None
            if self._matches(self.matchers[0], lookup):
                self.count += 1
                if self.options.at_most is not None and self.count > self.options.at_most:
                    return Outcome(
                        False,
                        f"{self.count} {self._what(self.matchers[0], plural=True)}, expected at most"
                        f" {self.options.at_most}; the last: {show(message)}",
                    )
            return None
        # heartbeat
        assert self.options is not None and self.options.every is not None
        if self._matches(self.matchers[0], lookup):
            self.last = now
        return None

    def expire(self, now: float) -> Outcome | None:
        """The due time came: the outcome if that decides it, else None (a heartbeat goes on)."""
        if self.kind == "heartbeat":
            assert self.options is not None and self.options.every is not None
            if now - self.last >= self.options.every and (
                self.deadline is None or self.last + self.options.every <= self.deadline
            ):
                return Outcome(
                    False,
                    f"no {self._what(self.matchers[0])} for {_ms(self.options.every)}"
                    f" ({_ms(self.last - self.armed)} after arming was the last)",
                )
            if self.deadline is not None and now >= self.deadline:
                return Outcome(True)
            return None
        if self.deadline is None or now < self.deadline:
            return None
        return self._timed_out(f"within {_ms(self.deadline - self.armed)}")

    def end(self, now: float, *, interrupted: bool = False) -> Outcome:
        """The session ended first: decide now. Ctrl-C decides nothing: an expectation it cut short fails."""
        if interrupted:
            return Outcome(
                False,
                f"cut short: the run was interrupted (Ctrl-C or a stop signal) {_ms(now - self.armed)} after it was armed",
            )
        if self.kind == "heartbeat":
            expired = self.expire(now)
            return expired if expired is not None and not expired.passed else Outcome(True)
        return self._timed_out(f"before the session ended ({_ms(now - self.armed)} after it was armed)")

    def stopped(self, now: float) -> Outcome | None:
        """The load schedule stopped the session first (as in k6): an expectation that held so far passes
        (no forbidden message, no gap, a count within bounds); one still waiting for something counts
        neither way (None)."""
        held = f"held for {_ms(now - self.armed)}, until the session was stopped"
        if self.kind == "no_message":
            return Outcome(True, held)
        if self.kind == "heartbeat":
            expired = self.expire(now)
            return expired if expired is not None and not expired.passed else Outcome(True, held)
        if self.kind == "count":
            assert self.options is not None
            low = self.options.at_least
            return Outcome(True, held) if low is None or self.count >= low else None
        return None

    def _timed_out(self, when: str) -> Outcome:
        if self.kind == "request":
            assert self.request is not None
            return Outcome(
                False, f"no reply with {self.request.reply_id or self.request.id} = {show(self.request_id)} {when}"
            )
        if self.kind == "message":
            return Outcome(False, f"no {self._what(self.matchers[0])} {when}")
        if self.kind == "no_message":
            return Outcome(True)
        if self.kind == "sequence":
            return Outcome(
                False,
                f"only {self.step} of {len(self.matchers)} steps {when}; waiting for"
                f" {describe(self.matchers[self.step], self.of[:-1])}",
            )
        assert self.options is not None
        low, high = self.options.at_least, self.options.at_most
        if (low is None or self.count >= low) and (high is None or self.count <= high):
            return Outcome(True)
        bound = f"at least {low}" if low is not None and self.count < low else f"at most {high}"
        return Outcome(False, f"{self.count} {self._what(self.matchers[0], plural=True)} {when}, expected {bound}")


def arm_expect(options: ExpectOptions, where: str, now: float, schemas: Mapping[str, Any]) -> Pending:
    """An expectation armed now by an ``expect`` action."""
    kind = options.kind
    window = options.within if kind in ("message", "sequence") else options.for_
    if kind == "sequence":
        assert options.sequence is not None
        matchers = [matcher_conditions(step) for step in options.sequence]
    else:
        matchers = [matcher_conditions(getattr(options, kind))]
    return Pending(
        options.name,
        where,
        kind,
        now,
        None if window is None else now + window,
        matchers,
        options=options,
        of=options.of,
        last=now,
        schemas=schemas,
    )


def arm_request(options: RequestOptions, request_id: Any, where: str, now: float) -> Pending:
    """The reply expected to a request just sent."""
    return Pending(
        options.name, where, "request", now, now + options.within, [], request=options, request_id=request_id
    )


Recorder = Callable[[Pending, Outcome, float], None]
