"""
Masking secrets: values named in ``secrets:`` never reach the output.

The report, log lines, the transcript, error messages and the summary export
show ``***`` wherever a secret value would appear.
"""

from __future__ import annotations

import json

__all__ = ["MASK", "Mask"]

MASK = "***"


class Mask:
    """Replaces each known secret value in a text with ``***``."""

    def __init__(self, values: list[str] | None = None) -> None:
        self._values: list[str] = []
        for value in values or []:
            self.add(value)

    def add(self, value: str) -> None:
        """Mask this value from now on, also as it reads once escaped or encoded (an empty value masks nothing).

        A secret can reach the output inside JSON (quotes and backslashes escaped),
        inside a repr() in an error message, or as the hex of a binary frame.
        """
        if not value:
            return
        forms = {
            value,
            json.dumps(value, ensure_ascii=False)[1:-1],
            json.dumps(value)[1:-1],
            repr(value)[1:-1],
            value.encode("utf-8", "surrogateescape").hex(),
        }
        for form in forms:
            if form and form not in self._values:
                self._values.append(form)
        self._values.sort(key=len, reverse=True)  # longest first: a secret inside another stays hidden

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)
