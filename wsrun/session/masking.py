"""
Masking secrets: values named in ``secrets:`` never reach the output.

The report, log lines, the transcript, error messages, close reasons and every
output file show ``***`` wherever a secret value would appear, in any of the
forms it takes on its way there (:func:`encodings`). Text is masked first and
cut after (:meth:`Mask.cut`), so a secret is never half shown.
"""

from __future__ import annotations

import base64
import html
import json
import re
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["CUT", "MASK", "Forms", "Mask", "encodings"]

MASK = "***"
#: What ends a text that was cut.
CUT = "…"
#: The shortest string inside a structured secret that is masked on its own: shorter
#: ones (``"a"``, ``"1"``) would mask ordinary text everywhere.
SHORTEST_PART = 3
#: The shortest run of base64 characters taken for a secret inside a longer base64 text.
_SHORTEST_BASE64 = 6
_URLSAFE = str.maketrans("+/", "-_")
#: ASCII letters to lowercase, and nothing else: a text keeps its length and positions.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
#: The fewest digits of a number inside a structured secret that is masked on its own.
SHORTEST_NUMBER = 4
_PERCENT = re.compile(r"%[0-9A-F]{2}")
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")


def _json(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


def _json_forms(value: str) -> set[str]:
    """The value inside a JSON string, escaped once and twice, with ``/`` as ``\\/`` or not (PHP's default)."""
    once = {_json(value, False), _json(value, True)}
    once |= {form.replace("/", "\\/") for form in once}
    twice = {_json(form, ascii_only) for form in once for ascii_only in (False, True)}
    twice |= {form.replace("/", "\\/") for form in twice}
    forms = once | twice
    # \u00e9 or \u00E9: encoders differ.
    return forms | {_UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group()[2:].upper(), form) for form in forms}


def _percent_forms(value: str) -> set[str]:
    """Percent-encoded as URL components are (all reserved, or as encodeURIComponent, or a form's ``+``)."""
    # A value from the environment may hold bytes that are not UTF-8 (surrogateescape).
    forms = {quote(value, safe=safe, errors="surrogateescape") for safe in ("", "/", "-_.!~*'()")} | {
        quote_plus(value, safe="", errors="surrogateescape")
    }
    return forms | {_PERCENT.sub(lambda m: m.group().lower(), form) for form in forms}


def _base64_forms(data: bytes) -> set[str]:
    """Base64 of the bytes, whole, and inside a longer base64 text at each of the 3 alignments."""
    whole = base64.b64encode(data).decode()
    forms = {whole, whole.rstrip("=")}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data + b"\0\0").decode()
        # Only the characters made of the value's bits alone.
        inner = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        if len(inner) >= _SHORTEST_BASE64:
            forms.add(inner)
    return forms | {form.translate(_URLSAFE) for form in forms}


def _hex_forms(data: bytes) -> set[str]:
    """Hex, its digits together or a space between bytes (``de ad be ef``); in lowercase, matched in any case."""
    return {data.hex(), data.hex(" ")}


def _bytes_forms(data: bytes) -> set[str]:
    """Bytes as the reports and Python show them: hex, base64, a bytes literal."""
    literal = {repr(data)[2:-1], repr(data + b"\"'")[2:-4]}  # quoted with ' or with "
    hexes = _hex_forms(data)
    return {*hexes, *(form.upper() for form in hexes), *literal, *_base64_forms(data)}


def _caseless_forms(value: str | bytes) -> set[str]:
    """The forms whose letters an encoder may write in either case, mixed too (``%c3%A9``, ``DeadBEEF``): lowercase."""
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    forms = _hex_forms(data)
    # What a template filter makes of it (| base64, | url, | json) in a frame shown as hex (a ping's payload).
    filtered = set(_base64_forms(data))
    if isinstance(value, str):
        forms |= {form.lower() for form in _percent_forms(value) if "%" in form}
        filtered |= {quote(value, safe="", errors="surrogateescape"), _json(value, False), _json(value, True)}
    for form in filtered - {value}:
        forms |= _hex_forms(form.encode("utf-8", "surrogateescape"))
    return forms


def encodings(value: str | bytes) -> set[str]:
    """Every form a value can take on its way to an output, the value itself included.

    Text: JSON-escaped once and twice (``\\"``, ``\\\\``, ``\\u00e9``, ``\\/``),
    percent-encoded, in a Python ``repr``, and its UTF-8 bytes in every form of
    :func:`_bytes_forms`. Bytes: those forms, and the text they spell if UTF-8.
    """
    if isinstance(value, bytes):
        forms = _bytes_forms(value)
        try:
            text = value.decode()
        except UnicodeDecodeError:
            return forms
        return forms | encodings(text)
    quoted = {repr(value)[1:-1], repr(value + "\"'")[1:-4]}
    data = value.encode("utf-8", "surrogateescape")
    # As an HTML page writes it (&quot; &#x27; &amp; &lt;), or a server that escapes for HTML: the
    # value, and inside a JSON string.
    inside = (value, _json(value, False), _json(value, True))
    escaped = {html.escape(form, quote=quote) for form in inside for quote in (True, False)}
    return {value, *_json_forms(value), *escaped, *_percent_forms(value), *quoted, *_bytes_forms(data)}


def _parts(value: Any) -> tuple[list[str], list[str]]:
    """The strings inside a JSON value (not its keys), and its numbers as written, without
    recursion, as a server chose the nesting."""
    strings: list[str] = []
    numbers: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            numbers.append(json.dumps(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return strings, numbers


@dataclass(frozen=True)
class Forms:
    """Forms of secrets, longest first: matched as they are, and (lowercase) in any case."""

    exact: list[str] = field(default_factory=list)
    caseless: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.exact or self.caseless)

    def __or__(self, other: Forms) -> Forms:
        return Forms(_longest_first(self.exact + other.exact), _longest_first(self.caseless + other.caseless))


def _longest_first(forms: list[str]) -> list[str]:
    return sorted(set(forms), key=len, reverse=True)


def _spans(text: str, form: str, into: list[tuple[int, int]]) -> None:
    """Add where ``form`` occurs in ``text``, its overlapping occurrences joined."""
    start = text.find(form)
    first = len(into)
    while start >= 0:
        end = start + len(form)
        if len(into) > first and start <= into[-1][1]:
            into[-1] = (into[-1][0], end)
        else:
            into.append((start, end))
        start = text.find(form, start + 1)


class Mask:
    """Replaces each known secret value, in each of its forms, with ``***``.

    Every occurrence of every form is found in the text as given, and what they
    cover together is masked: secrets that overlap or hold one another leave nothing shown.
    """

    def __init__(self, values: list[str] | None = None) -> None:
        self._values: list[str] = []  # longest first
        self._caseless: list[str] = []  # lowercase, matched against the text with ASCII letters lowercased
        self._known: set[str] = set()
        self._known_caseless: set[str] = set()
        for value in values or []:
            self.add(value)

    @property
    def longest(self) -> int:
        """The length of the longest form masked (0 with no secret)."""
        return max(len(self._values[0]) if self._values else 0, len(self._caseless[0]) if self._caseless else 0)

    def add(self, value: str | bytes) -> Forms:
        """Mask this value from now on, in every form of :func:`encodings` (an empty value masks nothing).

        Returns the forms masked that were not before."""
        if not value:
            return Forms()
        exact = {form for form in encodings(value) if form and form not in self._known}
        caseless = {form for form in _caseless_forms(value) if form} - self._known_caseless
        if not exact and not caseless:
            return Forms()
        self._known |= exact
        self._known_caseless |= caseless
        # Longest first: _half_shown looks for the longest start of a form.
        self._values = _longest_first(list(self._known))
        self._caseless = _longest_first(list(self._known_caseless))
        return Forms(_longest_first(list(exact)), _longest_first(list(caseless)))

    def add_value(self, value: Any) -> Forms:
        """Mask a variable's or a stored value: a structured one (object, list) as written
        compactly or spaced, and each string (of 3 characters or more) and number (of 4
        digits or more) inside it; any other as it reads in text. Returns the forms that are new."""
        if isinstance(value, (dict, list)):
            new = Forms()
            for spacing in ((",", ":"), (", ", ": ")):
                for ascii_only in (False, True):
                    try:
                        new |= self.add(json.dumps(value, ensure_ascii=ascii_only, separators=spacing))
                    except RecursionError:  # nested deeper than JSON can be written: its parts still are masked
                        break
            strings, numbers = _parts(value)
            for text in strings:
                if len(text) >= SHORTEST_PART:
                    new |= self.add(text)
            for number in numbers:
                if sum(char.isdigit() for char in number) >= SHORTEST_NUMBER:
                    new |= self.add(number)
            return new
        if isinstance(value, (str, bytes)):
            return self.add(value)
        return self.add(json.dumps(value) if isinstance(value, bool) or value is None else str(value))

    def __call__(self, text: str) -> str:
        if not self._values or not text:
            return text
        spans: list[tuple[int, int]] = []
        for form in self._values:
            if form in text:
                _spans(text, form, spans)
        if self._caseless:
            lowered = text.translate(_ASCII_LOWER)
            for form in self._caseless:
                if form in lowered:
                    _spans(lowered, form, spans)
        if not spans:
            return text
        spans.sort()
        merged = [spans[0]]
        for start, stop in spans[1:]:
            if start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
            else:
                merged.append((start, stop))
        shown, end = [], 0
        for start, stop in merged:
            shown += [text[end:start], MASK]
            end = stop
        shown.append(text[end:])
        return "".join(shown)

    def __bool__(self) -> bool:
        return bool(self._values)

    def cut(self, text: str, limit: int, *, more: bool = False) -> str:
        """The text masked, then cut to ``limit`` characters (the last one ``…``).

        Only the start of a long text is masked: as much as the cut keeps, plus the
        longest form, so that a form the first slice cuts in two lies beyond the cut.
        ``more``: the text is only the start of a longer one, and a form it ends in the
        middle of is masked as far as it goes.
        """
        if more:
            masked = self(text)
            masked = masked[: -len(tail)] + MASK if (tail := self._half_shown(masked)) else masked
            return masked + CUT if len(masked) < limit else masked[: limit - 1] + CUT
        if len(text) <= limit:
            return self(text)
        size = limit + self.longest
        masked = self(text[:size])
        while size < len(text) and len(masked) < limit + self.longest:  # masking shrank it: take more
            size *= 2
            masked = self(text[:size])
        if size >= len(text) and len(masked) <= limit:  # the whole text, masked, fits
            return masked
        return masked[: limit - 1] + CUT

    def cut_short(self, value: str | bytes) -> str | bytes:
        """The start of a secret (SHORTEST_PART characters or bytes, or more) that ends the value, else
        empty: what a payload repeated to a size keeps of a secret where it stops."""
        if isinstance(value, str):
            tail = self._half_shown(value[-self.longest :])
            return tail if len(tail) >= SHORTEST_PART else ""
        hexed = self._half_shown(value[-(self.longest // 2 + 1) :].hex())
        size = (len(hexed) + 1) // 2
        return value[-size:] if size >= SHORTEST_PART else b""

    def edge(self, text: str, *, every: bool = False, new: Forms | None = None) -> str:
        """The text masked, and a secret that a cut made before it was known left half shown
        masked too: the longest start of a form just before the last ``…`` (``every=True``: each ``…``).
        ``new``: only the forms just learnt are looked for there (the others were when the text was cut)."""
        text = self(text)
        if CUT not in text or not self._values:
            return text
        parts = text.split(CUT)
        for index in range(len(parts) - 1) if every else [len(parts) - 2]:
            if tail := self._half_shown(parts[index], new):
                parts[index] = parts[index][: -len(tail)] + MASK
        return CUT.join(parts)

    def _half_shown(self, part: str, forms: Forms | None = None) -> str:
        """The longest ending of ``part`` that starts some form ("" if none)."""
        if not part:
            return part
        forms = forms or Forms(self._values, self._caseless)
        longest = max(_start_ending(part, forms.exact), _start_ending(part.translate(_ASCII_LOWER), forms.caseless))
        return part[-longest:] if longest else ""


def _start_ending(part: str, forms: list[str]) -> int:
    """The length of the longest start of one of ``forms`` that ends ``part`` (0: none)."""
    last, longest = part[-1], 0
    for form in forms:
        if len(form) - 1 <= longest:  # longest first: no later form can do better
            break
        # Only where the form holds the part's last character can a start of it end the part.
        position = form.rfind(last, 0, min(len(form) - 1, len(part)))
        while position >= longest:
            if part.endswith(form[: position + 1]):
                longest = position + 1
                break
            position = form.rfind(last, 0, position)
    return longest
