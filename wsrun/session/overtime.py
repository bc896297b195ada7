"""
Metric samples against time, for the HTML report's plots: bounded, whatever the run's length.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..scenario.metric_names import COUNTERS

__all__ = ["POINTS_KEPT", "OverTime"]

#: Points kept per timed metric; past this, every other point is dropped and then only
#: every 2nd, 4th, ... new one is kept, so that the points stay spread over the whole run.
POINTS_KEPT = 4000


@dataclass
class OverTime:
    """Timed metrics (ws_ping, ws_connecting, reply latencies) as points; counters summed per second."""

    started: float = field(default_factory=time.perf_counter)
    points: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    per_second: dict[str, dict[int, float]] = field(default_factory=dict)
    _stride: dict[str, int] = field(default_factory=dict, repr=False)
    _seen: dict[str, int] = field(default_factory=dict, repr=False)

    def sample(self, metric: str, value: float, tags: dict[str, str] | None = None) -> None:
        """A sample of the run (a SampleSink): seconds since the run started, and the value."""
        at = time.perf_counter() - self.started
        if metric == "checks":  # a pass or a fail, not a value to plot
            return
        if metric in COUNTERS:
            seconds = self.per_second.setdefault(metric, {})
            second = int(at)
            seconds[second] = seconds.get(second, 0) + value
            return
        seen = self._seen[metric] = self._seen.get(metric, 0) + 1
        stride = self._stride.get(metric, 1)
        if (seen - 1) % stride:
            return
        points = self.points.setdefault(metric, [])
        points.append((at, value))
        if len(points) >= POINTS_KEPT:
            del points[1::2]
            self._stride[metric] = stride * 2

    def merge(self, other: OverTime) -> None:
        """Add another process's samples (--workers), moved onto this one's clock.

        perf_counter is the system's monotonic clock, shared by the processes of one machine.
        """
        offset = other.started - self.started
        for metric, points in other.points.items():
            mine = self.points.setdefault(metric, [])
            mine.extend((at + offset, value) for at, value in points)
            mine.sort()
            if len(mine) >= POINTS_KEPT:  # spread evenly over the run, as sample() keeps them
                step = len(mine) / (POINTS_KEPT // 2)
                self.points[metric] = [mine[int(index * step)] for index in range(POINTS_KEPT // 2)]
        for metric, seconds in other.per_second.items():
            mine_seconds = self.per_second.setdefault(metric, {})
            for second, value in seconds.items():
                moved = max(0, int(second + offset))
                mine_seconds[moved] = mine_seconds.get(moved, 0) + value
