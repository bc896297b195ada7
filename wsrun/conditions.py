"""
Evaluating conditions and checks: pure functions, no I/O.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from .model import Condition
from .templates import MISSING, Lookup, render_value, text_of

__all__ = ["Outcome", "evaluate", "show"]


@dataclass(frozen=True)
class Outcome:
    """Whether a condition held, and if not, why, in words for the report."""

    passed: bool
    reason: str = ""


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def show(value: Any, limit: int = 200) -> str:
    """A value as the report shows it: JSON-like, cut to ``limit`` characters."""
    if value is MISSING:
        return "(not set)"
    if isinstance(value, bytes):
        text = f"<{len(value)} bytes: {value[:64].hex()}{'…' if len(value) > 64 else ''}>"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _equal(actual: Any, expected: Any) -> bool:
    if actual == expected and type(actual) is type(expected):
        return True
    if isinstance(actual, bool) or isinstance(expected, bool):
        # true is not 1: compare booleans as JSON text only when one side is text.
        if isinstance(actual, str) or isinstance(expected, str):
            return text_of(actual) == text_of(expected)
        return False
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return float(actual) == float(expected)
    # A text message compared with a number or null compares as text: "101" equals 101.
    if isinstance(actual, (str, bytes)) or isinstance(expected, str):
        return text_of(actual) == text_of(expected)
    return bool(actual == expected)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bytes):
        needle = expected.encode() if isinstance(expected, str) else bytes(expected)
        return needle in actual
    if isinstance(actual, str):
        return text_of(expected) in actual
    if isinstance(actual, list):
        return any(_equal(item, expected) for item in actual)
    if isinstance(actual, dict):
        return text_of(expected) in actual
    return False


def evaluate(condition: Condition, actual: Any, lookup: Lookup) -> Outcome:
    """Test ``actual`` (the value of ``condition.that``) against the condition.

    Templates in the expected value are rendered with ``lookup`` first.
    """
    name, expected = condition.comparison
    expected = render_value(expected, lookup)
    that = condition.that
    if name == "exists":
        passed = (actual is not MISSING) == bool(expected)
        return Outcome(
            passed,
            "" if passed else f"expected {that} {'to be set' if expected else 'not to be set'}, got {show(actual)}",
        )
    if actual is MISSING:
        return Outcome(False, f"expected {that} {name} {show(expected)}, but {that} is not set")
    if name in ("at_least", "at_most"):
        number = _number(actual)
        if number is None:
            return Outcome(False, f"expected {that} {name} {expected:g}, got {show(actual)}, which is not a number")
        passed = number >= expected if name == "at_least" else number <= expected
    elif name == "equals":
        passed = _equal(actual, expected)
    elif name == "not_equals":
        passed = not _equal(actual, expected)
    elif name == "contains":
        passed = _contains(actual, expected)
    elif name == "not_contains":
        passed = not _contains(actual, expected)
    else:  # matches
        subject = actual.decode(errors="replace") if isinstance(actual, bytes) else text_of(actual)
        passed = _regex(str(expected)).search(subject) is not None
    if passed:
        return Outcome(True)
    shown = f"/{expected}/" if name == "matches" else show(expected)
    return Outcome(False, f"expected {that} {name} {shown}, got {show(actual)}")
