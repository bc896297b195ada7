"""
The JSON Schema formats wsrun checks; any other format is an annotation.

Small pure checks, RE2 and the standard library only: the optional checkers
jsonschema can use (rfc3339-validator, rfc3986-validator) match server data with
Python's backtracking ``re``, and its own ``regex`` format compiles server data
with ``re``. Each check takes linear time.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from typing import Any

from .regex import compile_regex

__all__ = ["FORMATS"]

_DATE = r"(\d{4})-(\d{2})-(\d{2})"
_TIME = r"(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = rf"{_LABEL}(?:\.{_LABEL})*"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2})"


def _full(pattern: str) -> Callable[[str], Any]:
    compiled = compile_regex(rf"\A(?:{pattern})\z")
    return compiled.match  # type: ignore[no-any-return]


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        datetime.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _valid_time(hour: str, minute: str, second: str, offset_hour: str | None, offset_minute: str | None) -> bool:
    # second 60 is a leap second (RFC 3339 §5.7)
    return (
        int(hour) <= 23
        and int(minute) <= 59
        and int(second) <= 60
        and (offset_hour is None or (int(offset_hour) <= 23 and int(offset_minute or 0) <= 59))
    )


def _date_time(text: str) -> bool:
    match = _full(rf"{_DATE}[Tt]{_TIME}")(text)
    return match is not None and _valid_date(*match.groups()[:3]) and _valid_time(*match.groups()[3:])


def _date(text: str) -> bool:
    match = _full(_DATE)(text)
    return match is not None and _valid_date(*match.groups())


def _time(text: str) -> bool:
    match = _full(_TIME)(text)
    return match is not None and _valid_time(*match.groups())


def _hostname(text: str) -> bool:
    return len(text) <= 253 and _full(_HOSTNAME)(text) is not None


def _email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at) and len(local) <= 64 and _full(rf"{_ATOM}(?:\.{_ATOM})*")(local) is not None and _hostname(domain)


def _ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)  # four decimal numbers 0-255, no leading zeros
    except ValueError:
        return False
    return True


def _ipv6(text: str) -> bool:
    if "%" in text:  # a zone (scope) is not part of the format
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _uri(text: str) -> bool:
    return _full(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHAR}*(?:#{_URI_CHAR}*)?")(text) is not None


def _uuid(text: str) -> bool:
    return _full(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")(text) is not None


#: The formats that are checked (README, "Conditions and checks"); the others are annotations.
FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _date_time,
    "date": _date,
    "time": _time,
    "email": _email,
    "hostname": _hostname,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "uri": _uri,
    "uuid": _uuid,
}
