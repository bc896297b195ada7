"""
The embedded test server: what examples and first runs connect to.

Paths choose the behaviour:

- any path: echo every message back, text as text and binary as binary;
- ``/json``: answer each JSON request ``{"id": …}`` with ``{"id": …, "type": "reply", "request": …}``;
- ``/headers``: first send the handshake request as JSON (path, headers, subprotocol), then echo;
- ``/close/<code>``: echo the first message, then close with that code;
- ``/heartbeat/<ms>``: send ``{"type": "heartbeat", "n": …}`` every <ms> milliseconds, and echo;
- ``/pubsub``: answer ``{"type": "subscribe", "topic": T, "id": X}`` with ``{"type": "ack", "id": X}``,
  then publish ``{"type": "event", "topic": T, "n": …}`` every 100 ms (and answer other JSON like /json);
- ``/status/<code>``: refuse the handshake with that HTTP status;
- ``/stomp``: a STOMP 1.2 broker over WebSocket (subprotocol ``v12.stomp``), see ``wsrun.stomp``.

With ``ping_every``, the server also pings each client at that interval (the command line's
default: PING_EVERY, 500 ms, for ``--serve`` and ``wsrun serve`` alike).
Any subprotocol the client offers is accepted (the first one; on ``/stomp``, ``v12.stomp`` when offered).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from .stomp import SUBPROTOCOL, Broker, serve_stomp

__all__ = ["PING_EVERY", "running", "url_of"]

#: How often the server pings each client, started by --serve or by `wsrun serve` (unless --ping-every says otherwise).
PING_EVERY = 0.5


def _sendable(code: int) -> bool:
    return code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014) or 3000 <= code <= 4999


def _text_response(code: int, text: str) -> Response:
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = "Refused"
    body = text.encode()
    headers = Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return Response(code, phrase, headers, body)


def _refuse(connection: ServerConnection, request: Request) -> Response | None:
    parts = request.path.split("?", 1)[0].strip("/").split("/")
    if len(parts) == 2 and parts[0] == "close" and not (parts[1].isdigit() and _sendable(int(parts[1]))):
        return _text_response(400, f"/close/{parts[1]}: the code must be 1000-1003, 1007-1014 or 3000-4999\n")
    if len(parts) == 2 and parts[0] == "status" and parts[1].isdigit() and 100 <= int(parts[1]) <= 599:
        return _text_response(int(parts[1]), f"refused with {parts[1]} as asked\n")
    return None


def _first_offered(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    on_stomp = connection.request is not None and connection.request.path.split("?", 1)[0] == "/stomp"
    if on_stomp and SUBPROTOCOL in offered:
        return Subprotocol(SUBPROTOCOL)
    return offered[0] if offered else None


def _json(text: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reply(text: str | bytes) -> str:
    try:
        request = json.loads(text)
    except ValueError:
        return json.dumps({"type": "error", "error": "not JSON"})
    request_id = request.get("id") if isinstance(request, dict) else None
    return json.dumps({"id": request_id, "type": "reply", "request": request})


async def _pinger(ws: ServerConnection, every: float) -> None:
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.sleep(every)
            await ws.ping()


async def _every(ws: ServerConnection, seconds: float, message: Callable[[int], str]) -> None:
    with contextlib.suppress(ConnectionClosed):
        for n in itertools.count(1):
            await asyncio.sleep(seconds)
            await ws.send(message(n))


async def _handle(ws: ServerConnection, ping_every: float | None, broker: Broker) -> None:
    path = ws.request.path.split("?", 1)[0] if ws.request else "/"
    pinger = asyncio.create_task(_pinger(ws, ping_every)) if ping_every else None
    pushers: list[asyncio.Task[None]] = []
    if path.startswith("/heartbeat/") and path[11:].isdigit():
        beat = max(int(path[11:]), 1) / 1000
        pushers.append(asyncio.create_task(_every(ws, beat, lambda n: json.dumps({"type": "heartbeat", "n": n}))))
    try:
        if path == "/stomp":
            await serve_stomp(ws, broker)
            return
        if path == "/headers":
            assert ws.request is not None
            headers: dict[str, Any] = {name.lower(): value for name, value in ws.request.headers.raw_items()}
            await ws.send(json.dumps({"path": ws.request.path, "headers": headers, "subprotocol": ws.subprotocol}))
        close_code = int(path.rsplit("/", 1)[1]) if path.startswith("/close/") and path[7:].isdigit() else None
        async for message in ws:
            if path == "/pubsub":
                request = _json(message)
                if request.get("type") == "subscribe":
                    topic = request.get("topic")
                    await ws.send(json.dumps({"type": "ack", "id": request.get("id"), "topic": topic}))
                    publish = lambda n, topic=topic: json.dumps({"type": "event", "topic": topic, "n": n})  # noqa: E731
                    pushers.append(asyncio.create_task(_every(ws, 0.1, publish)))
                    continue
            await ws.send(_reply(message) if path in ("/json", "/pubsub") else message)
            if close_code is not None:
                await ws.close(close_code, "closing as asked")
                break
    except ConnectionClosed:
        pass
    finally:
        for task in [*pushers, *([pinger] if pinger is not None else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def running(host: str = "127.0.0.1", port: int = 0, ping_every: float | None = None) -> AsyncIterator[Server]:
    """Run the test server while the block runs; ``port=0`` picks a free port."""

    broker = Broker()

    async def handler(ws: ServerConnection) -> None:
        await _handle(ws, ping_every, broker)

    async with serve(
        handler,
        host,
        port,
        process_request=_refuse,
        select_subprotocol=_first_offered,
        ping_interval=None,
        max_size=None,
    ) as server:
        yield server


def serve_url(url: str, served: str) -> str:
    """A scenario's URL moved onto the embedded server (``--serve``): same path and query."""
    parts, target = urlsplit(url), urlsplit(served)
    return urlunsplit(("ws", target.netloc, parts.path, parts.query, ""))


def url_of(server: Server, path: str = "") -> str:
    """The ws:// URL the server listens on."""
    host, port = next(iter(server.sockets)).getsockname()[:2]
    return f"ws://{host}:{port}{path}"
