"""Shared fixtures: the embedded test server on 127.0.0.1, port 0."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from wsrun.server import running, url_of

from . import helpers


@pytest.fixture(params=["websockets", "picows"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each transport: run_yaml connects with it (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("transport")``; tests may also take it as an argument)."""
    monkeypatch.setattr(helpers, "TRANSPORT", request.param)
    return str(request.param)


@pytest.fixture
async def echo_url() -> AsyncIterator[str]:
    """The embedded test server (echo), without pings."""
    async with running() as server:
        yield url_of(server)


@pytest.fixture
async def pinging_url() -> AsyncIterator[str]:
    """The embedded test server, pinging each client every 100 ms."""
    async with running(ping_every=0.1) as server:
        yield url_of(server)


@pytest.fixture(scope="module")
def server_in_thread() -> Iterator[str]:
    """The embedded test server on its own event loop in a thread: reachable from subprocesses and from
    code that runs its own event loop (the command line, pytest's own runs)."""
    started: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Event, str]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        async with running() as server:
            started.put((asyncio.get_running_loop(), stop, url_of(server)))
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    loop, stop, url = started.get(timeout=5 * helpers.UNIT)
    yield url
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=5 * helpers.UNIT)
    assert not thread.is_alive()
