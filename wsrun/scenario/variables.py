"""
``--var NAME=VALUE`` values, read and checked the same way by ``wsrun`` and its pytest plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

from ..errors import UsageError

__all__ = ["check_declared", "parse_vars"]


def parse_vars(pairs: Iterable[str], option: str = "--var") -> dict[str, str]:
    """``NAME=VALUE`` pairs as a mapping; the last of a name wins; UsageError for a pair without ``=``."""
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} {pair!r}: write NAME=VALUE")
        variables[name] = value
    return variables


def check_declared(overrides: Iterable[str], declared: Set[str], option: str = "--var", what: str = "scenario") -> None:
    """UsageError for an override that no scenario declares: a misspelt name must not change nothing silently."""
    unknown = set(overrides) - declared
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        their = "their" if what.endswith("s") else "its"
        raise UsageError(f"{option} {', '.join(sorted(unknown))}: not a variable of the {what} ({their} vars: {known})")
