"""
Thresholds judged on a run's metrics: pure functions, from parsed thresholds
(:mod:`wsrun.scenario.thresholds`) and the metrics a run measured.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from ..scenario.thresholds import RATES, Threshold
from .metrics import Metrics, Series

__all__ = ["ThresholdResult", "evaluate"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class ThresholdResult:
    """A threshold's verdict and the value it judged: None when nothing was measured, which fails."""

    threshold: Threshold
    actual: float | None
    passed: bool


def _value(threshold: Threshold, metrics: Metrics, checks: tuple[int, int], duration: float) -> float | None:
    """The statistic a threshold judges; None when it has no samples (a trend never measured, a checks
    rate with no check evaluated, a rate or gauge never given a value): an objective with nothing
    measured proves nothing. Counts are always measured: 0 messages is a count, and a trend's count
    of 0 is too."""
    if threshold.metric in RATES:
        passes, fails = checks
        return passes / (passes + fails) if passes + fails else None
    if threshold.kind == "counter":
        count = metrics.counters.get(threshold.metric, 0)
        return count if threshold.stat == "count" else count / max(duration, 1e-9)
    if threshold.kind == "rate":
        rate = metrics.rates.get(threshold.metric)
        return rate.rate if rate is not None else None
    if threshold.kind == "gauge":
        gauge = metrics.gauges.get(threshold.metric)
        return gauge.value if gauge is not None and gauge.count else None
    trend = metrics.trends.get(threshold.metric)
    if trend is None or not trend.count:
        return 0 if threshold.stat == "count" else None
    return trend.stat(threshold.stat)


def evaluate(
    thresholds: list[Threshold], series: Series, checks: tuple[int, int], duration: float
) -> list[ThresholdResult]:
    """Evaluate every threshold on the run's metrics (tag-filtered where asked)."""
    results = []
    for threshold in thresholds:
        metrics = series.select(dict(threshold.tags))
        actual = _value(threshold, metrics, checks, duration)
        passed = actual is not None and _OPERATORS[threshold.op](actual, threshold.bound)
        results.append(ThresholdResult(threshold, actual, passed))
    return results
