"""
Thresholds in k6's syntax: ``ws_ping: ["p(95) < 100"]``, ``checks: ["rate > 0.99"]``.

Pure functions: parse a metric key (``ws_ping{my_tag:hello}``) and an expression,
and evaluate them against a run's metrics. Time values are in milliseconds.
A scenario's own metrics (``metrics:``) are given as ``custom``: name -> kind.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .metric_names import COUNTERS, KIND_STATS, RATES, TRENDS, MetricKind, builtin_kind
from .namespace import did_you_mean

__all__ = ["RATES", "Threshold", "kind_of", "parse", "parse_all", "problems"]

_EXPRESSION = re.compile(
    r"^\s*(avg|min|med|max|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*$"
)
_METRIC = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\{([^{}]*)\})?\s*$")

#: Which statistics each kind of metric has, as in k6.
_STATS: dict[str, tuple[str, ...]] = {
    "trend": ("avg", "min", "med", "max", "count"),  # and p(N)
    "counter": ("count", "rate"),
    "rate": ("rate",),
    "gauge": ("value",),
}
_NO_CUSTOM: Mapping[str, MetricKind] = {}


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold: a statistic of a (possibly tag-filtered) metric compared with a number."""

    metric: str
    tags: tuple[tuple[str, str], ...]
    stat: str
    op: str
    bound: float
    source: str
    kind: MetricKind = "trend"
    #: A metric the scenario declares (metrics:): its values are plain numbers, never milliseconds.
    plain: bool = False

    @property
    def is_trend(self) -> bool:
        """A trend's threshold: built in, a request's own metric, or a trend the scenario declares."""
        return self.kind == "trend"

    @property
    def key(self) -> str:
        """The metric as written in the file: ``ws_ping{my_tag:hello}``."""
        if not self.tags:
            return self.metric
        return self.metric + "{" + ",".join(f"{k}:{v}" for k, v in self.tags) + "}"


def kind_of(metric: str, custom: Mapping[str, MetricKind] = _NO_CUSTOM) -> MetricKind:
    """A known metric's kind: built in, declared by the scenario, else a request's latency trend."""
    return builtin_kind(metric) or custom.get(metric) or "trend"


def parse_metric(
    key: str, extra_trends: Collection[str] = (), custom: Mapping[str, MetricKind] = _NO_CUSTOM
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``ws_ping{my_tag:hello}`` -> ("ws_ping", (("my_tag", "hello"),)); ValueError explains a bad key."""
    match = _METRIC.match(key)
    if match is None:
        raise ValueError(f"{key!r} is not a metric: write a name, optionally with tags, like ws_ping{{my_tag:hello}}")
    name, filters = match.group(1), match.group(2)
    known = sorted({*TRENDS, *COUNTERS, *RATES, *extra_trends, *custom})
    if name not in known:
        raise ValueError(f"unknown metric {name!r}: {did_you_mean(name, known)}metrics: {', '.join(known)}")
    tags: list[tuple[str, str]] = []
    for part in (filters or "").split(","):
        if not part.strip():
            continue
        tag, sep, value = part.partition(":")
        if not sep or not tag.strip():
            raise ValueError(f"{key!r}: a tag filter is name:value, like {name}{{my_tag:hello}}")
        if tag.strip() in dict(tags):
            raise ValueError(f"{key!r}: the tag {tag.strip()!r} is filtered twice")
        tags.append((tag.strip(), value.strip()))
    if name in RATES and tags:
        raise ValueError(f"{key!r}: checks has no tags to filter on")
    return name, tuple(sorted(tags))


def parse_expression(
    metric: str, expression: str, extra_trends: Collection[str] = (), custom: Mapping[str, MetricKind] = _NO_CUSTOM
) -> tuple[str, str, float]:
    """``p(95) < 100`` -> ("p(95)", "<", 100.0), checked against the metric's kind."""
    match = _EXPRESSION.match(expression)
    if match is None:
        raise ValueError(
            f"{expression!r} is not a threshold: write a statistic, an operator and a number, like 'p(95) < 100'"
        )
    stat, percent, op, bound = match.group(1), match.group(2), match.group(3), float(match.group(4))
    if percent is not None:
        if not 0 <= float(percent) <= 100:
            raise ValueError(f"{expression!r}: a percentile is between p(0) and p(100)")
        stat = f"p({percent})"
    kind = kind_of(metric, custom)
    if stat not in _STATS[kind] and not (kind == "trend" and percent is not None):
        its = "its statistic is" if len(_STATS[kind]) == 1 else "its statistics are"
        raise ValueError(f"{expression!r}: {metric} is a {kind}; {its} {KIND_STATS[kind]}")
    return stat, op, bound


def parse(
    key: str, expression: str, extra_trends: Collection[str] = (), custom: Mapping[str, MetricKind] = _NO_CUSTOM
) -> Threshold:
    """Parse one threshold; ValueError says what is wrong and what is allowed."""
    metric, tags = parse_metric(key, extra_trends, custom)
    stat, op, bound = parse_expression(metric, expression, extra_trends, custom)
    kind = kind_of(metric, custom)
    return Threshold(metric, tags, stat, op, bound, expression.strip(), kind, plain=metric in custom)


def problems(
    thresholds: dict[str, list[str]],
    extra_trends: Collection[str] = (),
    custom: Mapping[str, MetricKind] = _NO_CUSTOM,
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every threshold that does not parse, as (location, message), for the loader."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for key, expressions in thresholds.items():
        try:
            parse_metric(key, extra_trends, custom)
        except ValueError as exc:
            found.append((("thresholds", key), str(exc)))
            continue
        for index, expression in enumerate(expressions):
            try:
                parse(key, expression, extra_trends, custom)
            except ValueError as exc:
                found.append((("thresholds", key, index), str(exc)))
    return found


def parse_all(
    thresholds: dict[str, list[str]],
    extra_trends: Collection[str] = (),
    custom: Mapping[str, MetricKind] = _NO_CUSTOM,
) -> list[Threshold]:
    """Parse thresholds already checked by :func:`problems`."""
    return [
        parse(key, expression, extra_trends, custom)
        for key, expressions in thresholds.items()
        for expression in expressions
    ]
