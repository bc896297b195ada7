"""Real servers of real protocols for the examples in scenarios/, each built with its protocol's own library
and run by uvicorn on 127.0.0.1 (port 0): Socket.IO (python-socketio) and GraphQL over graphql-transport-ws
(strawberry-graphql). Each has a misbehaving variant. STOMP is the embedded server's /stomp path."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import socketio  # type: ignore[import-untyped]
import strawberry
import uvicorn
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from .helpers import UNIT

#: The Socket.IO server pings every this many seconds (Engine.IO `2`); a client silent for PING_TIMEOUT more is dropped.
PING_INTERVAL = 0.2
PING_TIMEOUT = 1.0 * UNIT
#: Where Engine.IO v4 takes a WebSocket without HTTP long-polling first.
ENGINE_IO = "/socket.io/?EIO=4&transport=websocket"


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn on 127.0.0.1, port 0, in this event loop; yields its ws:// base URL.

    The socket listens before uvicorn starts, so the URL is known at once and an early client waits in
    the backlog instead of being refused. websockets-sansio: uvicorn's "websockets" implementation is
    built on websockets' deprecated legacy API, whose DeprecationWarning the test suite turns into an error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(serving, 10 * UNIT)
        finally:
            sock.close()


@contextlib.asynccontextmanager
async def socketio_serving(*, acks: bool = True) -> AsyncIterator[str]:
    """A Socket.IO chat on the namespace /chat; yields its Engine.IO WebSocket URL. Each `chat` event is
    broadcast to the namespace, then acknowledged with ``{"ok": true, "text": …}``. With ``acks=False``
    the handler broadcasts and then hangs until the server stops: the ack never comes in time."""
    sio = socketio.AsyncServer(
        async_mode="asgi", transports=["websocket"], ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT
    )
    stopping = asyncio.Event()

    @sio.on("chat", namespace="/chat")  # type: ignore[untyped-decorator]
    async def chat(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.emit("chat", data, namespace="/chat")
        if not acks:
            await stopping.wait()
        return {"ok": True, "text": data.get("text")}

    async with uvicorn_serving(socketio.ASGIApp(sio)) as base:
        try:
            yield base + ENGINE_IO
        finally:
            stopping.set()
            await asyncio.wait_for(sio.shutdown(), 5 * UNIT)  # its background tasks, before the web server


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


@contextlib.asynccontextmanager
async def graphql_serving(*, in_order: bool = True, stalls: bool = False) -> AsyncIterator[str]:
    """GraphQL over graphql-transport-ws; yields its URL (/graphql). ``subscription { count(to: N) }`` yields
    1..N, then completes; with ``in_order=False`` it swaps the last two (1, 3, 2); with ``stalls=True`` it
    yields 1, then nothing until the client leaves."""

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def count(self, to: int = 3) -> AsyncGenerator[int, None]:
            numbers = list(range(1, to + 1))
            if not in_order and to >= 2:
                numbers[-2:] = numbers[:-3:-1]
            for n in numbers:
                yield n
                if stalls:
                    await asyncio.Event().wait()  # cancelled when the client leaves

    schema = strawberry.Schema(query=Query, subscription=Subscription)
    async with uvicorn_serving(GraphQL(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])) as base:
        yield base + "/graphql"
