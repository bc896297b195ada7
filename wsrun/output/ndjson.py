"""
``--out ndjson=PATH``: every metric sample as one JSON line, in k6's JSON output format.

A ``Metric`` line declares each metric once, then each sample is a ``Point``:
``{"type":"Point","metric":"ws_ping","data":{"time":"…","value":1.2,"tags":{…}}}``.
As in k6, a metric's declaration says its kind (``trend`` of ``time``,
``counter``, or ``rate`` for ``checks``: one point per evaluation, 1 passed or 0 failed, tagged
with the ``check``; a scenario's own metrics as declared, holding ``default`` values),
lists the thresholds on it, and names the sub-metrics that thresholds filter by tags
(``ws_ping{my_tag:hello}``).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import IO

from ..scenario.metric_names import TRENDS, MetricKind
from ..scenario.thresholds import RATES, Threshold

__all__ = ["NdjsonWriter", "declaration"]


def declaration(
    metric: str,
    trends: Collection[str] = (),
    thresholds: Sequence[Threshold] = (),
    custom: Mapping[str, MetricKind] | None = None,
) -> dict[str, object]:
    """A ``Metric`` line's data: kind, what it contains, its thresholds and tag-filtered sub-metrics."""
    own_kind = (custom or {}).get(metric)
    trend = own_kind is None and (metric in TRENDS or metric in trends)
    contains = "time" if trend else ("data" if metric.startswith("data_") else "default")
    kind = own_kind or ("trend" if trend else "rate" if metric in RATES else "counter")
    own = [t for t in thresholds if t.metric == metric]
    submetrics: dict[str, dict[str, object]] = {}
    for threshold in own:
        if threshold.tags:
            suffix = threshold.key[len(metric) + 1 : -1]
            submetrics.setdefault(
                threshold.key, {"name": threshold.key, "suffix": suffix, "tags": dict(threshold.tags)}
            )
    return {
        "name": metric,
        "type": kind,
        "contains": contains,
        "thresholds": _unique(t.source for t in own if not t.tags),
        "submetrics": list(submetrics.values()) or None,
    }


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


class NdjsonWriter:
    """Writes samples as they come; buffered by the file object, flushed at close.

    ``trends`` are the scenario's own timed trends (each ``request``'s ``metric:``), ``custom``
    the metrics it declares (``metrics:``); ``thresholds`` are declared with the metric they judge.
    """

    def __init__(
        self,
        file: IO[str],
        trends: Collection[str] = (),
        thresholds: Sequence[Threshold] = (),
        custom: Mapping[str, MetricKind] | None = None,
    ) -> None:
        self._file = file
        self._trends, self._thresholds, self._custom = frozenset(trends), tuple(thresholds), dict(custom or {})
        self._declared: set[str] = set()

    def sample(self, metric: str, value: float, tags: dict[str, str]) -> None:
        if metric not in self._declared:
            self._declared.add(metric)
            data = declaration(metric, self._trends, self._thresholds, self._custom)
            self._file.write(json.dumps({"type": "Metric", "data": data, "metric": metric}) + "\n")
        now = datetime.datetime.now(datetime.UTC).isoformat()
        point = {"time": now, "value": value, "tags": tags}
        self._file.write(json.dumps({"type": "Point", "data": point, "metric": metric}) + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
