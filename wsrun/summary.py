"""
The summary export: k6's ``--summary-export`` JSON shape, from results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .metrics import TRENDS, Series
from .results import RunResult
from .thresholds import parse_metric

__all__ = ["k6_summary"]


def _check_id(path: str) -> str:
    return hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()


def k6_summary(results: Sequence[RunResult], duration: float) -> dict[str, Any]:
    """``metrics.<name>`` with trend stats (ms) or count/rate, thresholds, and the checks of the root group.

    As in k6's ``--summary-export``, a threshold's value is ``true`` when it FAILED.
    """
    series = Series()
    checks: dict[str, dict[str, Any]] = {}
    thresholds: dict[str, dict[str, bool]] = {}
    for result in results:
        series.merge(result.series)
        for check in result.checks.values():
            path = f"::{check.name}"
            entry = checks.setdefault(
                check.name, {"name": check.name, "path": path, "id": _check_id(path), "passes": 0, "fails": 0}
            )
            entry["passes"] += check.passes
            entry["fails"] += check.fails
        for outcome in result.thresholds:
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
    passes = sum(entry["passes"] for entry in checks.values())
    fails = sum(entry["fails"] for entry in checks.values())
    out["checks"] = {"passes": passes, "fails": fails, "value": passes / (passes + fails) if passes + fails else 0}
    for key, judged in thresholds.items():
        name, tags = parse_metric(key, extra_trends=metrics.trends.keys())
        if tags:  # a sub-metric gets its own entry, as in k6
            selected = series.select(dict(tags))
            out[key] = (
                selected.trends[name].stats()
                if name in TRENDS or name in metrics.trends
                else {"count": selected.counters.get(name, 0)}
            )
        out.setdefault(key, {})["thresholds"] = judged
    return {
        "root_group": {"name": "", "path": "", "id": _check_id(""), "groups": {}, "checks": checks},
        "metrics": dict(sorted(out.items())),
    }
