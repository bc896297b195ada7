"""The floor for wsrun's fast transport: a bare `picows` client loop, no interpreter on top.

Usage: python bare_picows.py URL SESSIONS MESSAGES|SECONDSs [OUT.json]
Each session connects, then sends a message and waits for its echo, MESSAGES times, or again and
again for SECONDS when the figure ends with an s (8s: what bench/run.py runs).
Writes (or prints) one JSON object: messages received, seconds (connects included, start-up not).
"""

import asyncio

from bare_websockets import Limit, main
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

PAYLOAD = b"x" * 32


class Echo(WSListener):
    """Sends the next message from the echo's callback: the tightest loop picows allows."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.count = 0
        self.done = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.limit.start()
        transport.send(WSMsgType.TEXT, PAYLOAD)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        self.count += 1
        if self.limit.more(self.count):
            transport.send(WSMsgType.TEXT, PAYLOAD)
        elif not self.done.done():
            self.done.set_result(None)


async def session(url: str, figure: str) -> int:
    echo = Echo(Limit(figure))
    transport, _ = await ws_connect(lambda: echo, url)
    await echo.done
    transport.send_close()
    transport.disconnect()
    return echo.count


if __name__ == "__main__":
    main(session)
