"""
What every model of the scenario format shares: strict models, durations, names and templated values.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from .. import templates

#: The WebSocket libraries a connection can run on (see wsrun.transport).
TransportName = Literal["websockets", "picows"]

EVENTS = ("open", "message", "binary", "ping", "pong", "close", "error", "failure")
Event = Literal["open", "message", "binary", "ping", "pong", "close", "error", "failure"]

COMPARISONS = (
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "matches",
    "at_least",
    "at_most",
    "exists",
    "schema",
)

# ---------------------------------------------------------------------------
# Durations: "250ms", "1s", "1.5s", "2m", "1m30s", "1h".

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_NUMBER = r"\d+(?:\.\d+)?"
# Each unit at most once, largest first: 1h30m, 1m30s, 1s500ms; never 1s1s.
_DURATION = re.compile(rf"(?=\d)(?:{_NUMBER}h)?(?:{_NUMBER}m(?!s))?(?:{_NUMBER}s)?(?:{_NUMBER}ms)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_HELP = "a duration with a unit, like 250ms, 1s, 1.5s, 2m or 1m30s"


def parse_duration(value: object) -> float:
    """Parse a duration string into seconds; ValueError explains what is allowed."""
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"{value!r} has no unit: write {DURATION_HELP}")
        raise ValueError(f"expected {DURATION_HELP}")
    text = value.strip()
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{value!r} is not {DURATION_HELP}")
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds > 7 * 24 * 3600:
        raise ValueError(f"{value!r} is longer than a week")
    return seconds


def _duration_schema(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": rf"^\s*{_DURATION.pattern}\s*$",
        "description": description,
        "examples": ["250ms", "1s", "1m30s"],
    }


class _DurationSchema:
    """Shows durations as strings with a pattern in the JSON Schema."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return _duration_schema(DURATION_HELP)


Duration = Annotated[float, BeforeValidator(parse_duration), _DurationSchema, Field(ge=0)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), _DurationSchema, Field(gt=0)]


# An HTTP token (RFC 9110 5.6.2): header names and subprotocols.
_HTTP_TOKEN = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"  # noqa: S105 - a pattern, not a password


def _check_template(value: str) -> str:
    list(templates.names(value))  # raises ValueError naming what is wrong
    return value


TemplateText = Annotated[str, AfterValidator(_check_template)]
Name = Annotated[
    str,
    Field(
        pattern=rf"^{templates.NAME_PATTERN}$",
        description="A name from the namespace, optionally a dotted path: status, headers.server, message.user.id",
    ),
]
Scalar = str | int | float | bool


class _Strict(BaseModel):
    """Every model refuses unknown keys: a typo is an error, never silently ignored."""

    # strict: no silent conversions ("off" is not false, true is not 1, "4000" is not a number).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


def _templated(value: Any) -> Any:
    """Check every template inside a JSON value (AfterValidator)."""
    _walk_templates(value)
    return value


def _json_payload(value: Any) -> Any:
    """A JSON payload to send (AfterValidator): its templates checked, and only numbers JSON has."""
    _walk_templates(value)
    _finite(value)
    return value


def _finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        # .inf and .nan are YAML floats, but JSON has no such numbers: they would go out as invalid JSON.
        raise ValueError(f"{value} is not a JSON number: JSON has no infinity and no NaN")
    if isinstance(value, list):
        for item in value:
            _finite(item)
    elif isinstance(value, dict):
        for item in value.values():
            _finite(item)


def _walk_templates(value: Any) -> None:
    if isinstance(value, str):
        _check_template(value)
    elif isinstance(value, list):
        for item in value:
            _walk_templates(item)
    elif isinstance(value, dict):
        for item in value.values():
            _walk_templates(item)
