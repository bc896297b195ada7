"""
Masking secrets: values named in ``secrets:`` never reach the output.

The report, log lines, the transcript, error messages, close reasons and every
output file show ``***`` wherever a secret value would appear, in any of the
forms it takes on its way there (:func:`encodings`). Text is masked first and
cut after (:meth:`Mask.cut`), so a secret is never half shown.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["CUT", "MASK", "Mask", "encodings"]

MASK = "***"
#: What ends a text that was cut.
CUT = "…"
#: The shortest string inside a structured secret that is masked on its own: shorter
#: ones (``"a"``, ``"1"``) would mask ordinary text everywhere.
SHORTEST_PART = 3
#: The shortest run of base64 characters taken for a secret inside a longer base64 text.
_SHORTEST_BASE64 = 6
_URLSAFE = str.maketrans("+/", "-_")
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


def _bytes_forms(data: bytes) -> set[str]:
    """Bytes as the reports and Python show them: hex, base64, a bytes literal."""
    literal = {repr(data)[2:-1], repr(data + b"\"'")[2:-4]}  # quoted with ' or with "
    return {data.hex(), data.hex().upper(), *literal, *_base64_forms(data)}


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
    return {value, *_json_forms(value), *_percent_forms(value), *quoted, *_bytes_forms(data)}


def _strings(value: Any) -> list[str]:
    """The strings inside a JSON value (not its keys); without recursion, as a server chose the nesting."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


class Mask:
    """Replaces each known secret value, in each of its forms, with ``***``."""

    def __init__(self, values: list[str] | None = None) -> None:
        self._values: list[str] = []
        self._known: set[str] = set()
        for value in values or []:
            self.add(value)

    @property
    def longest(self) -> int:
        """The length of the longest form masked (0 with no secret)."""
        return len(self._values[0]) if self._values else 0

    def add(self, value: str | bytes) -> None:
        """Mask this value from now on, in every form of :func:`encodings` (an empty value masks nothing)."""
        if not value:
            return
        new = {form for form in encodings(value) if form and form not in self._known}
        if new:
            self._known |= new
            # Longest first: a secret inside another, or a form inside another form, stays hidden.
            self._values = sorted(self._known, key=len, reverse=True)

    def add_value(self, value: Any) -> None:
        """Mask a variable's or a stored value: a structured one (object, list) as written
        compactly or spaced, and each string inside it; any other as it reads in text."""
        if isinstance(value, (dict, list)):
            for spacing in ((",", ":"), (", ", ": ")):
                for ascii_only in (False, True):
                    try:
                        self.add(json.dumps(value, ensure_ascii=ascii_only, separators=spacing))
                    except RecursionError:  # nested deeper than JSON can be written: its strings still are masked
                        break
            for text in _strings(value):
                if len(text) >= SHORTEST_PART:
                    self.add(text)
        elif isinstance(value, (str, bytes)):
            self.add(value)
        else:
            self.add(json.dumps(value) if isinstance(value, bool) or value is None else str(value))

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)

    def cut(self, text: str, limit: int) -> str:
        """The text masked, then cut to ``limit`` characters (the last one ``…``).

        Only the start of a long text is masked: as much as the cut keeps, plus the
        longest form, so that a form the first slice cuts in two lies beyond the cut.
        """
        if len(text) <= limit:
            return self(text)
        size = limit + self.longest
        masked = self(text[:size])
        while size < len(text) and len(masked) < limit + self.longest:  # masking shrank it: take more
            size *= 2
            masked = self(text[:size])
        return masked if len(masked) <= limit else masked[: limit - 1] + CUT

    def edge(self, text: str, *, every: bool = False) -> str:
        """The text masked, and a secret that a cut made before it was known left half shown
        masked too: the longest start of a form just before the last ``…`` (``every=True``: each ``…``)."""
        text = self(text)
        if CUT not in text or not self._values:
            return text
        parts = text.split(CUT)
        for index in range(len(parts) - 1) if every else [len(parts) - 2]:
            parts[index] = self._half_shown(parts[index])
        return CUT.join(parts)

    def _half_shown(self, part: str) -> str:
        """``part`` with its longest ending that starts some form replaced by ``***``."""
        if not part:
            return part
        last, longest = part[-1], 0
        for form in self._values:
            # Only where the form holds the part's last character can a start of it end the part.
            position = form.rfind(last, 0, min(len(form) - 1, len(part)))
            while position >= longest:
                if part.endswith(form[: position + 1]):
                    longest = position + 1
                    break
                position = form.rfind(last, 0, position)
        return part[:-longest] + MASK if longest else part
