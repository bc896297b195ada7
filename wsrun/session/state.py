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
from ..scenario.templates import MISSING
from ..transport.base import Connection
from .expect import Pending
from .plan import Plan
from .results import SessionResult

__all__ = ["SessionState"]


def _unset_if_none(value: Any) -> Any:
    return MISSING if value is None else value


class SessionState:
    """The connection, the pending expectations, what was stored and received, and how the session is closing."""

    __slots__ = (
        "closing",
        "conn",
        "last_message",
        "pending",
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
        #: This session sent its close frame: no rule fires from then on.
        self.closing = False
        #: A close waiting for pending expectations (``close: {wait_for_pending: true}``): its code and reason,
        #: what it waits for (what had a deadline when it was asked for; what rules arm later does not hold
        #: it back), and when it goes at the latest (the last of those deadlines).
        self.settle: tuple[int, str, list[Pending], float] | None = None

    def lookup(self, name: str) -> Any:
        """The value of a name (see README, "Names"), or MISSING."""
        root, _, rest = name.partition(".")
        fact = _FACTS.get(root)
        if fact is not None and root not in self.stored and root not in self.plan.variables:
            value = fact(self)
            return dig(value, rest.split(".")) if rest else value
        return look_up(name, (self.stored, self.plan.variables), self.plan.env, self.result.headers)


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
    "pings_received": lambda s: s.pings_received,
    "pongs_received": lambda s: s.pongs_received,
    "vu": lambda s: s.plan.vu,
    "iteration": lambda s: s.plan.iteration,
}
