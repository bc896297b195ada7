"""The embedded server's STOMP 1.2 broker (/stomp): its frame codec and heart-beat negotiation without
sockets, and what a client gets for each frame, over a real connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection, connect

from wsrun.server import running, url_of
from wsrun.stomp import Frame, FrameError, frame, heart_beats, parse

from .helpers import UNIT

CONNECT = "CONNECT\naccept-version:1.2\nhost:localhost\n\n\0"


def test_parse_reads_frames_heart_beats_and_keeps_the_rest() -> None:
    """Two frames and heart-beats in one message; an unfinished frame is kept for the next message."""
    frames, rest = parse("\nSEND\ndestination:/q\n\nhi\0\r\nRECEIPT\nreceipt-id:7\n\n\0\nMESS")
    assert frames == [
        None,
        Frame("SEND", (("destination", "/q"),), "hi"),
        None,
        Frame("RECEIPT", (("receipt-id", "7"),)),
        None,
    ]
    assert rest == "MESS"


def test_header_values_are_escaped_both_ways_but_not_in_connect_frames() -> None:
    """\\n, \\r, \\c and \\\\ in headers (spec, "Value Encoding"); CONNECT and CONNECTED are taken as they are."""
    text = frame("MESSAGE", {"note": "a:b\nc\\"}, "x")
    assert text == "MESSAGE\nnote:a\\cb\\nc\\\\\n\nx\0"
    assert parse(text)[0] == [Frame("MESSAGE", (("note", "a:b\nc\\"),), "x")]
    assert parse("CONNECT\nlogin:a\\c\n\n\0")[0] == [Frame("CONNECT", (("login", "a\\c"),))]
    with pytest.raises(FrameError, match=r"undefined escape '\\\\t'"):
        parse("SEND\ndestination:a\\tb\n\n\0")


def test_heart_beats_follow_the_spec() -> None:
    """We send every max(our 100, the client's cy) ms; the client is dead after twice max(its cx, our 100) ms."""
    assert heart_beats("500,200") == (0.2, 1.0)
    assert heart_beats("0,0") == (0, 0) == heart_beats(None)
    assert heart_beats("50,0") == (0, 0.2)
    with pytest.raises(FrameError, match="heart-beat 'x': write two numbers"):
        heart_beats("x")


@pytest.fixture
async def stomp() -> AsyncIterator[ClientConnection]:
    """A client connected to the embedded server's /stomp path."""
    async with running() as server, connect(url_of(server, "/stomp"), subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        yield ws


async def receive(ws: ClientConnection) -> str:
    message = await asyncio.wait_for(ws.recv(), 5 * UNIT)
    assert isinstance(message, str)
    return message


async def test_the_broker_delivers_to_subscriptions_only(stomp: ClientConnection) -> None:
    """A SEND reaches each subscription to its destination, with the headers the spec asks for, until UNSUBSCRIBE."""
    assert stomp.subprotocol == "v12.stomp"
    await stomp.send(CONNECT)
    assert (await receive(stomp)).startswith("CONNECTED\nversion:1.2\nheart-beat:100,100\n")
    await stomp.send("SUBSCRIBE\nid:s1\ndestination:/a\n\n\0SUBSCRIBE\nid:s2\ndestination:/b\n\n\0")
    await stomp.send("SEND\ndestination:/b\nx-kind:k\nreceipt:r1\n\nbody\0")
    assert await receive(stomp) == (
        "MESSAGE\ndestination:/b\nmessage-id:1\nsubscription:s2\ncontent-type:text/plain\nx-kind:k\n"
        "content-length:4\n\nbody\0"
    )
    assert await receive(stomp) == "RECEIPT\nreceipt-id:r1\n\n\0"
    await stomp.send("UNSUBSCRIBE\nid:s2\n\n\0SEND\ndestination:/b\n\nlost\0DISCONNECT\nreceipt:bye\n\n\0")
    assert await receive(stomp) == "RECEIPT\nreceipt-id:bye\n\n\0"
    await asyncio.wait_for(stomp.wait_closed(), 5 * UNIT)
    assert stomp.close_code == 1000


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        ("SEND\ndestination:/a\n\nx\0", "SEND before CONNECT"),
        ("CONNECT\naccept-version:1.0,1.1\n\n\0", "this server speaks STOMP 1.2 only: send accept-version:1.2"),
        (CONNECT + "SUBSCRIBE\ndestination:/a\n\n\0", "SUBSCRIBE needs the header id"),
        (CONNECT + "BEGIN\ntransaction:t\n\n\0", "BEGIN: not a client frame this server knows"),
    ],
)
async def test_a_broken_frame_gets_an_error_frame_and_the_close(stomp: ClientConnection, sent: str, error: str) -> None:
    """The ERROR frame says what was wrong; then the server closes with 1002."""
    await stomp.send(sent)
    received = [await receive(stomp) for _ in range(sent.count("\0"))]
    assert received[-1] == f"ERROR\nmessage:{error.replace(':', chr(92) + 'c')}\n\n\0"
    await asyncio.wait_for(stomp.wait_closed(), 5 * UNIT)
    assert stomp.close_code == 1002


async def test_a_silent_client_is_dropped(stomp: ClientConnection) -> None:
    """A client that offered heart-beats every 100 ms and sends nothing is dropped after 200 ms."""
    await stomp.send("CONNECT\naccept-version:1.2\nhost:h\nheart-beat:100,0\n\n\0")
    assert (await receive(stomp)).startswith("CONNECTED\n")
    assert await receive(stomp) == "ERROR\nmessage:no heart-beat from the client in 200ms\n\n\0"
    await asyncio.wait_for(stomp.wait_closed(), 5 * UNIT)
    assert (stomp.close_code, stomp.close_reason) == (1011, "STOMP heart-beat missed")


async def test_stomp_12_is_chosen_among_the_versions_offered() -> None:
    """stomp.js offers v10.stomp, v11.stomp and v12.stomp: /stomp picks 1.2; other paths keep the first offered."""
    offered = ["v10.stomp", "v11.stomp", "v12.stomp"]
    async with running() as server:
        async with connect(url_of(server, "/stomp"), subprotocols=offered) as ws:  # type: ignore[arg-type]
            assert ws.subprotocol == "v12.stomp"
        async with connect(url_of(server, "/echo"), subprotocols=offered) as ws:  # type: ignore[arg-type]
            assert ws.subprotocol == "v10.stomp"
