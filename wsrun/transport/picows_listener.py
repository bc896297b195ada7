"""
What picows hands wsrun frame by frame, made into RFC 6455 as the websockets transport keeps it.

A :class:`Listener` receives picows' frames: it reassembles fragments (section
5.4) and fails the connection (section 7.1.7) with websockets' codes and reasons
on RSV bits (5.2), the order of continuation frames (5.4), the message size
(1009) and invalid UTF-8 in text (8.1, 1007); it answers pings so that the
session sees them (5.5.2; unless ``answer_pings`` is off) and close frames
(5.5.1); and it counts the bytes on the wire. :mod:`wsrun.transport.picows_connection` turns what it queues into a
:class:`~wsrun.transport.base.Connection`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any, NoReturn

from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSProtocolError,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
)

from . import deflate
from .base import (
    WRITE_BUFFER_HIGH,
    ConnectOptions,
    behind,
    caught_up,
    silence,
)
from .events import Message, Ping, Pong

__all__ = ["QUIET", "READ_BUFFER_START", "Listener", "Refused", "frame_size"]

#: The most one read may take (see _Reads).
READ_SIZE = 2**16
#: The read buffer a connection starts with (picows' default is 16 KiB): memory for thousands of held sessions.
READ_BUFFER_START = 2**12
#: websockets' limit: send() waits while more than this is buffered.
WRITE_LIMIT = 2**15

# picows logs every connection at INFO, protocol errors at ERROR and exceptions in
# our callbacks at WARNING, on children of the logger it is given; without a logging
# setup they reach stderr. wsrun reports what happened itself: a logger of our own,
# outside logging's registry, with every level off.
QUIET = logging.Logger("wsrun.picows", logging.CRITICAL + 1)


class Refused(Exception):
    """The server's answer cannot be accepted (raised in the listener factory, or by a redirect)."""


class _Failed(Exception):
    """We failed the connection: the close frame is sent, the frame's handling ends here."""


def frame_size(payload: int, *, masked: bool = True) -> int:
    """Bytes of a frame on the wire (RFC 6455 5.2): picows rejects non-minimal lengths, so this is exact."""
    return payload + (2 if payload < 126 else 4 if payload < 2**16 else 10) + (4 if masked else 0)


def _request_size(request: WSUpgradeRequest) -> int:
    """The upgrade request as picows wrote it (WSTransport._send_http_handshake), which it does not count."""
    lines = "\r\n".join(f"{name}: {value}" for name, value in request.headers.items()).encode()
    return len(b"%b %b %b\r\n%b\r\n\r\n" % (request.method, request.path, request.version, lines))


def _response_size(response: WSUpgradeResponse) -> int:
    """The 101 as the server most likely wrote it: picows keeps no raw bytes of a successful answer.

    Exact for the standard reason phrase and ``Name: value`` lines (websockets, aiohttp, most servers).
    """
    head = b"%b %d %b\r\n" % (response.version, response.status.value, response.status.phrase.encode())
    return len(head) + sum(len(f"{name}: {value}\r\n".encode()) for name, value in response.headers.items()) + 2


def _too_big(size: int | None, read: int | None, limit: int) -> str:
    """websockets' words for a message over max_message_size."""
    with_size = f"with {size} bytes " if size is not None else ""
    after = f"after reading {read} bytes " if read is not None else ""
    return f"frame {with_size}{after}exceeds limit of {limit} bytes"


class Listener(WSListener):
    """One connection's frames in, plain events out in arrival order, and what picows leaves to its user."""

    __slots__ = (
        "aborted",
        "alarm",
        "alarm_due",
        "answer_pings",
        "bytes_received",
        "bytes_sent",
        "close_sent",
        "close_timeout",
        "close_timer",
        "closing_by_us",
        "compressed",
        "deflate",
        "events",
        "failed",
        "gone",
        "loop",
        "max_size",
        "parts",
        "pings",
        "queued_bytes",
        "reading_paused",
        "received_close",
        "subprotocol",
        "text",
        "transport",
        "waiter",
        "write_ready",
    )

    def __init__(
        self,
        request: WSUpgradeRequest,
        response: WSUpgradeResponse,
        options: ConnectOptions,
        agreement: deflate.Agreement | None,
        subprotocol: str | None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: WSTransport | None = None  # set by on_ws_connected, before any frame
        self.subprotocol = subprotocol
        self.deflate = None if agreement is None else deflate.Deflate(agreement)
        self.max_size = options.max_message_size
        self.close_timeout = options.close_timeout
        # One FIFO of everything that happened; None marks the end of the connection.
        self.events: deque[Message | Ping | Pong | None] = deque()
        self.queued_bytes = 0
        self.waiter: asyncio.Future[None] | None = None
        self.alarm: asyncio.TimerHandle | None = None
        self.alarm_due: float | None = None
        self.reading_paused = False
        self.pings: dict[bytes, float] = {}
        #: Answer the server's pings on our own (RFC 6455 5.5.2); off to test a server's heartbeat timeout.
        self.answer_pings = options.answer_pings
        self.bytes_sent = _request_size(request)
        self.bytes_received = _response_size(response)
        # The message being reassembled: its data so far (a bytearray, not a list of fragments: empty
        # fragments cost nothing, and memory is the message's size), text or binary, compressed or not.
        self.parts: bytearray | None = None
        self.text = self.compressed = False
        # Closing. picows records close frames in transport.close_handshake, except the empty one we may echo.
        self.close_sent: tuple[int, str] | None = None
        self.received_close = False
        self.closing_by_us = False
        self.aborted = False
        self.failed = False
        self.close_timer: asyncio.TimerHandle | None = None
        self.write_ready: asyncio.Future[None] | None = None
        self.gone: asyncio.Future[None] = self.loop.create_future()

    # -- the queue

    def put(self, event: Message | Ping | Pong | None) -> None:
        self.events.append(event)
        if isinstance(event, Message):
            self.queued_bytes += len(event.data)
        if behind(len(self.events), self.queued_bytes):
            self.pause_reading()  # the session is behind: memory stays bounded
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def taken(self, event: Message | Ping | Pong | None) -> None:
        """An event was taken from the queue: read again once the session has caught up."""
        if isinstance(event, Message):
            self.queued_bytes -= len(event.data)
        transport = self.transport
        if (
            self.reading_paused
            and transport is not None
            and caught_up(len(self.events), self.queued_bytes, transport.underlying_transport.get_write_buffer_size())
        ):
            self.reading_paused = False
            if not transport.is_disconnected:
                transport.underlying_transport.resume_reading()

    def pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.transport.is_disconnected:
            self.reading_paused = True
            self.transport.underlying_transport.pause_reading()

    # -- picows callbacks

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        tcp = transport.underlying_transport
        # websockets' write limit, so that send() waits at the same point.
        tcp.set_write_buffer_limits(WRITE_LIMIT)
        tcp.set_protocol(_Reads(tcp.get_protocol()))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        # The frame is a view of picows' read buffer, reused once this returns: copy what is kept.
        self.bytes_received += frame_size(frame.payload_size, masked=False)
        if self.failed or self.received_close:
            # After we failed the connection, or after the server's close frame, nothing
            # more is read (RFC 6455 5.5.1, 7.1.7); picows still hands over its buffer.
            return
        kind = frame.msg_type
        if (
            frame.fin
            and (kind == WSMsgType.TEXT or kind == WSMsgType.BINARY)
            and self.parts is None
            and not (frame.rsv1 or frame.rsv2 or frame.rsv3)
            and frame.payload_size <= self.max_size
        ):
            # The usual frame, a whole uncompressed message, which none of frame()'s checks fails: straight on.
            try:
                self.message(frame.get_payload_as_bytes(), kind == WSMsgType.TEXT)
            except _Failed:
                pass
            return
        try:
            self.frame(transport, frame)
        except _Failed:
            pass

    def frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.check_reserved_bits(frame)
        kind = frame.msg_type
        if kind == WSMsgType.PING:
            data = frame.get_payload_as_bytes()
            if self.answer_pings and not self.closed:
                transport.send_pong(data)
                self.bytes_sent += frame_size(len(data))
            self.put(Ping(data))
            if transport.underlying_transport.get_write_buffer_size() > WRITE_BUFFER_HIGH:
                # The server pings but does not read our pongs: stop reading its pings until it reads.
                self.pause_reading()
        elif kind == WSMsgType.PONG:
            data = frame.get_payload_as_bytes()
            sent = self.pings.get(data)
            if sent is not None:
                # A pong answers its ping and every earlier one (RFC 6455 5.5.3 allows
                # answering only the most recent), as websockets itself assumes.
                for earlier in list(self.pings):
                    del self.pings[earlier]
                    if earlier == data:
                        break
            self.put(Pong(data, None if sent is None else time.perf_counter() - sent))
        elif kind == WSMsgType.CLOSE:
            self.answer_close(transport, frame)
        else:
            self.data_frame(frame)

    def check_reserved_bits(self, frame: WSFrame) -> None:
        """RSV1 only on the first frame of a compressed message (RFC 7692 6), RSV2 and RSV3 never (RFC 6455 5.2)."""
        if frame.rsv1 and frame.msg_type == WSMsgType.CONTINUATION and self.parts is not None and self.compressed:
            self.fail(WSCloseCode.PROTOCOL_ERROR, "RSV1 bit set in continuation frame")
        starts = frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY)
        if frame.rsv2 or frame.rsv3 or (frame.rsv1 and (self.deflate is None or not starts)):
            self.fail(WSCloseCode.PROTOCOL_ERROR, "reserved bits must be 0")

    def answer_close(self, transport: WSTransport, frame: WSFrame) -> None:
        """picows checked the close frame and recorded it, but does not answer it: RFC 6455 5.5.1 says we must."""
        self.received_close = True
        if self.parts is not None:
            self.fail(WSCloseCode.PROTOCOL_ERROR, "incomplete fragmented message")
        if not self.closed:
            payload = frame.get_payload_as_bytes()
            if payload:  # echo the code and reason, as websockets does
                transport.send_close(frame.get_close_code(), payload[2:])
                self.close_sent = (frame.get_close_code().value, payload[2:].decode())
            else:  # send_close() cannot send an empty close frame: its default puts code 0 on the wire
                transport.send(WSMsgType.CLOSE, b"")
                self.close_sent = (1005, "")
            self.bytes_sent += frame_size(len(payload))
        self.bound_closing()  # the server closes TCP now (RFC 6455 7.1.1), or close_timeout does

    def data_frame(self, frame: WSFrame) -> None:
        """Reassemble a message (RFC 6455 5.4), decompress it (RFC 7692), check its size and its UTF-8."""
        first = frame.msg_type != WSMsgType.CONTINUATION
        if first and self.parts is not None:
            self.fail(WSCloseCode.PROTOCOL_ERROR, "expected a continuation frame")
        if self.parts is None:
            if not first:
                self.fail(WSCloseCode.PROTOCOL_ERROR, "unexpected continuation frame")
            if frame.fin and not frame.rsv1:  # the usual case: a whole message in one frame
                # A second guard: with a small read buffer, picows was seen to let an oversized frame through.
                if frame.payload_size > self.max_size:
                    self.fail(WSCloseCode.MESSAGE_TOO_BIG, _too_big(frame.payload_size, None, self.max_size))
                self.message(frame.get_payload_as_bytes(), frame.msg_type == WSMsgType.TEXT)
                return
            self.parts = bytearray()
            self.text, self.compressed = frame.msg_type == WSMsgType.TEXT, bool(frame.rsv1)
        # Any number of fragments (as websockets' protocol, and picows): the message's size is what is bounded.
        # picows checked each frame against max_frame_size = max_message_size; the message is checked here.
        size = len(self.parts)
        read = None if first else size
        payload = frame.get_payload_as_bytes()
        if size + len(payload) > self.max_size:
            self.fail(WSCloseCode.MESSAGE_TOO_BIG, _too_big(len(payload), read, self.max_size))
        if self.compressed:
            assert self.deflate is not None
            try:
                payload = self.deflate.decompress(payload, first=first, fin=frame.fin, limit=self.max_size - size)
            except deflate.TooBig:
                self.fail(WSCloseCode.MESSAGE_TOO_BIG, _too_big(None, read, self.max_size))
            except deflate.DecompressionFailed as exc:
                self.fail(WSCloseCode.PROTOCOL_ERROR, str(exc))
        self.parts += payload
        if frame.fin:
            data, self.parts = self.parts, None
            self.message(data, self.text)

    def message(self, payload: bytes | bytearray, text: bool) -> None:
        if not text:
            self.put(Message(bytes(payload)))
            return
        try:
            data = str(payload, "utf-8")
        except UnicodeDecodeError as exc:
            self.fail(WSCloseCode.INVALID_TEXT, f"{exc.reason} at position {exc.start}")
        self.put(Message(data))

    def fail(self, code: WSCloseCode, reason: str) -> NoReturn:
        """Fail the connection (RFC 6455 7.1.7) as websockets does: send the close frame, then wait
        for the server to close TCP, within close_timeout. (Raising WSProtocolError would make
        picows close TCP 10 ms later, as it does for the protocol errors its parser finds.)"""
        self.failed = True
        if not self.closed:  # else the closing handshake is under way already, and keeps its close frame
            assert self.transport is not None
            self.transport.send_close(code, reason)
            self.close_sent = (code.value, reason)
            self.bytes_sent += frame_size(2 + len(reason.encode()))
        self.bound_closing()
        raise _Failed

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
        silence(self)
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)
        self.put(None)
        self.gone.set_result(None)
        self.loop.call_soon(_retrieve, transport)

    def pause_writing(self) -> None:  # picows' own only logs a warning
        if self.write_ready is None or self.write_ready.done():
            self.write_ready = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)
        self.taken(None)  # reading may have paused for our pongs

    # -- closing

    @property
    def closed(self) -> bool:
        """A close frame went out (ours, picows', or our empty echo), or TCP is gone: nothing more can be sent."""
        transport = self.transport
        return (
            self.close_sent is not None
            or transport is None
            or transport.is_close_frame_sent
            or transport.is_disconnected
        )

    def bound_closing(self) -> None:
        """Once a close frame went either way, TCP must end within close_timeout (RFC 6455 7.1.1).

        picows bounds neither the closing handshake it did not start nor the one we start.
        """
        if self.close_timer is None and self.transport is not None:
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.disconnect, False)


class _Reads(asyncio.BufferedProtocol):
    """picows' protocol, given at most READ_SIZE bytes of its read buffer at a time.

    picows doubles its read buffer whenever one read fills more than 90 % of it, and
    never shrinks it: under a flood each read fills all it is offered, and the buffer
    grows to what the kernel holds (8 MiB seen), for the rest of the connection. With
    smaller reads it grows only to fit the largest frame, as it is meant to.
    """

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def get_buffer(self, sizehint: int) -> memoryview:
        buffer: memoryview = self.protocol.get_buffer(sizehint)
        return buffer[:READ_SIZE]

    def buffer_updated(self, nbytes: int) -> None:
        self.protocol.buffer_updated(nbytes)

    def eof_received(self) -> bool | None:
        return bool(self.protocol.eof_received())

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        self.protocol.pause_writing()

    def resume_writing(self) -> None:
        self.protocol.resume_writing()


def _retrieve(transport: WSTransport) -> None:
    """Take the exception picows keeps for wait_disconnected(), so that asyncio does not log it as never retrieved.

    picows sets it just after on_ws_disconnected when it failed the connection on a
    protocol error its parser found; the facts are in close_handshake already. The
    future is done by now, so one step of the coroutine finishes it, with no task. An
    exception other than a protocol error is a bug in the listener: the loop reports it.
    """
    step = transport.wait_disconnected()
    try:
        step.send(None)
    except StopIteration:
        return
    except WSProtocolError:
        return
    step.close()  # pragma: no cover - the future is always done after connection_lost
