"""
The websockets transport: a :class:`~wsrun.transport.base.Connection` on websockets' asyncio client,
the default and the reference (its behaviour defines the semantics).

Seeing incoming ping and pong frames in their place among messages needs a
hook that is not public API in websockets: :class:`_Hooked` overrides
``process_event`` (and reassembles messages itself), ``data_received``,
``send_data``, ``resume_writing`` and ``connection_lost`` of
``websockets.asyncio.client.ClientConnection``. Not answering the server's
pings (``answer_pings: false``) needs another: the sans-I/O protocol answers
them inside ``recv_frame``, so the connection's protocol is switched to
:class:`_Unanswering`, whose ``recv_frame`` does not. They are tested against
the pinned range of websockets in ``pyproject.toml``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import DATA_OPCODES, CloseCode, Frame, Opcode
from websockets.protocol import Event as ProtocolEvent
from websockets.protocol import State

from ..errors import Disconnected
from .base import (
    WRITE_BUFFER_HIGH,
    ConnectOptions,
    behind,
    caught_up,
    check_ping,
    check_pong,
    close_facts,
    close_reason_bytes,
    encode_text,
    silence,
    translate_error,
    wait_for_events,
)
from .events import Closed, Event, Message, Ping, Pong


class _Unanswering(ClientProtocol):
    """websockets' client protocol, but for the pong it sends on its own to each ping (RFC 6455 5.5.2).

    A connection's protocol is switched to this class, and back, by
    :meth:`WebsocketsConnection.answer_pings`: ``answer_pings: false`` lets a
    scenario test a server's heartbeat timeout, which a client that always
    answers never reaches. Switching the class keeps the cost of every other
    frame, and of connections that answer, unchanged.
    """

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING:
            self.events.append(frame)  # all that ClientProtocol.recv_frame does with a ping, but its pong
            return
        super().recv_frame(frame)


class _State:
    """What the hook keeps per connection."""

    __slots__ = (
        "aborted",
        "alarm",
        "alarm_due",
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
        self.alarm: asyncio.TimerHandle | None = None
        self.alarm_due: float | None = None
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
        if not self.answers_pings:  # from the first frame, which may come in the same read as the 101
            self.protocol.__class__ = _Unanswering

    #: Whether the server's pings are answered from the start (see _Unanswering).
    answers_pings = True

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
        self.wsrun.bytes_sent += sum(map(len, self.protocol.writes))
        super().send_data()
        if self.protocol.close_sent is not None:
            self._wsrun_bound_closing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.wsrun.close_timer is not None:
            self.wsrun.close_timer.cancel()
        silence(self.wsrun)
        self.wsrun.parts = None  # a message the connection ended in the middle of
        super().connection_lost(exc)
        self._wsrun_put(None)


class _HookedUnanswering(_Hooked):
    """A connection that does not answer the server's pings from the start (``answer_pings: false``)."""

    answers_pings = False


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
        payload = encode_text(data) if isinstance(data, str) else data
        ws = self._ws
        if ws.protocol.state is not State.OPEN or ws.transport.is_closing():
            try:  # websockets' send() waits for the closing handshake to end, then raises
                await ws.send(data)
            except ConnectionClosed:
                raise Disconnected("the connection is closed") from None
            return
        # Straight to the protocol, past ClientConnection.send() and its context manager, as ping() does,
        # with what send() does on an open connection: the frame, the write, and flow control. wsrun never
        # sends a fragmented message, for which send() would wait. A third of what a message cost.
        if isinstance(data, str):
            ws.protocol.send_text(payload)
        else:
            ws.protocol.send_binary(payload)
        try:
            ws.send_data()
        except Exception as exc:  # as send() does: the connection is lost
            ws.set_connection_exc(exc)
            ws.transport.abort()
            await asyncio.shield(ws.connection_lost_waiter)
            raise Disconnected("the connection is closed") from None
        if ws.paused:
            await ws.drain()  # the server reads slower than we send: wait, as send() does

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

    async def pong(self, data: bytes) -> None:
        """Send a pong: a scenario's own answer to a ping, or an unsolicited one."""
        check_pong(data)
        ws = self._ws
        if ws.protocol.state is not State.OPEN:
            raise Disconnected("the connection is closed")
        ws.protocol.send_pong(data)
        ws.send_data()

    def answer_pings(self, on: bool) -> None:
        """From now on, answer the server's pings on our own (websockets' protocol does) or not."""
        self._ws.protocol.__class__ = ClientProtocol if on else _Unanswering

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send our close frame; the end of the closing handshake comes as the :class:`Closed` event,
        within the close timeout (past it, the TCP connection is dropped)."""
        close_reason_bytes(reason)
        ws = self._ws
        if ws.protocol.state is not State.OPEN:
            raise Disconnected("the connection is closed")
        ws.wsrun.closing_by_us = True
        # Straight to the protocol, past ClientConnection.close(), which would wait for the whole
        # closing handshake: what arrives meanwhile must reach the session when it arrives.
        ws.protocol.send_close(code, reason)
        ws.send_data()  # which also bounds the closing handshake (_wsrun_bound_closing)

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


async def open_websockets(options: ConnectOptions) -> WebsocketsConnection:
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
            create_connection=_Hooked if options.answer_pings else _HookedUnanswering,
            **tls,
        )
    except Exception as exc:  # every failure to open is translated, once, here
        raise translate_error(exc, options) from exc
    assert isinstance(ws, _Hooked)
    return WebsocketsConnection(ws, time.perf_counter() - started)
