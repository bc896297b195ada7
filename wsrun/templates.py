"""
Templates: ``{{ name }}`` substitution of values, and nothing else.

A template never evaluates code: between the braces only a name is allowed,
optionally a dotted path into it (``message.user.id``, ``message.items.0``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from .errors import TemplateError

__all__ = ["MISSING", "NAME_PATTERN", "Missing", "names", "render", "render_value", "text_of"]

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*"

_BRACES = re.compile(r"\{\{(.*?)\}\}")
_NAME = re.compile(rf"\s*({NAME_PATTERN})\s*")


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


def names(template: str) -> Iterator[str]:
    """Yield the names a template refers to; raise ValueError on anything else in braces."""
    for match in _BRACES.finditer(template):
        inner = _NAME.fullmatch(match.group(1))
        if inner is None:
            raise ValueError(
                f"{match.group(0)!r} is not a template: between {{{{ and }}}} write only a name,"
                " like {{ token }} or {{ message.user.id }}"
            )
        yield inner.group(1)
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


def render(template: str, lookup: Lookup) -> str:
    """Substitute every ``{{ name }}``; ``lookup`` returns MISSING for unset names."""
    if "{{" not in template:
        return template

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        value = lookup(name)
        if value is MISSING:
            raise TemplateError(f"{{{{ {name} }}}} is not set")
        return text_of(value)

    return _BRACES.sub(substitute, template)


def render_value(value: Any, lookup: Lookup) -> Any:
    """Render templates inside a JSON value.

    A string that is exactly one template keeps the type of its value
    (``"{{ count }}"`` gives the number), so JSON payloads stay typed.
    """
    if isinstance(value, str):
        whole = _BRACES.fullmatch(value.strip())
        if whole is not None and _NAME.fullmatch(whole.group(1)):
            name = whole.group(1).strip()
            found = lookup(name)
            if found is MISSING:
                raise TemplateError(f"{{{{ {name} }}}} is not set")
            return found
        return render(value, lookup)
    if isinstance(value, list):
        return [render_value(item, lookup) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, lookup) for key, item in value.items()}
    return value
