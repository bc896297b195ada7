"""
The connection boundary: what the engine sees of a connection, and its websockets implementation.

A :class:`Connection` opens a client connection (RFC 6455 section 4), turns
what happens on it into plain events (:mod:`wsrun.events`) in arrival order,
and translates the library's exceptions into :class:`~wsrun.errors.ConnectFailed`
once. Two transports implement it: websockets here (the default and the
reference: its behaviour defines the semantics), and picows in
:mod:`wsrun.picows_connection`, chosen with ``transport: picows``.

Seeing incoming ping and pong frames in their place among messages needs a
hook that is not public API in websockets: :class:`_Hooked` overrides
``process_event`` (and reassembles messages itself), ``data_received``,
``send_data``, ``resume_writing`` and ``connection_lost`` of
``websockets.asyncio.client.ClientConnection``. They are tested against the
pinned range of websockets in ``pyproject.toml``.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import time
from collections import deque
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import CLOSE_CODE_EXPLANATIONS, DATA_OPCODES, CloseCode, Frame, Opcode
from websockets.protocol import Event as ProtocolEvent
from websockets.protocol import State
from websockets.uri import parse_uri

from .errors import ConnectFailed, Disconnected, UsageError
from .events import Closed, Event, Message, Ping, Pong
from .model import Tls, TransportName

#: Bounds of what a connection keeps for its session: events waiting (messages, pings, pongs)…
QUEUE_HIGH, QUEUE_LOW = 4096, 1024
#: … and the bytes of the messages among them.
QUEUED_BYTES_HIGH = 2**20
#: Stop reading when this much of our output (pongs) waits for the server to read it.
WRITE_BUFFER_HIGH = 2**20

__all__ = [
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
        return Closed(sent[0], sent[1], "client", f"connection failed with {describe_close(*sent)}", handshake)
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
        return Closed(received[0], received[1], "server", f"connection failed with {describe_close(*sent)}", handshake)
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
    waiter: asyncio.Future[None] | None  # resolved (by wake) when they do


async def wait_for_events(state: _Waits, loop: asyncio.AbstractEventLoop, due: float | None) -> bool:
    """Wait until ``state.events`` holds one (True), or until ``due`` (loop time; False).

    The deadline wakes the waiter instead of cancelling the task: sessions wait
    like this for every timer.
    """
    while not state.events:
        if due is not None and loop.time() >= due:
            return False
        waiter = state.waiter = loop.create_future()
        timer = None if due is None else loop.call_at(due, wake, waiter)
        try:
            await waiter
        finally:
            state.waiter = None
            if timer is not None:
                timer.cancel()
    return True


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


def close_reason_bytes(reason: str) -> bytes:
    """A close reason as sent; ValueError past the 123 bytes a close frame holds (RFC 6455 5.5)."""
    encoded = reason.encode()
    if len(encoded) > 123:
        raise ValueError(f"a close reason is at most 123 bytes (RFC 6455 5.5), this one is {len(encoded)}")
    return encoded


def wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def check_url(url: str) -> None:
    """UsageError unless ``url`` is a well-formed ws:// or wss:// URL (RFC 6455 section 3)."""
    if not url.startswith(("ws://", "wss://")):
        raise UsageError(f"{url!r} is not a WebSocket URL: it must start with ws:// or wss://")
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

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake and wait for it, bounded by the close timeout."""

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


class _State:
    """What the hook keeps per connection."""

    __slots__ = (
        "aborted",
        "bytes_received",
        "bytes_sent",
        "close_timer",
        "closing_by_us",
        "events",
        "failed",
        "parts",
        "pings",
        "queued_bytes",
        "reading_paused",
        "text",
        "waiter",
    )

    def __init__(self) -> None:
        # One FIFO of everything that happened, so that pings and pongs keep
        # their place among data messages; None marks the end of the connection.
        self.events: deque[Message | Ping | Pong | None] = deque()
        self.queued_bytes = 0
        self.waiter: asyncio.Future[None] | None = None
        self.pings: dict[bytes, float] = {}
        self.bytes_received = 0
        self.bytes_sent = 0
        # The message being reassembled: its data so far, and whether it is text.
        self.parts: bytearray | None = None
        self.text = False
        self.failed = False
        self.closing_by_us = False
        self.aborted = False
        self.close_timer: asyncio.TimerHandle | None = None
        self.reading_paused = False


class _Hooked(ClientConnection):
    """ClientConnection that reports every frame, in order, reassembles messages itself, and counts bytes on the wire.

    Messages are reassembled here (RFC 6455 5.4), not in websockets' Assembler:
    the Assembler stops reading once ``max_queue`` frames wait, and a session
    waiting for the final frame of a message in more fragments than that would
    wait for ever; it also refuses 4,096 fragments or more. Here a message may
    have any number of fragments: its size is bounded by ``max_message_size``
    (the protocol checks it over the fragments), and what waits for the session
    by :func:`behind`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # wsrun's own state in one slotted object: added one by one, these
        # attributes would grow the connection's __dict__ by 1.5 KB a session.
        self.wsrun = _State()

    def _wsrun_put(self, event: Message | Ping | Pong | None) -> None:
        state = self.wsrun
        state.events.append(event)
        if isinstance(event, Message):
            state.queued_bytes += len(event.data)
        if behind(len(state.events), state.queued_bytes) and self.transport.is_reading():
            state.reading_paused = True
            self.transport.pause_reading()
        if state.waiter is not None and not state.waiter.done():
            state.waiter.set_result(None)

    def wsrun_taken(self, event: Message | Ping | Pong | None) -> None:
        """An event was taken from the queue: read again once the session has caught up."""
        state = self.wsrun
        if isinstance(event, Message):
            state.queued_bytes -= len(event.data)
        if state.reading_paused and caught_up(
            len(state.events), state.queued_bytes, self.transport.get_write_buffer_size()
        ):
            state.reading_paused = False
            if not self.connection_lost_waiter.done():
                self.transport.resume_reading()

    def process_event(self, event: ProtocolEvent) -> None:
        if not isinstance(event, Frame) or self.response is None:
            super().process_event(event)  # the handshake response
            return
        if self.wsrun.failed:  # frames parsed in the same read as the one we failed on (RFC 6455 7.1.7)
            return
        if event.opcode in DATA_OPCODES:
            self._wsrun_data(event)  # not to websockets' Assembler: see the class docstring
            return
        super().process_event(event)
        if event.opcode is Opcode.CLOSE:
            self._wsrun_bound_closing()
        elif event.opcode is Opcode.PING:
            self._wsrun_put(Ping(bytes(event.data)))
        elif event.opcode is Opcode.PONG:
            data = bytes(event.data)
            sent = self.wsrun.pings.get(data)
            if sent is not None:
                # A pong answers its ping and every earlier one (RFC 6455 5.5.3 allows
                # answering only the most recent), as websockets itself assumes.
                for earlier in list(self.wsrun.pings):
                    del self.wsrun.pings[earlier]
                    if earlier == data:
                        break
            self._wsrun_put(Pong(data, None if sent is None else time.perf_counter() - sent))

    def _wsrun_data(self, frame: Frame) -> None:
        """A data frame, already checked by the protocol (order of fragments, size, decompression): one
        more piece of the message, or all of it (RFC 6455 5.4)."""
        state = self.wsrun
        if state.parts is None:
            if frame.fin:  # the usual case: a whole message in one frame
                self._wsrun_message(frame.data, frame.opcode is Opcode.TEXT)
                return
            state.parts, state.text = bytearray(), frame.opcode is Opcode.TEXT
        # A bytearray, not a list of fragments: empty fragments cost nothing, and memory is the message's size.
        state.parts += frame.data
        if frame.fin:
            data, state.parts = state.parts, None
            self._wsrun_message(data, state.text)

    def _wsrun_message(self, data: bytes | bytearray | memoryview, text: bool) -> None:
        if not text:
            self._wsrun_put(Message(bytes(data)))
            return
        try:
            decoded = str(data, "utf-8")
        except UnicodeDecodeError as exc:  # as websockets' recv() does (RFC 6455 8.1)
            self.wsrun.failed = True
            self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            self.send_data()
            return
        self._wsrun_put(Message(decoded))

    def _wsrun_bound_closing(self) -> None:
        """Once a close frame went either way, the TCP connection must end within close_timeout.

        websockets bounds this only when close() started the closing handshake; when
        the server started it, or when the library failed the connection (1007, 1009),
        it would wait forever for a server that never closes TCP (RFC 6455 7.1.1).
        """
        if self.wsrun.close_timer is None and self.close_timeout is not None:
            self.wsrun.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)

    def data_received(self, data: bytes) -> None:
        self.wsrun.bytes_received += len(data)
        super().data_received(data)
        if self.transport.get_write_buffer_size() > WRITE_BUFFER_HIGH and self.transport.is_reading():
            # The server pings but does not read our pongs: stop reading its pings
            # until it reads, rather than buffer pongs without end.
            self.wsrun.reading_paused = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.wsrun_taken(None)  # reading may have paused for our pongs

    def send_data(self) -> None:
        self.wsrun.bytes_sent += sum(len(chunk) for chunk in self.protocol.writes)
        super().send_data()
        if self.protocol.close_sent is not None:
            self._wsrun_bound_closing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.wsrun.close_timer is not None:
            self.wsrun.close_timer.cancel()
        self.wsrun.parts = None  # a message the connection ended in the middle of
        super().connection_lost(exc)
        self._wsrun_put(None)


class WebsocketsConnection:
    """A :class:`Connection` on websockets."""

    def __init__(self, ws: _Hooked, connecting: float) -> None:
        self._ws = ws
        self._ping_ids = itertools.count(1)  # wsrun-1, wsrun-2, ...
        #: Seconds from the start of the TCP connection to the end of the handshake.
        self.connecting = connecting
        assert ws.response is not None
        self.status = ws.response.status_code
        self.headers = {name.lower(): value for name, value in ws.response.headers.raw_items()}
        self.subprotocol: str | None = ws.subprotocol
        self._closed_event: Closed | None = None

    @property
    def bytes_sent(self) -> int:
        return self._ws.wsrun.bytes_sent

    @property
    def bytes_received(self) -> int:
        return self._ws.wsrun.bytes_received

    @property
    def closed(self) -> bool:
        """True once a close frame was sent or the connection is lost: no more data can go out."""
        return self._ws.protocol.close_sent is not None or self._ws.connection_lost_waiter.done()

    async def next_event(self) -> Event:
        """Wait for the next event; after :class:`Closed`, keep returning it."""
        event = await self.next_event_before(None)
        assert event is not None
        return event

    async def next_event_before(self, due: float | None) -> Event | None:
        """Wait for the next event, or until ``due`` (event loop time), then return None.

        After :class:`Closed`, keep returning it.
        """
        ws = self._ws
        if not ws.wsrun.events and self._closed_event is not None:
            return self._closed_event
        if not await wait_for_events(ws.wsrun, ws.loop, due):
            return None
        event = ws.wsrun.events.popleft()
        ws.wsrun_taken(event)
        if event is None:
            self._closed_event = self._close_facts()
            return self._closed_event
        return event

    def _close_facts(self) -> Closed:
        ws = self._ws
        protocol = ws.protocol
        received, sent = protocol.close_rcvd, protocol.close_sent
        return close_facts(
            None if received is None else (received.code, received.reason),
            None if sent is None else (sent.code, sent.reason),
            received is not None and protocol.close_rcvd_then_sent is not False,
            aborted=ws.wsrun.aborted,
            closing_by_us=ws.wsrun.closing_by_us,
        )

    async def send(self, data: str | bytes) -> None:
        """Send a data message; Disconnected if the connection is closed."""
        if isinstance(data, str):
            encode_text(data)
        try:
            await self._ws.send(data)
        except ConnectionClosed:
            raise Disconnected("the connection is closed") from None

    async def ping(self, data: bytes | None = None) -> bytes:
        """Send a ping; its pong arrives as a :class:`Pong` event with ``rtt`` set."""
        if data is None:
            data = b"wsrun-%d" % next(self._ping_ids)
        check_ping(data, self._ws.wsrun.pings)
        ws = self._ws
        if ws.protocol.state is not State.OPEN:
            raise Disconnected("the connection is closed")
        # Straight to the protocol, past ClientConnection.ping(): our own table
        # times the pong (the library then sees it as unsolicited and ignores
        # it), and a ping is too small to need flow control. Held sessions ping
        # all the time; this halves what a ping costs.
        # perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds.
        ws.wsrun.pings[data] = time.perf_counter()
        ws.protocol.send_ping(data)
        ws.send_data()
        return data

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake and wait for it, bounded by the close timeout."""
        close_reason_bytes(reason)
        self._ws.wsrun.closing_by_us = True
        await self._ws.close(code, reason)

    def oldest_unanswered_ping(self) -> float | None:
        """When (event loop time) the oldest ping still waiting for its pong was sent."""
        sent = next(iter(self._ws.wsrun.pings.values()), None)
        return None if sent is None else self._ws.loop.time() - (time.perf_counter() - sent)

    async def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake, and wait until it is gone."""
        ws = self._ws
        if ws.connection_lost_waiter.done():
            return
        ws.wsrun.aborted = True
        ws.transport.abort()  # the socket is closed on the next turn of the event loop
        await asyncio.shield(ws.connection_lost_waiter)


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
    """Open a connection on the transport the options name and complete the handshake, or raise ConnectFailed."""
    if options.transport == "picows":
        from .picows_opening import open_picows

        return await open_picows(options)
    return await _open_websockets(options)


async def _open_websockets(options: ConnectOptions) -> WebsocketsConnection:
    secure = options.url.startswith("wss://")
    started = time.perf_counter()
    tls: dict[str, Any] = {"ssl": options.ssl or True} if secure else {}
    try:
        ws = await connect(
            options.url,
            additional_headers=options.headers or None,
            subprotocols=options.subprotocols or None,  # type: ignore[arg-type]
            compression="deflate" if options.compression else None,
            proxy=None,  # connect directly: a system proxy must not reroute a test
            open_timeout=options.connect_timeout,
            ping_interval=None,  # the scenario decides when to ping
            ping_timeout=None,
            close_timeout=options.close_timeout,
            max_size=options.max_message_size,
            create_connection=_Hooked,
            **tls,
        )
    except Exception as exc:  # every failure to open is translated, once, here
        raise translate_error(exc, options) from exc
    assert isinstance(ws, _Hooked)
    return WebsocketsConnection(ws, time.perf_counter() - started)
