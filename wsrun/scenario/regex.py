"""
Regular expressions for `matches`, in RE2 syntax: matching takes linear time.

A pattern runs against text that a server sends; with backtracking engines
(Python's ``re``) a pattern like ``^(a+)+$`` and a crafted message can stall the
event loop for minutes. RE2 has no backtracking, so no message can. The price:
no look-around and no back-references (RE2 refuses them when the file loads).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["RegexError", "compile_regex"]


class RegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why."""


@functools.cache
def _re2() -> tuple[Any, Any]:
    """RE2 and its options, imported at the first pattern: a scenario without one never loads it."""
    import re2  # type: ignore[import-untyped]

    options = re2.Options()
    options.log_errors = False  # errors are reported once, by wsrun, with their location
    return re2, options


@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Any:
    """Compile a pattern (cached); RegexError explains a bad one."""
    re2, options = _re2()
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexError(f"{pattern!r} is not a valid regular expression (RE2 syntax): {reason}") from None
