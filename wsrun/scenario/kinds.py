"""
The kinds of values known from the file alone, and the comparisons that could never match them.

Pure functions: ``wsrun validate`` reports a comparison that could never pass (or never fail)
because of the types on its two sides: ``status equals "abc"``, ``closed_by equals clinet``,
``at_least: "{{ name }}"`` where the variable name holds text.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import templates
from .models import Condition

__all__ = ["FACT_KINDS", "Kind", "comparison_problems", "kind_of"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Kind:
    """What a value is, as far as comparisons care."""

    #: In words, for messages: "an integer", "text", "a boolean".
    name: str
    #: Values of one family can be equal: number, text, boolean, mapping, list, null.
    family: str
    #: Whether it can read as a number (at_least, at_most).
    numeric: bool = False
    #: The only values it ever takes, when they are few (closed_by).
    values: tuple[str, ...] = ()


INTEGER = Kind("an integer", "number", numeric=True)
TEXT = Kind("text", "text", numeric=True)

#: The facts whose kind is fixed (see state.py's facts and README's names table). A fact missing
#: here (message, subprotocol, headers) can hold anything.
FACT_KINDS: dict[str, Kind] = {
    "status": INTEGER,
    "close_code": INTEGER,
    "messages_sent": INTEGER,
    "messages_received": INTEGER,
    "pings_received": INTEGER,
    "pongs_received": INTEGER,
    "errors": INTEGER,
    "vu": INTEGER,
    "iteration": INTEGER,
    "url": Kind("text", "text"),  # a ws:// or wss:// URL is never a number
    "close_reason": TEXT,
    "error": TEXT,
    "closed_by": Kind("client or server", "text", values=("client", "server")),
}

_ALLOWED = {
    "number": "a number, written without quotes (like 101)",
    "text": 'text (in quotes when it looks like a number: "42")',
    "boolean": "true or false",
}


def _reads_as_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def kind_of(value: Any) -> Kind:
    """The kind of a value written in the file (a variable's value, an expected value)."""
    if isinstance(value, bool):
        return Kind("a boolean", "boolean")
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return Kind("a number", "number", numeric=True)
    if isinstance(value, str):
        # A template inside leaves the text unknown until it is rendered.
        return Kind("text", "text", numeric="{{" in value or _reads_as_number(value))
    if isinstance(value, dict):
        return Kind("a mapping", "mapping")
    if isinstance(value, list):
        return Kind("a list", "list")
    return Kind("null", "null")


def _name_kind(name: str, variables: Mapping[str, Any]) -> Kind | None:
    """The kind of a name, when the file fixes it: a variable's (a --var keeps it), a fact's."""
    if name in variables:
        return kind_of(variables[name])
    return FACT_KINDS.get(name)


def _expected_kind(expected: Any, variables: Mapping[str, Any]) -> Kind | None:
    if isinstance(expected, str) and templates.is_single_template(expected):
        # A whole single template keeps its value's type.
        return _name_kind(next(templates.names(expected)), variables)
    return kind_of(expected)


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)


def _subject(that: str, kind: Kind, variables: Mapping[str, Any]) -> str:
    """``status is an integer``; ``n is an integer (vars: n: 5)``."""
    if that in variables:
        return f"{that} is {kind.name} (vars: {that}: {_shown(variables[that])})"
    return f"{that} is {kind.name}"


def _given(expected: Any, kind: Kind, variables: Mapping[str, Any]) -> str:
    """``"abc" is text``; ``"{{ flag }}" gives flag, which is a boolean (vars: flag: true)``."""
    if isinstance(expected, str) and templates.is_single_template(expected):
        named = next(templates.names(expected))
        return f"{_shown(expected)} gives {_subject(named, kind, variables).replace(' is ', ', which is ', 1)}"
    return f"{_shown(expected)} is {kind.name}"


def _problem(condition: Condition, variables: Mapping[str, Any]) -> str | None:
    name, expected = condition.comparison
    that = condition.that
    # A dotted path reads into a value whose shape only the session knows.
    subject = None if "." in that else _name_kind(that, variables)
    given = _expected_kind(expected, variables)
    said = f"{that} {name} {_shown(expected)}"
    never = "fail" if name.startswith("not_") else "pass"
    if name in ("at_least", "at_most"):
        if given is not None and not given.numeric:
            return f"{said}: {_given(expected, given, variables)}, not a number: {name} needs a number, or a template giving one"
        if subject is not None and not subject.numeric:
            other = "equals" if subject.family == "boolean" else "equals, not_equals, contains or matches"
            return f"{said}: {_subject(that, subject, variables)}, never a number, so {name} could never pass: compare it with {other}"
        return None
    if subject is None or given is None:
        return None
    if name in ("contains", "not_contains"):
        if subject.family in ("number", "boolean"):
            other = "equals, at_least or at_most" if subject.family == "number" else "equals"
            return (
                f"{said}: {_subject(that, subject, variables)}, and {name} looks into text, lists and mappings,"
                f" so it could never {never}: compare it with {other}"
            )
        return None
    if name not in ("equals", "not_equals"):
        return None
    if subject.family != given.family:
        allowed = " or ".join(subject.values) if subject.values else _ALLOWED.get(subject.family, subject.name)
        return (
            f"{said}: {_subject(that, subject, variables)} and {_given(expected, given, variables)}, so they are never"
            f" equal and {name} could never {never}: compare it with {allowed}"
        )
    if subject.values and isinstance(expected, str) and "{{" not in expected and expected not in subject.values:
        close = difflib.get_close_matches(expected, subject.values, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{said}: {that} is {subject.name}, never {expected!r}, so {name} could never {never}{hint}"
    return None


def comparison_problems(
    conditions: Iterable[tuple[Loc, Condition]], variables: Mapping[str, Any]
) -> list[tuple[Loc, str]]:
    """Every comparison whose two sides' kinds, known from the file, mean it could never pass (or never fail).

    ``conditions``: every single comparison with where it is written; ``variables``: the scenario's vars.
    """
    problems: list[tuple[Loc, str]] = []
    for loc, condition in conditions:
        name = condition.comparison[0]
        if name in ("exists", "matches", "schema"):
            continue
        problem = _problem(condition, variables)
        if problem is not None:
            problems.append(((*loc, name), problem))
    return problems
