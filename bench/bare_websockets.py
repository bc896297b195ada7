"""The floor for wsrun's default transport: a bare `websockets` client loop, no interpreter on top.

Usage: python bare_websockets.py URL SESSIONS MESSAGES|SECONDSs [OUT.json]
Each session connects, then sends a message and waits for its echo, MESSAGES times, or again and
again for SECONDS when the figure ends with an s (8s: what bench/run.py runs).
Writes (or prints) one JSON object: messages received, seconds (connects included, start-up not).
"""

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import connect

Session = Callable[[str, str], Awaitable[int]]


class Limit:
    """How long a session goes on: a number of messages, or seconds (a flag set by the loop's timer, so that
    no clock is read per message)."""

    def __init__(self, figure: str) -> None:
        self.seconds = float(figure[:-1]) if figure.endswith("s") else None
        self.messages = None if self.seconds is not None else int(figure)

    def start(self) -> None:
        """Called once a session is connected: its clock starts."""
        self.done = False
        if self.seconds is not None:
            asyncio.get_running_loop().call_later(self.seconds, self.stop)

    def stop(self) -> None:
        self.done = True

    def more(self, count: int) -> bool:
        return not self.done and (self.messages is None or count < self.messages)


async def session(url: str, figure: str) -> int:
    limit = Limit(figure)
    count = 0
    async with connect(url, compression=None, ping_interval=None, max_size=None) as ws:
        limit.start()
        while limit.more(count):
            await ws.send("x" * 32)
            await ws.recv()
            count += 1
    return count


async def timed(url: str, sessions: int, figure: str, out: str | None, session: Session) -> None:
    started = time.perf_counter()
    counts = await asyncio.gather(*(session(url, figure) for _ in range(sessions)))
    figures = json.dumps({"messages": sum(counts), "seconds": time.perf_counter() - started})
    if out is None:
        print(figures)
    else:
        with open(out, "w") as file:
            file.write(figures)


def main(session: Session) -> None:
    """The command line of a bare loop: URL SESSIONS MESSAGES|SECONDSs [OUT.json], on uvloop when installed (as
    wsrun)."""
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    url, sessions, figure = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    asyncio.run(timed(url, sessions, figure, sys.argv[4] if len(sys.argv) > 4 else None, session))


if __name__ == "__main__":
    main(session)
