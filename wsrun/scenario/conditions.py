"""
Evaluating conditions and checks: pure functions, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import TemplateError
from .models import AllOf, AnyOf, Condition
from .patterns import Capture
from .regex import RegexError, compile_regex
from .schemas import schema_errors
from .templates import MISSING, Lookup, render_value, text_of, unset

__all__ = ["Outcome", "equal", "evaluate", "holds", "show"]


@dataclass(frozen=True)
class Outcome:
    """Whether a condition held, and if not, why, in words for the report."""

    passed: bool
    reason: str = ""


def show(value: Any, limit: int = 200) -> str:
    """A value as the report shows it: JSON-like, cut to ``limit`` characters."""
    if value is MISSING:
        return "(not set)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bytes):
        text = f"<{len(value)} bytes: {value[:64].hex()}{'…' if len(value) > 64 else ''}>"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):
        return None
    return None


def _equal(actual: Any, expected: Any, *, text: bool = False) -> bool:
    """JSON equality, where true is not 1 and "5" is not 5.

    ``text``: ``actual`` is a whole text message, which may stand for what it
    spells: "101" equals 101, "true" equals true, and a JSON text equals the
    mapping or list it encodes, whatever its spacing. A value taken from JSON
    (a field, a fact) keeps its type. A pattern's capture is text like a whole text message.
    """
    if isinstance(actual, Capture):
        actual, text = str(actual), True
    if isinstance(actual, bytes):
        actual = actual.hex()  # a binary message reads as hex
        text = False
    if isinstance(expected, bytes):  # so does a stored one ("{{ first }}" keeps its value's type)
        expected = expected.hex()
    if text and isinstance(actual, str) and not isinstance(expected, str):
        if isinstance(expected, (dict, list)):
            try:
                return _equal(json.loads(actual), expected)
            except ValueError:  # not JSON; nested too deeply is said by evaluate()
                return False
        return actual == text_of(expected)  # "101" equals 101; "null" equals null
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual is expected
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        if isinstance(actual, int) and isinstance(expected, int):
            return actual == expected  # exact, however many digits
        try:
            return float(actual) == float(expected)
        except OverflowError:  # an integer too large for a float cannot equal one
            return False
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(_equal(actual[k], expected[k]) for k in actual)
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(_equal(a, e) for a, e in zip(actual, expected, strict=True))
    return type(actual) is type(expected) and bool(actual == expected)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bytes):
        # A binary message reads as hex: look for the hex digits at a byte boundary.
        needle = text_of(expected).replace(" ", "").lower()
        haystack = actual.hex()
        position = haystack.find(needle)
        while position != -1 and position % 2:
            position = haystack.find(needle, position + 1)
        return bool(needle) and len(needle) % 2 == 0 and position != -1
    if isinstance(actual, str):
        return text_of(expected) in actual
    if isinstance(actual, list):
        return any(_equal(item, expected) for item in actual)
    if isinstance(actual, dict):
        return text_of(expected) in actual
    return False


def evaluate(
    condition: Condition,
    actual: Any,
    lookup: Lookup,
    *,
    explain: bool = True,
    schemas: Mapping[str, Any] | None = None,
) -> Outcome:
    """Test ``actual`` (the value of ``condition.that``) against the condition.

    Templates in the expected value are rendered with ``lookup`` first. With
    ``explain=False`` (rule conditions, run for every message), a failure
    carries no reason, which saves building one. ``schemas`` holds the JSON
    Schemas that conditions name by file.
    """
    try:
        return _evaluate(condition, actual, lookup, explain, schemas or {})
    except RecursionError:  # a message nested deeper than Python can compare
        return Outcome(False, f"{condition.that} is nested too deeply to compare") if explain else _FAILED


def _evaluate(condition: Condition, actual: Any, lookup: Lookup, explain: bool, schemas: Mapping[str, Any]) -> Outcome:
    def fail(reason: Callable[[], str]) -> Outcome:
        return Outcome(False, reason()) if explain else _FAILED

    name, expected = condition.comparison
    if name == "schema":
        return _against_schema(
            condition.that, expected if isinstance(expected, dict) else schemas[expected], actual, fail
        )
    if isinstance(expected, (str, list, dict)):
        expected = render_value(expected, lookup)
    that = condition.that
    if name == "exists":
        # null counts as not set: "subprotocol exists" fails when none was negotiated.
        if (actual is not MISSING and actual is not None) == bool(expected):
            return _PASSED
        if actual is MISSING:
            return fail(lambda: _why_not_set(that, lookup))
        return fail(lambda: f"expected {that} {'to be set' if expected else 'not to be set'}, got {show(actual)}")
    if actual is MISSING:
        return fail(lambda: f"expected {that} {name} {_shown(name, expected)}, but {unset(that, lookup)}")
    if name in ("at_least", "at_most"):
        bound = _number(expected)
        if bound is None:  # only possible when a template gave the bound
            written = condition.comparison[1]
            return fail(lambda: f"{that} {name} {show(written)}: it gave {show(expected)}, which is not a number")
        number = _number(actual)
        if number is None:
            return fail(lambda: f"expected {that} {name} {show(expected)}, got {show(actual)}, which is not a number")
        passed = number >= bound if name == "at_least" else number <= bound
    elif name == "equals":
        passed = _equal(actual, expected, text=that == "message")
    elif name == "not_equals":
        passed = not _equal(actual, expected, text=that == "message")
    elif name == "contains":
        passed = _contains(actual, expected)
    elif name == "not_contains":
        passed = not _contains(actual, expected)
    else:  # matches
        try:
            passed = compile_regex(str(expected)).search(text_of(actual)) is not None
        except RegexError as exc:  # only possible when a template made the pattern
            error = str(exc)
            return fail(lambda: f"matches: {error}")
    if passed:
        return _PASSED
    return fail(lambda: f"expected {that} {name} {_shown(name, expected)}, got {show(actual)}")


def _why_not_set(that: str, lookup: Lookup) -> str:
    """``exists: true`` failed: why, when more can be said than that it is not set (a path that leads
    nowhere, a pattern that does not match)."""
    said = unset(that, lookup)
    return f"expected {that} to be set, {'got (not set)' if said == f'{that} is not set' else f'but {said}'}"


def holds(node: Any, lookup: Lookup, *, explain: bool = True, schemas: Mapping[str, Any] | None = None) -> Outcome:
    """Whether a condition holds: one condition, a list or an all (the first failing one's reason), an any
    (every alternative's reason, "none of: …"), or a check (which may hold an all or an any).

    A template naming a value not set now raises TemplateError, as in :func:`evaluate`; inside an any, such an
    alternative fails (another may hold), and with ``explain=False`` the error is raised when none holds.
    """
    if type(node) is Condition:  # one comparison, the common case: rule conditions run for every message
        return evaluate(node, lookup(node.that), lookup, explain=explain, schemas=schemas)
    if isinstance(node, Condition):  # a check, which may hold an all or an any
        kind, inner = node.comparison
        if kind == "all":
            return _all(inner, lookup, explain, schemas)
        if kind == "any":
            return _any(inner, lookup, explain, schemas)
        return evaluate(node, lookup(node.that), lookup, explain=explain, schemas=schemas)
    if isinstance(node, list):
        return _all(node, lookup, explain, schemas)
    if isinstance(node, AllOf):
        return _all(node.all, lookup, explain, schemas)
    assert isinstance(node, AnyOf)
    return _any(node.any, lookup, explain, schemas)


def predicate(node: Any) -> Callable[[Lookup], bool] | None:
    """A rule's condition compiled once, when it compares a name with a number written in the file
    (``{that: messages_received, at_most: 99}``, run for every message of a load run): whether it holds,
    as ``holds(node, lookup, explain=False).passed`` says, without the general path. None otherwise."""
    if type(node) is not Condition:
        return None
    name, expected = node.comparison
    if name not in ("at_least", "at_most") or isinstance(expected, (str, list, dict)):
        return None
    bound = _number(expected)
    if bound is None:
        return None
    that = node.that

    def at_least(lookup: Lookup) -> bool:
        number = _number(lookup(that))  # None when not set (MISSING) or not a number: it fails
        return number is not None and number >= bound

    def at_most(lookup: Lookup) -> bool:
        number = _number(lookup(that))
        return number is not None and number <= bound

    return at_least if name == "at_least" else at_most


def _all(nodes: list[Any], lookup: Lookup, explain: bool, schemas: Mapping[str, Any] | None) -> Outcome:
    for node in nodes:
        outcome = holds(node, lookup, explain=explain, schemas=schemas)
        if not outcome.passed:
            return outcome
    return _PASSED


def _any(nodes: list[Any], lookup: Lookup, explain: bool, schemas: Mapping[str, Any] | None) -> Outcome:
    reasons: list[str] = []
    not_set: TemplateError | None = None
    for node in nodes:
        try:
            outcome = holds(node, lookup, explain=explain, schemas=schemas)
        except TemplateError as exc:
            not_set = not_set or exc
            reasons.append(str(exc))
            continue
        if outcome.passed:
            return _PASSED
        reasons.append(outcome.reason)
    if not explain:
        if not_set is not None:
            raise not_set
        return _FAILED
    return Outcome(
        False,
        "none of: " + "; or ".join(f"({reason})" if reason.startswith("none of:") else reason for reason in reasons),
    )


def _against_schema(that: str, schema: Any, actual: Any, fail: Callable[[Callable[[], str]], Outcome]) -> Outcome:
    if actual is MISSING:
        return fail(lambda: f"expected {that} to match the schema, but {that} is not set")
    value = actual
    if isinstance(actual, bytes):
        return fail(lambda: f"expected {that} to match the schema, but it is binary: {show(actual)}")
    if isinstance(actual, str) and (that == "message" or isinstance(actual, Capture)):
        # Only a whole text message (or a pattern's capture, text too) is read as JSON: a value
        # taken from parsed JSON (message.user) keeps its type, and "123" stays a string.
        try:
            value = json.loads(actual)
        except (ValueError, RecursionError):
            return fail(lambda: f"expected {that} to match the schema, but it is not JSON: {show(actual)}")
    problem = schema_errors(schema, value)
    if problem is None:
        return _PASSED
    return fail(lambda: f"{that} does not match the schema: {problem}; got {show(actual)}")


def equal(actual: Any, expected: Any) -> bool:
    """Equality as `equals` compares (JSON values; text may stand for what it spells)."""
    return _equal(actual, expected)


_PASSED = Outcome(True)
_FAILED = Outcome(False)


def _shown(name: str, expected: Any) -> str:
    return f"/{expected}/" if name == "matches" else show(expected)
