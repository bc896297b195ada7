"""
The scenario format: Pydantic models, the single source of truth, split by concern.

The JSON Schema (``wsrun schema``, ``schema.json``) is generated from these
models; the loader validates YAML documents with them. No I/O happens here.

- :mod:`.base`: strict models, durations, names, templated values
- :mod:`.checks`: conditions and checks
- :mod:`.expectations`: expect and request
- :mod:`.metrics`: the actions that record a scenario's own metrics
- :mod:`.payloads`: what send and send_binary send: bytes, payloads of a given size
- :mod:`.actions`: the actions of a rule
- :mod:`.scenario`: rules, TLS, stages, the scenario, its JSON Schema
"""

from __future__ import annotations

from .actions import (
    ACTION_HELP,
    ACTIONS,
    CLIENT_CLOSE_CODES,
    Action,
    AnswerPings,
    CheckAction,
    Close,
    CloseOptions,
    Log,
    Ping,
    PingOptions,
    Pong,
    PongOptions,
    Send,
    SendBinary,
    SendJson,
    Store,
    StoreOptions,
)
from .base import (
    COMPARISONS,
    DURATION_HELP,
    EVENTS,
    Duration,
    Event,
    Name,
    PositiveDuration,
    Scalar,
    TemplateText,
    TransportName,
    parse_duration,
)
from .checks import SHAPES, AllOf, AnyOf, Check, Condition, Conditions, leaves
from .expectations import Expect, ExpectOptions, Matcher, Request, RequestOptions, Watched, matcher_conditions
from .metrics import Add, AddOptions, Increment, MetricName
from .payloads import MAX_SIZE, Payload, SizedText
from .scenario import Rule, Scenario, Stage, Tls, json_schema

__all__ = [
    "ACTIONS",
    "ACTION_HELP",
    "CLIENT_CLOSE_CODES",
    "COMPARISONS",
    "DURATION_HELP",
    "EVENTS",
    "MAX_SIZE",
    "SHAPES",
    "Action",
    "Add",
    "AddOptions",
    "AllOf",
    "AnswerPings",
    "AnyOf",
    "Check",
    "CheckAction",
    "Close",
    "CloseOptions",
    "Condition",
    "Conditions",
    "Duration",
    "Event",
    "Expect",
    "ExpectOptions",
    "Increment",
    "Log",
    "Matcher",
    "MetricName",
    "Name",
    "Payload",
    "Ping",
    "PingOptions",
    "Pong",
    "PongOptions",
    "PositiveDuration",
    "Request",
    "RequestOptions",
    "Rule",
    "Scalar",
    "Scenario",
    "Send",
    "SendBinary",
    "SendJson",
    "SizedText",
    "Stage",
    "Store",
    "StoreOptions",
    "TemplateText",
    "Tls",
    "TransportName",
    "Watched",
    "json_schema",
    "leaves",
    "matcher_conditions",
    "parse_duration",
]
