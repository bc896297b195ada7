"""The floor for wsrun's fast transport: a bare `picows` client loop, no interpreter on top.

Usage: python bare_picows.py URL SESSIONS MESSAGES [OUT.json]
Each session connects, then sends a message and waits for its echo, MESSAGES times.
Writes (or prints) one JSON object: messages, seconds (connects included, start-up not).
"""

import asyncio

from bare_websockets import main
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


if __name__ == "__main__":
    main(session)
