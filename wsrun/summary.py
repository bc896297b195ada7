"""
The summary export: k6's ``--summary-export`` JSON shape, from results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .results import Metrics, SessionResult

__all__ = ["k6_summary"]


def _check_id(path: str) -> str:
    return hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()


def k6_summary(results: Sequence[SessionResult], duration: float) -> dict[str, Any]:
    """``metrics.<name>`` with trend stats (ms) or count/rate, and the checks of the root group."""
    metrics = Metrics()
    checks: dict[str, dict[str, Any]] = {}
    for result in results:
        metrics.merge(result.metrics)
        for check in result.checks.values():
            entry = checks.setdefault(
                check.name,
                {
                    "name": check.name,
                    "path": f"::{check.name}",
                    "id": _check_id(f"::{check.name}"),
                    "passes": 0,
                    "fails": 0,
                },
            )
            entry["passes"] += check.passes
            entry["fails"] += check.fails
    seconds = max(duration, 1e-9)
    out: dict[str, Any] = {}
    for name in sorted(metrics.trends):
        if metrics.trends[name].samples:  # as k6, no entry for a metric that was never measured
            out[name] = metrics.trends[name].stats()
    for name in sorted(metrics.counters):
        out[name] = {"count": metrics.counters[name], "rate": metrics.counters[name] / seconds}
    passes = sum(entry["passes"] for entry in checks.values())
    fails = sum(entry["fails"] for entry in checks.values())
    out["checks"] = {"passes": passes, "fails": fails, "value": passes / (passes + fails) if passes + fails else 0}
    return {
        "root_group": {"name": "", "path": "", "id": _check_id(""), "groups": {}, "checks": checks},
        "metrics": dict(sorted(out.items())),
    }
