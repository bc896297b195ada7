"""
A scenario's own metrics (``metrics:``, k6's custom metrics): what the file alone tells about them.

Pure functions: the metrics a scenario declares beside the built-in ones, and every
problem the loader reports before anything runs (a name taken, an action on a metric
not declared or of the wrong kind, a value that kind cannot hold).
"""

from __future__ import annotations

from collections.abc import Iterator

from .metric_names import MetricKind, reserved_metric
from .models import Add, Increment, Request, Scenario
from .namespace import FACTS, NEEDS_KEY, did_you_mean, scenario_names

__all__ = ["declared_metrics", "declared_trends", "problems"]

Loc = tuple[str | int, ...]


def declared_trends(scenario: Scenario) -> set[str]:
    """The latency trends that request actions declare (metric:), beside the built-in ones (milliseconds)."""
    return {action.request.metric for rule in scenario.rules for action in rule.do if isinstance(action, Request)}


def declared_metrics(scenario: Scenario) -> dict[str, MetricKind]:
    """Every metric the scenario adds to the built-in ones, with its kind: its requests' and its own."""
    return {**dict.fromkeys(declared_trends(scenario), "trend"), **scenario.metrics}


def _actions(scenario: Scenario) -> Iterator[tuple[Loc, Increment | Add]]:
    for r, rule in enumerate(scenario.rules):
        for a, action in enumerate(rule.do):
            if isinstance(action, (Increment, Add)):
                yield ("rules", r, "do", a), action


def _name_problem(name: str, scenario: Scenario, stored: set[str], requests: set[str]) -> str | None:
    reserved = reserved_metric(name)
    if reserved is not None:
        return f"{reserved}; choose another name for this metric"
    if name in FACTS or name in NEEDS_KEY:
        return f"{name!r} is a built-in name; choose another name for this metric"
    if name in scenario.vars:
        return f"{name!r} is a variable of vars; choose another name for this metric"
    if name in stored:
        return f"{name!r} is a stored name; choose another name for this metric"
    if name in scenario.patterns:
        return f"{name!r} is a named pattern of patterns; choose another name for this metric"
    if name in requests:
        return f"{name!r} is the latency trend of a request (its metric:); choose another name for this metric"
    return None


def _undeclared(name: str, scenario: Scenario) -> str:
    if not scenario.metrics:
        return f"unknown metric {name!r}: declare it first, under metrics: ({name}: counter, trend, rate or gauge)"
    declared = sorted(scenario.metrics)
    return f"unknown metric {name!r}: {did_you_mean(name, declared)}declared metrics: {', '.join(declared)}"


def _add_problem(action: Add, kind: MetricKind) -> str | None:
    """What a literal value tells: a rate takes true/false, the others a number; a counter never shrinks."""
    value = action.add.value
    if isinstance(value, bool) and kind != "rate":
        return f"{str(value).lower()} is not a number: {action.add.metric} is a {kind}, which takes a number"
    if kind == "counter" and not isinstance(value, (bool, str)) and value < 0:
        return f"{value} is negative: {action.add.metric} is a counter, which only grows"
    return None


def problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """Every problem of the scenario's own metrics, as (location, message), for the loader."""
    found: list[tuple[Loc, str]] = []
    stored = scenario_names(scenario) - set(scenario.vars)
    requests = declared_trends(scenario)
    for name in scenario.metrics:
        problem = _name_problem(name, scenario, stored, requests)
        if problem is not None:
            found.append((("metrics", name), problem))
    for loc, action in _actions(scenario):
        name = action.increment if isinstance(action, Increment) else action.add.metric
        where = (*loc, "increment") if isinstance(action, Increment) else (*loc, "add", "metric")
        kind = scenario.metrics.get(name)
        if kind is None:
            found.append((where, _undeclared(name, scenario)))
        elif isinstance(action, Increment) and kind != "counter":
            found.append(
                (where, f"{name!r} is a {kind}: increment adds 1 to a counter; use add: {{metric: {name}, value: …}}")
            )
        elif isinstance(action, Add):
            problem = _add_problem(action, kind)
            if problem is not None:
                found.append(((*loc, "add", "value"), problem))
    return found
