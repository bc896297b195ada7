"""Evaluating conditions and checks: every comparison, its cross-type rules, and its reason for failing."""

from __future__ import annotations

from typing import Any

import pytest

from wsrun.errors import TemplateError
from wsrun.scenario.conditions import Outcome, evaluate, holds, predicate, show
from wsrun.scenario.models import Check, Condition
from wsrun.scenario.templates import MISSING

VALUES: dict[str, Any] = {"token": "abc", "code": 101, "word": "err", "blob": b"\xca\xfe"}


def lookup(name: str) -> Any:
    """The test namespace: VALUES, MISSING for anything else."""
    return VALUES.get(name, MISSING)


def outcome(condition: dict[str, Any], actual: Any) -> Outcome:
    """Validate a condition as written in YAML and evaluate it against ``actual``."""
    return evaluate(Condition.model_validate(condition), actual, lookup)


PASSING: list[tuple[dict[str, Any], Any]] = [
    ({"equals": "hello"}, "hello"),
    ({"equals": {"a": [1, 2]}}, {"a": [1, 2]}),
    ({"that": "status", "equals": 101}, 101),
    ({"equals": 101}, "101"),  # a whole text message may stand for what it spells
    ({"equals": 1}, 1.0),
    ({"equals": 1.0}, 1),
    ({"equals": True}, "true"),
    ({"equals": None}, "null"),
    ({"equals": None}, None),
    ({"equals": "{{ token }}"}, "abc"),
    ({"equals": "{{ code }}"}, 101),
    ({"equals": "Bearer {{ token }}"}, "Bearer abc"),
    ({"not_equals": "a"}, "b"),
    ({"not_equals": True}, 1),
    ({"contains": "ell"}, "hello"),
    ({"contains": 42}, "id=42"),
    ({"contains": "6869"}, b"oh hi"),  # a binary message reads as hex
    ({"contains": "CAFE 00"}, b"\xca\xfe\x00\x01"),
    ({"equals": "{{ blob }}"}, b"\xca\xfe"),  # a stored binary value reads as hex too
    ({"not_equals": "{{ blob }}"}, b"\xca\xfe\x00"),
    ({"contains": 2}, [1, 2, 3]),
    ({"contains": "id"}, {"id": 1}),
    ({"contains": "{{ word }}"}, "an error"),
    ({"not_contains": "error"}, "ok"),
    ({"not_contains": "x"}, {"id": 1}),
    ({"matches": r"^\d+$"}, "123"),
    ({"matches": r"^\d+$"}, 123),
    ({"matches": "^6869"}, b"hi there"),
    ({"matches": "^{{ token }}$"}, "abc"),
    ({"at_least": 3}, 3),
    ({"at_least": 3}, " 4.5 "),
    ({"at_most": 1.5}, 1.5),
    ({"at_most": 1.5}, -2),
    ({"exists": True}, "x"),
    ({"exists": False}, None),  # null is not set
    ({"exists": False}, MISSING),
]


@pytest.mark.parametrize(("condition", "actual"), PASSING)
def test_condition_passes(condition: dict[str, Any], actual: Any) -> None:
    """Each comparison passes on a value it describes, with no reason given."""
    assert outcome(condition, actual) == Outcome(True, "")


FAILING: list[tuple[dict[str, Any], Any, str]] = [
    # A value taken from JSON, or a fact, keeps its type: only a whole text message is read as what it spells.
    ({"that": "status", "equals": 101}, "101", 'expected status equals 101, got "101"'),
    ({"that": "message.count", "equals": 5}, "5", 'expected message.count equals 5, got "5"'),
    ({"that": "message.ok", "equals": True}, "true", 'expected message.ok equals true, got "true"'),
    ({"that": "message.v", "equals": None}, "null", 'expected message.v equals null, got "null"'),
    ({"equals": "101"}, 101, 'expected message equals "101", got 101'),
    ({"contains": "2"}, [1, 2, 3], 'expected message contains "2", got [1, 2, 3]'),
    ({"equals": "hello"}, "bye", 'expected message equals "hello", got "bye"'),
    ({"equals": True}, 1, "expected message equals true, got 1"),
    ({"equals": 1}, True, "expected message equals 1, got true"),
    ({"equals": "{{ token }}"}, "abd", 'expected message equals "abc", got "abd"'),
    ({"that": "status", "equals": 101}, 200, "expected status equals 101, got 200"),
    ({"not_equals": 101}, "101", 'expected message not_equals 101, got "101"'),
    ({"not_equals": 1}, 1.0, "expected message not_equals 1, got 1"),
    ({"contains": "xyz"}, "hello", 'expected message contains "xyz", got "hello"'),
    ({"contains": "hi"}, b"nope", 'expected message contains "hi", got <4 bytes: 6e6f7065>'),
    ({"not_equals": "{{ blob }}"}, b"\xca\xfe", "expected message not_equals <2 bytes: cafe>, got <2 bytes: cafe>"),
    ({"contains": 1}, [True], "expected message contains 1, got [true]"),
    ({"contains": 1}, {"id": 1}, 'expected message contains 1, got {"id": 1}'),
    ({"contains": 1}, 12, "expected message contains 1, got 12"),
    ({"not_contains": "err"}, "error", 'expected message not_contains "err", got "error"'),
    ({"not_contains": 2}, [1, 2], "expected message not_contains 2, got [1, 2]"),
    ({"matches": r"^\d+$"}, "abc", 'expected message matches /^\\d+$/, got "abc"'),
    ({"at_least": 3}, 2, "expected message at_least 3, got 2"),
    ({"at_most": 1.5}, "2", 'expected message at_most 1.5, got "2"'),
    ({"exists": True}, MISSING, "expected message to be set, got (not set)"),
    ({"exists": True}, None, "expected message to be set, got null"),
    ({"that": "close_code", "exists": False}, 1000, "expected close_code not to be set, got 1000"),
]


@pytest.mark.parametrize(("condition", "actual", "reason"), FAILING)
def test_condition_fails_with_reason(condition: dict[str, Any], actual: Any, reason: str) -> None:
    """Each comparison fails on a value it does not describe, saying what was expected and found."""
    assert outcome(condition, actual) == Outcome(False, reason)


@pytest.mark.parametrize(
    ("condition", "actual", "reason"),
    [
        ({"at_least": 3}, "abc", 'expected message at_least 3, got "abc", which is not a number'),
        ({"at_most": 2.5}, True, "expected message at_most 2.5, got true, which is not a number"),
        ({"at_least": 0}, {"n": 1}, 'expected message at_least 0, got {"n": 1}, which is not a number'),
        ({"at_most": 1}, None, "expected message at_most 1, got null, which is not a number"),
    ],
)
def test_bounds_need_a_number(condition: dict[str, Any], actual: Any, reason: str) -> None:
    """at_least and at_most fail on a value that does not read as a number (booleans included)."""
    assert outcome(condition, actual) == Outcome(False, reason)


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ({"that": "close_code", "equals": 1000}, "expected close_code equals 1000, but close_code is not set"),
        ({"not_equals": "x"}, 'expected message not_equals "x", but message is not set'),
        ({"not_contains": "x"}, 'expected message not_contains "x", but message is not set'),
        ({"matches": "."}, "expected message matches /./, but message is not set"),
        (
            {"that": "messages_received", "at_least": 5},
            "expected messages_received at_least 5, but messages_received is not set",
        ),
    ],
)
def test_missing_value_fails_every_comparison(condition: dict[str, Any], reason: str) -> None:
    """A value that is not set fails every comparison but exists, even the negative ones."""
    assert outcome(condition, MISSING) == Outcome(False, reason)


def test_missing_name_in_expected_value_raises() -> None:
    """A template in the expected value naming something not set raises TemplateError."""
    with pytest.raises(TemplateError, match=r"\{\{ gone \}\} is not set"):
        outcome({"equals": "{{ gone }}"}, "x")


def test_check_is_evaluated_like_a_condition() -> None:
    """A Check is a Condition with a name: it passes and fails the same way."""
    check = Check.model_validate({"name": "status is 101", "that": "status", "equals": "{{ code }}"})
    assert evaluate(check, 101, lookup) == Outcome(True)
    assert evaluate(check, 400, lookup) == Outcome(False, "expected status equals 101, got 400")


# -- show -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MISSING, "(not set)"),
        (None, "null"),
        ("Zoë", '"Zoë"'),
        ({"a": [1, True]}, '{"a": [1, true]}'),
        (b"abc", "<3 bytes: 616263>"),
        (b"\xff" * 65, "<65 bytes: " + "ff" * 64 + "…>"),
    ],
)
def test_show_reads_as_json(value: Any, expected: str) -> None:
    """show() writes values as JSON, bytes as a size and hex, and an unset value in words."""
    assert show(value) == expected


@pytest.mark.parametrize(("value", "limit"), [("x" * 300, 200), (list(range(100)), 200), ("abcdefghijkl", 10)])
def test_show_cuts_long_values(value: Any, limit: int) -> None:
    """A value longer than the limit is cut to exactly the limit, ending in an ellipsis."""
    text = show(value, limit)
    assert len(text) == limit
    assert text.endswith("…")
    assert show(value, 100_000).startswith(text[:-1])


def test_show_keeps_value_at_the_limit() -> None:
    """A value exactly as long as the limit is shown whole."""
    assert show("x" * 198) == '"' + "x" * 198 + '"'


# -- cross-type rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "passed"),
    [("3d31", b"id=1", True), (31, b"id=1", True), (1, b"id=1", False), (0, b"xyz", False), (None, b"xyz", False)],
)
def test_contains_non_text_in_binary_message(expected: Any, actual: bytes, passed: bool) -> None:
    """A binary message reads as hex: contains looks for hex digits at a byte boundary."""
    assert outcome({"contains": expected}, actual).passed is passed


def test_true_is_not_one_inside_mappings() -> None:
    """true does not equal 1 inside a mapping either, as it does not at the top level."""
    assert outcome({"equals": {"ok": 1}}, {"ok": True}).passed is False


def test_mapping_against_json_text_ignores_spacing() -> None:
    """Comparing a JSON text message with a mapping does not depend on the message's whitespace."""
    condition = {"equals": {"ok": True}}
    assert outcome(condition, '{"ok":true}').passed is outcome(condition, '{"ok": true}').passed


@pytest.mark.parametrize(
    ("that", "actual", "schema", "reason"),
    [
        ("message.user", "123", {"type": "string"}, ""),
        ("message.user", "alice", {"type": "string"}, ""),
        (
            "message.user",
            "123",
            {"type": "integer"},
            "message.user does not match the schema: the value: '123' is not of type 'integer'; got \"123\"",
        ),
        ("message", '{"user": "123"}', {"properties": {"user": {"type": "string"}}}, ""),
        ("message", "alice", {"type": "string"}, 'expected message to match the schema, but it is not JSON: "alice"'),
        ("message", '"alice"', {"type": "string"}, ""),
    ],
)
def test_schema_reads_only_a_whole_text_message_as_json(
    that: str, actual: Any, schema: dict[str, Any], reason: str
) -> None:
    """A value taken from parsed JSON keeps its type: "123" is a string; only `that: message` is parsed."""
    result = outcome({"that": that, "schema": schema}, actual)
    assert result == Outcome(not reason, reason)


@pytest.mark.parametrize("comparison", [{"at_least": 5}, {"at_most": 5}, {"at_least": 4.5}, {"at_most": -1}])
@pytest.mark.parametrize(
    "value", [MISSING, None, 5, 5.0, 4, 6, "5", " 6 ", "x", True, False, float("nan"), [5], {"a": 5}, 10**400]
)
def test_a_compiled_comparison_holds_when_holds_says_so(comparison: dict[str, Any], value: Any) -> None:
    """A rule's condition compiled once (predicate) decides as the general path does, value for value."""

    condition = Condition.model_validate({"that": "n", **comparison})
    test = predicate(condition)
    assert test is not None
    assert test(lambda name: value) == holds(condition, lambda name: value, explain=False).passed


def test_only_a_comparison_with_a_number_is_compiled() -> None:
    """Templated bounds, other comparisons and lists of conditions take the general path."""

    assert predicate(Condition.model_validate({"that": "n", "at_least": "{{ m }}"})) is None
    assert predicate(Condition.model_validate({"that": "n", "equals": 5})) is None
    assert predicate([Condition.model_validate({"that": "n", "at_least": 5})]) is None
