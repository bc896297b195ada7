"""
The connection boundary: what the session sees of a connection, whatever the library under it.

A :class:`Connection` opens a client connection (RFC 6455 section 4), turns
what happens on it into plain events (:mod:`wsrun.transport.events`) in arrival
order, and translates the library's exceptions into
:class:`~wsrun.errors.ConnectFailed` once. This module holds the interface, the
rules both transports share (close facts, flow control, payload limits, error
words) and the table of transports: websockets
(:mod:`wsrun.transport.websockets_connection`, the default and the reference)
and picows (:mod:`wsrun.transport.picows_opening`, chosen with
``transport: picows``).
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import ssl
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import CLOSE_CODE_EXPLANATIONS
from websockets.uri import parse_uri

from ..errors import ConnectFailed, UsageError
from ..scenario.models import Tls, TransportName
from ..scenario.models.scenario import unsafe_in_url
from .events import Closed, Event

#: Bounds of what a connection keeps for its session: events waiting (messages, pings, pongs)…
QUEUE_HIGH, QUEUE_LOW = 4096, 1024
#: … and the bytes of the messages among them.
QUEUED_BYTES_HIGH = 2**20
#: Stop reading when this much of our output (pongs) waits for the server to read it.
WRITE_BUFFER_HIGH = 2**20

__all__ = [
    "OPENERS",
    "TRANSPORTS",
    "ConnectOptions",
    "Connection",
    "TransportName",
    "describe_close",
    "missing_transport",
    "open_connection",
    "tls_context",
]

#: The transports whose library is optional: its module, and the extra that installs it.
TRANSPORTS: dict[str, tuple[str, str]] = {"picows": ("picows", "fast")}
#: Each transport's opener, by module and function name: imported only when a run uses it.
OPENERS: dict[str, tuple[str, str]] = {
    "websockets": ("wsrun.transport.websockets_connection", "open_websockets"),
    "picows": ("wsrun.transport.picows_opening", "open_picows"),
}


def describe_close(code: int, reason: str) -> str:
    """A close code as people read it: ``1011 (internal error): boom``."""
    text = f"{code} ({CLOSE_CODE_EXPLANATIONS.get(code, 'application-defined' if code >= 3000 else 'unknown')})"
    return f"{text}: {reason}" if reason else text


def close_facts(
    received: tuple[int, str] | None,
    sent: tuple[int, str] | None,
    server_first: bool,
    *,
    aborted: bool,
    closing_by_us: bool,
) -> Closed:
    """How the connection ended (RFC 6455 section 7), in the user's words, from the close frames
    received and sent (code, reason), which came first, and who started closing: both transports' rules."""
    handshake = close_handshake(received, sent, server_first)
    if aborted:  # we dropped it ourselves (timeout, Ctrl-C): not the server's fault
        frame = received or sent
        return Closed(frame[0] if frame else 1006, frame[1] if frame else "", "client", None, handshake)
    if sent is not None and not server_first and not closing_by_us:
        # We failed the connection because of what the server sent (RFC 6455 7.1.7).
        return Closed(sent[0], sent[1], "client", f"connection failed with {describe_close(*sent)}", handshake, sent)
    if closing_by_us and not server_first:
        if received is None:
            error = "the server did not complete the closing handshake: no close frame came back (1006)"
            return Closed(1006, "", "client", error, handshake)
        return Closed(received[0], received[1], "client", None, handshake)
    if received is None:
        return Closed(1006, "", "server", "connection dropped without a close frame (1006)", handshake)
    if sent is not None and sent != received:
        # The server closed, and we answered with a close frame of our own instead of its echo: we failed
        # the connection on what came before (a message left incomplete by the close, say: 1002).
        error = f"connection failed with {describe_close(*sent)}"
        return Closed(received[0], received[1], "server", error, handshake, sent)
    if received[0] in (1000, 1001):
        return Closed(received[0], received[1], "server", None, handshake)
    error = f"server closed the connection with {describe_close(*received)}"
    return Closed(received[0], received[1], "server", error, handshake)


def close_handshake(received: tuple[int, str] | None, sent: tuple[int, str] | None, server_first: bool) -> str | None:
    """The close frame each way, in the order they went, when they are not one code echoed:
    ``received 1000 (OK), sent 1002 (protocol error) 'incomplete fragmented message'``."""
    if (received is None and sent is None) or (received is not None and sent is not None and received[0] == sent[0]):
        return None

    def said(frame: tuple[int, str] | None) -> str:
        if frame is None:
            return "none"
        text = describe_close(frame[0], "")
        return f"{text} {frame[1]!r}" if frame[1] else text

    parts = [f"received {said(received)}", f"sent {said(sent)}"]
    return ", ".join(parts if server_first or sent is None else reversed(parts))


def behind(waiting: int, queued_bytes: int) -> bool:
    """The session is behind what the server sends: stop reading, so that memory stays bounded."""
    return waiting > QUEUE_HIGH or queued_bytes > QUEUED_BYTES_HIGH


def caught_up(waiting: int, queued_bytes: int, write_buffer: int) -> bool:
    """The session has caught up, and the server reads our pongs: read again."""
    return waiting < QUEUE_LOW and queued_bytes < QUEUED_BYTES_HIGH // 4 and write_buffer <= WRITE_BUFFER_HIGH


class _Waits(Protocol):
    events: Any  # a deque the connection's callbacks append to
    waiter: asyncio.Future[None] | None  # resolved when they do, or by the alarm
    alarm: asyncio.TimerHandle | None  # wakes the waiter at alarm_due (see ring)
    alarm_due: float | None


async def wait_for_events(state: _Waits, loop: asyncio.AbstractEventLoop, due: float | None) -> bool:
    """Wait until ``state.events`` holds one (True), or until ``due`` (loop time; False).

    The deadline wakes the waiter instead of cancelling the task: sessions wait
    like this for every timer. One alarm per connection, armed again only when
    the deadline changes: a session waits for the same timer across every event
    that comes before it (a held session's pong, say), and a timer per wait,
    armed and cancelled, cost as much as the rest of the wait.
    """
    while not state.events:
        if due is not None:
            if loop.time() >= due:
                return False
            if state.alarm_due != due:
                if state.alarm is not None:
                    state.alarm.cancel()
                state.alarm_due, state.alarm = due, loop.call_at(due, ring, state)
        # An alarm left from an earlier deadline may wake this wait: the loop then waits again.
        waiter = state.waiter = loop.create_future()
        try:
            await waiter
        finally:
            state.waiter = None
    return True


def ring(state: _Waits) -> None:
    """The alarm of :func:`wait_for_events`: wake whatever waits now."""
    state.alarm = state.alarm_due = None
    waiter = state.waiter
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def silence(state: _Waits) -> None:
    """The connection ended: its alarm has nothing left to wake."""
    if state.alarm is not None:
        state.alarm.cancel()
        state.alarm = state.alarm_due = None


def encode_text(text: str) -> bytes:
    """A text message's UTF-8 bytes; ValueError for text that has none (lone surrogates, say
    from an environment variable that is not UTF-8)."""
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(f"the text is not valid UTF-8 ({exc.reason} at position {exc.start})") from None


def check_ping(data: bytes, waiting: Container[bytes]) -> None:
    """ValueError for a ping payload that cannot be sent: too long (RFC 6455 5.5), or still waiting for its pong."""
    if len(data) > 125:
        raise ValueError(f"a ping payload is at most 125 bytes (RFC 6455 5.5), this one is {len(data)}")
    if data in waiting:
        # The payload as the scenario wrote it (text), not as a bytes literal: the secrets' mask knows text.
        raise ValueError(
            f"a ping with payload {data.decode(errors='backslashreplace')!r} is still waiting for its pong"
        )


def check_pong(data: bytes) -> None:
    """ValueError for a pong payload too long for a control frame (RFC 6455 5.5)."""
    if len(data) > 125:
        raise ValueError(f"a pong payload is at most 125 bytes (RFC 6455 5.5), this one is {len(data)}")


def close_reason_bytes(reason: str) -> bytes:
    """A close reason as sent; ValueError past the 123 bytes a close frame holds (RFC 6455 5.5)."""
    encoded = reason.encode()
    if len(encoded) > 123:
        raise ValueError(f"a close reason is at most 123 bytes (RFC 6455 5.5), this one is {len(encoded)}")
    return encoded


def check_url(url: str) -> None:
    """UsageError unless ``url`` is a well-formed ws:// or wss:// URL (RFC 6455 section 3)."""
    if not url.startswith(("ws://", "wss://")):
        raise UsageError(f"{url!r} is not a WebSocket URL: it must start with ws:// or wss://")
    bad = unsafe_in_url(url)
    if bad is not None:
        raise UsageError(f"{url!r} is not a valid WebSocket URL: {bad}")
    try:
        parsed = parse_uri(url)
        if not parsed.host:
            raise ValueError("no host")
        parsed.host.encode("idna")
    except (InvalidURI, ValueError) as exc:  # UnicodeError (a bad host name) is a ValueError
        reason = exc.msg if isinstance(exc, InvalidURI) else str(exc)
        raise UsageError(f"{url!r} is not a valid WebSocket URL: {reason}") from None


def tls_context(tls: Tls | None, base: Path) -> ssl.SSLContext:
    """Build the TLS context for wss:// URLs; UsageError names an unreadable file."""
    tls = tls or Tls()
    files = {"ca_file": tls.ca_file, "cert_file": tls.cert_file, "key_file": tls.key_file}
    paths = {key: None if name is None else str(base / name) for key, name in files.items()}
    for key, path in paths.items():
        if path is not None and not Path(path).is_file():
            raise UsageError(f"tls.{key}: cannot read {path}: no such file")
    try:
        context = ssl.create_default_context(cafile=paths["ca_file"])
        if paths["cert_file"] is not None:
            context.load_cert_chain(paths["cert_file"], paths["key_file"])
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(f"tls: cannot load the certificates: {exc}") from None
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True)
class ConnectOptions:
    """Everything needed to open a connection, resolved from the scenario."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    subprotocols: list[str] = field(default_factory=list)
    compression: bool = True
    connect_timeout: float = 10.0
    close_timeout: float = 5.0
    max_message_size: int = 2**20
    ssl: ssl.SSLContext | None = None
    transport: TransportName = "websockets"
    #: Answer the server's pings on our own (RFC 6455 5.5.2), from the first frame on.
    answer_pings: bool = True


class Connection(Protocol):
    """An open WebSocket connection, seen as facts, actions and a stream of events."""

    #: Seconds from the start of the TCP connection to the end of the handshake.
    connecting: float
    status: int
    headers: dict[str, str]  # of the handshake response, names in lower case
    subprotocol: str | None

    @property
    def bytes_sent(self) -> int:
        """Bytes written on the wire so far: the handshake and every frame (after TLS: its plaintext)."""

    @property
    def bytes_received(self) -> int:
        """Bytes read from the wire so far, counted as bytes_sent."""

    @property
    def closed(self) -> bool:
        """True once a close frame was sent or the connection is lost: no more data can go out."""

    async def next_event(self) -> Event:
        """Wait for the next event; after :class:`Closed`, keep returning it."""

    async def next_event_before(self, due: float | None) -> Event | None:
        """Wait for the next event, or until ``due`` (event loop time), then return None."""

    async def send(self, data: str | bytes) -> None:
        """Send a text (str) or binary (bytes) message; Disconnected once the connection is closing."""

    async def ping(self, data: bytes | None = None) -> bytes:
        """Send a ping (``data``, or wsrun-1, wsrun-2, …) and return its payload; its pong arrives
        as a :class:`Pong` event with ``rtt`` set."""

    async def pong(self, data: bytes) -> None:
        """Send a pong (RFC 6455 5.5.3): a scenario's own answer to a ping, or an unsolicited one;
        ValueError past 125 bytes, Disconnected once the connection is closing."""

    def answer_pings(self, on: bool) -> None:
        """From now on, answer the server's pings on our own (the default) or not: a :class:`Ping`
        event comes either way."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send our close frame, without waiting: the end of the closing handshake comes as the
        :class:`Closed` event, within the close timeout (past it, the TCP connection is dropped)."""

    def oldest_unanswered_ping(self) -> float | None:
        """When (event loop time) the oldest ping still waiting for its pong was sent."""

    async def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake, and wait until it is gone."""


def missing_transport(name: str) -> str | None:
    """Why a transport cannot be used here (its library is not installed), or None."""
    import importlib.util

    if name not in TRANSPORTS:
        return None
    module, extra = TRANSPORTS[name]
    if importlib.util.find_spec(module) is None:
        return f"transport {name} is not installed: pip install 'wsrun[{extra}]'"
    return None


def translate_error(exc: BaseException, options: ConnectOptions) -> ConnectFailed:
    """One place where opening errors become wsrun's, with words for the report."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        body = bytes(response.body).decode("utf-8", errors="replace")
        return ConnectFailed(
            f"handshake failed: server answered HTTP {response.status_code} {response.reason_phrase}".rstrip(),
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.raw_items()},
            body=body,
        )
    if isinstance(exc, InvalidURI):
        return ConnectFailed(f"invalid URL {options.url!r}: {exc.msg}")
    if isinstance(exc, InvalidMessage) and isinstance(exc.__cause__, EOFError):
        return ConnectFailed("handshake failed: the server closed the connection without answering the upgrade request")
    if isinstance(exc, InvalidHandshake):
        return ConnectFailed(f"handshake failed: {exc}")
    if isinstance(exc, TimeoutError):
        return ConnectFailed(f"connect timed out after {options.connect_timeout:g}s")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectFailed(f"TLS certificate verification failed: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return ConnectFailed(f"TLS error: {exc.reason or exc}")
    if isinstance(exc, socket.gaierror):
        return ConnectFailed(f"cannot resolve the host of {options.url}: {exc.strerror}")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectFailed(f"connection refused by {options.url}")
    if isinstance(exc, ConnectionResetError):
        hint = " during the TLS handshake: is it a TLS server?" if options.url.startswith("wss://") else ""
        return ConnectFailed(f"connection reset by {options.url}{hint}")
    if isinstance(exc, OSError):
        return ConnectFailed(f"cannot connect to {options.url}: {exc.strerror or exc or type(exc).__name__}")
    if isinstance(exc, (ConnectionClosed, EOFError)):
        return ConnectFailed("handshake failed: the server closed the connection")
    if isinstance(exc, ValueError):  # urllib's verdict on the URL
        return ConnectFailed(f"invalid URL {options.url!r}: {exc}")
    return ConnectFailed(f"cannot connect: {exc}")  # pragma: no cover


async def open_connection(options: ConnectOptions) -> Connection:
    """Open a connection on the transport the options name and complete the handshake, or raise ConnectFailed.

    The transport's module is imported here, by name from :data:`OPENERS`: the interface owns the table,
    no transport imports another, and a run on one transport never imports the other's library.
    """
    module, opener = OPENERS[options.transport]
    open_on: Callable[[ConnectOptions], Awaitable[Connection]] = getattr(importlib.import_module(module), opener)
    return await open_on(options)
