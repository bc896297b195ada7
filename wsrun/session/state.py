"""
What one session knows while it runs, and the names a scenario reads it by.

A :class:`SessionState` is shared by the session's loop (:class:`~wsrun.session.session.Session`)
and the actions its rules run (:class:`~wsrun.session.actions.Actions`): both are given it,
neither reaches into the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..scenario.namespace import dig, look_up
from ..scenario.patterns import captures, why_unset
from ..scenario.templates import MISSING
from ..transport.base import Connection
from .expect import Pending
from .plan import Plan
from .results import SessionResult

__all__ = ["Names", "SessionState"]


def _unset_if_none(value: Any) -> Any:
    return MISSING if value is None else value


class SessionState:
    """The connection, the pending expectations, what was stored and received, and how the session is closing."""

    __slots__ = (
        "closing",
        "conn",
        "failure",
        "last_message",
        "lookup",
        "pending",
        "ping_handled",
        "pings_received",
        "plan",
        "pongs_received",
        "result",
        "settle",
        "stored",
    )

    def __init__(self, plan: Plan, result: SessionResult) -> None:
        self.plan = plan
        self.result = result
        self.conn: Connection | None = None
        self.pending: list[Pending] = []
        self.stored: dict[str, Any] = {}
        self.last_message: Any = MISSING
        self.pings_received = 0
        self.pongs_received = 0
        #: The payload of the ping whose rules are running: what a bare ``pong`` answers.
        self.ping_handled: bytes | None = None
        #: This session sent its close frame: no rule fires from then on.
        self.closing = False
        #: A close waiting for pending expectations (``close: {wait_for_pending: true}``): its code and reason,
        #: what it waits for (what had a deadline when it was asked for; what rules arm later does not hold
        #: it back), and when it goes at the latest (the last of those deadlines).
        self.settle: tuple[int, str, list[Pending], float] | None = None
        #: The value of a name (see README, "Names"), or MISSING; and why a name is not set.
        self.lookup = Names(self)
        #: The failure a ``failure`` rule runs for: its name and reason (masked), read as ``failure.*``.
        self.failure: dict[str, str] | None = None


class Names:
    """A session's namespace: called with a name, its value now (or MISSING).

    A pattern's name reads the current message; what each pattern captured in it is
    kept until the next message (the message object is the key), so that the many
    conditions a message meets in a load run search it once per pattern."""

    __slots__ = ("_captured", "_matched", "_metrics", "_patterns", "_state")

    def __init__(self, state: SessionState) -> None:
        self._state = state
        self._patterns = state.plan.scenario.patterns
        self._metrics = state.plan.scenario.metrics
        self._matched: Any = MISSING  # the message the captures are of
        self._captured: dict[str, Any] = {}

    def __call__(self, name: str) -> Any:
        state = self._state
        root, _, rest = name.partition(".")
        kind = self._metrics.get(root)
        if kind is not None:  # the scenario's own metric (the loader keeps these names apart from the others)
            return _unset_if_none(state.result.metrics.current(root, kind)) if not rest else MISSING
        fact = _FACTS.get(root)
        if fact is not None and root not in state.stored and root not in state.plan.variables:
            value = fact(state)
            return dig(value, rest.split(".")) if rest else value
        if root in self._patterns:
            value = self._captures(root)
            return dig(value, rest.split(".")) if rest and value is not MISSING else value
        return look_up(name, (state.stored, state.plan.variables), state.plan.env, state.result.headers)

    def _captures(self, pattern: str) -> Any:
        message = self._state.last_message
        if message is not self._matched:
            self._matched, self._captured = message, {}
        found = self._captured.get(pattern)
        if found is None:
            found = self._captured[pattern] = captures(self._patterns[pattern], message)
        return found

    def why_unset(self, name: str) -> str | None:
        """Why a name is not set, when this namespace knows better than its path (see templates.unset)."""
        root = name.partition(".")[0]
        if root not in self._patterns:
            return None
        return why_unset(name, self._patterns[root], self._state.last_message, self._captures(root))


# Each fact read directly: lookups run for every message and condition of a load run.
_FACTS: dict[str, Callable[[SessionState], Any]] = {
    "url": lambda s: s.plan.options.url,
    "status": lambda s: _unset_if_none(s.result.status),
    "subprotocol": lambda s: s.result.subprotocol,  # null when none was negotiated
    "message": lambda s: s.last_message,
    "error": lambda s: s.result.errors[-1].text if s.result.errors else MISSING,
    "close_code": lambda s: _unset_if_none(s.result.close_code),
    "close_reason": lambda s: _unset_if_none(s.result.close_reason),
    "closed_by": lambda s: _unset_if_none(s.result.closed_by),
    "messages_sent": lambda s: s.result.metrics.counters["ws_msgs_sent"],
    "messages_received": lambda s: s.result.metrics.counters["ws_msgs_received"],
    "errors": lambda s: len(s.result.errors),
    "failure": lambda s: _unset_if_none(s.failure),
    "pings_received": lambda s: s.pings_received,
    "pongs_received": lambda s: s.pongs_received,
    "vu": lambda s: s.plan.vu,
    "iteration": lambda s: s.plan.iteration,
}
