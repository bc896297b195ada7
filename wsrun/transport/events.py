"""
What a connection tells the engine: plain data, independent of the WebSocket library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Closed", "Event", "Message", "Ping", "Pong"]


@dataclass(frozen=True)
class Message:
    """A complete data message: ``str`` for text, ``bytes`` for binary."""

    data: str | bytes


@dataclass(frozen=True)
class Ping:
    """The server pinged us; the pong has already been sent back, unless pings are not answered on their own."""

    data: bytes


@dataclass(frozen=True)
class Pong:
    """A pong arrived; ``rtt`` (seconds) is set when it answers one of our pings."""

    data: bytes
    rtt: float | None


@dataclass(frozen=True)
class Closed:
    """The connection is closed (TCP included); always the last event.

    ``code`` and ``reason`` are those of the close frame of the side that
    closed (``by``), or 1006 when there was none. ``error`` is set when the
    close was not a normal one: the server closed with a code other than
    1000/1001, the TCP connection dropped without a close frame (1006), or the
    client failed the connection on a protocol error (also after the server's
    close frame). ``handshake`` says which close frame went each way, in order,
    unless it was one code and its echo: ``received 1000 (OK), sent 1002
    (protocol error) 'incomplete fragmented message'``. ``failed_with`` is the
    close frame wsrun sent when it failed the connection (code, reason), which
    the session shows in the transcript.
    """

    code: int
    reason: str
    by: Literal["client", "server"]
    error: str | None
    handshake: str | None = None
    failed_with: tuple[int, str] | None = None


Event = Message | Ping | Pong | Closed
