"""
``--out ndjson=PATH``: every metric sample as one JSON line, in k6's JSON output format.

A ``Metric`` line declares each metric once, then each sample is a ``Point``:
``{"type":"Point","metric":"ws_ping","data":{"time":"…","value":1.2,"tags":{…}}}``.
"""

from __future__ import annotations

import datetime
import json
from typing import IO

from .metrics import TRENDS

__all__ = ["NdjsonWriter"]


class NdjsonWriter:
    """Writes samples as they come; buffered by the file object, flushed at close."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self._declared: set[str] = set()

    def sample(self, metric: str, value: float, tags: dict[str, str]) -> None:
        if metric not in self._declared:
            self._declared.add(metric)
            kind = "trend" if metric in TRENDS else "counter"
            contains = "time" if metric in TRENDS else ("data" if metric.startswith("data_") else "default")
            declaration: dict[str, object] = {"type": kind, "contains": contains, "thresholds": [], "submetrics": None}
            self._file.write(json.dumps({"type": "Metric", "data": declaration, "metric": metric}) + "\n")
        now = datetime.datetime.now(datetime.UTC).isoformat()
        point = {"time": now, "value": value, "tags": tags}
        self._file.write(json.dumps({"type": "Point", "data": point, "metric": metric}) + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
