"""
The metrics a scenario can name (in thresholds, summary_trend_stats), with what they measure.

k6's WebSocket metrics; README documents the same list. The values themselves
(counters, trends as histograms) are :mod:`wsrun.session.metrics`.
"""

from __future__ import annotations

import re

__all__ = ["COUNTERS", "DEFAULT_TREND_STATS", "TRENDS", "parse_trend_stat"]

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

DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")

_STAT = re.compile(r"^(avg|min|med|max|count|p\((\d+(?:\.\d+)?)\))$")


def parse_trend_stat(text: str) -> str:
    """Check a trend statistic's name (avg, min, med, max, count, p(N)); ValueError otherwise."""
    match = _STAT.match(text.strip())
    if match is None or (match.group(2) is not None and not 0 <= float(match.group(2)) <= 100):
        raise ValueError(f"{text!r} is not a trend statistic: use avg, min, med, max, count or p(N) with 0 <= N <= 100")
    return text.strip()
