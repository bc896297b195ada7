"""
The one namespace of names shared by templates, conditions and checks.

Pure functions: which names exist, and how a dotted path reads a value.
"""

from __future__ import annotations

import datetime
import difflib
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from . import templates
from .models import (
    Add,
    CheckAction,
    Close,
    Expect,
    Log,
    Ping,
    Pong,
    Request,
    Scenario,
    Send,
    SendBinary,
    SendJson,
    Store,
    leaves,
)
from .patterns import group_names
from .templates import MISSING

__all__ = ["FACTS", "clock_fact", "did_you_mean", "dig", "look_up", "scenario_names", "unknown_names"]

#: The session's facts, with what they mean; README documents the same list.
FACTS: dict[str, str] = {
    "now_ms": "the current time, in milliseconds since the epoch",
    "now": "the current time, as an ISO 8601 timestamp",
    "uuid": "a new random UUID each time it is read",
    "url": "the URL connected to",
    "status": "the HTTP status of the handshake (101 on success)",
    "headers": "the handshake response's headers: headers.<name>, case-insensitive",
    "subprotocol": "the negotiated subprotocol, or null",
    "message": "the current message (in a message or binary rule), else the last one received",
    "error": "the text of the last error",
    "close_code": "the close code",
    "close_reason": "the close reason",
    "closed_by": "client or server",
    "messages_sent": "data messages sent so far",
    "messages_received": "data messages received so far",
    "pings_received": "pings received from the server so far",
    "pongs_received": "pongs received so far",
    "errors": "errors so far",
    "failure": "in a failure rule, the failed check or expectation: failure.name and failure.reason",
    "vu": "the number of this session's virtual user, from 1 (k6's __VU)",
    "iteration": "how many sessions this virtual user ran before this one, from 0 (k6's __ITER)",
}

#: The facts known before connecting, usable in vars (vu and iteration from the session).
CLOCK_FACTS = ("now_ms", "now", "uuid", "vu", "iteration")

#: Names that need a key after them (``env.HOME``, ``headers.server``).
NEEDS_KEY = ("env", "headers")


def dig(value: Any, path: list[str]) -> Any:
    """Follow a dotted path into a value; text is read as JSON when the path goes deeper.

    Returns MISSING when the path does not lead anywhere.
    """
    for key in path:
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
                return MISSING
        if isinstance(value, dict):
            value = value.get(key, MISSING)
        elif isinstance(value, list) and key.isdigit():
            index = int(key)
            value = value[index] if index < len(value) else MISSING
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def clock_fact(name: str) -> Any:
    """The facts that need no session: now_ms, now, uuid; MISSING for any other name."""
    if name == "now_ms":
        return time.time_ns() // 1_000_000
    if name == "now":
        return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    if name == "uuid":
        return str(uuid.uuid4())
    return MISSING


def look_up(
    name: str,
    scopes: Sequence[Mapping[str, Any]],
    env: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> Any:
    """The value of a (dotted) name: env.*, headers.*, the first scope that has it, or a clock fact.

    Returns MISSING when the name is not set.
    """
    root, *path = name.split(".")
    if root == "env":
        return dig(env.get(path[0], MISSING), path[1:]) if path else MISSING
    if root == "headers":
        if headers is None or not path:
            return MISSING
        return dig(headers.get(path[0].lower(), MISSING), path[1:])
    for scope in scopes:
        if root in scope:
            return dig(scope[root], path)
    return clock_fact(root) if not path else MISSING


def _template_strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _template_strings(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _template_strings(item, (*loc, key))


def _used_names(scenario: Scenario) -> Iterator[tuple[tuple[str | int, ...], str, bool]]:
    """Yield (location, name, is_template) for every name the scenario reads."""
    sources: list[tuple[tuple[str | int, ...], Any]] = [
        (("url",), scenario.url),
        (("headers",), scenario.headers),
    ]
    conditions: list[tuple[tuple[str | int, ...], Any]] = [
        (("checks", index), check) for index, check in enumerate(scenario.checks)
    ]
    for r, rule in enumerate(scenario.rules):
        if rule.when is not None:
            conditions.append((("rules", r, "when"), rule.when))
        for a, action in enumerate(rule.do):
            loc: tuple[str | int, ...] = ("rules", r, "do", a)
            if isinstance(action, CheckAction):
                conditions.append(((*loc, "check"), action.check))
            elif isinstance(action, Expect):
                options = action.expect
                conditions.append(((*loc, "expect", options.kind), getattr(options, options.kind)))
            elif isinstance(action, Store):
                yield (*loc, "store", "from"), action.store.from_, False
            elif isinstance(action, Request):
                sources.append(((*loc, "request", "send_json"), action.request.send_json))
            elif isinstance(action, Log):
                sources.append(((*loc, "log"), action.log))
            elif isinstance(action, Send):
                send = action.send
                sources.append(((*loc, "send"), send) if isinstance(send, str) else ((*loc, "send", "fill"), send.fill))
            elif isinstance(action, SendBinary):
                binary = action.send_binary
                sources.append(((*loc, "send_binary"), {"base64": binary.base64, "hex": binary.hex}))
            elif isinstance(action, SendJson):
                sources.append(((*loc, "send_json"), action.send_json))
            elif isinstance(action, Ping) and action.ping is not None:
                sources.append(((*loc, "ping", "data"), action.ping.data))
            elif isinstance(action, Pong) and action.pong is not None:
                sources.append(((*loc, "pong", "data"), action.pong.data))
            elif isinstance(action, Close) and action.close is not None:
                sources.append(((*loc, "close", "reason"), action.close.reason))
            elif isinstance(action, Add):
                sources.append(((*loc, "add", "value"), action.add.value))
    for place, node in conditions:
        for where, condition in leaves(node, place):
            yield (*where, "that"), condition.that, False
            if condition.comparison[0] != "schema":  # a schema's strings are not templates
                sources.append(((*where, condition.comparison[0]), condition.comparison[1]))
    for loc, value in sources:
        for where, text in _template_strings(value, loc):
            for name in templates.names(text):
                yield where, name, True


def scenario_names(scenario: Scenario) -> set[str]:
    """The names a scenario itself defines: its vars and stored values."""
    defined = set(scenario.vars)
    for rule in scenario.rules:
        for action in rule.do:
            if isinstance(action, Store):
                defined.add(action.store.as_)
            elif isinstance(action, Request) and action.request.as_ is not None:
                defined.add(action.request.as_)
    return defined


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``did you mean 'message'? `` for a name close to a known one, else nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _pattern_names(scenario: Scenario, defined: set[str]) -> list[tuple[tuple[str | int, ...], str]]:
    """A pattern's name that is also a built-in name, a variable or a stored name: which one a name reads would be a guess."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name in scenario.patterns:
        if name in FACTS or name in NEEDS_KEY:
            what = "a built-in name"
        elif name in scenario.vars:
            what = "a variable"
        elif name in defined:
            what = "a stored name (store or request as:)"
        else:
            continue
        problems.append((("patterns", name), f"{name!r} is {what}; give the pattern another name"))
    return problems


#: What ``failure`` holds in an ``on: failure`` rule (Actions.fire_failures sets it).
FAILURE_FIELDS = ("name", "reason")


def _in_failure_rule(scenario: Scenario, loc: tuple[str | int, ...]) -> bool:
    return loc[0] == "rules" and scenario.rules[int(loc[1])].on == "failure"


def unknown_names(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """Every name the scenario reads but nothing defines, as (location, message)."""
    defined = scenario_names(scenario)
    patterns = {name: group_names(pattern) for name, pattern in scenario.patterns.items()}
    readable = defined | set(scenario.metrics)  # a metric of its own reads this session's value
    allowed = sorted({*FACTS, *NEEDS_KEY, *readable, *patterns})
    problems = _pattern_names(scenario, defined)
    for loc, name, _ in _used_names(scenario):
        root, _, rest = name.partition(".")
        group = rest.partition(".")[0]
        if root in NEEDS_KEY and not rest:
            problems.append((loc, f"{root} needs a name after it, like {root}.{'HOME' if root == 'env' else 'server'}"))
        elif root in patterns and rest and group not in patterns[root]:
            groups = patterns[root]
            hint = did_you_mean(group, groups)
            problems.append((loc, f"patterns.{root} has no group {group!r}: {hint}its groups: {', '.join(groups)}"))
        elif root not in FACTS and root not in NEEDS_KEY and root not in readable and root not in patterns:
            problems.append(
                (loc, f"unknown name {root!r}: {did_you_mean(root, allowed)}known names: {', '.join(allowed)}")
            )
        elif root == "failure" and not _in_failure_rule(scenario, loc):
            problems.append((loc, "failure is set only in an `on: failure` rule (failure.name, failure.reason)"))
        elif root == "failure" and rest and group not in FAILURE_FIELDS:
            hint = did_you_mean(group, FAILURE_FIELDS)
            problems.append((loc, f"failure has no field {group!r}: {hint}it has: {', '.join(FAILURE_FIELDS)}"))
    for var in scenario.vars:
        if var in FACTS or var in NEEDS_KEY:
            problems.append((("vars", var), f"{var!r} is a built-in name; choose another name for this variable"))
    for r, rule in enumerate(scenario.rules):
        for a, action in enumerate(rule.do):
            if not isinstance(action, Store):
                continue
            name = action.store.as_
            if name in FACTS or name in NEEDS_KEY or name in scenario.vars:
                what = "a variable" if name in scenario.vars else "a built-in name"
                problems.append((("rules", r, "do", a, "store", "as"), f"{name!r} is {what}; store into another name"))
    for index, secret in enumerate(scenario.secrets):
        if not secret.startswith("env.") and secret not in defined:
            known = ", ".join(sorted(defined)) or "none"
            problems.append(
                (
                    ("secrets", index),
                    f"{secret!r} is not a variable or stored name (they are: {known}); for an environment variable write env.{secret}",
                )
            )
    # Variables are resolved before connecting: they may use env.*, the clock
    # facts and variables above them, nothing else.
    earlier: set[str] = set()
    for var, value in scenario.vars.items():
        if isinstance(value, str):
            for name in templates.names(value):
                root, _, rest = name.partition(".")
                if (root == "env" and rest) or (root in CLOCK_FACTS and not rest) or root in earlier:
                    continue
                if root in NEEDS_KEY and not rest:
                    message = f"{root} needs a name after it, like {root}.HOME"
                elif root in scenario.vars:
                    message = f"{{{{ {name} }}}}: a variable may use only variables defined above it"
                elif root in FACTS or root in NEEDS_KEY or root in readable or root in patterns:
                    message = (
                        f"{{{{ {name} }}}} is not known before connecting: a variable may use env.NAME,"
                        f" {', '.join(CLOCK_FACTS)} and variables above it"
                    )
                else:
                    hint = did_you_mean(root, [*CLOCK_FACTS, *earlier, "env"])
                    message = f"unknown name {root!r}: {hint}a variable may use env.NAME, {', '.join(CLOCK_FACTS)} and variables above it"
                problems.append((("vars", var), message))
        earlier.add(var)
    return problems
