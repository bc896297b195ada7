"""Shared fixtures: the embedded test server on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
