"""The floor for wsrun's fast transport: a bare `picows` client loop, no interpreter on top.

Usage: python bare_picows.py URL SESSIONS MESSAGES [OUT.json]
Each session connects, then sends a message and waits for its echo, MESSAGES times.
Writes (or prints) one JSON object: messages, seconds (connects included, start-up not).
"""

import asyncio
import json
import sys
import time

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

PAYLOAD = b"x" * 32


class Echo(WSListener):
    """Sends the next message from the echo's callback: the tightest loop picows allows."""

    def __init__(self, messages: int) -> None:
        self.left = messages
        self.done = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        transport.send(WSMsgType.TEXT, PAYLOAD)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        self.left -= 1
        if self.left:
            transport.send(WSMsgType.TEXT, PAYLOAD)
        elif not self.done.done():
            self.done.set_result(None)


async def session(url: str, messages: int) -> None:
    transport, listener = await ws_connect(lambda: Echo(messages), url)
    await listener.done
    transport.send_close()
    transport.disconnect()


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
