"""
Payloads of ``send`` and ``send_binary``: bytes written as hex or base64 (templates allowed),
and payloads of a given size (a pattern repeated and cut, or random).

A payload that cannot change (no template, not random) is built once, when the
scenario is loaded, and sent as built; the others are built at each send.
"""

from __future__ import annotations

import base64
import binascii
import os
import string
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PrivateAttr, model_validator
from pydantic.config import JsonDict

from .. import templates
from ..templates import Lookup
from .base import TemplateText, _Strict

__all__ = ["MAX_SIZE", "Payload", "SizedText", "random_text", "repeat"]

#: The largest payload of a given size: it is built in memory, whole, before it goes out.
MAX_SIZE = 64 * 1024 * 1024

_ALNUM = (string.ascii_letters + string.digits).encode()
# Random bytes below 248 (4 * 62) map evenly onto the 62 letters and digits; the others are dropped.
_TO_ALNUM = bytes(_ALNUM[byte % len(_ALNUM)] for byte in range(256))
_UNEVEN = bytes(range(4 * len(_ALNUM), 256))


def random_text(size: int) -> str:
    """``size`` random ASCII letters and digits, each equally likely."""
    text = bytearray()
    while len(text) < size:
        text += os.urandom(size - len(text) + 64).translate(_TO_ALNUM, _UNEVEN)
    return text[:size].decode("ascii")


def repeat(pattern: bytes, size: int) -> bytes:
    """The pattern repeated and cut to ``size`` bytes; ValueError if there is nothing to repeat."""
    if not pattern:
        if size:
            raise ValueError("the pattern to repeat is empty: give at least one byte")
        return b""
    whole, part = divmod(size, len(pattern))
    return pattern * whole + pattern[:part]


def _is_template(text: str) -> bool:
    return "{{" in text  # TemplateText has checked that every {{ opens a template


def _base64_of(lookup: Lookup) -> Lookup:
    """A lookup whose bytes values read as base64 (elsewhere bytes read as hex)."""

    def look(name: str) -> Any:
        value = lookup(name)
        return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value

    look.why_unset = getattr(lookup, "why_unset", None)  # type: ignore[attr-defined]  # keep the explanation
    return look


def _size_at_most(size: int) -> int:
    if size > MAX_SIZE:
        raise ValueError(f"size is at most {MAX_SIZE} bytes (64 MiB), since the payload is built in memory; got {size}")
    return size


_SIZE_SCHEMA: JsonDict = {"maximum": MAX_SIZE}  # in the JSON Schema; the validator says why
Size = Annotated[int, Field(ge=0, json_schema_extra=_SIZE_SCHEMA), AfterValidator(_size_at_most)]


class Payload(_Strict):
    """Bytes: written as base64 or hex, or of a given size (zero bytes, a pattern repeated, random)."""

    base64: TemplateText | None = Field(
        None,
        title="Base64 bytes",
        description="The bytes, base64-encoded (standard alphabet, with padding). Templates allowed: a binary"
        " value (a stored binary message) reads as its base64 here. Give this or hex, not both.",
        examples=["AAEC/w==", "yv4AAQ==", "{{ blob }}"],
    )
    hex: TemplateText | None = Field(
        None,
        title="Hex bytes",
        description="The bytes as hexadecimal digits, two per byte; spaces between bytes are allowed. Templates"
        " allowed: a binary value (a stored binary message) reads as its hex. Give this or base64, not both.",
        examples=["0001 02ff", "cafe0001", "cafe{{ blob }}"],
    )
    size: Size | None = Field(
        None,
        title="Size in bytes",
        description="Sends exactly this many bytes, at most 67108864 (64 MiB): zero bytes, or the bytes of hex"
        " or base64 repeated and cut, or random bytes with random: true.",
        examples=[65536],
    )
    random: bool = Field(
        False,
        title="Random bytes",
        description="true: size random bytes, new at each send (with size, without hex or base64). Default: false.",
        examples=[True],
    )
    _constant: bytes | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _consistent(self) -> Payload:
        pattern = self.base64 if self.base64 is not None else self.hex
        if self.base64 is not None and self.hex is not None:
            raise ValueError("give exactly one of base64 or hex, not both")
        if self.random:
            if self.size is None:
                raise ValueError("random needs a size: {size: 1024, random: true} sends 1024 random bytes")
            if pattern is not None:
                raise ValueError("random bytes have no pattern: give random: true or hex/base64, not both")
        elif pattern is None and self.size is None:
            raise ValueError("give exactly one of base64 or hex, or a size (zero bytes, a pattern repeated, random)")
        if pattern is None and not self.random:
            self._constant = bytes(self.size or 0)
        elif pattern is not None and not _is_template(pattern):  # decoded now: bad input fails validation
            self._constant = self._sized(self._decoded(pattern))
        return self

    @property
    def constant(self) -> bytes | None:
        """The bytes, built when the scenario was loaded; None when they are built at each send."""
        return self._constant

    def build(self, lookup: Lookup) -> bytes:
        """The bytes to send now; ValueError says why they cannot be built (rendered text that does not decode)."""
        if self._constant is not None:
            return self._constant
        if self.random:
            return os.urandom(self.size or 0)
        if self.base64 is not None:
            return self._sized(self._decoded(templates.render(self.base64, _base64_of(lookup))))
        return self._sized(self._decoded(templates.render(self.hex or "", lookup)))

    def _decoded(self, text: str) -> bytes:
        try:
            if self.base64 is not None:
                return base64.b64decode(text, validate=True)
            return bytes.fromhex(text)
        except (binascii.Error, ValueError) as exc:
            kind = "base64" if self.base64 is not None else "hex"
            raise ValueError(f"not valid {kind}: {exc}") from None

    def _sized(self, data: bytes) -> bytes:
        return data if self.size is None else repeat(data, self.size)


class SizedText(_Strict):
    """Text of a given size: a filler repeated and cut, or random letters and digits."""

    size: Size = Field(
        title="Size in bytes",
        description="Sends a text message of exactly this many bytes (and characters: the text is ASCII), at"
        " most 67108864 (64 MiB). Default filler: x.",
        examples=[2000],
    )
    fill: TemplateText | None = Field(
        None,
        title="Filler",
        description='ASCII text repeated and cut to size ("ab" gives "abab…"). Templates allowed; what they'
        " bring must be ASCII too. Default: x.",
        examples=["ab", "{{ token }}-"],
    )
    random: bool = Field(
        False,
        title="Random text",
        description="true: random ASCII letters and digits, new at each send (without fill). Default: false.",
        examples=[True],
    )
    _constant: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _consistent(self) -> SizedText:
        if self.random and self.fill is not None:
            raise ValueError("random text has no filler: give fill or random: true, not both")
        if self.fill is not None and not self.fill.isascii():
            raise ValueError(f"fill must be ASCII (so that size counts characters as bytes), got {self.fill!r}")
        if not self.random and not _is_template(self.fill or ""):
            self._constant = self._filled("x" if self.fill is None else self.fill)
        return self

    @property
    def constant(self) -> str | None:
        """The text, built when the scenario was loaded; None when it is built at each send."""
        return self._constant

    def build(self, lookup: Lookup) -> str:
        """The text to send now; ValueError says why it cannot be built (a filler rendered empty or not ASCII)."""
        if self._constant is not None:
            return self._constant
        if self.random:
            return random_text(self.size)
        fill = templates.render(self.fill or "", lookup)
        if not fill.isascii():  # said without the text, which may hold a secret
            position = next(index for index, char in enumerate(fill) if not char.isascii())
            raise ValueError(f"fill must be ASCII, and as rendered it has a non-ASCII character at position {position}")
        return self._filled(fill)

    def _filled(self, fill: str) -> str:
        try:
            return repeat(fill.encode("ascii"), self.size).decode("ascii")
        except ValueError:
            raise ValueError("fill is empty: give at least one character to repeat") from None
