"""
What a run produces, as plain data: checks, metrics, logs and the transcript.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "COUNTERS",
    "TRENDS",
    "CheckResult",
    "Frame",
    "LogLine",
    "Metrics",
    "SessionResult",
    "Trend",
    "percentile",
]

#: k6's WebSocket metrics, with what they measure; README documents the same list.
TRENDS = {
    "ws_connecting": "time from the start of the TCP connection to the end of the handshake (ms)",
    "ws_session_duration": "time from the start of the connection to its close (ms)",
    "ws_ping": "round trip of each of our pings, until its pong (ms)",
}
COUNTERS = {
    "ws_sessions": "sessions started",
    "ws_msgs_sent": "data messages sent",
    "ws_msgs_received": "data messages received",
    "data_sent": "bytes sent on the wire, handshake and framing included",
    "data_received": "bytes received on the wire, handshake and framing included",
}

TRANSCRIPT_LENGTH = 50


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted samples, interpolated linearly (as k6 does)."""
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Trend:
    """Every sample of a timed metric, in milliseconds."""

    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.samples.append(value)

    def stats(self) -> dict[str, float]:
        """avg, min, med, max, p(90), p(95), as in k6's summary."""
        ordered = sorted(self.samples)
        if not ordered:
            return {"avg": 0.0, "min": 0.0, "med": 0.0, "max": 0.0, "p(90)": 0.0, "p(95)": 0.0}
        return {
            "avg": sum(ordered) / len(ordered),
            "min": ordered[0],
            "med": percentile(ordered, 50),
            "max": ordered[-1],
            "p(90)": percentile(ordered, 90),
            "p(95)": percentile(ordered, 95),
        }


@dataclass
class Metrics:
    """k6's WebSocket metrics for one or more sessions."""

    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    trends: dict[str, Trend] = field(default_factory=lambda: {name: Trend() for name in TRENDS})

    def merge(self, other: Metrics) -> None:
        for name, count in other.counters.items():
            self.counters[name] = self.counters.get(name, 0) + count
        for name, trend in other.trends.items():
            self.trends.setdefault(name, Trend()).samples.extend(trend.samples)


@dataclass
class CheckResult:
    """A named check's tally; the first failure's reason explains it in the report."""

    name: str
    where: str
    passes: int = 0
    fails: int = 0
    reason: str = ""
    failed_at: float | None = None

    def record(self, passed: bool, reason: str, at: float) -> None:
        if passed:
            self.passes += 1
        else:
            self.fails += 1
            if not self.reason:
                self.reason, self.failed_at = reason, at


@dataclass(frozen=True)
class LogLine:
    """A line printed by a log action, or a note from wsrun itself."""

    at: float
    text: str
    kind: Literal["log", "error", "note"] = "log"


@dataclass(frozen=True)
class Frame:
    """One entry of the transcript: what went which way, and when."""

    at: float
    direction: Literal["sent", "received"]
    kind: Literal["text", "binary", "ping", "pong", "close", "open", "error"]
    text: str


@dataclass
class SessionResult:
    """Everything one session did, for the report, the exit code and the exports."""

    scenario: str
    file: str
    url: str
    tags: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    subprotocol: str | None = None
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: str | None = None
    errors: list[LogLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    checks: dict[str, CheckResult] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    transcript: deque[Frame] = field(default_factory=lambda: deque(maxlen=TRANSCRIPT_LENGTH))
    timed_out: bool = False
    interrupted: bool = False
    has_checks: bool = False

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks.values() if check.fails]

    @property
    def checks_tally(self) -> tuple[int, int]:
        """Passes and fails over every check."""
        return sum(c.passes for c in self.checks.values()), sum(c.fails for c in self.checks.values())

    @property
    def passed(self) -> bool:
        """Every check passed; with no checks at all, the session ended without an error."""
        if self.has_checks:
            return not self.failed_checks
        return not self.errors
