"""
Actions: each a mapping with one key naming it; `ping`, `pong` and `close` may be bare words.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    Tag,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from .base import Name, TemplateText, _json_payload, _Strict
from .checks import Check
from .expectations import Expect, Request
from .metrics import Add, Increment
from .payloads import Payload, SizedText

# ---------------------------------------------------------------------------
# Actions. Each is a mapping with one key naming it; `ping`, `pong` and `close` may be bare words.


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


def _text_or_sized(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, (dict, SizedText)):
        return "sized"
    return None


class Send(_Strict):
    """Send a text message: text (templates allowed), or text of a given size."""

    send: Annotated[
        Annotated[TemplateText, Tag("text")] | Annotated[SizedText, Tag("sized")],
        Discriminator(
            _text_or_sized,
            custom_error_type="send_type",
            custom_error_message="must be text, or a mapping with size (and fill or random)",
        ),
    ] = Field(
        title="Send text",
        description="Sends a text message: this text (templates allowed), or text of a given size: {size: 2000}"
        ' (x repeated), {size: 2000, fill: "ab"} (the filler repeated and cut), {size: 2000, random: true} (random'
        " letters and digits, new at each send). Skipped, and reported as an error, when the connection is closed.",
        examples=["hello", "{{ now_ms }}", {"size": 2000}, {"size": 2000, "random": True}],
    )


class SendJson(_Strict):
    """Send a mapping or list serialised as JSON, in a text message.

    A string value that is exactly one template keeps its value's type.
    """

    send_json: Annotated[dict[str, JsonValue] | list[JsonValue], AfterValidator(_json_payload)] = Field(
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


class SendBinary(_Strict):
    """Send a binary message."""

    send_binary: Payload = Field(
        title="Send binary",
        description="Sends these bytes as a binary message: written as base64 or hex (templates allowed; a"
        " binary value reads as its hex, or its base64 in base64), or of a given size: {size: 65536} (zero bytes),"
        ' {size: 65536, hex: "cafe"} (the pattern repeated and cut), {size: 65536, random: true} (random bytes,'
        " new at each send).",
        examples=[
            {"hex": "cafe 0001"},
            {"base64": "yv4AAQ=="},
            {"hex": "{{ message }}"},
            {"size": 65536, "random": True},
        ],
    )


def _control_payload(data: str | None, frame: str) -> str | None:
    """A ping's or pong's payload: at most 125 bytes in UTF-8 (RFC 6455 5.5)."""
    if data is not None and len(data.encode()) > 125:
        raise ValueError(
            f"a {frame} payload is at most 125 bytes in UTF-8 (RFC 6455 5.5), this is {len(data.encode())}"
        )
    return data


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
        return _control_payload(data, "ping")


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


class PongOptions(_Strict):
    """The options of a pong: its payload."""

    data: TemplateText | None = Field(
        None,
        title="Pong payload",
        description="Text carried by the pong frame, at most 125 bytes in UTF-8 (RFC 6455 5.5). Templates"
        " allowed. Default: in an on: ping rule, the payload of the ping being handled (the pong answers it);"
        " elsewhere, empty.",
        examples=["keepalive", "{{ now_ms }}"],
    )

    @field_validator("data")
    @classmethod
    def _fits_a_control_frame(cls, data: str | None) -> str | None:
        return _control_payload(data, "pong")


class Pong(_BareWord, _Strict):
    """Send a pong frame: the answer to the ping being handled, or an unsolicited one."""

    word: ClassVar[str] = "pong"
    pong: PongOptions | None = Field(
        None,
        title="Send a pong",
        description="Sends a pong frame (RFC 6455 5.5.3). The bare word `- pong` in an on: ping rule answers the"
        " ping being handled, with its payload (with answer_pings: false, the scenario decides when a ping is"
        " answered); elsewhere it is an unsolicited pong with no payload. Give a payload with data.",
        examples=[{"data": "still here"}],
    )


class AnswerPings(_Strict):
    """Switch the automatic pongs to the server's pings on or off, from now on."""

    answer_pings: bool = Field(
        title="Answer pings automatically",
        description="false: from now on, wsrun does not answer the server's pings (ping rules and expectations"
        " still see them), so that a server's heartbeat timeout can be tested; true: it answers them again."
        " Needs no open connection.",
        examples=[False, True],
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
    "pong": Pong,
    "answer_pings": AnswerPings,
    "close": Close,
    "check": CheckAction,
    "store": Store,
    "expect": Expect,
    "request": Request,
    "increment": Increment,
    "add": Add,
}


def _action_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value in _BARE_WORDS else None
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in _ACTIONS else None
    for kind, model in _ACTIONS.items():
        if isinstance(value, model):
            return kind
    return None


_BARE_WORDS = ("ping", "pong", "close")
ACTIONS = tuple(_ACTIONS)
ACTION_HELP = (
    "an action is a mapping with one key, one of: " + ", ".join(ACTIONS) + " (or the bare word ping, pong or close)"
)

Action = Annotated[
    Annotated[Log, Tag("log")]
    | Annotated[Send, Tag("send")]
    | Annotated[SendJson, Tag("send_json")]
    | Annotated[SendBinary, Tag("send_binary")]
    | Annotated[Ping, Tag("ping")]
    | Annotated[Pong, Tag("pong")]
    | Annotated[AnswerPings, Tag("answer_pings")]
    | Annotated[Close, Tag("close")]
    | Annotated[CheckAction, Tag("check")]
    | Annotated[Store, Tag("store")]
    | Annotated[Expect, Tag("expect")]
    | Annotated[Request, Tag("request")]
    | Annotated[Increment, Tag("increment")]
    | Annotated[Add, Tag("add")],
    Discriminator(_action_kind, custom_error_type="action", custom_error_message=ACTION_HELP),
]
