"""The floor for wsrun's default transport: a bare `websockets` client loop, no interpreter on top.

Usage: python bare_websockets.py URL SESSIONS SECONDS [OUT.json]
Each session connects, then sends a message and waits for its echo, again and again for SECONDS.
Writes (or prints) one JSON object: messages received, seconds (connects included, start-up not).
"""

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import connect

Session = Callable[[str, float], Awaitable[int]]


async def session(url: str, seconds: float) -> int:
    """Echo round trips until SECONDS have passed (a flag set by the loop's timer: no clock read per message)."""
    done = False

    def stop() -> None:
        nonlocal done
        done = True

    count = 0
    async with connect(url, compression=None, ping_interval=None, max_size=None) as ws:
        asyncio.get_running_loop().call_later(seconds, stop)
        while not done:
            await ws.send("x" * 32)
            await ws.recv()
            count += 1
    return count


async def timed(url: str, sessions: int, seconds: float, out: str | None, session: Session) -> None:
    started = time.perf_counter()
    counts = await asyncio.gather(*(session(url, seconds) for _ in range(sessions)))
    figures = json.dumps({"messages": sum(counts), "seconds": time.perf_counter() - started})
    if out is None:
        print(figures)
    else:
        with open(out, "w") as file:
            file.write(figures)


def main(session: Session) -> None:
    """The command line of a bare loop: URL SESSIONS SECONDS [OUT.json], on uvloop when installed (as wsrun)."""
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    url, sessions, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(timed(url, sessions, seconds, sys.argv[4] if len(sys.argv) > 4 else None, session))


if __name__ == "__main__":
    main(session)
