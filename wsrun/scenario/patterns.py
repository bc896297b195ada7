"""
Named patterns (``patterns:``): fields read out of text messages that are not plain JSON.

A pattern is an RE2 regular expression with named groups (``(?P<type>4[0-9])``);
its name reads the current message: ``sio`` is the mapping of its captures,
``sio.type`` one capture's text, a deeper path reads a capture as JSON. Pure
functions: what a pattern captures from a message, and why a name is not set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .regex import compile_regex
from .templates import MISSING, start_of

__all__ = ["Capture", "captures", "check_pattern", "group_names", "why_unset"]


class Capture(str):
    """The text a named group captured: text that may spell a number, compared as a whole text message is
    (``"5"`` equals 5)."""

    __slots__ = ()


def group_names(pattern: str) -> list[str]:
    """The named groups of a pattern, in the order they are written."""
    index: Mapping[str, int] = compile_regex(pattern).groupindex
    return sorted(index, key=index.__getitem__)


#: A named group as written, (?P<name> or (?<name>, not after a backslash (an escaped parenthesis).
_GROUP = re.compile(r"(?<!\\)\(\?P?<([^>]*)>")
_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_pattern(pattern: str) -> str:
    """A pattern RE2 compiles, that names at least one group, each once, with a name a dotted path can read;
    ValueError says what is wrong."""
    if not group_names(pattern):  # compile_regex raises RegexError (a ValueError) for a bad one
        raise ValueError(
            f"{pattern!r} has no named group: name each field to read, like (?P<type>[0-9]+);"
            " the name then reads it (NAME.type)"
        )
    written = _GROUP.findall(pattern)
    for name in written:
        if not _GROUP_NAME.fullmatch(name):
            raise ValueError(f"group name {name!r}: a group name is letters, digits and _, not starting with a digit")
    twice = sorted({name for name in written if written.count(name) > 1})
    if twice:
        raise ValueError(f"group {', '.join(map(repr, twice))} is named twice: which capture it reads would be a guess")
    return pattern


def captures(pattern: str, message: Any) -> dict[str, Capture] | Any:
    """What the pattern captures in a text message (RE2 search: anchor with ^ and $ to match the whole):
    each named group that took part, by name; MISSING when it does not match or the message is not text."""
    if not isinstance(message, str):
        return MISSING
    found = compile_regex(pattern).search(message)
    if found is None:
        return MISSING
    return {name: Capture(text) for name, text in found.groupdict().items() if text is not None}


def why_unset(name: str, pattern: str, message: Any, captured: Any) -> str | None:
    """Why ``name`` (a pattern's name, perhaps dotted) is not set, or None when the reason lies deeper:
    no message, a message the pattern does not match, a group that did not take part in the match."""
    root, _, rest = name.partition(".")
    if message is MISSING:
        return f"{root} reads the current message, and none was received yet"
    if captured is MISSING:
        if not isinstance(message, str):
            return f"the message is binary; patterns.{root} reads text messages"
        return f"the message does not match patterns.{root}, it starts {start_of(message)}"
    group = rest.partition(".")[0]
    if rest and group not in captured and group in group_names(pattern):
        return f"{root}.{group} did not take part in the match"
    return None
