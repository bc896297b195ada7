"""
The scenario format: Pydantic models, the single source of truth.

The JSON Schema (``wsrun schema``, ``schema.json``) is generated from these
models; the loader validates YAML documents with them. No I/O happens here.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from . import templates
from .metrics import parse_trend_stat
from .regex import RegexError, compile_regex
from .schemas import check_schema

__all__ = [
    "COMPARISONS",
    "EVENTS",
    "Action",
    "Check",
    "Close",
    "Condition",
    "Log",
    "Ping",
    "Rule",
    "Scenario",
    "Send",
    "SendBinary",
    "SendJson",
    "Stage",
    "Store",
    "Tls",
    "json_schema",
    "parse_duration",
]

#: The WebSocket libraries a connection can run on (see wsrun.connection).
TransportName = Literal["websockets", "picows"]

EVENTS = ("open", "message", "binary", "ping", "pong", "close", "error")
Event = Literal["open", "message", "binary", "ping", "pong", "close", "error"]

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


def _walk_templates(value: Any) -> None:
    if isinstance(value, str):
        _check_template(value)
    elif isinstance(value, list):
        for item in value:
            _walk_templates(item)
    elif isinstance(value, dict):
        for item in value.values():
            _walk_templates(item)


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


# ---------------------------------------------------------------------------
# Actions. Each is a mapping with one key naming it; `ping` and `close` may be bare words.


class _BareWord:
    """Accepts the action's bare name (``- ping``) as well as its mapping form."""

    word: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        if value == cls.word:
            return {cls.word: None}
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core))
        return {"anyOf": [{"const": cls.word, "description": schema.get("description", "")}, schema]}


class Log(_Strict):
    """Print a line (templates allowed), stamped with the time since the start."""

    log: TemplateText = Field(
        title="Log a line",
        description="Prints this text in the run's output, stamped with the time since the start (in a load run,"
        " with the session's vu). Templates allowed.",
        examples=["connected", "Received message: {{ message }}"],
    )


class Send(_Strict):
    """Send a text message (templates allowed)."""

    send: TemplateText = Field(
        title="Send text",
        description="Sends this text as a text message. Templates allowed. Skipped, and reported as an error,"
        " when the connection is closed.",
        examples=["hello", "{{ now_ms }}"],
    )


class SendJson(_Strict):
    """Send a mapping or list serialised as JSON, in a text message.

    A string value that is exactly one template keeps its value's type.
    """

    send_json: Annotated[dict[str, JsonValue] | list[JsonValue], AfterValidator(_templated)] = Field(
        title="Send JSON",
        description="Sends this mapping or list, serialised as JSON, in a text message. Templates allowed in"
        ' strings; a string that is exactly one template keeps its value\'s type (count: "{{ n }}" sends a'
        " number).",
        examples=[{"type": "subscribe", "id": "{{ uuid }}"}, [1, 2, 3]],
    )

    @field_validator("send_json", mode="before")
    @classmethod
    def _mapping_or_list(cls, value: Any) -> Any:
        if not isinstance(value, (dict, list)):
            raise ValueError(f"must be a mapping or a list (the JSON to send), got {value!r}")
        return value


class Payload(_Strict):
    """Bytes written in YAML: exactly one of base64 or hex."""

    base64: str | None = Field(
        None,
        title="Base64 bytes",
        description="The bytes, base64-encoded (standard alphabet, with padding). Give this or hex, not both.",
        examples=["AAEC/w==", "yv4AAQ=="],
    )
    hex: str | None = Field(
        None,
        title="Hex bytes",
        description="The bytes as hexadecimal digits, two per byte; spaces between bytes are allowed. Give this"
        " or base64, not both.",
        examples=["0001 02ff", "cafe0001"],
    )

    @model_validator(mode="after")
    def _one_encoding(self) -> Payload:
        if (self.base64 is None) == (self.hex is None):
            raise ValueError("give exactly one of base64 or hex")
        self.data  # noqa: B018 - decodes, so that bad input fails validation
        return self

    @property
    def data(self) -> bytes:
        try:
            if self.base64 is not None:
                return base64.b64decode(self.base64, validate=True)
            return bytes.fromhex(self.hex or "")
        except (binascii.Error, ValueError) as exc:
            kind = "base64" if self.base64 is not None else "hex"
            raise ValueError(f"not valid {kind}: {exc}") from None


class SendBinary(_Strict):
    """Send a binary message."""

    send_binary: Payload = Field(
        title="Send binary",
        description="Sends these bytes as a binary message, written as exactly one of base64 or hex.",
        examples=[{"hex": "cafe 0001"}, {"base64": "yv4AAQ=="}],
    )


class PingOptions(_Strict):
    """The options of a ping: its payload."""

    data: TemplateText | None = Field(
        None,
        title="Ping payload",
        description="Text carried by the ping frame, at most 125 bytes in UTF-8 (RFC 6455 5.5). Templates"
        " allowed. Default: wsrun-1, wsrun-2 and so on (a counter per session, so each pong is matched to its ping).",
        examples=["keepalive", "{{ now_ms }}"],
    )

    @field_validator("data")
    @classmethod
    def _fits_a_control_frame(cls, data: str | None) -> str | None:
        if data is not None and len(data.encode()) > 125:
            raise ValueError(
                f"a ping payload is at most 125 bytes in UTF-8 (RFC 6455 5.5), this is {len(data.encode())}"
            )
        return data


class Ping(_BareWord, _Strict):
    """Send a ping frame; the pong's round trip is measured as ws_ping."""

    word: ClassVar[str] = "ping"
    ping: PingOptions | None = Field(
        None,
        title="Send a ping",
        description="Sends a ping frame; the round trip to its pong is recorded in the trend ws_ping. Write the"
        " bare word `- ping`, or give a payload with data.",
        examples=[{"data": "keepalive"}],
    )


#: The close codes a client may send (RFC 6455 7.4.1; 1011 as updated in IANA's registry): 1004-1006 and 1015
#: are never sent on the wire, 1012-1014 are a server's.
CLIENT_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011)


class CloseOptions(_Strict):
    """The options of a close: its code, its reason, and whether to wait for pending expectations first."""

    code: int = Field(
        1000,
        title="Close code",
        description="The close code sent to the server: 1000 (normal), 1001 (going away), 1002 (protocol error),"
        " 1003 (data it cannot accept), 1007 (inconsistent data), 1008 (policy violation), 1009 (message too big),"
        " 1010 (a required extension is missing), 1011 (internal error), or 3000-4999 (registered or private"
        " codes), as RFC 6455 7.4 lets a client send. Default: 1000.",
        examples=[1000, 4000],
    )
    reason: TemplateText = Field(
        "",
        title="Close reason",
        description="The close reason, at most 123 bytes in UTF-8 (RFC 6455 5.5). Templates allowed. Default: none.",
        examples=["done", "test over"],
    )
    wait_for_pending: bool = Field(
        False,
        title="Wait for pending expectations",
        description="true: first wait until every pending request and every expectation with a deadline (within"
        " or for) is decided, each bounded by its own deadline, then close. Timers stop at once; events keep"
        " running their rules meanwhile. Default: false (close now).",
        examples=[True],
    )

    @field_validator("reason")
    @classmethod
    def _fits_a_close_frame(cls, reason: str) -> str:
        if len(reason.encode()) > 123:
            raise ValueError(
                f"a close reason is at most 123 bytes in UTF-8 (RFC 6455 5.5), this is {len(reason.encode())}"
            )
        return reason

    @field_validator("code")
    @classmethod
    def _sendable(cls, code: int) -> int:
        if code not in CLIENT_CLOSE_CODES and not 3000 <= code <= 4999:
            allowed = ", ".join(map(str, CLIENT_CLOSE_CODES))
            raise ValueError(f"{code} cannot be sent by a client (RFC 6455 7.4): use {allowed}, or 3000-4999")
        return code


class Close(_BareWord, _Strict):
    """Start the closing handshake (by default with code 1000)."""

    word: ClassVar[str] = "close"
    close: CloseOptions | None = Field(
        None,
        title="Close the connection",
        description="Starts the closing handshake. Write the bare word `- close` (code 1000), or give a code and"
        " reason. From then on no rule fires (incoming messages are still counted and seen by pending"
        " expectations). Actions after it in the same list still run; a send is then skipped as an error.",
        examples=[{"code": 4000, "reason": "done"}, {"wait_for_pending": True}],
    )


class CheckAction(_Strict):
    """Evaluate a named check where the action runs; counted in the report."""

    check: Check = Field(
        title="Check here",
        description="Evaluates this named check each time the action runs; passes and fails are counted in the"
        " report under its name.",
        examples=[{"name": "echo is right", "that": "message", "equals": "hello"}],
    )


Matcher = Annotated[
    Condition | list[Condition],
    Field(description="A condition on incoming messages, or a list of them that must all hold."),
]


class ExpectOptions(_Strict):
    """An expectation about the messages to come, armed when the action runs.

    Exactly one kind: message (a match within a deadline), no_message (none for
    a period), sequence (in this order), count (how many), heartbeat (no gap
    longer than every).
    """

    name: str = Field(
        min_length=1,
        title="Expectation name",
        description="The name shown in the report; the expectation is counted like a check under it.",
        examples=["acknowledged", "never an error"],
    )
    message: Matcher | None = Field(
        None,
        title="Expect a message",
        description="Passes when a message matching this condition (or all of a list of them) arrives within"
        " `within`, which is required; fails when the deadline passes or the session ends first. The wait is"
        " recorded in the trend ws_expect_latency.",
        examples=[{"that": "message.type", "equals": "ack"}],
    )
    no_message: Matcher | None = Field(
        None,
        title="Expect no message",
        description="Fails on the first message matching this condition (or all of a list of them) during `for`"
        " (default: the rest of the session); passes when the window ends without one.",
        examples=[{"that": "message.type", "equals": "error"}],
    )
    sequence: list[Condition | list[Condition]] | None = Field(
        None,
        min_length=2,
        title="Expect messages in order",
        description="Passes when messages matching these steps (at least two; each a condition or a list of"
        " them) arrive in this order, other messages allowed between them; fails when a later step arrives"
        " before an earlier one, or `within` (if given) passes or the session ends first.",
        examples=[[{"that": "message.type", "equals": "ack"}, {"that": "message.type", "equals": "event"}]],
    )
    count: Matcher | None = Field(
        None,
        title="Count messages",
        description="Counts messages matching this condition (or all of a list of them) during `for` (default:"
        " the rest of the session); needs at_least, at_most or both. Fails at once when the count goes over"
        " at_most, or when the window (or the session, if sooner) ends with it under at_least.",
        examples=[{"that": "message.type", "equals": "event"}],
    )
    heartbeat: Matcher | None = Field(
        None,
        title="Expect a heartbeat",
        description="Fails when no message matching this condition (or all of a list of them) comes within"
        " `every` of the previous one (or of arming), throughout `for` (default: the rest of the session).",
        examples=[{"that": "message.type", "equals": "heartbeat"}],
    )
    within: PositiveDuration | None = Field(
        None,
        title="Deadline",
        description="For message (required) and sequence (optional): how long after arming the message, or the"
        " whole sequence, may take. A duration such as 500ms or 2s.",
        examples=["500ms", "2s"],
    )
    for_: PositiveDuration | None = Field(
        None,
        alias="for",
        title="Window",
        description="For no_message, count and heartbeat: how long after arming the expectation watches."
        " Default: the rest of the session. A duration such as 1s or 30s.",
        examples=["1s", "30s"],
    )
    at_least: int | None = Field(
        None,
        ge=0,
        title="At least (count)",
        description="For count: the fewest matching messages allowed in the window (an integer, 0 or more).",
        examples=[3, 1],
    )
    at_most: int | None = Field(
        None,
        ge=0,
        title="At most (count)",
        description="For count: the most matching messages allowed in the window (an integer, 0 or more).",
        examples=[10, 0],
    )
    every: PositiveDuration | None = Field(
        None,
        title="Longest gap",
        description="For heartbeat (required): the longest allowed time between matching messages, counted from"
        " arming for the first one. A duration such as 5s.",
        examples=["5s", "500ms"],
    )

    @property
    def kind(self) -> str:
        return next(k for k in _EXPECT_KINDS if getattr(self, k) is not None)

    @model_validator(mode="after")
    def _one_kind(self) -> ExpectOptions:
        kinds = [k for k in _EXPECT_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise ValueError(
                f"an expectation has exactly one kind, one of: {', '.join(_EXPECT_KINDS)} (found: {found})"
            )
        kind = kinds[0]
        allowed = {
            "message": {"within"},
            "sequence": {"within"},
            "no_message": {"for_"},
            "count": {"for_", "at_least", "at_most"},
            "heartbeat": {"for_", "every"},
        }[kind]
        extra = [
            k.rstrip("_")
            for k in ("within", "for_", "at_least", "at_most", "every")
            if getattr(self, k) is not None and k not in allowed
        ]
        if extra:
            raise ValueError(
                f"{', '.join(extra)} does not apply to {kind}: it takes {', '.join(sorted(a.rstrip('_') for a in allowed))}"
            )
        if kind == "message" and self.within is None:
            raise ValueError("message needs within: the deadline for the matching message")
        if kind == "count" and self.at_least is None and self.at_most is None:
            raise ValueError("count needs at_least, at_most or both")
        if kind == "heartbeat" and self.every is None:
            raise ValueError("heartbeat needs every: the longest allowed gap")
        return self


_EXPECT_KINDS = ("message", "no_message", "sequence", "count", "heartbeat")


class Expect(_Strict):
    """Expect something of the messages to come: a reply in time, silence, an order, a count, a heartbeat."""

    expect: ExpectOptions = Field(
        title="Expect",
        description="Arms an expectation about the messages to come: it sees every incoming message (text or"
        " binary) from now until it is decided. Give a name and exactly one kind: message, no_message, sequence,"
        " count or heartbeat.",
        examples=[
            {"name": "acknowledged", "message": {"that": "message.type", "equals": "ack"}, "within": "500ms"},
            {"name": "busy enough", "count": {"that": "message.type", "equals": "event"}, "at_least": 3, "for": "1s"},
        ],
    )


class RequestOptions(_Strict):
    """Send a JSON request carrying an id, and expect the reply whose field equals that id, in time."""

    name: str = Field(
        min_length=1,
        title="Request name",
        description="The name shown in the report; the reply in time is counted like a check under it.",
        examples=["quote answered", "user fetched"],
    )
    send_json: Annotated[dict[str, JsonValue], AfterValidator(_templated)] = Field(
        title="Request to send",
        description="The JSON mapping to send; it must hold the id at the path `id`. Give the id a fresh value,"
        " like {{ uuid }}. Templates allowed, as in send_json.",
        examples=[{"id": "{{ uuid }}", "method": "get_user"}],
    )
    id: Name = Field(
        "id",
        title="Id path in the request",
        description="The dotted path of the id in the request: send_json must hold it (checked when the file is"
        " loaded). Default: id.",
        examples=["id", "params.request_id"],
    )
    reply_id: Name | None = Field(
        None,
        title="Id path in replies",
        description="The dotted path of the id in replies; the reply is the message whose value there equals"
        ' the id sent, strictly as JSON (5 is not "5"). Default: the same path as id.',
        examples=["id", "result.request_id"],
    )
    within: PositiveDuration = Field(
        title="Reply deadline",
        description="How long after sending the reply may take (required); a reply after it is late. A duration"
        " such as 500ms or 1s.",
        examples=["500ms", "1s"],
    )
    metric: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")] = Field(
        "ws_reply_latency",
        title="Latency trend",
        description="The trend that records each reply's latency in milliseconds, which thresholds can judge:"
        " lowercase letters, digits and _. Default: ws_reply_latency.",
        examples=["ws_reply_latency", "quote_latency"],
    )
    as_: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = Field(
        None,
        alias="as",
        title="Store the reply as",
        description="Stores the reply under this name, for later templates and conditions ({{ quote.price }})."
        " Default: not stored.",
        examples=["quote", "reply"],
    )

    @model_validator(mode="after")
    def _holds_its_id(self) -> RequestOptions:
        """The id must be in the request: known from the file, so an error when it is loaded, not at run time."""
        value: Any = self.send_json
        for part in self.id.split("."):
            if isinstance(value, str) and templates.is_single_template(value):
                return self  # a whole value from a template: its shape is known only when it is sent
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise ValueError(
                    f"send_json has no {self.id}: give the request its id there (like {self.id.rsplit('.', 1)[-1]}:"
                    ' "{{ uuid }}"), or name the path that holds it with id:'
                )
        return self


class Request(_Strict):
    """A correlated request: sent now, its reply matched by id, its latency measured."""

    request: RequestOptions = Field(
        title="Request and reply",
        description="Sends a JSON request carrying an id, then expects the reply with the same id within a"
        " deadline, recording its latency.",
        examples=[
            {
                "name": "quote answered",
                "send_json": {"id": "{{ uuid }}", "method": "get_quote"},
                "within": "500ms",
                "metric": "quote_latency",
            }
        ],
    )


class StoreOptions(_Strict):
    """What to store, and under which name."""

    from_: Name = Field(
        alias="from",
        title="Value to store",
        description="The name of the value to store, often a dotted path into the current message; the action"
        " is skipped, as an error, when it is not set.",
        examples=["message.token", "headers.x-session-id"],
    )
    as_: str = Field(
        alias="as",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        title="Store as",
        description="The name to store it under, for later templates ({{ token }}) and conditions: letters,"
        " digits and _, not starting with a digit; not a variable of vars or a built-in name.",
        examples=["token", "session_id"],
    )


class Store(_Strict):
    """Store a value (for example a field of the current message) as a variable for later templates."""

    store: StoreOptions = Field(
        title="Store a value",
        description="Keeps a value (from) under a name (as) for later templates and conditions.",
        examples=[{"from": "message.token", "as": "token"}],
    )


_ACTIONS: dict[str, type[BaseModel]] = {
    "log": Log,
    "send": Send,
    "send_json": SendJson,
    "send_binary": SendBinary,
    "ping": Ping,
    "close": Close,
    "check": CheckAction,
    "store": Store,
    "expect": Expect,
    "request": Request,
}


def _action_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value in ("ping", "close") else None
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in _ACTIONS else None
    for kind, model in _ACTIONS.items():
        if isinstance(value, model):
            return kind
    return None


ACTIONS = tuple(_ACTIONS)
ACTION_HELP = "an action is a mapping with one key, one of: " + ", ".join(ACTIONS) + " (or the bare word ping or close)"

Action = Annotated[
    Annotated[Log, Tag("log")]
    | Annotated[Send, Tag("send")]
    | Annotated[SendJson, Tag("send_json")]
    | Annotated[SendBinary, Tag("send_binary")]
    | Annotated[Ping, Tag("ping")]
    | Annotated[Close, Tag("close")]
    | Annotated[CheckAction, Tag("check")]
    | Annotated[Store, Tag("store")]
    | Annotated[Expect, Tag("expect")]
    | Annotated[Request, Tag("request")],
    Discriminator(_action_kind, custom_error_type="action", custom_error_message=ACTION_HELP),
]


# ---------------------------------------------------------------------------
# Rules.


def _at_least_1ms(seconds: float) -> float:
    if seconds < 0.001:
        raise ValueError("must be at least 1ms: a faster timer would starve everything else")
    return seconds


class Rule(_Strict):
    """One trigger (`on`, `every` or `after`) and the actions it runs, in order."""

    on: Event | None = Field(
        None,
        title="On event",
        description="Runs the actions on each occurrence of this event: open (once, after the handshake),"
        " message (each text message), binary (each binary message), ping (each ping from the server; the pong"
        " goes back on its own), pong (each pong received), close (once, when the connection closed), error"
        " (each error: a failed handshake, an abnormal close, the session timeout).",
        examples=["open", "message"],
    )
    every: Annotated[float, BeforeValidator(parse_duration), _DurationSchema, AfterValidator(_at_least_1ms)] | None = (
        Field(
            None,
            title="Every",
            description="Runs the actions repeatedly, at open plus 1, 2, 3... times this, until the connection"
            " closes; a late run skips to the next slot. A duration of at least 1ms, such as 1s or 250ms.",
            examples=["1s", "250ms"],
        )
    )
    after: Duration | None = Field(
        None,
        title="After",
        description="Runs the actions once, this long after open, unless the connection closed before. A"
        " duration such as 2s.",
        examples=["2s", "500ms"],
    )
    when: Condition | None = Field(
        None,
        title="Only when",
        description="Runs the actions only when this condition holds; without `that` it tests the current"
        " message. Works with every trigger.",
        examples=[{"that": "message.type", "equals": "tick"}, {"contains": "error"}],
    )
    do: list[Action] = Field(
        min_length=1,
        title="Actions",
        description="The actions to run, in order; each is a mapping with one key (log, send, send_json,"
        " send_binary, ping, close, check, store, expect, request), or the bare word ping or close. An action"
        " that cannot run (a send after the scenario's own close, say) is reported, and the rest still run.",
        examples=[["ping"], [{"send": "hello"}, {"log": "sent hello"}], ["close"]],
    )

    @model_validator(mode="after")
    def _one_trigger(self) -> Rule:
        given = [name for name in ("on", "every", "after") if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"a rule has exactly one trigger, one of: on, every, after (found: {found})")
        return self

    @property
    def trigger(self) -> str:
        """The trigger as written: ``on: open``, ``every: 1s``."""
        if self.on is not None:
            return f"on: {self.on}"
        if self.every is not None:
            return f"every: {self.every:g}s"
        return f"after: {self.after:g}s"


class Tls(_Strict):
    """TLS settings for wss:// URLs; paths are relative to the scenario file."""

    ca_file: str | None = Field(
        None,
        title="CA certificates",
        description="A PEM file of CA certificates to trust instead of the system's, relative to the scenario"
        " file. Default: the system's CA certificates.",
        examples=["certs/ca.pem"],
    )
    cert_file: str | None = Field(
        None,
        title="Client certificate",
        description="A PEM client certificate to present (it may include its key), relative to the scenario"
        " file. Default: none.",
        examples=["certs/client.pem"],
    )
    key_file: str | None = Field(
        None,
        title="Client key",
        description="The client certificate's private key, if not in cert_file (needs cert_file), relative to"
        " the scenario file.",
        examples=["certs/client.key"],
    )
    insecure: bool = Field(
        False,
        title="Skip verification",
        description="true turns certificate and host name verification off, and the report says so on every"
        " run. Avoid. Default: false.",
        examples=[False, True],
    )

    @model_validator(mode="after")
    def _key_needs_cert(self) -> Tls:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        return self


class Stage(_Strict):
    """One step of a ramp: move to `target` sessions over `duration`, as in k6's stages."""

    duration: Duration = Field(
        title="Stage duration",
        description="How long this stage lasts (required). A duration such as 30s or 1m.",
        examples=["30s", "1m"],
    )
    target: int = Field(
        ge=0,
        title="Target vus",
        description="The number of concurrent sessions (vus) at the end of the stage, reached by a linear ramp"
        " from the previous stage's target (or from vus, for the first). When it falls, the newest vus finish"
        " their session and stop.",
        examples=[100, 0],
    )


class Scenario(_Strict):
    """A WebSocket scenario: where to connect, the rules to run, and the checks to pass."""

    model_config = ConfigDict(title="wsrun scenario")

    name: str = Field(
        "",
        title="Scenario name",
        description="The scenario's name, shown in the report. Default: the file name without its extension.",
        examples=["chat under load", "k6 Socket.on example"],
    )
    description: str = Field(
        "",
        title="Description",
        description="Free text for reviewers; wsrun does not use it.",
        examples=["Subscribe to prices, expect an ack within 500ms and no error."],
    )
    url: str = Field(
        title="WebSocket URL",
        description="The ws:// or wss:// URL to connect to (required). Templates allowed, resolved before"
        " connecting, so they may use variables, env.NAME, vu and iteration. --url overrides it.",
        examples=["ws://127.0.0.1:8765", "wss://example.com/socket?token={{ token }}"],
    )
    headers: dict[Annotated[str, Field(pattern=_HTTP_TOKEN)], Annotated[str, Field(pattern=r"^[^\r\n]*$")]] = Field(
        default_factory=dict,
        title="Handshake headers",
        description="Extra HTTP headers sent with the opening handshake: names are HTTP tokens, values have no"
        " line break. Templates allowed in values, resolved before connecting. Default: none.",
        examples=[{"Authorization": "Bearer {{ env.API_TOKEN }}", "X-Client": "wsrun"}],
    )
    subprotocols: list[Annotated[str, Field(pattern=_HTTP_TOKEN)]] = Field(
        default_factory=list,
        title="Subprotocols",
        description="Subprotocols to offer (HTTP tokens), in order of preference; the negotiated one is the name"
        " subprotocol. Default: none.",
        examples=[["chat.v2"], ["graphql-transport-ws", "graphql-ws"]],
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        title="Metric tags",
        description="Tags added to every metric sample of this scenario (with url and status), shown in the"
        " report; thresholds can filter on them, as k6's sub-metrics: ws_ping{my_tag:hello}. Default: none.",
        examples=[{"my_tag": "hello", "env": "staging"}],
    )
    transport: TransportName = Field(
        "websockets",
        title="Transport",
        description="The WebSocket library under the connection: websockets (the default and reference) or"
        " picows, a faster one installed with pip install 'wsrun[fast]'; the semantics are the same."
        " --transport overrides it. Default: websockets.",
        examples=["websockets", "picows"],
    )
    compression: bool = Field(
        True,
        title="Compression",
        description="Offer permessage-deflate compression (RFC 7692) in the handshake: true or false. Default: true.",
        examples=[True, False],
    )
    connect_timeout: PositiveDuration = Field(
        10.0,
        title="Connect timeout",
        description="Deadline for TCP, TLS and the opening handshake together. A duration such as 10s. Default: 10s.",
        examples=["10s", "2s"],
    )
    close_timeout: PositiveDuration = Field(
        5.0,
        title="Close timeout",
        description="Deadline for the closing handshake (whichever side started it), and for what runs after"
        " timeout; past it the TCP connection is dropped. A duration such as 5s. Default: 5s.",
        examples=["5s", "1s"],
    )
    pong_timeout: PositiveDuration | None = Field(
        None,
        title="Pong timeout",
        description="If set, each of our pings must be answered within this time; otherwise it is an error,"
        " error rules run, and the connection is closed with 1011. A duration such as 2s. Default: no limit.",
        examples=["2s", "500ms"],
    )
    max_message_size: int = Field(
        2**20,
        gt=0,
        title="Largest message (bytes)",
        description="The largest incoming message, in bytes; a larger one fails the connection with close code"
        " 1009. Default: 1048576 (1 MiB).",
        examples=[1048576, 16777216],
    )
    tls: Tls | None = Field(
        None,
        title="TLS",
        description="TLS settings for wss:// URLs only: CA file, client certificate and key, or insecure."
        " Default: verify the server against the system's CA certificates.",
        examples=[{"ca_file": "certs/ca.pem"}, {"cert_file": "certs/client.pem", "key_file": "certs/client.key"}],
    )
    timeout: PositiveDuration = Field(
        60.0,
        title="Session timeout",
        description="The session ends at this deadline, counted from its start, if nothing ended it before: an"
        ' error "session timed out" is recorded, error rules run, and wsrun closes with 1001. A duration such as'
        " 60s or 5m. Default: 60s.",
        examples=["60s", "5m"],
    )
    vus: int | None = Field(
        None,
        ge=1,
        title="Virtual users",
        description="Concurrent sessions (k6's virtual users), 1 or more. Alone, each vu runs one session; with"
        " duration, sessions back to back until it ends; with stages, the vus to start from. --vus overrides it."
        " Default: 1.",
        examples=[10, 100],
    )
    iterations: int | None = Field(
        None,
        ge=1,
        title="Iterations",
        description="Sessions to run in all, shared by the vus (k6's shared-iterations); duration is then a"
        " maximum (default 10m). Not with stages. --iterations overrides it.",
        examples=[100, 1000],
    )
    duration: PositiveDuration | None = Field(
        None,
        title="Load duration",
        description="Each vu starts sessions back to back until this has elapsed (k6's constant-vus); running"
        " sessions then get graceful_stop. Not with stages. --duration overrides it. A duration such as 30s.",
        examples=["30s", "10m"],
    )
    stages: list[Stage] | None = Field(
        None,
        min_length=1,
        title="Stages",
        description="Ramp the number of concurrent sessions up and down over time (k6's ramping-vus), starting"
        " from vus (default 1). Not with duration or iterations.",
        examples=[
            [{"duration": "30s", "target": 100}, {"duration": "1m", "target": 100}, {"duration": "10s", "target": 0}]
        ],
    )
    graceful_stop: Duration = Field(
        30.0,
        title="Graceful stop",
        description="When duration (or the last stage) ends, how long running sessions may go on before they are"
        " stopped (closed with 1001). A duration such as 30s. Default: 30s.",
        examples=["30s", "5s"],
    )
    thresholds: dict[str, list[str]] = Field(
        default_factory=dict,
        title="Thresholds",
        description="Pass/fail criteria on metrics, in k6's syntax: a metric, optionally filtered by tags"
        ' (ws_ping{my_tag:hello}), mapped to expressions "STAT OP NUMBER". Trends take avg, min, med, max,'
        " count, p(N), with time values in milliseconds; counters count and rate; checks rate. A failed"
        " threshold makes the run exit 99.",
        examples=[
            {"ws_ping": ["p(95) < 100"], "checks": ["rate > 0.99"], "ws_connecting{my_tag:hello}": ["max < 500"]}
        ],
    )
    summary_trend_stats: list[str] | None = Field(
        None,
        min_length=1,
        title="Trend statistics shown",
        description="The statistics shown for trends, as k6's summaryTrendStats: avg, min, med, max, count or"
        " p(N) with 0 <= N <= 100. Default: avg, min, med, max, p(90), p(95).",
        examples=[["avg", "p(99)", "max"]],
    )
    vars: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], Scalar] = Field(
        default_factory=dict,
        title="Variables",
        description="Variables for templates ({{ name }}): strings, numbers or booleans. A string may use env.NAME,"
        " now_ms, now, uuid, vu, iteration and variables above it; each session resolves them anew before"
        " connecting. --var NAME=VALUE overrides one.",
        examples=[{"user": "user-{{ vu }}", "token": "{{ env.API_TOKEN }}", "count": 3}],
    )
    secrets: list[Annotated[str, Field(pattern=r"^(?:env\.[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)$")]] = Field(
        default_factory=list,
        title="Secrets",
        description="Variables, stored names or env.NAME whose values are shown as *** in every output; a name"
        " that is none of these is an error.",
        examples=[["token", "env.API_KEY"]],
    )
    rules: list[Rule] = Field(
        default_factory=list,
        title="Rules",
        description="Event -> action rules: each has one trigger (on, every or after), an optional when, and the"
        " actions to run (do). Rules run one at a time, in file order.",
        examples=[[{"on": "open", "do": [{"send": "hello"}]}, {"every": "1s", "do": ["ping"]}]],
    )
    checks: list[Check] = Field(
        default_factory=list,
        title="End checks",
        description="Checks evaluated once, when the session is over; each has a name, a value (that) and one"
        " comparison.",
        examples=[[{"name": "status is 101", "that": "status", "equals": 101}]],
    )

    @field_validator("url")
    @classmethod
    def _websocket_url(cls, url: str) -> str:
        _check_template(url)
        if "{{" not in url.split("://", 1)[0] and not url.startswith(("ws://", "wss://")):
            raise ValueError(f"{url!r} is not a WebSocket URL: it must start with ws:// or wss://")
        return url

    @field_validator("headers")
    @classmethod
    def _header_templates(cls, headers: dict[str, str]) -> dict[str, str]:
        _walk_templates(headers)
        return headers

    @field_validator("vars", mode="before")
    @classmethod
    def _scalars_only(cls, variables: Any) -> Any:
        if isinstance(variables, dict):
            for name, value in variables.items():
                if value is None or isinstance(value, (dict, list)):
                    kind = "null" if value is None else type(value).__name__
                    raise ValueError(f"vars.{name}: a variable is a string, number or boolean, not a {kind}")
        return variables

    @field_validator("vars")
    @classmethod
    def _var_templates(cls, variables: dict[str, Any]) -> dict[str, Any]:
        _walk_templates(variables)
        return variables

    @field_validator("summary_trend_stats")
    @classmethod
    def _trend_stats(cls, stats: list[str] | None) -> list[str] | None:
        return None if stats is None else [parse_trend_stat(stat) for stat in stats]

    @model_validator(mode="after")
    def _one_way_to_load(self) -> Scenario:
        if self.stages is not None and (self.iterations is not None or self.duration is not None):
            raise ValueError(
                "stages set the sessions over time: give either stages (with vus to start), or duration/iterations"
            )
        return self

    @field_validator("tls")
    @classmethod
    def _tls_needs_wss(cls, tls: Tls | None, info: ValidationInfo) -> Tls | None:
        if tls is not None and str(info.data.get("url", "")).startswith("ws://"):
            raise ValueError("applies only to wss:// URLs, and url is ws://")
        return tls


def _schema_defaults(node: Any) -> None:
    """Defaults as a file would write them: a duration's default in seconds becomes "10s" (the
    schema asks for text with a unit), and the name's computed default (the file name) is left out."""
    if isinstance(node, dict):
        default = node.get("default")
        if node.get("type") == "string" and isinstance(default, (int, float)) and not isinstance(default, bool):
            node["default"] = f"{default * 1000:g}ms" if 0 < default < 1 else f"{default:g}s"
        elif node.get("type") == "string" and default == "":
            del node["default"]
        for value in node.values():
            _schema_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _schema_defaults(value)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, as committed in schema.json."""
    schema = Scenario.model_json_schema()
    _schema_defaults(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/wsrun/wsrun/schema.json",
        **schema,
    }
