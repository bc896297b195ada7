"""
Conditions and checks: one language for rule conditions, check actions, end checks and expectations.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    JsonValue,
    PrivateAttr,
    model_validator,
)

from ..regex import RegexError, compile_regex
from ..schemas import check_schema
from .base import COMPARISONS, Name, _Strict, _walk_templates

# ---------------------------------------------------------------------------
# Conditions and checks: one language for rule conditions, check actions and end checks.


class Condition(_Strict):
    """A test of one value: `that` names it, exactly one comparison says what it must be.

    The comparisons: equals, not_equals, contains, not_contains, matches, at_least,
    at_most, exists, schema.
    """

    that: Name = Field(
        "message",
        title="Value to test",
        description="The name of the value to test: a variable, a stored name, a fact such as status or"
        " close_code, or a dotted path into a JSON message (message.user.id). Default: message, the current"
        " message (or, outside a message rule, the last one received).",
        examples=["message", "message.type", "status", "close_code"],
    )
    equals: JsonValue = Field(
        None,
        title="Equals",
        description="Passes when the value equals this, as JSON values: 1 equals 1.0, true never equals 1. A text"
        ' message compared with a number compares as text ("101" equals 101), with a mapping or list as parsed'
        " JSON; a binary message reads as lowercase hex. Templates allowed.",
        examples=["hello", 101, {"type": "ack"}, "{{ token }}"],
    )
    not_equals: JsonValue = Field(
        None,
        title="Does not equal",
        description="Passes when the value differs from this (the opposite of equals). Templates allowed.",
        examples=["error", 1006],
    )
    contains: JsonValue = Field(
        None,
        title="Contains",
        description="Passes when the value contains this: a substring of a text, an item of a list, a key of an"
        ' object; for a binary message, these bytes written in hex ("00 01"). Templates allowed.',
        examples=["hello", "00 01"],
    )
    not_contains: JsonValue = Field(
        None,
        title="Does not contain",
        description="Passes when contains would fail. Templates allowed.",
        examples=["error"],
    )
    matches: str | None = Field(
        None,
        title="Matches regular expression",
        description="Passes when this regular expression is found anywhere in the value's text (use ^ and $ to"
        " match the whole). RE2 syntax: no look-around or back-references; checked when the file is loaded.",
        examples=["^\\d+$", "^user-[0-9]+$"],
    )
    at_least: float | None = Field(
        None,
        title="At least",
        description='Passes when the value, read as a number (a text such as "42" counts), is greater than or'
        " equal to this.",
        examples=[1, 0.5],
    )
    at_most: float | None = Field(
        None,
        title="At most",
        description='Passes when the value, read as a number (a text such as "42" counts), is less than or'
        " equal to this.",
        examples=[100, 2.5],
    )
    exists: bool | None = Field(
        None,
        title="Exists",
        description="true: passes when the value is set and not null; false: passes when it is unset or null.",
        examples=[True, False],
    )
    schema_: dict[str, JsonValue] | str | None = Field(
        None,
        alias="schema",
        title="Valid against JSON Schema",
        description="Passes when the value is valid against this JSON Schema (draft 2020-12), given inline or as"
        " the path of a JSON or YAML file inside the scenario's folder (symlinks resolved; its $ref may name"
        " only files there too). A whole text message is read as JSON; a value taken from JSON keeps its"
        " type; a binary message fails.",
        examples=[{"type": "object", "required": ["id"]}, "schemas/reply.json"],
    )

    _comparison: tuple[str, Any] = PrivateAttr(default=("", None))

    @property
    def comparison(self) -> tuple[str, Any]:
        """The one comparison this condition makes, as (name, expected value)."""
        # Read past pydantic's __getattr__: this runs for every message of a load run.
        comparison: tuple[str, Any] = object.__getattribute__(self, "__pydantic_private__")["_comparison"]
        return comparison

    @model_validator(mode="after")
    def _one_comparison(self) -> Condition:
        fields = {"schema_" if name == "schema" else name for name in COMPARISONS}
        given = [name.rstrip("_") for name in fields if name in self.model_fields_set]
        given.sort(key=COMPARISONS.index)
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one comparison, one of: {', '.join(COMPARISONS)} (found: {found})")
        # Kept once here: conditions run for every message of a load run.
        self._comparison = name, expected = given[0], getattr(self, "schema_" if given[0] == "schema" else given[0])
        if name == "matches" and expected is not None:
            try:
                compile_regex(str(expected))
            except RegexError as exc:
                raise ValueError(f"matches: {exc}") from None
        elif name == "matches" and expected is None:
            raise ValueError("matches needs a regular expression")
        elif name in ("at_least", "at_most") and expected is None:
            raise ValueError(f"{name} needs a number")
        elif name == "exists" and expected is None:
            raise ValueError("exists needs true or false")
        elif name == "schema":
            if expected is None:
                raise ValueError("schema needs a JSON Schema (a mapping) or the path of a file holding one")
            if isinstance(expected, dict):
                check_schema(expected)
            return self
        _walk_templates(expected)
        return self


class Check(Condition):
    """A named assertion: a condition whose passes and fails are counted in the report under its name."""

    name: str = Field(
        title="Check name",
        description="The name shown in the report. Checks with the same name are counted together, as in k6.",
        min_length=1,
        examples=["status is 101", "echo is right"],
    )
    that: Name = Field(
        "message",
        title="Value to check",
        description="The name of the value to check: a variable, a stored name, a fact such as status or"
        " close_code, or a dotted path into a JSON message. Default: message, as in every condition.",
        examples=["status", "close_code", "message.user.id"],
    )
