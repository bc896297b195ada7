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
    """A test of one value: `that` names it, one comparison says what it must be."""

    that: Name = Field(
        "message",
        description="The name of the value to test (default: the current message).",
        examples=["message", "message.type", "status", "close_code"],
    )
    equals: JsonValue = Field(None, description="Passes when the value equals this (templates allowed).")
    not_equals: JsonValue = Field(None, description="Passes when the value differs from this.")
    contains: JsonValue = Field(
        None, description="Passes when the text contains this substring, the list this item, the object this key."
    )
    not_contains: JsonValue = Field(None, description="Passes when `contains` would fail.")
    matches: str | None = Field(
        None,
        description="Passes when this regular expression (RE2 syntax) is found in the text.",
        examples=["^\\d+$"],
    )
    at_least: float | None = Field(None, description="Passes when the value, as a number, is >= this.")
    at_most: float | None = Field(None, description="Passes when the value, as a number, is <= this.")
    exists: bool | None = Field(None, description="true: passes when the value is set; false: when it is not.")
    schema_: dict[str, JsonValue] | str | None = Field(
        None,
        alias="schema",
        description="Passes when the value (a JSON message, say) is valid against this JSON Schema, given inline"
        " or as a file relative to the scenario.",
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
    """A named assertion, counted in the report with its passes and fails."""

    name: str = Field(description="The name shown in the report.", min_length=1, examples=["status is 101"])
    that: Name = Field(
        description="The name of the value to check.", examples=["status", "close_code", "message.user.id"]
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
        description="The text to print.", examples=["connected", "Received message: {{ message }}"]
    )


class Send(_Strict):
    """Send a text message (templates allowed)."""

    send: TemplateText = Field(description="The text to send.", examples=["hello", "{{ now_ms }}"])


class SendJson(_Strict):
    """Send a mapping or list serialised as JSON, in a text message.

    A string value that is exactly one template keeps its value's type.
    """

    send_json: Annotated[dict[str, JsonValue] | list[JsonValue], AfterValidator(_templated)] = Field(
        description="The JSON value to send.", examples=[{"type": "subscribe", "id": "{{ uuid }}"}]
    )

    @field_validator("send_json", mode="before")
    @classmethod
    def _mapping_or_list(cls, value: Any) -> Any:
        if not isinstance(value, (dict, list)):
            raise ValueError(f"must be a mapping or a list (the JSON to send), got {value!r}")
        return value


class Payload(_Strict):
    """Bytes written in YAML: exactly one of base64 or hex."""

    base64: str | None = Field(None, description="The bytes, base64-encoded.", examples=["AAEC/w=="])
    hex: str | None = Field(None, description="The bytes, as hexadecimal digits.", examples=["0001 02ff"])

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

    send_binary: Payload = Field(description="The bytes to send, as base64 or hex.")


class PingOptions(_Strict):
    data: TemplateText | None = Field(None, description="Payload of the ping frame (text, at most 125 bytes in UTF-8).")

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
    ping: PingOptions | None = Field(None, description="Optional: the ping's payload.")


class CloseOptions(_Strict):
    code: int = Field(1000, description="The close code: 1000, 1001, or 3000-4999.", examples=[1000, 4000])
    reason: TemplateText = Field("", description="The close reason (at most 123 bytes in UTF-8).")

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
        if code not in (1000, 1001) and not 3000 <= code <= 4999:
            raise ValueError(f"{code} cannot be sent by a client: use 1000, 1001, or 3000-4999")
        return code


class Close(_BareWord, _Strict):
    """Start the closing handshake (by default with code 1000)."""

    word: ClassVar[str] = "close"
    close: CloseOptions | None = Field(None, description="Optional: the code and reason.")


class CheckAction(_Strict):
    """Evaluate a named check where the action runs; counted in the report."""

    check: Check


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

    name: str = Field(min_length=1, description="The name shown in the report, counted like a check.")
    message: Matcher | None = Field(None, description="Passes when a matching message arrives within `within`.")
    no_message: Matcher | None = Field(
        None, description="Fails on the first matching message during `for` (default: the rest of the session)."
    )
    sequence: list[Condition | list[Condition]] | None = Field(
        None,
        min_length=2,
        description="Passes when messages matching these arrive in this order (within `within`, if given).",
    )
    count: Matcher | None = Field(
        None,
        description="Counts matching messages during `for` (default: the rest of the session); see at_least/at_most.",
    )
    heartbeat: Matcher | None = Field(
        None, description="Fails when matching messages are ever more than `every` apart during `for`."
    )
    within: PositiveDuration | None = Field(None, description="Deadline for message and sequence.")
    for_: PositiveDuration | None = Field(
        None,
        alias="for",
        description="The window of no_message, count and heartbeat (default: the rest of the session).",
    )
    at_least: int | None = Field(None, ge=0, description="count: at least this many matching messages.")
    at_most: int | None = Field(None, ge=0, description="count: at most this many matching messages.")
    every: PositiveDuration | None = Field(None, description="heartbeat: the longest allowed gap between matches.")

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

    expect: ExpectOptions


class RequestOptions(_Strict):
    """Send a JSON request carrying an id, and expect the reply whose field equals that id, in time."""

    name: str = Field(min_length=1, description="The name shown in the report, counted like a check.")
    send_json: Annotated[dict[str, JsonValue], AfterValidator(_templated)] = Field(
        description="The request; give its id a fresh value, like {{ uuid }}.",
        examples=[{"id": "{{ uuid }}", "method": "get_user"}],
    )
    id: Name = Field("id", description="The dotted path of the id in the request.")
    reply_id: Name | None = Field(None, description="The dotted path of the id in replies (default: the same as id).")
    within: PositiveDuration = Field(description="Deadline for the reply.")
    metric: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")] = Field(
        "ws_reply_latency", description="The trend that records each reply's latency, usable in thresholds."
    )
    as_: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = Field(
        None, alias="as", description="Store the reply under this name for later templates."
    )


class Request(_Strict):
    """A correlated request: sent now, its reply matched by id, its latency measured."""

    request: RequestOptions


class StoreOptions(_Strict):
    from_: Name = Field(alias="from", description="The name of the value to store.", examples=["message.token"])
    as_: str = Field(
        alias="as",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The variable to store it in.",
        examples=["token"],
    )


class Store(_Strict):
    """Store a value (for example a field of the current message) as a variable for later templates."""

    store: StoreOptions = Field(description="Where the value comes from and the variable's name.")


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

    on: Event | None = Field(None, description="Run on each of these events.")
    every: Annotated[float, BeforeValidator(parse_duration), _DurationSchema, AfterValidator(_at_least_1ms)] | None = (
        Field(None, description="Run repeatedly, first this long after open (at least 1ms).")
    )
    after: Duration | None = Field(None, description="Run once, this long after open.")
    when: Condition | None = Field(
        None, description="Run only when this condition holds (by default it tests the current message)."
    )
    do: list[Action] = Field(min_length=1, description="The actions to run, in order.")

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

    ca_file: str | None = Field(None, description="A PEM file of CA certificates to trust instead of the system's.")
    cert_file: str | None = Field(None, description="A PEM client certificate (may include its key).")
    key_file: str | None = Field(None, description="The client certificate's key, if not in cert_file.")
    insecure: bool = Field(False, description="true turns certificate and host name verification off. Avoid.")

    @model_validator(mode="after")
    def _key_needs_cert(self) -> Tls:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        return self


class Stage(_Strict):
    """One step of a ramp: move to `target` sessions over `duration`, as in k6's stages."""

    duration: Duration = Field(description="How long this stage lasts.", examples=["30s"])
    target: int = Field(ge=0, description="The number of concurrent sessions at the end of the stage.", examples=[100])


class Scenario(_Strict):
    """A WebSocket scenario: where to connect, the rules to run, and the checks to pass."""

    model_config = ConfigDict(title="wsrun scenario")

    name: str = Field("", description="The scenario's name, shown in the report (default: the file name).")
    description: str = Field("", description="Free text for reviewers.")
    url: str = Field(
        description="The ws:// or wss:// URL to connect to (templates allowed); --url overrides it.",
        examples=["ws://127.0.0.1:8765", "wss://example.com/socket?token={{ token }}"],
    )
    headers: dict[Annotated[str, Field(pattern=_HTTP_TOKEN)], Annotated[str, Field(pattern=r"^[^\r\n]*$")]] = Field(
        default_factory=dict, description="Extra HTTP headers for the handshake (templates allowed)."
    )
    subprotocols: list[Annotated[str, Field(pattern=_HTTP_TOKEN)]] = Field(
        default_factory=list, description="Subprotocols to offer, in order of preference.", examples=[["chat.v2"]]
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags for this scenario's metrics, as in k6.")
    compression: bool = Field(True, description="Offer permessage-deflate compression.")
    connect_timeout: PositiveDuration = Field(10.0, description="Deadline for TCP, TLS and the opening handshake.")
    close_timeout: PositiveDuration = Field(5.0, description="Deadline for the closing handshake.")
    pong_timeout: PositiveDuration | None = Field(
        None,
        description="If set, each of our pings must be answered within this time; otherwise it is an error "
        "and the connection is closed with 1011.",
    )
    max_message_size: int = Field(
        2**20, gt=0, description="Largest incoming message in bytes; larger ones close the connection with 1009."
    )
    tls: Tls | None = Field(None, description="TLS settings for wss:// URLs.")
    timeout: PositiveDuration = Field(60.0, description="The session ends at this deadline if nothing ended it before.")
    vus: int | None = Field(None, ge=1, description="Concurrent sessions (k6's virtual users); --vus overrides it.")
    iterations: int | None = Field(
        None, ge=1, description="Sessions to run in all, shared by the vus; --iterations overrides it."
    )
    duration: PositiveDuration | None = Field(
        None, description="Keep starting sessions until this has elapsed; --duration overrides it."
    )
    stages: list[Stage] | None = Field(
        None, min_length=1, description="Ramp the number of concurrent sessions up and down over time."
    )
    graceful_stop: Duration = Field(
        30.0, description="When duration ends, how long running sessions may go on before they are stopped."
    )
    thresholds: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Pass/fail criteria on metrics, in k6's syntax; time values in ms.",
        examples=[
            {"ws_ping": ["p(95) < 100"], "checks": ["rate > 0.99"], "ws_connecting{my_tag:hello}": ["max < 500"]}
        ],
    )
    summary_trend_stats: list[str] | None = Field(
        None,
        min_length=1,
        description="The statistics shown for trends, as k6's summaryTrendStats (default avg, min, med, max, p(90), p(95)).",
        examples=[["avg", "p(99)", "max"]],
    )
    vars: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], Scalar] = Field(
        default_factory=dict,
        description="Variables for templates; string values may use templates of earlier variables and env.",
    )
    secrets: list[Annotated[str, Field(pattern=r"^(?:env\.[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)$")]] = Field(
        default_factory=list,
        description="Variables, stored names or env.NAME whose values are shown as *** in every output.",
        examples=[["token", "env.API_KEY"]],
    )
    rules: list[Rule] = Field(default_factory=list, description="Event -> action rules.")
    checks: list[Check] = Field(default_factory=list, description="Checks evaluated when the session is over.")

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


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, as committed in schema.json."""
    schema = Scenario.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/wsrun/wsrun/schema.json",
        **schema,
    }
