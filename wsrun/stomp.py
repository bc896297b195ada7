"""
The embedded server's STOMP 1.2 mode (path ``/stomp``): a small broker speaking STOMP over WebSocket.

STOMP 1.2 (https://stomp.github.io/stomp-specification-1.2.html), as browsers' stomp.js speaks it over
WebSocket (subprotocol ``v12.stomp``): one or more NUL-terminated frames per message, a lone end of line
as a heart-beat. What it does:

- ``CONNECT`` (or ``STOMP``) with ``accept-version`` naming 1.2 -> ``CONNECTED`` (``version:1.2``,
  ``heart-beat``, ``server``, ``session``); any other frame first, or no 1.2, -> ``ERROR`` and the close;
- ``SUBSCRIBE`` (``id``, ``destination``) / ``UNSUBSCRIBE`` (``id``);
- ``SEND`` to a destination -> a ``MESSAGE`` to each subscription to it, on every connection of the server,
  with ``destination``, ``message-id``, ``subscription``, ``content-type`` (``text/plain`` unless the
  ``SEND`` said), ``content-length`` and the ``SEND``'s other headers;
- ``receipt:`` on any frame -> ``RECEIPT`` with its ``receipt-id``; ``DISCONNECT`` -> that, then the close;
- heart-beating (spec, "Heart-beating"): the server offers ``heart-beat:100,100``; it sends an end of line
  every max(100, the client's second number) ms, and when the client offered to send (its first number is
  not 0), drops it with an ``ERROR`` frame and close code 1011 once nothing came from it for twice
  max(that, 100) ms.

A body ends at its first NUL: ``content-length`` is sent, not read. The frame codec (``parse``, ``frame``)
does no I/O; ``serve_stomp`` is the connection's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

__all__ = ["SUBPROTOCOL", "Broker", "Frame", "frame", "heart_beats", "parse", "serve_stomp"]

#: The WebSocket subprotocol of STOMP 1.2.
SUBPROTOCOL = "v12.stomp"
#: What the server can send and would like to receive, in ms (the CONNECTED frame's heart-beat header).
SERVER_HEART_BEAT = (100, 100)
#: A silent client is dropped after this many of its heart-beat intervals (the spec asks for some tolerance).
TOLERANCE = 2

_ESCAPES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c"}
_UNESCAPES = {"\\\\": "\\", "\\r": "\r", "\\n": "\n", "\\c": ":"}


class FrameError(ValueError):
    """A frame the spec does not allow; its text goes into the ERROR frame's message header."""


@dataclass(frozen=True)
class Frame:
    """One STOMP frame: a command, its headers in order (the first of a repeated header counts), a body."""

    command: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


def _unescape(value: str) -> str:
    """Header value decoding (spec, "Value Encoding"); an undefined escape is a fatal error."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            pair = value[i : i + 2]
            if pair not in _UNESCAPES:
                raise FrameError(f"undefined escape {pair!r} in a header")
            out.append(_UNESCAPES[pair])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _one(text: str) -> Frame:
    head, sep, body = text.partition("\n\n")
    if not sep:
        head, sep, body = text.partition("\r\n\r\n")
    lines = head.replace("\r\n", "\n").split("\n")
    command, headers = lines[0], []
    raw = command in ("CONNECT", "CONNECTED")  # these two are not escaped, for 1.0 compatibility
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise FrameError(f"header line {line!r} has no ':'")
        headers.append((name, value) if raw else (_unescape(name), _unescape(value)))
    return Frame(command, tuple(headers), body)


def parse(buffer: str) -> tuple[list[Frame | None], str]:
    """The complete frames at the start of ``buffer`` (None for a heart-beat: a lone end of line), and the
    rest, an incomplete frame, to prepend to what comes next."""
    frames: list[Frame | None] = []
    while True:
        stripped = buffer.lstrip("\r\n")
        frames.extend(None for _ in range(buffer[: len(buffer) - len(stripped)].count("\n")))
        buffer = stripped
        end = buffer.find("\0")
        if end < 0:
            return frames, buffer
        frames.append(_one(buffer[:end]))
        buffer = buffer[end + 1 :]


def frame(command: str, headers: dict[str, str], body: str = "") -> str:
    """A frame's text, its header values escaped (except CONNECTED's, as the spec says), NUL-terminated."""
    escape = (lambda s: s) if command == "CONNECTED" else (lambda s: "".join(_ESCAPES.get(c, c) for c in s))
    lines = [command, *(f"{escape(k)}:{escape(v)}" for k, v in headers.items())]
    return "\n".join(lines) + "\n\n" + body + "\0"


def heart_beats(offered: str | None) -> tuple[float, float]:
    """From the client's ``heart-beat: cx,cy``: (seconds between our heart-beats, seconds of silence after
    which the client is dead); 0 for either means none (spec, "Heart-beating")."""
    try:
        cx, cy = (int(part) for part in (offered or "0,0").split(","))
    except ValueError as exc:
        raise FrameError(f"heart-beat {offered!r}: write two numbers of ms, 'cx,cy'") from exc
    sx, sy = SERVER_HEART_BEAT
    send = max(sx, cy) if sx and cy else 0
    expect = max(cx, sy) * TOLERANCE if cx and sy else 0
    return send / 1000, expect / 1000


@dataclass
class Broker:
    """The destinations of one server: who subscribed to each, shared by its connections."""

    subscriptions: dict[str, dict[tuple[ServerConnection, str], None]] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def publish(self, sent: Frame, destination: str) -> None:
        extra = {k: v for k, v in sent.headers if k not in ("destination", "receipt", "content-length")}
        for ws, subscription in list(self.subscriptions.get(destination, {})):
            headers = {"destination": destination, "message-id": str(next(self.ids)), "subscription": subscription}
            headers |= {"content-type": "text/plain", **extra, "content-length": str(len(sent.body.encode()))}
            with contextlib.suppress(ConnectionClosed):
                await ws.send(frame("MESSAGE", headers, sent.body))

    def leave(self, ws: ServerConnection, subscription: str | None = None) -> None:
        for subscribers in self.subscriptions.values():
            for key in [key for key in subscribers if key[0] is ws and subscription in (None, key[1])]:
                del subscribers[key]


async def _beat(ws: ServerConnection, every: float) -> None:
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.sleep(every)
            await ws.send("\n")


class _Session:
    """One client's STOMP session: handles its frames, in order."""

    def __init__(self, ws: ServerConnection, broker: Broker) -> None:
        self.ws, self.broker = ws, broker
        self.connected = False
        self.silence = 0.0  # seconds of silence after which the client is dead; 0: never
        self.tasks: list[asyncio.Task[None]] = []

    async def handle(self, received: Frame) -> bool:
        """Answer one frame; False once the connection is to be closed."""
        if not self.connected and received.command not in ("CONNECT", "STOMP"):
            raise FrameError(f"{received.command} before CONNECT")
        if received.command in ("CONNECT", "STOMP"):
            await self._connect(received)
        elif received.command == "SUBSCRIBE":
            destination, subscription = self._required(received, "destination", "id")
            self.broker.subscriptions.setdefault(destination, {})[(self.ws, subscription)] = None
        elif received.command == "UNSUBSCRIBE":
            self.broker.leave(self.ws, self._required(received, "id")[0])
        elif received.command == "SEND":
            await self.broker.publish(received, self._required(received, "destination")[0])
        elif received.command not in ("ACK", "NACK", "DISCONNECT"):
            raise FrameError(f"{received.command}: not a client frame this server knows")
        if (receipt := received.get("receipt")) is not None:
            await self.ws.send(frame("RECEIPT", {"receipt-id": receipt}))
        return received.command != "DISCONNECT"

    async def _connect(self, received: Frame) -> None:
        if "1.2" not in (received.get("accept-version") or "1.0").split(","):
            raise FrameError("this server speaks STOMP 1.2 only: send accept-version:1.2")
        send_every, self.silence = heart_beats(received.get("heart-beat"))
        self.connected = True
        sx, sy = SERVER_HEART_BEAT
        await self.ws.send(
            frame(
                "CONNECTED",
                {"version": "1.2", "heart-beat": f"{sx},{sy}", "server": "wsrun", "session": str(self.ws.id)},
            )
        )
        if send_every:
            self.tasks.append(asyncio.create_task(_beat(self.ws, send_every)))

    @staticmethod
    def _required(received: Frame, *names: str) -> list[str]:
        values = [received.get(name) for name in names]
        missing = [name for name, value in zip(names, values, strict=True) if value is None]
        if missing:
            raise FrameError(f"{received.command} needs the header {', '.join(missing)}")
        return [value for value in values if value is not None]


def _decoded(message: bytes) -> str:
    try:
        return message.decode()
    except UnicodeDecodeError as exc:
        raise FrameError("a binary message that is not UTF-8: this server reads text frames only") from exc


async def serve_stomp(ws: ServerConnection, broker: Broker) -> None:
    """Speak STOMP 1.2 with one client until it disconnects, breaks the protocol or falls silent."""
    session, buffer = _Session(ws, broker), ""
    try:
        while True:
            try:
                message = await asyncio.wait_for(ws.recv(), session.silence or None)
            except TimeoutError:
                quiet = f"no heart-beat from the client in {session.silence * 1000:.0f}ms"
                await ws.send(frame("ERROR", {"message": quiet}))
                await ws.close(1011, "STOMP heart-beat missed")
                return
            frames, buffer = parse(buffer + (message if isinstance(message, str) else _decoded(message)))
            for received in frames:
                if received is not None and not await session.handle(received):
                    await ws.close(1000, "DISCONNECT")
                    return
    except FrameError as exc:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame("ERROR", {"message": str(exc)}))
            await ws.close(1002, "STOMP protocol error")
    except ConnectionClosed:
        pass
    finally:
        broker.leave(ws)
        for task in session.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
