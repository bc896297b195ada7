"""Shared fixtures: the embedded test server on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from wsrun.server import running, url_of


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
