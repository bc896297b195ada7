"""The floor for wsrun's fast transport: a bare `picows` client loop, no interpreter on top.

Usage: python bare_picows.py URL SESSIONS SECONDS [OUT.json]
Each session connects, then sends a message and waits for its echo, again and again for SECONDS.
Writes (or prints) one JSON object: messages received, seconds (connects included, start-up not).
"""

import asyncio

from bare_websockets import main
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

PAYLOAD = b"x" * 32


class Echo(WSListener):
    """Sends the next message from the echo's callback: the tightest loop picows allows."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.count = 0
        self.done = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        asyncio.get_running_loop().call_later(self.seconds, self.stop)
        transport.send(WSMsgType.TEXT, PAYLOAD)

    def stop(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        self.count += 1
        if not self.done.done():
            transport.send(WSMsgType.TEXT, PAYLOAD)


async def session(url: str, seconds: float) -> int:
    transport, listener = await ws_connect(lambda: Echo(seconds), url)
    await listener.done
    transport.send_close()
    transport.disconnect()
    return listener.count


if __name__ == "__main__":
    main(session)
