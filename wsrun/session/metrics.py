"""
Metrics with bounded memory: counters, and trends kept as log-linear histograms.

A trend keeps its samples while they are few (so small runs get k6's exact,
interpolated percentiles) and always a histogram whose buckets are 1% wide, so
that memory does not grow with the length of a run and histograms from several
worker processes merge exactly (percentiles of the merged histogram, never an
average of percentiles). Values below 1 µs share one bucket: their percentiles
are exact to within 1 µs rather than 1%.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..scenario.metric_names import COUNTERS, DEFAULT_TREND_STATS

__all__ = ["Metrics", "Series", "Trend", "percentile"]

_GROWTH = 1.01  # each bucket is 1% wider than the one below: percentiles within 1%
_LOG_GROWTH = math.log(_GROWTH)
_SMALLEST = 1e-3  # ms: 1 µs; anything below falls in one bucket
_EXACT_LIMIT = 1000  # samples kept as they are, for exact percentiles on small runs


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted samples, interpolated linearly (as k6 does)."""
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _bucket(value: float) -> int:
    return -1 if value < _SMALLEST else int(math.log(value / _SMALLEST) / _LOG_GROWTH)


def _bucket_value(index: int) -> float:
    """A bucket's representative value: the geometric middle of its bounds."""
    return 0.0 if index < 0 else _SMALLEST * _GROWTH ** (index + 0.5)


@dataclass
class Trend:
    """A timed metric's samples, in milliseconds, in bounded memory."""

    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    buckets: dict[int, int] = field(default_factory=dict)
    exact: list[float] | None = field(default_factory=list)

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        index = _bucket(value)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        if self.exact is not None:
            if len(self.exact) < _EXACT_LIMIT:
                self.exact.append(value)
            else:
                self.exact = None

    def merge(self, other: Trend) -> None:
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count
        if self.exact is not None and other.exact is not None and len(self.exact) + len(other.exact) <= _EXACT_LIMIT:
            self.exact.extend(other.exact)
        else:
            self.exact = None

    def percentile(self, p: float) -> float:
        if not self.count:
            return 0.0
        if self.exact is not None and len(self.exact) == self.count:
            return percentile(sorted(self.exact), p)
        rank = p / 100 * (self.count - 1)
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen > rank:
                return min(max(_bucket_value(index), self.minimum), self.maximum)
        return self.maximum  # pragma: no cover - rank < count

    def stat(self, name: str) -> float:
        """One statistic by its k6 name: avg, min, med, max, count, p(N)."""
        if not self.count:
            return 0.0
        if name == "avg":
            return self.total / self.count
        if name == "min":
            return self.minimum
        if name == "max":
            return self.maximum
        if name == "count":
            return float(self.count)
        if name == "med":
            return self.percentile(50)
        return self.percentile(float(name[2:-1]))

    def stats(self, names: Iterable[str] = DEFAULT_TREND_STATS) -> dict[str, float]:
        return {name: self.stat(name) for name in names}


class Trends(dict[str, Trend]):
    """Trends by name, created when first used: thousands of sessions need no empty ones."""

    def __missing__(self, name: str) -> Trend:
        trend = self[name] = Trend()
        return trend


@dataclass
class Metrics:
    """k6's WebSocket metrics for one session, or merged over many."""

    counters: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    trends: Trends = field(default_factory=Trends)

    def merge(self, other: Metrics) -> None:
        for name, count in other.counters.items():
            self.counters[name] = self.counters.get(name, 0) + count
        for name, trend in other.trends.items():
            self.trends.setdefault(name, Trend()).merge(trend)


TagSet = tuple[tuple[str, str], ...]


@dataclass
class Series:
    """Metrics of a whole run, kept apart by tag set so that thresholds can filter on tags."""

    by_tags: dict[TagSet, Metrics] = field(default_factory=dict)

    def add(self, metrics: Metrics, tags: Mapping[str, str]) -> None:
        key = tuple(sorted(tags.items()))
        self.by_tags.setdefault(key, Metrics()).merge(metrics)

    def merge(self, other: Series) -> None:
        for key, metrics in other.by_tags.items():
            self.by_tags.setdefault(key, Metrics()).merge(metrics)

    def select(self, where: Mapping[str, str] | None = None) -> Metrics:
        """The metrics of every tag set that has all of ``where``'s tags (all of them by default)."""
        merged = Metrics()
        for key, metrics in self.by_tags.items():
            tags = dict(key)
            if not where or all(tags.get(name) == value for name, value in where.items()):
                merged.merge(metrics)
        return merged
