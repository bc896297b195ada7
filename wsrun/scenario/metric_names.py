"""
The metrics a scenario can name (in thresholds, summary_trend_stats), with what they measure.

k6's WebSocket metrics; README documents the same list. A scenario declares its own
(``metrics:``), of k6's four kinds. The values themselves (counters, trends as
histograms, rates, gauges) are :mod:`wsrun.session.metrics`.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "COUNTERS",
    "DEFAULT_TREND_STATS",
    "KIND_STATS",
    "METRIC_KINDS",
    "RATES",
    "TRENDS",
    "MetricKind",
    "builtin_kind",
    "parse_trend_stat",
    "reserved_metric",
]

#: k6's four kinds of metric, as a scenario declares its own.
MetricKind = Literal["counter", "trend", "rate", "gauge"]
METRIC_KINDS: tuple[MetricKind, ...] = ("counter", "trend", "rate", "gauge")
#: The statistics a threshold may judge, by kind (k6's).
KIND_STATS = {
    "trend": "avg, min, med, max, count or p(N)",
    "counter": "count or rate",
    "rate": "rate",
    "gauge": "value",
}

#: k6's WebSocket metrics, with what they measure; README documents the same list.
TRENDS = {
    "ws_connecting": "time from the start of the TCP connection to the end of the handshake (ms)",
    "ws_session_duration": "time from the start of the connection to its close (ms)",
    "ws_ping": "round trip of each of our pings, until its pong (ms)",
    "ws_reply_latency": "time from a request to its reply, matched by id (ms)",
    "ws_expect_latency": "time from arming an expect: message to the matching message (ms)",
}
COUNTERS = {
    "ws_sessions": "sessions started",
    "ws_msgs_sent": "data messages sent",
    "ws_msgs_received": "data messages received",
    "data_sent": "bytes sent on the wire, handshake and framing included",
    "data_received": "bytes received on the wire, handshake and framing included",
}

RATES = {"checks": "the share of check evaluations that passed"}

#: Prefixes kept for wsrun's own metrics, present and to come.
_RESERVED_PREFIXES = ("ws_", "data_")


def builtin_kind(name: str) -> MetricKind | None:
    """The kind of a built-in metric, or None."""
    if name in TRENDS:
        return "trend"
    if name in COUNTERS:
        return "counter"
    return "rate" if name in RATES else None


def reserved_metric(name: str) -> str | None:
    """Why a scenario may not declare a metric of this name, or None when it may."""
    if builtin_kind(name) is not None:
        return f"{name!r} is a built-in metric"
    prefix = next((p for p in _RESERVED_PREFIXES if name.startswith(p)), None)
    if prefix is not None:
        return f"{name!r} starts with {prefix}, kept for wsrun's own metrics"
    return None


DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")

_STAT = re.compile(r"^(avg|min|med|max|count|p\((\d+(?:\.\d+)?)\))$")


def parse_trend_stat(text: str) -> str:
    """Check a trend statistic's name (avg, min, med, max, count, p(N)); ValueError otherwise."""
    match = _STAT.match(text.strip())
    if match is None or (match.group(2) is not None and not 0 <= float(match.group(2)) <= 100):
        raise ValueError(f"{text!r} is not a trend statistic: use avg, min, med, max, count or p(N) with 0 <= N <= 100")
    return text.strip()
