"""
Expectations and requests: what the messages to come must (or must not) be.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    model_validator,
)

from .. import templates
from .base import Name, PositiveDuration, _json_payload, _Strict
from .checks import _SHAPES_HELP, AllOf, AnyOf, Condition, ConditionList, Conditions, _shape  # noqa: F401 - Conditions resolves ConditionList


def _the_word_any(value: Any) -> Any:
    """A matcher written as a word must be ``any``: say so, rather than why it is not a condition either."""
    if isinstance(value, str) and value != "any":
        raise ValueError(f"write a condition (a mapping), a list of them, or the word any; got {value!r}")
    return value


def _matcher_shape(value: Any) -> str | None:
    return "the word any" if value == "any" else _shape(value)


#: A condition on the frames watched: one, a list that must all hold, {all: [...]}, {any: [...]}, or the word any.
Matcher = Annotated[
    Annotated[Condition, Tag("one condition")]
    | Annotated[ConditionList, Tag("list of")]
    | Annotated[AllOf, Tag("all of")]
    | Annotated[AnyOf, Tag("any of")]
    | Annotated[Literal["any"], Tag("the word any")],
    Discriminator(_matcher_shape, custom_error_type="condition", custom_error_message=_SHAPES_HELP),
    BeforeValidator(_the_word_any),
    Field(
        description="A condition on the frames watched (see of): one condition, a list of them that must all"
        " hold, {all: [...]}, {any: [...]}, or the word any: every frame watched matches."
    ),
]

#: What an expectation watches (``of``): data messages (text and binary), the server's pings, or pongs received.
Watched = Literal["messages", "pings", "pongs"]


def matcher_conditions(matcher: Any) -> Any:
    """A matcher as a session evaluates it: as written, or for ``any`` (or no matcher) an empty list, which
    every frame meets."""
    if matcher is None or isinstance(matcher, str):
        return []
    return matcher


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
        description="Passes when a message matching this condition (a list must all hold; all: and any: as in when) arrives within"
        " `within`, which is required; fails when the deadline passes or the session ends first. The wait is"
        " recorded in the trend ws_expect_latency.",
        examples=[{"that": "message.type", "equals": "ack"}],
    )
    no_message: Matcher | None = Field(
        None,
        title="Expect no message",
        description="Fails on the first message matching this condition (a list must all hold; all: and any: as in when) during `for`"
        " (default: the rest of the session); passes when the window ends without one.",
        examples=[{"that": "message.type", "equals": "error"}],
    )
    sequence: list[Matcher] | None = Field(
        None,
        min_length=2,
        title="Expect messages in order",
        description="Passes when messages matching these steps (at least two; each a condition, a list of"
        " them, an all, an any, or the word any) arrive in this order, other messages allowed between them; fails when a later step arrives"
        " before an earlier one, or `within` (if given) passes or the session ends first.",
        examples=[[{"that": "message.type", "equals": "ack"}, {"that": "message.type", "equals": "event"}]],
    )
    count: Matcher | None = Field(
        None,
        title="Count messages",
        description="Counts messages matching this condition (a list must all hold; all: and any: as in when) during `for` (default:"
        " the rest of the session); needs at_least, at_most or both. Fails at once when the count goes over"
        " at_most, or when the window (or the session, if sooner) ends with it under at_least.",
        examples=[{"that": "message.type", "equals": "event"}],
    )
    heartbeat: Matcher | None = Field(
        None,
        title="Expect a heartbeat",
        description="Fails when no message matching this condition (a list must all hold; all: and any: as in when) comes within"
        " `every` of the previous one (or of arming), throughout `for` (default: the rest of the session).",
        examples=[{"that": "message.type", "equals": "heartbeat"}],
    )
    of: Watched = Field(
        "messages",
        title="Frames watched",
        description="Which incoming frames the expectation sees: messages (text and binary data messages),"
        " pings (the server's pings) or pongs (pongs received, to our pings or unsolicited). For pings and"
        " pongs, its conditions read the frame's payload as message (text when it is UTF-8, else bytes)."
        " Default: messages.",
        examples=["pings", "pongs"],
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
        " binary), or with of: pings or of: pongs every ping or pong, from now until it is decided. Give a name"
        " and exactly one kind: message, no_message, sequence, count or heartbeat.",
        examples=[
            {"name": "acknowledged", "message": {"that": "message.type", "equals": "ack"}, "within": "500ms"},
            {"name": "busy enough", "count": {"that": "message.type", "equals": "event"}, "at_least": 3, "for": "1s"},
            {"name": "server heartbeat", "of": "pings", "heartbeat": "any", "every": "30s"},
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
    send_json: Annotated[dict[str, JsonValue], AfterValidator(_json_payload)] = Field(
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
