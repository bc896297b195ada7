"""Misbehaving WebSocket servers on raw asyncio sockets, for what websockets would refuse to do.

Each server completes (or botches) the opening handshake of RFC 6455 section 4,
then runs a script against the client with the helpers of :class:`Peer`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    """An unmasked server frame (RFC 6455 section 5.2)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 2**16:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(CLOSE, struct.pack("!H", code) + reason.encode())


class Peer:
    """The server's side of one connection: raw reads and writes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: dict[str, str]) -> None:
        self.reader, self.writer, self.request = reader, writer, request

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    async def read_frame(self) -> tuple[int, bytes]:
        """Read one client frame (masked), as (opcode, payload)."""
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        mask = await self.reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
        data = await self.reader.readexactly(size)
        return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    async def hold(self) -> None:
        """Keep the TCP connection open, reading and ignoring everything, until the client leaves."""
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while await self.reader.read(65536):
                pass


Script = Callable[[Peer], Awaitable[None]]


def upgrade(request: dict[str, str], *, accept: str | None = None, extra: str = "") -> bytes:
    """A 101 answer; ``accept`` replaces the correct Sec-WebSocket-Accept."""
    key = accept if accept is not None else accept_key(request.get("sec-websocket-key", ""))
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {key}\r\n{extra}\r\n"
    ).encode()


async def _read_request(reader: asyncio.StreamReader) -> dict[str, str]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)}


@contextlib.asynccontextmanager
async def hostile(script: Script, *, handshake: Callable[[dict[str, str]], bytes] = upgrade) -> AsyncIterator[str]:
    """Serve ``script`` after ``handshake`` on 127.0.0.1, port 0; yields the ws:// URL."""
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            writer.write(handshake(request))
            await script(Peer(reader, writer, request))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def start(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(start, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@contextlib.asynccontextmanager
async def silent_tcp() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers: a handshake that never ends."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
