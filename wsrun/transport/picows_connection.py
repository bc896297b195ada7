"""
The connection boundary on picows: a :class:`~wsrun.transport.base.Connection` that behaves as the websockets one.

picows parses and writes frames and leaves most of RFC 6455 to its user. The
websockets transport (:mod:`wsrun.transport.websockets_connection`) defines what a connection does;
this module adds what picows leaves out, so that a scenario sees the same events,
close facts and errors on both:

- the opening handshake (section 4.1, in :mod:`wsrun.transport.picows_opening`): the URL read, and the ``Host`` and
  ``Authorization`` headers built, with websockets' own functions; the
  subprotocol and the extensions of the answer checked (sections 4.1, 9.1);
  permessage-deflate (RFC 7692, in :mod:`wsrun.transport.deflate`); redirects followed as
  websockets follows them; ``connect_timeout`` over DNS, TCP, TLS and the 101
  without leaking the socket (cancelling picows' ``ws_connect`` would);
- data frames: fragments reassembled (section 5.4) and the connection failed
  (section 7.1.7) with websockets' codes and reasons on RSV bits (5.2), the
  order of continuation frames (5.4), the message size (1009) and invalid UTF-8
  in text (8.1, 1007);
- control frames: pings answered by us, so that the session sees them (5.5.2), or
  left unanswered when the scenario says so (``answer_pings: false``);
  a close frame answered (5.5.1), and the closing handshake bounded by
  ``close_timeout`` whoever started it (7.1.1);
- flow control when sending and when reading, and the bytes on the wire counted.

Opening errors are translated once, in :mod:`wsrun.transport.picows_opening`, into
:class:`~wsrun.errors.ConnectFailed` with the websockets transport's words. Only
picows' public API is used.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from picows import (
    WSCloseCode,
    WSMsgType,
    WSTransport,
)

from ..errors import Disconnected
from .base import (
    check_ping,
    check_pong,
    close_facts,
    close_reason_bytes,
    encode_text,
    wait_for_events,
)
from .events import Closed, Event
from .picows_listener import Listener, frame_size

__all__ = ["PicowsConnection"]


class PicowsConnection:
    """A :class:`~wsrun.transport.base.Connection` on picows."""

    def __init__(self, transport: WSTransport, listener: Listener, connecting: float) -> None:
        self._transport = transport
        self._listener = listener
        self._ping_ids = itertools.count(1)  # wsrun-1, wsrun-2, ...
        #: Seconds from the start of the TCP connection to the end of the handshake.
        self.connecting = connecting
        self.status = int(transport.response.status)
        self.headers = {name.lower(): value for name, value in transport.response.headers.items()}
        self.subprotocol = listener.subprotocol
        self._closed_event: Closed | None = None

    @property
    def bytes_sent(self) -> int:
        return self._listener.bytes_sent

    @property
    def bytes_received(self) -> int:
        return self._listener.bytes_received

    @property
    def closed(self) -> bool:
        """True once a close frame was sent or the connection is lost: no more data can go out."""
        return self._listener.closed

    async def next_event(self) -> Event:
        """Wait for the next event; after :class:`Closed`, keep returning it."""
        event = await self.next_event_before(None)
        assert event is not None
        return event

    async def next_event_before(self, due: float | None) -> Event | None:
        """Wait for the next event, or until ``due`` (event loop time), then return None.

        After :class:`Closed`, keep returning it.
        """
        listener = self._listener
        if not listener.events and self._closed_event is not None:
            return self._closed_event
        if not await wait_for_events(listener, listener.loop, due):
            return None
        event = listener.events.popleft()
        listener.taken(event)
        if event is None:
            self._closed_event = self._close_facts()
            return self._closed_event
        return event

    def _close_facts(self) -> Closed:
        listener, handshake = self._listener, self._transport.close_handshake
        received = sent = None
        server_first = False
        if handshake is not None:
            # picows records a close frame that came after we failed the connection, which we did not
            # read (RFC 6455 7.1.7), as websockets does not; an empty close frame is recorded as code 0.
            if handshake.recv is not None and listener.received_close:
                received = (handshake.recv.code.value or 1005, handshake.recv.reason or "")
                server_first = handshake.recv_then_sent
            if handshake.sent is not None:
                sent = (handshake.sent.code.value, handshake.sent.reason or "")
        return close_facts(
            received,
            listener.close_sent or sent,
            server_first,
            aborted=listener.aborted,
            closing_by_us=listener.closing_by_us,
        )

    async def send(self, data: str | bytes) -> None:
        """Send a data message; Disconnected if the connection is closed."""
        payload = encode_text(data) if isinstance(data, str) else data
        listener = self._listener
        if listener.closed:
            raise Disconnected("the connection is closed")  # picows itself would drop it silently
        if listener.deflate is not None:
            payload = listener.deflate.compress(payload)
        kind = WSMsgType.TEXT if isinstance(data, str) else WSMsgType.BINARY
        self._transport.send(kind, payload, True, listener.deflate is not None)
        listener.bytes_sent += frame_size(len(payload))
        ready = listener.write_ready
        if ready is not None and not ready.done():
            # picows never waits: wait here until the server has read enough, as websockets does.
            await asyncio.shield(ready)
            if self._transport.is_disconnected:
                raise Disconnected("the connection is closed")

    async def ping(self, data: bytes | None = None) -> bytes:
        """Send a ping; its pong arrives as a :class:`Pong` event with ``rtt`` set."""
        if data is None:
            data = b"wsrun-%d" % next(self._ping_ids)
        listener = self._listener
        check_ping(data, listener.pings)
        if listener.closed:
            raise Disconnected("the connection is closed")
        # perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds.
        listener.pings[data] = time.perf_counter()
        self._transport.send_ping(data)
        listener.bytes_sent += frame_size(len(data))
        return data

    async def pong(self, data: bytes) -> None:
        """Send a pong: a scenario's own answer to a ping, or an unsolicited one."""
        check_pong(data)
        listener = self._listener
        if listener.closed:
            raise Disconnected("the connection is closed")
        self._transport.send_pong(data)
        listener.bytes_sent += frame_size(len(data))

    def answer_pings(self, on: bool) -> None:
        """From now on, answer the server's pings on our own (the listener does) or not."""
        self._listener.answer_pings = on

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send our close frame; the end of the closing handshake comes as the :class:`Closed` event,
        within the close timeout (past it, the TCP connection is dropped)."""
        encoded = close_reason_bytes(reason)
        listener = self._listener
        listener.closing_by_us = True
        if not listener.closed:
            self._transport.send_close(WSCloseCode(code), encoded)  # codes outside the enum work: WSCloseCode(4000)
            listener.close_sent = (code, reason)
            listener.bytes_sent += frame_size(2 + len(encoded))
            listener.bound_closing()

    def oldest_unanswered_ping(self) -> float | None:
        """When (event loop time) the oldest ping still waiting for its pong was sent."""
        sent = next(iter(self._listener.pings.values()), None)
        return None if sent is None else self._listener.loop.time() - (time.perf_counter() - sent)

    async def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake, and wait until it is gone."""
        if self._transport.is_disconnected:
            return
        self._listener.aborted = True
        self._transport.disconnect(False)  # transport.abort(): the socket closes on the next turn of the loop
        await asyncio.shield(self._listener.gone)
