"""
Text from a server or a file, made safe to show: in a terminal, in XML, in HTML.
"""

from __future__ import annotations

import html
import re

from ..session.metrics import Gauge, Metrics, Rate, Trend
from ..session.results import Frame
from ..session.verdicts import ThresholdResult

__all__ = [
    "ARROWS",
    "format_bytes",
    "format_count",
    "format_ms",
    "format_number",
    "format_stat",
    "frame_head",
    "frame_text",
    "gauge_text",
    "html_text",
    "own_metric_text",
    "plural",
    "printable",
    "rate_of",
    "rate_text",
    "threshold_value",
]

#: Which way a frame went, as the reports show it.
ARROWS = {"sent": "→", "received": "←", "local": "·"}

# Control characters; bidi controls, which reorder what follows them (Unicode TR9: the
# embeddings, overrides and isolates, the marks) and line separators; and what XML 1.0
# cannot hold at all (section 2.2, Char: lone surrogates, U+FFFE, U+FFFF).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if char <= "\xff" else f"\\u{ord(char):04x}")


def printable(text: str) -> str:
    """One line of text with control characters made visible: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\ud800``.

    A server or a file must not be able to recolour, reorder or rewrite the report
    with escape sequences or bidi controls, nor make an XML report unreadable.
    """
    return _UNSAFE.sub(_escape, text)


def frame_head(frame: Frame) -> str:
    """The start of a frame's line: when, which way, what kind."""
    return f"{frame.at:8.3f}s {ARROWS[frame.direction]} {frame.kind:<6} "


def frame_text(frame: Frame) -> str:
    """A frame of a transcript on one line: when, which way, what kind, and its text (made printable)."""
    return frame_head(frame) + printable(frame.text)


# Beyond printable()'s control characters: what hides or reorders text in a browser
# (bidi overrides, zero-width characters, line separators).
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def html_text(text: object) -> str:
    """Text from a server or a file, for HTML: control and invisible characters shown as escapes, then escaped."""
    shown = _INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", printable(str(text)))
    return html.escape(shown)


def format_ms(ms: float) -> str:
    """A duration as k6 prints it: 850µs, 12.34ms, 2.01s."""
    if ms < 1:
        return f"{ms * 1000:.0f}µs"
    if ms < 1000:
        return f"{ms:.2f}ms"
    return f"{ms / 1000:.2f}s"


def format_bytes(count: float) -> str:
    """A byte count as k6 prints it: 512 B, 1.2 kB, 3.4 MB."""
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_count(count: float) -> str:
    """A count as k6 prints it: the integer (never ``1.234e+06``); a fraction keeps 2 decimals."""
    return f"{count:.0f}" if float(count).is_integer() else f"{count:.2f}"


def format_number(value: float) -> str:
    """A plain number (a scenario's own trend or gauge): 3, 1.5, 0.000125, 1234567."""
    return f"{value:.6g}" if abs(value) < 1e6 else format_count(value)


def format_stat(trend: Trend, value: float) -> str:
    """A trend's statistic: a time as k6 prints it, or a scenario's plain number."""
    return format_ms(value) if trend.time else format_number(value)


def rate_text(rate: Rate) -> str:
    """A rate as k6 prints it: ``99.00% ✓ 99 ✗ 1``."""
    return f"{100 * rate.trues / rate.count:.2f}% ✓ {rate.trues} ✗ {rate.count - rate.trues}"


def gauge_text(gauge: Gauge) -> str:
    """A gauge as k6 prints it: its last value, then ``min=… max=…``."""
    return f"{format_number(gauge.value)} min={format_number(gauge.minimum)} max={format_number(gauge.maximum)}"


def own_metric_text(metrics: Metrics, name: str) -> str:
    """One of the scenario's own metrics in a line, for the reports without a table of them (JUnit)."""
    kind = metrics.kind(name)
    if kind == "trend":
        trend = metrics.trends[name]
        stats = " ".join(f"{stat}={format_number(trend.stat(stat))}" for stat in ("avg", "min", "med", "max", "p(95)"))
        return f"count={trend.count} {stats}" if trend.count else f"count=0 ({NO_SAMPLES})"
    if kind == "rate":
        rate = metrics.rates[name]
        return rate_text(rate) if rate.count else NO_SAMPLES
    if kind == "gauge":
        gauge = metrics.gauges[name]
        return gauge_text(gauge) if gauge.count else NO_SAMPLES
    return format_count(metrics.counters[name])


#: Runs shorter than this show no rate per second: over a few milliseconds one event
#: would read as hundreds a second.
RATE_FROM = 1.0


def rate_of(count: float, seconds: float, *, bytes_: bool = False) -> str:
    """A counter's rate over a run, ``12.34/s`` (``1.2 kB/s``), or ``-`` for a run shorter than RATE_FROM."""
    if seconds < RATE_FROM:
        return "-"
    return f"{format_bytes(count / seconds)}/s" if bytes_ else f"{count / seconds:,.2f}/s"


def plural(count: int, word: str) -> str:
    """``1 check``, ``2 checks``: a count with its noun."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


#: What a threshold judged when nothing was measured: it fails, saying so.
NO_SAMPLES = "no samples"


def threshold_value(result: ThresholdResult) -> str:
    """The value a threshold judged, as the reports show it: times as 12.34ms, rates, counts, bytes."""
    threshold, actual = result.threshold, result.actual
    if actual is None:
        return NO_SAMPLES
    if threshold.kind == "rate":
        return f"{actual * 100:.2f}%"
    if threshold.stat == "rate":
        return f"{actual:,.2f}/s"
    if threshold.kind == "gauge" or (threshold.plain and threshold.stat != "count"):
        return format_number(actual)
    if threshold.stat != "count" and threshold.kind == "trend":  # a time, built in or a request's
        return format_ms(actual)
    return format_bytes(actual) if threshold.metric.startswith("data_") else format_count(actual)
