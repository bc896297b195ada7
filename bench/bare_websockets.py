"""The floor for wsrun's default transport: a bare `websockets` client loop, no interpreter on top.

Usage: python bare_websockets.py URL SESSIONS MESSAGES [OUT.json]
Each session connects, then sends a message and waits for its echo, MESSAGES times.
Writes (or prints) one JSON object: messages, seconds (connects included, start-up not).
"""

import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect


async def session(url: str, messages: int) -> None:
    async with connect(url, compression=None, ping_interval=None, max_size=None) as ws:
        for _ in range(messages):
            await ws.send("x" * 32)
            await ws.recv()


async def main(url: str, sessions: int, messages: int, out: str | None) -> None:
    started = time.perf_counter()
    await asyncio.gather(*(session(url, messages) for _ in range(sessions)))
    figures = json.dumps({"messages": sessions * messages, "seconds": time.perf_counter() - started})
    if out is None:
        print(figures)
    else:
        with open(out, "w") as file:
            file.write(figures)


if __name__ == "__main__":
    try:  # the event loop wsrun itself runs on, when installed
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
