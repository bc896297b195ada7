"""
permessage-deflate (RFC 7692) for a client, with zlib and no I/O.

What the picows transport needs to compress as the websockets one does: the
offer (section 7.1), reading the server's answer and its parameters (section
7.1, the ``Sec-WebSocket-Extensions`` grammar of RFC 6455 section 9.1),
compressing a message (section 7.2.1) and decompressing one frame by frame with
a size limit (section 7.2.2), with or without context takeover (section 7.1.1).
The offer and the compression settings are websockets' defaults, so that both
transports put the same bytes on the wire.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "NAME",
    "OFFER",
    "Agreement",
    "DecompressionFailed",
    "Deflate",
    "NegotiationError",
    "TooBig",
    "negotiate",
    "parse_extensions",
]

NAME = "permessage-deflate"
#: What the client offers: no limit on either window, and it may be told a smaller one of its own.
OFFER = "permessage-deflate; client_max_window_bits"
#: A sync flush ends with this empty stored block; it is removed from each message and put back to decompress.
_TAIL = b"\x00\x00\xff\xff"
#: As websockets' client: a smaller memory level, and zlib's default compression level.
_MEM_LEVEL = 5

Params = list[tuple[str, str | None]]


class NegotiationError(ValueError):
    """The server's Sec-WebSocket-Extensions answer cannot be accepted: the handshake fails."""


class DecompressionFailed(ValueError):
    """A compressed frame is not valid deflate data: the connection fails with 1002."""


class TooBig(ValueError):
    """A message decompresses to more than its limit: the connection fails with 1009."""


# -- the header (RFC 6455 section 9.1, with RFC 7230's token and quoted-string) ------------

_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_QUOTED = re.compile(r'"(?:[\x09\x20-\x21\x23-\x5b\x5d-\x7e]|\\[\x09\x20-\x7e])*"')


def _ows(header: str, pos: int) -> int:
    """Skip optional whitespace."""
    while header.startswith((" ", "\t"), pos):
        pos += 1
    return pos


def _malformed(header: str, expected: str, pos: int) -> NegotiationError:
    return NegotiationError(f"invalid Sec-WebSocket-Extensions header: expected {expected} at {pos} in {header}")


def _token(header: str, pos: int) -> tuple[str, int]:
    match = _TOKEN.match(header, pos)
    if match is None:
        raise _malformed(header, "token", pos)
    return match.group(), _ows(header, match.end())


def _value(header: str, pos: int) -> tuple[str, int]:
    if not header.startswith('"', pos):
        return _token(header, pos)
    match = _QUOTED.match(header, pos)
    if match is None:
        raise _malformed(header, "quoted string", pos)
    value = re.sub(r"\\(.)", r"\1", match.group()[1:-1])
    if _TOKEN.fullmatch(value) is None:  # RFC 6455 9.1: a quoted value must still be a token
        raise _malformed(header, "token after quoted string", pos)
    return value, _ows(header, match.end())


def parse_extensions(header: str) -> list[tuple[str, Params]]:
    """One Sec-WebSocket-Extensions value as [(name, [(param, value or None), …]), …]."""
    extensions: list[tuple[str, Params]] = []
    pos = _ows(header, 0)
    while True:
        name, pos = _token(header, pos)
        params: Params = []
        while header.startswith(";", pos):
            param, pos = _token(header, _ows(header, pos + 1))
            value = None
            if header.startswith("=", pos):
                value, pos = _value(header, _ows(header, pos + 1))
            params.append((param, value))
        extensions.append((name, params))
        if pos == len(header):
            return extensions
        if not header.startswith(",", pos):
            raise _malformed(header, "comma", pos)
        pos = _ows(header, pos + 1)


# -- negotiation (RFC 7692 section 7.1) ----------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """The parameters both sides compress with, as the server's answer to :data:`OFFER` set them."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15


_WINDOW_BITS = {str(bits) for bits in range(8, 16)}


def _agreement(params: Params) -> Agreement:
    """What the answer's parameters mean for our offer; NegotiationError if they do not fit it."""
    flags: dict[str, bool] = {}
    bits: dict[str, int] = {}
    for name, value in params:
        if name in flags or name in bits:
            raise NegotiationError(f"duplicate parameter {name}")
        if name in ("server_no_context_takeover", "client_no_context_takeover") and value is None:
            flags[name] = True
        elif name in ("server_max_window_bits", "client_max_window_bits") and value in _WINDOW_BITS:
            bits[name] = int(value)
        else:  # an unknown parameter, a value where none is allowed, or a window outside 8-15
            raise NegotiationError(f"invalid parameter {name}={value}")
    if bits.get("client_max_window_bits") == 8:
        # zlib cannot compress with a window of 8 bits (madler/zlib#171); websockets refuses it too.
        raise NegotiationError("unsupported client_max_window_bits = 8, use 9")
    return Agreement(
        server_no_context_takeover=flags.get("server_no_context_takeover", False),
        client_no_context_takeover=flags.get("client_no_context_takeover", False),
        server_max_window_bits=bits.get("server_max_window_bits", 15),
        client_max_window_bits=bits.get("client_max_window_bits", 15),
    )


def negotiate(values: Sequence[str], offered: bool) -> Agreement | None:
    """Read the server's Sec-WebSocket-Extensions headers: the deflate agreement, None, or NegotiationError.

    As websockets does: an extension we did not offer, a second permessage-deflate, or
    parameters that do not answer our offer fail the handshake (RFC 6455 section 9.1).
    """
    if not values:
        return None
    if not offered:
        raise NegotiationError("no extensions supported")
    agreement: Agreement | None = None
    for value in values:
        for name, params in parse_extensions(value):
            try:
                if name != NAME or agreement is not None:
                    raise NegotiationError(name)
                agreement = _agreement(params)
            except NegotiationError:
                raise NegotiationError(f"Unsupported extension: name = {name}, params = {params}") from None
    return agreement


# -- compression (RFC 7692 section 7.2) ----------------------------------------------------


class Deflate:
    """One connection's compression contexts: messages out, frames in."""

    def __init__(self, agreement: Agreement) -> None:
        self.agreement = agreement
        self._encoder: zlib._Compress | None = None
        self._decoder: zlib._Decompress | None = None

    def compress(self, data: bytes) -> bytes:
        """A whole message's payload, to send with RSV1 set (section 7.2.1)."""
        if self._encoder is None or self.agreement.client_no_context_takeover:
            self._encoder = zlib.compressobj(wbits=-self.agreement.client_max_window_bits, memLevel=_MEM_LEVEL)
        data = self._encoder.compress(data) + self._encoder.flush(zlib.Z_SYNC_FLUSH)
        return data[: -len(_TAIL)]

    def decompress(self, payload: bytes, *, first: bool, fin: bool, limit: int) -> bytes:
        """One frame of a compressed message, at most ``limit`` bytes once decompressed (section 7.2.2).

        ``first`` starts a message (a new context without takeover); ``fin`` ends it.
        TooBig past the limit, checked while decompressing so that a small bomb never grows
        in memory; DecompressionFailed on invalid data.
        """
        if self._decoder is None or (first and self.agreement.server_no_context_takeover):
            self._decoder = zlib.decompressobj(wbits=-self.agreement.server_max_window_bits)
        if fin:
            payload += _TAIL
        try:
            # One byte over the limit is enough to know; zlib's 0 would mean no limit at all.
            data = self._decoder.decompress(payload, limit + 1)
        except zlib.error:
            raise DecompressionFailed("decompression failed") from None
        if len(data) > limit:
            raise TooBig(f"decompresses to more than {limit} bytes")
        return data
