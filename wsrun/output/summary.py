"""
The summary export: k6's ``--summary-export`` JSON shape, from results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..scenario.thresholds import Threshold
from ..session.metrics import Metrics, Series
from ..session.results import RunResult

__all__ = ["k6_summary"]


def _check_id(path: str) -> str:
    return hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()


def k6_summary(results: Sequence[RunResult], duration: float) -> dict[str, Any]:
    """``metrics.<name>`` with trend stats (ms, or a scenario's plain numbers), count/rate for counters,
    passes/fails/value for rates, value/min/max for gauges, thresholds, and the checks of the root group.

    As in k6's ``--summary-export``, a threshold's value is ``true`` when it FAILED. In a suite
    of several files, metrics add up over all of them, as in one k6 run, and each file's checks
    are kept apart in a group named by the file (``root_group.groups``).
    """
    series = Series()
    root: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    thresholds: dict[str, dict[str, bool]] = {}
    judged: dict[str, Threshold] = {}
    for result in results:
        series.merge(result.series)
        # A suite keeps each file's checks apart, in a group named by the file (k6's groups).
        group = "" if len(results) == 1 else result.file
        if group:
            path = f"::{group}"
            groups.setdefault(group, {"name": group, "path": path, "id": _check_id(path), "groups": {}, "checks": {}})
        checks = groups[group]["checks"] if group else root
        for check in result.checks.values():
            path = f"{'::' + group if group else ''}::{check.name}"
            entry = checks.get(check.name)
            if entry is None:
                entry = checks[check.name] = {
                    "name": check.name,
                    "path": path,
                    "id": _check_id(path),
                    "passes": 0,
                    "fails": 0,
                }
            entry["passes"] += check.passes
            entry["fails"] += check.fails
        for outcome in result.thresholds:
            judged.setdefault(outcome.threshold.key, outcome.threshold)
            failed = thresholds.setdefault(outcome.threshold.key, {})
            source = outcome.threshold.source
            failed[source] = failed.get(source, False) or not outcome.passed
    metrics = series.select()
    seconds = max(duration, 1e-9)
    out: dict[str, Any] = {}
    for name, trend in metrics.trends.items():
        if trend.count:  # as k6, no entry for a metric that was never measured
            out[name] = trend.stats()
    for name, count in metrics.counters.items():
        out[name] = {"count": count, "rate": count / seconds}
    for name in [*metrics.rates, *metrics.gauges]:
        out[name] = _entry(metrics, name, metrics.kind(name))
    passes = sum(check.passes for result in results for check in result.checks.values())
    fails = sum(check.fails for result in results for check in result.checks.values())
    out["checks"] = {"passes": passes, "fails": fails, "value": passes / (passes + fails) if passes + fails else 0}
    for key, failed in thresholds.items():
        threshold = judged[key]
        if threshold.tags:  # a sub-metric gets its own entry, as in k6
            selected = series.select(dict(threshold.tags))
            out[key] = _entry(selected, threshold.metric, threshold.kind)
        out.setdefault(key, {})["thresholds"] = failed
    return {
        "root_group": {"name": "", "path": "", "id": _check_id(""), "groups": groups, "checks": root},
        "metrics": dict(sorted(out.items())),
    }


def _entry(metrics: Metrics, name: str, kind: str) -> dict[str, Any]:
    """One metric's entry, as k6 writes its kind; never statistics of nothing (a trend of zeros)."""
    if kind == "trend":
        trend = metrics.trends[name]
        return trend.stats() if trend.count else {}
    if kind == "rate":
        rate = metrics.rates.get(name)
        if rate is None or not rate.count:
            return {}
        return {"passes": rate.trues, "fails": rate.count - rate.trues, "value": rate.trues / rate.count}
    if kind == "gauge":
        gauge = metrics.gauges.get(name)
        return {"value": gauge.value, "min": gauge.minimum, "max": gauge.maximum} if gauge and gauge.count else {}
    return {"count": metrics.counters.get(name, 0)}
