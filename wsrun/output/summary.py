"""
The summary export: k6's ``--summary-export`` JSON shape, from results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..scenario.metric_names import TRENDS
from ..scenario.thresholds import parse_metric
from ..session.metrics import Series
from ..session.results import RunResult

__all__ = ["k6_summary"]


def _check_id(path: str) -> str:
    return hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()


def k6_summary(results: Sequence[RunResult], duration: float) -> dict[str, Any]:
    """``metrics.<name>`` with trend stats (ms) or count/rate, thresholds, and the checks of the root group.

    As in k6's ``--summary-export``, a threshold's value is ``true`` when it FAILED. In a suite
    of several files, metrics add up over all of them, as in one k6 run, and each file's checks
    are kept apart in a group named by the file (``root_group.groups``).
    """
    series = Series()
    root: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    thresholds: dict[str, dict[str, bool]] = {}
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
    passes = sum(check.passes for result in results for check in result.checks.values())
    fails = sum(check.fails for result in results for check in result.checks.values())
    out["checks"] = {"passes": passes, "fails": fails, "value": passes / (passes + fails) if passes + fails else 0}
    trends = {
        *TRENDS,
        *metrics.trends,
        *(o.threshold.metric for r in results for o in r.thresholds if o.threshold.is_trend),
    }
    for key, judged in thresholds.items():
        name, tags = parse_metric(key, extra_trends=trends)
        if tags:  # a sub-metric gets its own entry, as in k6
            selected = series.select(dict(tags))
            if name in trends:
                trend = selected.trends[name]
                out[key] = trend.stats() if trend.count else {}  # never a trend of zeros
            else:
                out[key] = {"count": selected.counters.get(name, 0)}
        out.setdefault(key, {})["thresholds"] = judged
    return {
        "root_group": {"name": "", "path": "", "id": _check_id(""), "groups": groups, "checks": root},
        "metrics": dict(sorted(out.items())),
    }
