"""
Templates: ``{{ name }}`` substitution of values, and nothing else.

A template never evaluates code: between the braces only a name is allowed,
optionally a dotted path into it (``message.user.id``, ``message.items.0``), and
optionally one filter that encodes the value (``{{ text | json }}``).
"""

from __future__ import annotations

import base64
import difflib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from ..errors import TemplateError

__all__ = [
    "FILTERS",
    "MISSING",
    "NAME_PATTERN",
    "Missing",
    "is_single_template",
    "names",
    "render",
    "render_value",
    "start_of",
    "text_of",
    "unset",
]

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*"

_BRACES = re.compile(r"\{\{(.*?)\}\}")
_NAME = re.compile(rf"\s*({NAME_PATTERN})\s*")
# A name and one filter: {{ text | json }}.
_FILTERED = re.compile(rf"\s*({NAME_PATTERN})\s*\|\s*([^|]*?)\s*")


class Missing:
    """The value of a name that is not set (distinct from ``None``, a JSON null)."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = Missing()

Lookup = Callable[[str], Any]


def _parse(braces: str) -> tuple[str, str | None]:
    """The name and the filter (or None) of one ``{{ … }}``; ValueError says what is allowed."""
    inner = braces[2:-2]
    plain = _NAME.fullmatch(inner)
    if plain is not None:
        return plain.group(1), None
    filtered = _FILTERED.fullmatch(inner)
    if filtered is None:
        if inner.count("|") > 1 and _FILTERED.fullmatch(inner.rsplit("|", 1)[0]):
            raise ValueError(f"{braces!r}: one filter only, like {{{{ name | json }}}}")
        raise ValueError(
            f"{braces!r} is not a template: between {{{{ and }}}} write only a name, like {{{{ token }}}} or"
            f" {{{{ message.user.id }}}}, and at most one filter: {{{{ token | url }}}} ({', '.join(FILTERS)})"
        )
    name, wanted = filtered.groups()
    if not wanted:
        raise ValueError(f"{braces!r}: a filter's name comes after |: one of {', '.join(FILTERS)}")
    if wanted not in FILTERS:
        close = difflib.get_close_matches(wanted.lower(), list(FILTERS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"{braces!r}: unknown filter {wanted!r}: {hint}the filters are {', '.join(FILTERS)}")
    return name, wanted


def names(template: str) -> Iterator[str]:
    """Yield the names a template refers to; raise ValueError on anything else in braces."""
    for match in _BRACES.finditer(template):
        yield _parse(match.group(0))[0]
    if "{{" in _BRACES.sub("", template):
        raise ValueError("unclosed {{ in template: write {{ name }}")


def text_of(value: Any) -> str:
    """How a value reads when substituted into text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json_filter(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=text_of, allow_nan=False)
    except ValueError:
        raise ValueError("it holds an infinite number or NaN, which JSON cannot carry") from None
    except RecursionError:
        raise ValueError("it is nested too deeply to write as JSON") from None


def _url_filter(value: Any) -> str:
    return quote(text_of(value), safe="", errors="surrogateescape")


def _base64_filter(value: Any) -> str:
    data = value if isinstance(value, bytes) else text_of(value).encode("utf-8", "surrogateescape")
    return base64.b64encode(data).decode("ascii")


#: The filters a template may apply, each an encoding of the value (README, "Names and templates").
FILTERS: dict[str, Callable[[Any], str]] = {
    "json": _json_filter,  # JSON: a string quoted and escaped, a number as a number, objects and lists as JSON
    "url": _url_filter,  # percent-encoded, every reserved character too: for a query string or a path segment
    "base64": _base64_filter,  # standard base64 of the UTF-8 text, or of bytes as they are
}


def start_of(text: str | bytes) -> str:
    """The start of a text, for an explanation: ``'0{"sid":"Lb…'``."""
    if isinstance(text, bytes):
        return f"<{len(text)} bytes: {text[:16].hex()}{'…' if len(text) > 16 else ''}>"
    return f"'{text[:24]}{'…' if len(text) > 24 else ''}'"


def unset(name: str, lookup: Lookup, *, shown: str | None = None) -> str:
    """``NAME is not set``, with why when a dotted path leads nowhere: the deepest part of the path
    that is set, and why the next step fails (``message.sid is not set: message is not JSON, it
    starts "0{…"``). ``shown`` is how the name is written (``{{ message.sid }}``)."""
    said = f"{shown or name} is not set"
    why = getattr(lookup, "why_unset", None)  # a lookup may know better (a pattern that does not match)
    reason = why(name) if why is not None else None
    if reason:
        return f"{said}: {reason}"
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix, key = ".".join(parts[:cut]), parts[cut]
        value = lookup(prefix)
        if value is MISSING:
            continue
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                return f"{said}: {prefix} is not JSON, it starts {start_of(value)}"
        if isinstance(value, dict):
            keys = ", ".join(list(map(str, value))[:10]) + (", …" if len(value) > 10 else "")
            return f"{said}: {prefix} has no key {key!r} (its keys: {keys or 'none'})"
        if isinstance(value, list):
            if key.isdigit():
                return f"{said}: {prefix} has {len(value)} items, counted from 0"
            return f"{said}: {prefix} is a list; index it with a number, like {prefix}.0"
        kind = "null" if value is None else "a boolean" if isinstance(value, bool) else "a number"
        return f"{said}: {prefix} is {kind}, not an object"
    return said


def render(template: str, lookup: Lookup) -> str:
    """Substitute every ``{{ name }}``; ``lookup`` returns MISSING for unset names."""
    if "{{" not in template:
        return template

    def substitute(match: re.Match[str]) -> str:
        name, encode = _parse(match.group(0))
        value = lookup(name)
        if value is MISSING:
            raise TemplateError(unset(name, lookup, shown=f"{{{{ {name} }}}}"))
        if encode is None:
            return text_of(value)
        try:
            return FILTERS[encode](value)
        except ValueError as exc:
            raise TemplateError(f"{{{{ {name} | {encode} }}}}: {exc}") from None

    return _BRACES.sub(substitute, template)


def is_single_template(value: str) -> bool:
    """``"{{ name }}"``: the whole value is one template, which keeps its value's type in JSON."""
    whole = _BRACES.fullmatch(value.strip())
    return whole is not None and _NAME.fullmatch(whole.group(1)) is not None


def render_value(value: Any, lookup: Lookup) -> Any:
    """Render templates inside a JSON value.

    A string that is exactly one template keeps the type of its value
    (``"{{ count }}"`` gives the number), so JSON payloads stay typed; with a
    filter it is the encoded text (``"{{ text | json }}"`` is a string).
    """
    if isinstance(value, str):
        whole = _BRACES.fullmatch(value.strip())
        if whole is not None and _NAME.fullmatch(whole.group(1)):
            name = whole.group(1).strip()
            found = lookup(name)
            if found is MISSING:
                raise TemplateError(unset(name, lookup, shown=f"{{{{ {name} }}}}"))
            return found
        return render(value, lookup)
    if isinstance(value, list):
        return [render_value(item, lookup) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, lookup) for key, item in value.items()}
    return value
