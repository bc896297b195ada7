"""
Charts for the HTML report, as inline SVG: scatter, histogram, bars per second, the session's timeline.

Pure functions from numbers and frames to SVG text; anything from a server is escaped with ``html_text``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..session.results import Frame
from .text import ARROWS, html_text

__all__ = ["LANES", "LANE_INDEX", "histogram", "lane", "nice_ticks", "per_second_bars", "scatter", "timeline"]

#: Bars drawn at most in a per-second chart: longer runs add up several seconds a bar.
BARS_SHOWN = 150
#: Bins of a histogram at most (fewer for few samples: about twice their square root).
BINS = 40
#: Timeline lanes, in drawing order, with their colour.
LANES = {
    "sent text": "#0969da",
    "sent binary": "#8250df",
    "received text": "#1b7c83",
    "received binary": "#bf3989",
    "ping sent": "#bc4c00",
    "ping received": "#fb8f44",
    "pong": "#d4a72c",
    "timer": "#6e7781",
    "open / close": "#0a3069",
    "error": "#cf222e",
}
LANE_INDEX = {name: index for index, name in enumerate(LANES)}


def lane(frame: Frame) -> str:
    if frame.kind in ("text", "binary"):
        return f"{frame.direction} {frame.kind}"
    if frame.kind == "ping":
        return f"ping {frame.direction}"
    return "open / close" if frame.kind in ("open", "close") else frame.kind


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) from at most low to at least high."""
    if not high > low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    if integer:
        step = max(1.0, math.ceil(step))
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    return [first + i * step for i in range(round((last - first) / step) + 1)]


def _tick_ms(ms: float) -> str:
    if ms and abs(ms) < 1:
        return f"{ms * 1000:g}µs"
    return f"{ms:g}ms" if abs(ms) < 1000 else f"{ms / 1000:g}s"


def _tick_count(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:g}"


@dataclass
class _Plot:
    """A chart's box: maps data to pixels, draws the axes, wraps the SVG."""

    x_ticks: list[float]
    y_ticks: list[float]
    width: int = 560
    height: int = 230
    left: int = 60
    right: int = 16
    top: int = 14
    bottom: int = 38

    def x(self, value: float) -> float:
        low, high = self.x_ticks[0], self.x_ticks[-1]
        return self.left + (value - low) / (high - low) * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        low, high = self.y_ticks[0], self.y_ticks[-1]
        return self.height - self.bottom - (value - low) / (high - low) * (self.height - self.top - self.bottom)

    def axes(self, x_label: Callable[[float], str], y_label: Callable[[float], str], x_title: str) -> str:
        parts, right, base = [], self.width - self.right, self.height - self.bottom
        for tick in self.y_ticks:
            y = self.y(tick)
            parts.append(f'<line class="grid" x1="{self.left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>')
            parts.append(f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">{y_label(tick)}</text>')
        for tick in self.x_ticks:
            x = self.x(tick)
            parts.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}"/>')
            parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">{x_label(tick)}</text>')
        parts.append(f'<line class="axis" x1="{self.left}" x2="{right}" y1="{base}" y2="{base}"/>')
        parts.append(
            f'<text class="title" x="{(self.left + right) / 2:.0f}" y="{self.height - 4}" text-anchor="middle">{x_title}</text>'
        )
        return "".join(parts)

    def svg(self, body: str, label: str) -> str:
        return (
            f'<svg class="chart" viewBox="0 0 {self.width} {self.height}" role="img" aria-label="{html_text(label)}">'
            f"{body}</svg>"
        )


def scatter(points: Sequence[tuple[float, float]], seconds: float, metric: str) -> str:
    """A timed metric's values (ms) against the seconds since the run started."""
    plot = _Plot(nice_ticks(0, max(seconds, max(t for t, _ in points))), nice_ticks(0, max(v for _, v in points)))
    # Each point is a zero-length stroke with round caps: a dot, in a few bytes.
    dots = "".join(f"M{plot.x(t):.1f} {plot.y(v):.1f}h0" for t, v in points)
    body = plot.axes(lambda t: f"{t:g}s", _tick_ms, "seconds since the start of the run")
    return plot.svg(body + f'<path class="dots" d="{dots}"/>', f"{metric} against time")


def histogram(values: Sequence[tuple[float, float]], marks: dict[str, float], metric: str) -> str:
    """How often each value (ms, with a weight) occurred, with vertical marks (median, p(95))."""
    low, high = min(v for v, _ in values), max(v for v, _ in values)
    x_ticks = nice_ticks(low, high)
    bins = max(8, min(BINS, round(2 * math.sqrt(sum(weight for _, weight in values)))))
    width = (x_ticks[-1] - x_ticks[0]) / bins
    counts = [0.0] * bins
    for value, weight in values:
        counts[min(int((value - x_ticks[0]) / width), bins - 1)] += weight
    plot = _Plot(x_ticks, nice_ticks(0, max(counts), 4, integer=True))
    bars = []
    for index, count in enumerate(counts):
        if count:
            x, y = plot.x(x_ticks[0] + index * width), plot.y(count)
            bar = plot.x(x_ticks[0] + width) - plot.x(x_ticks[0])
            bars.append(
                f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" height="{plot.y(0) - y:.1f}">'
                f"<title>{_tick_ms(x_ticks[0] + index * width)}–{_tick_ms(x_ticks[0] + (index + 1) * width)}: "
                f"{count:,.0f}</title></rect>"
            )
    lines = []
    for row, (name, value) in enumerate(marks.items()):
        x = plot.x(value)
        lines.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{plot.top}" y2="{plot.y(0):.1f}"/>')
        lines.append(f'<text class="mark-label" x="{x + 3:.1f}" y="{plot.top + 9 + 12 * row}">{name}</text>')
    body = plot.axes(_tick_ms, _tick_count, "value")
    return plot.svg(body + f'<g class="bars">{"".join(bars)}</g>' + "".join(lines), f"histogram of {metric}")


def per_second_bars(series: Sequence[tuple[str, dict[int, float]]], seconds: float, unit: str) -> str:
    """Counters summed per second, as grouped bars; a long run adds up several seconds a bar."""
    last = max((second for _, per in series for second in per), default=0)
    span = max(last + 1, math.ceil(seconds))
    group = max(1, math.ceil(span / BARS_SHOWN))
    values = [[0.0] * math.ceil(span / group) for _ in series]
    for row, (_, per) in zip(values, series, strict=True):
        for second, value in per.items():
            row[second // group] += value / group
    plot = _Plot(nice_ticks(0, len(values[0]) * group), nice_ticks(0, max(max(row) for row in values), 4))
    slot = (plot.x(group) - plot.x(0)) / len(series)
    bars = []
    for number, row in enumerate(values):
        for index, value in enumerate(row):
            if value:
                x, y = plot.x(index * group) + number * slot, plot.y(value)
                bars.append(
                    f'<rect class="s{number}" x="{x + 0.3:.1f}" y="{y:.1f}" width="{max(slot - 0.6, 0.6):.1f}" '
                    f'height="{plot.y(0) - y:.1f}"><title>{html_text(series[number][0])}, {index * group}s: '
                    f"{value:,.1f} {unit}</title></rect>"
                )
    axis = "seconds since the start of the run" + (f" (each bar averages {group} s)" if group > 1 else "")
    body = plot.axes(lambda t: f"{t:g}s", _tick_count, axis)
    return plot.svg(body + "".join(bars), " and ".join(name for name, _ in series) + " per second")


def timeline(frames: Sequence[Frame], seconds: float) -> str:
    """One lane per kind of frame, a mark per frame at its time."""
    lane_height, label_width = 24, 150
    end = max(seconds, max((frame.at for frame in frames), default=0.0))
    plot = _Plot(nice_ticks(0, end, 10), [0.0, 1.0], width=1160, left=label_width, right=20, top=8)
    plot.height = plot.top + lane_height * len(LANES) + plot.bottom
    counts = dict.fromkeys(LANES, 0)
    for frame in frames:
        counts[lane(frame)] += 1
    parts = []
    for index, name in enumerate(LANES):
        y = plot.top + index * lane_height
        stripe = ' class="stripe"' if index % 2 else ' class="lane"'
        parts.append(
            f'<rect{stripe} x="{plot.left}" y="{y}" width="{plot.width - plot.left - plot.right}" height="{lane_height}"/>'
        )
        parts.append(f'<rect class="l{index}" x="8" y="{y + 8}" width="10" height="10" rx="2"/>')
        parts.append(f'<text x="24" y="{y + 16}">{name} <tspan class="count">{counts[name]}</tspan></text>')
    base = plot.top + lane_height * len(LANES)
    for tick in plot.x_ticks:
        x = plot.x(tick)
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{plot.top}" y2="{base}"/>')
        parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">{tick:g}s</text>')
    parts.append(f'<line class="axis" x1="{plot.left}" x2="{plot.width - plot.right}" y1="{base}" y2="{base}"/>')
    parts.append(
        f'<text class="title" x="{(plot.left + plot.width) / 2:.0f}" y="{plot.height - 4}" text-anchor="middle">'
        "seconds since the session started</text>"
    )
    for frame in frames:
        index = LANE_INDEX[lane(frame)]
        y = plot.top + index * lane_height + 4
        text = frame.text if len(frame.text) <= 80 else frame.text[:79] + "…"
        parts.append(
            f'<rect class="l{index}" x="{plot.x(frame.at) - 1:.1f}" y="{y}" width="2.5" height="{lane_height - 8}">'
            f"<title>{frame.at:.3f}s {ARROWS[frame.direction]} {frame.kind}: {html_text(text)}</title></rect>"
        )
    return plot.svg("".join(parts), "timeline of the session's frames")
