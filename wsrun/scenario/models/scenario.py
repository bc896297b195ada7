"""
Rules and the scenario: the root of the format, and the JSON Schema generated from it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..metric_names import MetricKind, parse_trend_stat
from ..patterns import check_pattern
from .actions import Action
from .base import (
    _HTTP_TOKEN,
    Duration,
    Event,
    PositiveDuration,
    Scalar,
    TransportName,
    _check_template,
    _DurationSchema,
    _Strict,
    _walk_templates,
    parse_duration,
)
from .checks import Check, Conditions
from .metrics import MetricName

# ---------------------------------------------------------------------------
# Rules.


def _at_least_1ms(seconds: float) -> float:
    if seconds < 0.001:
        raise ValueError("must be at least 1ms: a faster timer would starve everything else")
    return seconds


def unsafe_in_url(url: str) -> str | None:
    """What makes a URL unsafe to put in a request line: a space or a control character (a line break would
    let it write headers of its own, RFC 3986 section 2 allows neither); None when there is none."""
    for position, char in enumerate(url):
        if char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F:
            return f"{char!r} at position {position} is not allowed in a URL: percent-encode it ({quote(char)})"
    return None


#: At least 1ms, as timers: a shorter one would starve everything else.
_Interval = Annotated[float, BeforeValidator(parse_duration), _DurationSchema, AfterValidator(_at_least_1ms)]


class Rule(_Strict):
    """One trigger (`on`, `every`, `after` or `idle`) and the actions it runs, in order."""

    on: Event | None = Field(
        None,
        title="On event",
        description="Runs the actions on each occurrence of this event: open (once, after the handshake),"
        " message (each text message), binary (each binary message), ping (each ping from the server; the pong"
        " goes back on its own unless answer_pings is false), pong (each pong received), close (once, when the connection closed), error"
        " (each error: a failed handshake, an abnormal close, the session timeout), failure (each failed check,"
        " expect or request while the connection is open; failure.name and failure.reason say which and why).",
        examples=["open", "message"],
    )
    every: _Interval | None = Field(
        None,
        title="Every",
        description="Runs the actions repeatedly, at open plus 1, 2, 3... times this, until the connection"
        " closes; a late run skips to the next slot. A duration of at least 1ms, such as 1s or 250ms.",
        examples=["1s", "250ms"],
    )
    after: Duration | None = Field(
        None,
        title="After",
        description="Runs the actions once, this long after open, unless the connection closed before. A"
        " duration such as 2s.",
        examples=["2s", "500ms"],
    )
    idle: _Interval | None = Field(
        None,
        title="Idle",
        description="Runs the actions once when no message (text or binary; pings and pongs do not count) has"
        " arrived for this long, counted from open and from each message since; the next message re-arms it."
        " Never after the session's own close. A duration of at least 1ms, such as 5s.",
        examples=["5s", "300ms"],
    )
    when: Conditions | None = Field(
        None,
        title="Only when",
        description="Runs the actions only when this condition holds; without `that` it tests the current"
        " message. A list of conditions must all hold; {all: [...]} says the same, {any: [...]} holds when one"
        " of them does; they nest. Works with every trigger.",
        examples=[
            {"that": "message.type", "equals": "tick"},
            {"contains": "error"},
            {"any": [{"that": "message.type", "equals": "ack"}, {"that": "message.type", "equals": "ok"}]},
        ],
    )
    do: list[Action] = Field(
        min_length=1,
        title="Actions",
        description="The actions to run, in order; each is a mapping with one key (log, send, send_json,"
        " send_binary, ping, pong, answer_pings, close, check, store, expect, request, increment, add), or the"
        " bare word ping, pong or close. An action"
        " that cannot run (a send after the scenario's own close, say) is reported, and the rest still run.",
        examples=[["ping"], [{"send": "hello"}, {"log": "sent hello"}], ["close"]],
    )

    @model_validator(mode="after")
    def _one_trigger(self) -> Rule:
        given = [name for name in ("on", "every", "after", "idle") if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"a rule has exactly one trigger, one of: on, every, after, idle (found: {found})")
        return self

    @property
    def trigger(self) -> str:
        """The trigger as written: ``on: open``, ``every: 1s``."""
        if self.on is not None:
            return f"on: {self.on}"
        if self.every is not None:
            return f"every: {self.every:g}s"
        if self.idle is not None:
            return f"idle: {self.idle:g}s"
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
    answer_pings: bool = Field(
        True,
        title="Answer pings",
        description="true: each ping from the server is answered with a pong on its own, as RFC 6455 5.5.2"
        " requires. false: wsrun does not answer them (ping rules and expectations still see them; a pong"
        " action answers by hand), so that a server's heartbeat timeout and the close it then sends can be"
        " tested. The answer_pings action switches it during the session. Default: true.",
        examples=[False, True],
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
    metrics: dict[MetricName, MetricKind] = Field(
        default_factory=dict,
        title="The scenario's own metrics",
        description="Metrics the scenario records itself (k6's custom metrics), by name: counter (a total, grown"
        " by increment and add), trend (samples of plain numbers, with avg, min, med, max and percentiles), rate"
        " (the share of true samples) or gauge (the last value, with its min and max). Names are lowercase"
        " letters, digits and _, not a built-in metric, variable, stored or built-in name. Each name reads this"
        " session's value in templates and conditions; thresholds judge the whole run. Default: none.",
        examples=[{"pongs_answered": "counter", "seq_gap": "trend", "in_order": "rate", "queue_depth": "gauge"}],
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
    patterns: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], Annotated[str, AfterValidator(check_pattern)]
    ] = Field(
        default_factory=dict,
        title="Named patterns",
        description="Names that read fields out of text messages that are not plain JSON: each maps a name to an"
        " RE2 regular expression with named groups ((?P<type>...)), searched in the current message (anchor"
        " with ^ and $). NAME is the mapping of the groups that took part (unset when the message does not"
        " match), NAME.group a capture's text, a deeper path reads the capture as JSON. Default: none.",
        examples=[{"sio": "^(?P<type>4[0-9])(?P<ack>[0-9]*)(?P<data>\\[.*\\])?$"}],
    )
    rules: list[Rule] = Field(
        default_factory=list,
        title="Rules",
        description="Event -> action rules: each has one trigger (on, every, after or idle), an optional when, and the"
        " actions to run (do). Rules run one at a time, in file order.",
        examples=[[{"on": "open", "do": [{"send": "hello"}]}, {"every": "1s", "do": ["ping"]}]],
    )
    checks: list[Check] = Field(
        default_factory=list,
        title="End checks",
        description="Checks evaluated once, when the session is over; each has a name, a value (that) and one"
        " comparison, or a name and all: or any: with a list of conditions.",
        examples=[[{"name": "status is 101", "that": "status", "equals": 101}]],
    )

    @field_validator("url")
    @classmethod
    def _websocket_url(cls, url: str) -> str:
        _check_template(url)
        if "{{" not in url.split("://", 1)[0] and not url.startswith(("ws://", "wss://")):
            raise ValueError(f"{url!r} is not a WebSocket URL: it must start with ws:// or wss://")
        bad = unsafe_in_url(re.sub(r"\{\{.*?\}\}", "", url))  # what templates bring is checked once rendered
        if bad is not None:
            raise ValueError(bad.split(" at position")[0] + " is not allowed in a URL: percent-encode it")
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
