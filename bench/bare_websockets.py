"""The floor for wsrun's default transport: a bare `websockets` client loop, no interpreter on top.

Usage: python bare_websockets.py URL SESSIONS MESSAGES [OUT.json]
Each session connects, then sends a message and waits for its echo, MESSAGES times.
Writes (or prints) one JSON object: messages, seconds (connects included, start-up not).
"""

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import connect

Session = Callable[[str, int], Awaitable[None]]


async def session(url: str, messages: int) -> None:
    async with connect(url, compression=None, ping_interval=None, max_size=None) as ws:
        for _ in range(messages):
            await ws.send("x" * 32)
            await ws.recv()


async def timed(url: str, sessions: int, messages: int, out: str | None, session: Session) -> None:
    started = time.perf_counter()
    await asyncio.gather(*(session(url, messages) for _ in range(sessions)))
    figures = json.dumps({"messages": sessions * messages, "seconds": time.perf_counter() - started})
    if out is None:
        print(figures)
    else:
        with open(out, "w") as file:
            file.write(figures)


def main(session: Session) -> None:
    """The command line of a bare loop: URL SESSIONS MESSAGES [OUT.json], on uvloop when installed (as wsrun)."""
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    url, sessions, messages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(timed(url, sessions, messages, sys.argv[4] if len(sys.argv) > 4 else None, session))


if __name__ == "__main__":
    main(session)
