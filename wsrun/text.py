"""
Text from a server or a file, made safe to show: in a terminal, in XML, in HTML.
"""

from __future__ import annotations

import re

from .results import Frame

__all__ = ["ARROWS", "frame_text", "printable"]

#: Which way a frame went, as the reports show it.
ARROWS = {"sent": "→", "received": "←", "local": "·"}

# Control characters, and what XML 1.0 cannot hold at all (section 2.2, Char:
# lone surrogates, U+FFFE, U+FFFF).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if char <= "\xff" else f"\\u{ord(char):04x}")


def printable(text: str) -> str:
    """One line of text with control characters made visible: ``\\n``, ``\\x1b``, ``\\ud800``.

    A server must not be able to recolour or rewrite the report with escape
    sequences, nor make an XML report unreadable.
    """
    return _UNSAFE.sub(_escape, text)


def frame_text(frame: Frame) -> str:
    """A frame of a transcript on one line: when, which way, what kind, and its text (made printable)."""
    return f"{frame.at:8.3f}s {ARROWS[frame.direction]} {frame.kind:<6} {printable(frame.text)}"
