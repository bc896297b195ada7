"""
Metrics with bounded memory: counters, trends kept as log-linear histograms, rates and gauges.

A trend keeps its samples while they are few (so small runs get k6's exact,
interpolated percentiles) and always a histogram whose buckets are 1% wide, so
that memory does not grow with the length of a run and histograms from several
worker processes merge exactly (percentiles of the merged histogram, never an
average of percentiles). Values below 1 µs share one bucket: their percentiles
are exact to within 1 µs rather than 1%. A scenario's own trends hold plain
numbers, negative ones too (mirrored buckets below zero).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..scenario.metric_names import COUNTERS, DEFAULT_TREND_STATS, MetricKind

__all__ = ["Gauge", "Metrics", "Rate", "Series", "Trend", "percentile", "sample_value"]

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
    """Buckets from 0 up hold values from 1e-3 up; -1 holds (-1e-3, 1e-3); from -2 down, the negative
    values mirrored, so that the order of buckets is the order of values."""
    if value <= -_SMALLEST:
        return -2 - _bucket(-value)
    return -1 if value < _SMALLEST else int(math.log(value / _SMALLEST) / _LOG_GROWTH)


def _bucket_value(index: int) -> float:
    """A bucket's representative value: the geometric middle of its bounds."""
    if index < -1:
        return -_bucket_value(-2 - index)
    return 0.0 if index < 0 else _SMALLEST * _GROWTH ** (index + 0.5)


@dataclass
class Trend:
    """A trend's samples in bounded memory: times in milliseconds, or a scenario's plain numbers (time=False)."""

    time: bool = True
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


@dataclass
class Rate:
    """k6's rate: the share of samples that were true (non-zero)."""

    trues: int = 0
    count: int = 0

    def add(self, value: float) -> None:
        self.trues += value != 0
        self.count += 1

    def merge(self, other: Rate) -> None:
        self.trues += other.trues
        self.count += other.count

    @property
    def rate(self) -> float | None:
        return self.trues / self.count if self.count else None


@dataclass
class Gauge:
    """k6's gauge: the last value set, with the smallest and largest; ``at`` (wall clock) orders the last
    across sessions and processes."""

    value: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    count: int = 0
    at: float = -math.inf

    def set(self, value: float, at: float) -> None:
        if at >= self.at:
            self.value, self.at = value, at
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.count += 1

    def merge(self, other: Gauge) -> None:
        if other.count:
            self.set(other.value, other.at)
            self.minimum, self.maximum = min(self.minimum, other.minimum), max(self.maximum, other.maximum)
            self.count += other.count - 1


def sample_value(kind: MetricKind, value: object) -> float:
    """A value an add action gives, as the metric's sample; ValueError says why it cannot be one."""
    if isinstance(value, bool):
        if kind != "rate":
            raise ValueError(f"{str(value).lower()} is not a number, and a {kind} takes a number")
        return int(value)
    if not isinstance(value, (int, float)):
        what = "true, false or a number" if kind == "rate" else "a number"
        shown = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
        raise ValueError(f"{shown[:60]} is not {what}, which a {kind} takes")
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    if kind == "counter" and value < 0:
        raise ValueError(f"{value} is negative, and a counter only grows")
    return value  # an int stays one: a counter's total reads 3, not 3.0


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
    rates: dict[str, Rate] = field(default_factory=dict)
    gauges: dict[str, Gauge] = field(default_factory=dict)

    def merge(self, other: Metrics) -> None:
        for name, count in other.counters.items():
            self.counters[name] = self.counters.get(name, 0) + count
        for name, trend in other.trends.items():
            self.trends.setdefault(name, Trend(time=trend.time)).merge(trend)
        for name, rate in other.rates.items():
            self.rates.setdefault(name, Rate()).merge(rate)
        for name, gauge in other.gauges.items():
            self.gauges.setdefault(name, Gauge()).merge(gauge)

    def own(self) -> list[str]:
        """The names of the scenario's own metrics held here (metrics:), sorted."""
        names = {*self.rates, *self.gauges}
        names.update(name for name in self.counters if name not in COUNTERS)
        names.update(name for name, trend in self.trends.items() if not trend.time)
        return sorted(names)

    def kind(self, name: str) -> MetricKind:
        """The kind of a metric held here (a counter when none holds it: counts are always measured)."""
        if name in self.trends:
            return "trend"
        if name in self.rates:
            return "rate"
        return "gauge" if name in self.gauges else "counter"

    def current(self, name: str, kind: MetricKind) -> float | None:
        """What a scenario's own metric reads as, by its name: a counter's total, a trend's count of samples,
        a rate's share of true samples, a gauge's last value; None before a rate's or a gauge's first sample."""
        if kind == "counter":
            return self.counters.get(name, 0)
        if kind == "trend":
            trend = self.trends.get(name)
            return trend.count if trend is not None else 0
        if kind == "rate":
            rate = self.rates.get(name)
            return rate.rate if rate is not None else None
        gauge = self.gauges.get(name)
        return gauge.value if gauge is not None and gauge.count else None


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
