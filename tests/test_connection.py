"""The connection boundary on each transport: events, opening errors translated once, TLS; the websockets pin."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http
import json
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
import websockets
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from wsrun.errors import ConnectFailed, UsageError
from wsrun.scenario.models import Tls
from wsrun.transport.base import Connection, ConnectOptions, TransportName, close_facts, open_connection, tls_context
from wsrun.transport.events import Closed, Message, Ping, Pong

from .helpers import UNIT, run_yaml, serving
from .hostile import CONT, TEXT, Peer, frame, hostile, silent_tcp, upgrade


def test_websockets_is_in_the_tested_range() -> None:
    """The hook overrides ClientConnection internals: pyproject pins websockets to >=15,<18."""
    major = int(websockets.__version__.split(".")[0])
    assert 15 <= major < 18


FAILED_1002 = "connection failed with 1002 (protocol error): incomplete fragmented message"


@pytest.mark.parametrize(
    ("received", "sent", "server_first", "closing_by_us", "expected"),
    [
        # the server closes, we echo: one code, nothing more to say
        ((1000, "bye"), (1000, "bye"), True, False, Closed(1000, "bye", "server", None)),
        # the server closes, we answer with our own code: we failed the connection (Autobahn 7.1.5)
        (
            (1000, ""),
            (1002, "incomplete fragmented message"),
            True,
            False,
            Closed(
                1000,
                "",
                "server",
                FAILED_1002,
                "received 1000 (OK), sent 1002 (protocol error) 'incomplete fragmented message'",
                (1002, "incomplete fragmented message"),
            ),
        ),
        # we close, the server answers with another code: in order, no error
        (
            (4000, "other"),
            (1000, ""),
            False,
            True,
            Closed(4000, "other", "client", None, "sent 1000 (OK), received 4000 (application-defined) 'other'"),
        ),
        # we fail the connection, the server never answers
        (
            None,
            (1009, "too big"),
            False,
            False,
            Closed(
                1009,
                "too big",
                "client",
                "connection failed with 1009 (message too big): too big",
                "sent 1009 (message too big) 'too big', received none",
                (1009, "too big"),
            ),
        ),
        # TCP dropped without any close frame
        (None, None, False, False, Closed(1006, "", "server", "connection dropped without a close frame (1006)")),
    ],
)
def test_close_facts_follow_the_close_frames_each_way(
    received: tuple[int, str] | None,
    sent: tuple[int, str] | None,
    server_first: bool,
    closing_by_us: bool,
    expected: Closed,
) -> None:
    """Who closed, with which code, whether it is an error, and the close frame each way when they differ."""
    assert close_facts(received, sent, server_first, aborted=False, closing_by_us=closing_by_us) == expected


async def test_frames_become_events_in_arrival_order(transport: TransportName) -> None:
    """Pings, pongs and messages come out as events in the order the server sent them."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send("one")
        await ws.ping(b"p1")
        await ws.send(b"\x00\x01")
        await ws.pong(b"unsolicited")
        await ws.send("two")
        await ws.close(1000, "done")

    async with serving(handler) as url:
        conn = await open_connection(ConnectOptions(url, transport=transport))
        events = []
        while not isinstance(event := await asyncio.wait_for(conn.next_event(), 5 * UNIT), Closed):
            events.append(event)
    assert events == [Message("one"), Ping(b"p1"), Message(b"\x00\x01"), Pong(b"unsolicited", None), Message("two")]
    assert event == Closed(1000, "done", "server", None)
    assert conn.status == 101 and conn.headers["upgrade"].lower() == "websocket"
    assert await conn.next_event() == event  # Closed stays the last event


async def test_a_message_whose_fragments_arrive_one_by_one(transport: TransportName) -> None:
    """A message in 20 fragments sent 5 ms apart (websockets' own send of an async iterator) is one message."""

    async def handler(ws: ServerConnection) -> None:
        async def fragments() -> AsyncIterator[bytes]:
            for index in range(20):
                yield bytes([index]) * 1000
                await asyncio.sleep(0.005)

        await ws.send(fragments())
        await ws.close()

    async with serving(handler) as url:
        conn = await open_connection(ConnectOptions(url, transport=transport))
        try:
            event = await asyncio.wait_for(conn.next_event(), 5 * UNIT)
        finally:
            await conn.abort()
    assert event == Message(b"".join(bytes([index]) * 1000 for index in range(20)))


#: A 4 MiB text message in which every fragment is different, so that order and loss show.
BIG = "".join(f"{index:08d}" for index in range(2**19)).encode()


def fragmented(data: bytes, size: int) -> bytes:
    """The frames of one text message cut into fragments of ``size`` bytes (RFC 6455 5.4)."""
    pieces = [data[start : start + size] for start in range(0, len(data), size)]
    last = len(pieces) - 1
    return b"".join(frame(TEXT if index == 0 else CONT, piece, fin=index == last) for index, piece in enumerate(pieces))


@pytest.mark.parametrize("size", [64, 256, 2**10, 2**12, 2**14, 2**16], ids=lambda size: f"{size}B")
async def test_any_number_of_fragments_within_max_message_size(size: int, transport: TransportName) -> None:
    """Autobahn|Testsuite 9.3.1-9.3.6: 4 MiB in fragments of 64 B to 64 KiB (65,536 to 64 of them) is one message,
    received at once: the message's size is bounded, not the number of its fragments."""
    wire = fragmented(BIG, size)

    async def script(peer: Peer) -> None:
        peer.send(wire)
        await peer.drain()
        await peer.hold()

    async with hostile(script) as url:
        conn = await open_connection(ConnectOptions(url, max_message_size=2**23, transport=transport))
        try:
            event = await asyncio.wait_for(conn.next_event(), 10 * UNIT)
        finally:
            await conn.abort()
    assert isinstance(event, Message) and event.data == BIG.decode()


async def test_endless_fragments_end_in_1009(transport: TransportName) -> None:
    """Fragments that never end, past max_message_size: the client fails the connection with 1009."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"x" * 1000, fin=False))
        while True:
            peer.send(frame(CONT, b"x" * 1000, fin=False))
            await peer.drain()
            await asyncio.sleep(0)

    async with hostile(script) as url:
        conn = await open_connection(
            ConnectOptions(url, max_message_size=100_000, close_timeout=0.3, transport=transport)
        )
        try:
            event = await asyncio.wait_for(conn.next_event(), 5 * UNIT)
        finally:
            await conn.abort()
    assert isinstance(event, Closed) and (event.code, event.by) == (1009, "client")
    assert event.error is not None and event.error.startswith("connection failed with 1009 (message too big)")


async def test_our_pings_are_timed_and_bytes_counted(echo_url: str, transport: TransportName) -> None:
    """A pong answering our ping carries its round trip; bytes on the wire are counted."""
    conn = await open_connection(ConnectOptions(echo_url, compression=False, transport=transport))
    handshake_received = conn.bytes_received
    assert conn.bytes_sent > 100 and handshake_received > 100  # the HTTP upgrade itself
    await conn.ping()
    pong = await asyncio.wait_for(conn.next_event(), 5 * UNIT)
    assert isinstance(pong, Pong) and pong.rtt is not None and 0 <= pong.rtt < 5 * UNIT
    await conn.send("x" * 100)
    assert await asyncio.wait_for(conn.next_event(), 5 * UNIT) == Message("x" * 100)
    assert conn.bytes_received >= handshake_received + 100
    await conn.close()
    assert await asyncio.wait_for(conn.next_event(), 5 * UNIT) == Closed(1000, "", "client", None)


async def test_compression_is_negotiated_only_when_asked(echo_url: str, transport: TransportName) -> None:
    """compression: true offers permessage-deflate; false does not."""
    with_deflate = await open_connection(ConnectOptions(echo_url, compression=True, transport=transport))
    without = await open_connection(ConnectOptions(echo_url, compression=False, transport=transport))
    try:
        assert "permessage-deflate" in with_deflate.headers.get("sec-websocket-extensions", "")
        assert "sec-websocket-extensions" not in without.headers
    finally:
        await with_deflate.close()
        await without.close()


async def test_session_leaves_no_task_behind(echo_url: str, transport: TransportName) -> None:
    """After a session, no task of it is left running."""
    before = asyncio.all_tasks()
    run = await run_yaml(
        "url: ws://x\nrules:\n  - {on: open, do: [ping, {send: a}]}\n  - {on: message, do: [close]}\n", url=echo_url
    )
    assert run.result.passed
    left = {task for task in asyncio.all_tasks() - before if "protocol_handler" not in repr(task)}  # server side
    assert left == set()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ws://nonexistent.invalid:80", "cannot resolve the host of ws://nonexistent.invalid:80"),
        ("ws://127.0.0.1:9", "connection refused by ws://127.0.0.1:9"),
        ("ws://[bad", "invalid URL 'ws://[bad'"),
    ],
)
async def test_opening_errors_are_translated(url: str, message: str, transport: TransportName) -> None:
    """Refused, unresolvable and malformed URLs become one clear ConnectFailed."""
    with pytest.raises(ConnectFailed) as caught:
        await open_connection(ConnectOptions(url, connect_timeout=5 * UNIT, transport=transport))
    assert str(caught.value).startswith(message)
    assert caught.value.status is None


async def test_handshake_that_never_answers_times_out(transport: TransportName) -> None:
    """A server that accepts TCP but never answers: connect_timeout ends the wait."""
    async with silent_tcp() as port:
        with pytest.raises(ConnectFailed, match=r"connect timed out after 0\.2s"):
            await open_connection(ConnectOptions(f"ws://127.0.0.1:{port}", connect_timeout=0.2, transport=transport))


async def test_http_refusal_keeps_status_headers_and_body(echo_url: str, transport: TransportName) -> None:
    """An HTTP 500 answer is kept: status, headers and body."""
    with pytest.raises(ConnectFailed) as caught:
        await open_connection(ConnectOptions(echo_url + "/status/500", transport=transport))
    failed = caught.value
    assert str(failed) == "handshake failed: server answered HTTP 500 Internal Server Error"
    assert failed.status == 500 and failed.headers["content-type"] == "text/plain"
    assert failed.body == "refused with 500 as asked\n"


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@contextlib.asynccontextmanager
async def tls_echo(ca: trustme.CA, host: str = "localhost", client_ca: trustme.CA | None = None) -> AsyncIterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    if client_ca is not None:  # require a client certificate signed by client_ca
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0, ssl=context, ping_interval=None) as server:
        yield next(iter(server.sockets)).getsockname()[1]


async def test_tls_self_signed_fails_by_default(ca: trustme.CA, transport: TransportName) -> None:
    """A certificate from an unknown CA fails verification, with the reason."""
    async with tls_echo(ca) as port:
        options = ConnectOptions(f"wss://localhost:{port}", ssl=tls_context(None, Path(".")), transport=transport)
        with pytest.raises(ConnectFailed, match=r"TLS certificate verification failed: .*certificate"):
            await open_connection(options)


async def test_tls_with_ca_file_or_insecure(ca: trustme.CA, tmp_path: Path, transport: TransportName) -> None:
    """Giving the CA file passes; so does the explicit opt-out of verification."""
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with tls_echo(ca) as port:
        for tls in (Tls(ca_file="ca.pem"), Tls(insecure=True)):
            options = ConnectOptions(f"wss://localhost:{port}", ssl=tls_context(tls, tmp_path), transport=transport)
            conn = await open_connection(options)
            await conn.send("secure")
            assert await asyncio.wait_for(conn.next_event(), 5 * UNIT) == Message("secure")
            await conn.close()


async def test_tls_wrong_host_name_fails(ca: trustme.CA, tmp_path: Path, transport: TransportName) -> None:
    """A certificate for another host name fails, even with the right CA."""
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with tls_echo(ca, host="example.org") as port:
        context = tls_context(Tls(ca_file="ca.pem"), tmp_path)
        options = ConnectOptions(f"wss://localhost:{port}", ssl=context, transport=transport)
        with pytest.raises(ConnectFailed, match=r"TLS certificate verification failed: .*[Hh]ostname mismatch"):
            await open_connection(options)


async def test_tls_scenario_end_to_end(ca: trustme.CA, tmp_path: Path, transport: TransportName) -> None:
    """A wss:// scenario with tls.ca_file relative to the file passes its checks."""
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with tls_echo(ca) as port:
        scenario = tmp_path / "s.yaml"
        run = await run_yaml(
            f"""
            url: wss://localhost:{port}
            tls: {{ca_file: ca.pem}}
            rules:
              - {{on: open, do: [{{send: hi}}]}}
              - {{on: message, do: [close]}}
            checks:
              - {{name: status is 101, that: status, equals: 101}}
            """,
            file=str(scenario),
        )
    assert run.result.passed, run.errors


async def test_tls_client_certificate(ca: trustme.CA, tmp_path: Path, transport: TransportName) -> None:
    """cert_file and key_file present a client certificate to a server that requires one."""
    client_ca = trustme.CA()
    client = client_ca.issue_cert("wsrun-client")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    async with tls_echo(ca, client_ca=client_ca) as port:
        url = f"wss://localhost:{port}"
        with_cert = Tls(ca_file="ca.pem", cert_file="client.pem", key_file="client.key")
        conn = await open_connection(ConnectOptions(url, ssl=tls_context(with_cert, tmp_path), transport=transport))
        await conn.send("me")
        assert await asyncio.wait_for(conn.next_event(), 5 * UNIT) == Message("me")
        await conn.close()
        without = ConnectOptions(url, ssl=tls_context(Tls(ca_file="ca.pem"), tmp_path), transport=transport)
        # The server refuses us at the TLS level: it closes before answering the upgrade.
        with pytest.raises(ConnectFailed, match="the server closed the connection without answering"):
            await open_connection(without)


def test_unreadable_ca_file_is_a_usage_error(tmp_path: Path) -> None:
    """A CA file that does not exist is named, before any connection."""
    with pytest.raises(UsageError, match=r"tls\.ca_file: cannot read .*missing\.pem: no such file"):
        tls_context(Tls(ca_file="missing.pem"), tmp_path)


# -- the opening handshake, on each transport -------------------------------------------------


def redirecting(connection: ServerConnection, request: Request) -> Response | None:
    """/hops/N redirects to /hops/N-1 and /hops/0 accepts; /loop redirects to itself."""
    path = request.path
    if path == "/loop" or (path.startswith("/hops/") and path != "/hops/0"):
        response = connection.respond(http.HTTPStatus.FOUND, "")
        response.headers["Location"] = "/loop" if path == "/loop" else f"/hops/{int(path[6:]) - 1}"
        return response
    return None


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def test_redirects_are_followed_up_to_a_limit(transport: TransportName) -> None:
    """3xx with a Location is followed, as websockets follows it; a loop ends after 10 attempts."""
    async with serving(echo, process_request=redirecting) as url:
        conn = await open_connection(ConnectOptions(url + "/hops/3", transport=transport))
        await conn.send("here")
        assert await asyncio.wait_for(conn.next_event(), 5 * UNIT) == Message("here")
        await conn.close()
        with pytest.raises(ConnectFailed, match=r"^handshake failed: more than 10 redirects$"):
            await open_connection(ConnectOptions(url + "/loop", transport=transport))


async def test_userinfo_becomes_authorization(echo_url: str, transport: TransportName) -> None:
    """ws://user:secret@host sends Basic credentials; Host names the host and port only."""
    url = echo_url.replace("ws://", "ws://user:secret@") + "/headers"
    conn = await open_connection(ConnectOptions(url, transport=transport))
    first = await asyncio.wait_for(conn.next_event(), 5 * UNIT)
    await conn.close()
    assert isinstance(first, Message) and isinstance(first.data, str)
    headers = json.loads(first.data)["headers"]
    assert headers["host"] == echo_url.removeprefix("ws://")
    assert headers["authorization"] == "Basic " + base64.b64encode(b"user:secret").decode()


@pytest.mark.parametrize(
    ("answer", "offered", "error"),
    [
        ("Sec-WebSocket-Protocol: chat\r\n", [], "no subprotocols supported"),
        (
            "Sec-WebSocket-Protocol: chat, superchat\r\n",
            ["chat", "superchat"],
            "invalid Sec-WebSocket-Protocol header: multiple values: chat, superchat",
        ),
        ("Sec-WebSocket-Extensions: x-unknown\r\n", [], "Unsupported extension: name = x-unknown, params = []"),
        (
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n",
            [],
            "Unsupported extension: name = permessage-deflate, params = [('client_max_window_bits', '8')]",
        ),
    ],
)
async def test_answers_the_client_did_not_ask_for_fail_the_handshake(
    answer: str, offered: list[str], error: str, transport: TransportName
) -> None:
    """A subprotocol or an extension the client did not offer, or cannot use, fails the handshake."""
    async with hostile(lambda peer: peer.hold(), handshake=lambda request: upgrade(request, extra=answer)) as url:
        with pytest.raises(ConnectFailed) as caught:
            await open_connection(ConnectOptions(url, subprotocols=offered, transport=transport))
    assert str(caught.value) == f"handshake failed: {error}"


async def test_extension_without_compression_fails_the_handshake(transport: TransportName) -> None:
    """compression: false offers nothing, so any extension in the answer is refused."""
    answer = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    async with hostile(lambda peer: peer.hold(), handshake=lambda request: upgrade(request, extra=answer)) as url:
        with pytest.raises(ConnectFailed, match=r"^handshake failed: no extensions supported$"):
            await open_connection(ConnectOptions(url, compression=False, transport=transport))


async def test_cancelled_or_timed_out_opening_leaves_no_socket(transport: TransportName) -> None:
    """Cancelling an opening that waits for the 101, or its connect_timeout, closes its socket."""
    async with silent_tcp() as port:
        # Counted while the server still holds its side: closing it would let a leaked client socket close too.
        fds = len(os.listdir("/proc/self/fd"))
        url = f"ws://127.0.0.1:{port}"
        opening = asyncio.ensure_future(open_connection(ConnectOptions(url, transport=transport)))
        await asyncio.sleep(0.1 * UNIT)  # it waits for the 101 by now
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening
        for _ in range(3):
            with pytest.raises(ConnectFailed, match="connect timed out"):
                await open_connection(ConnectOptions(url, connect_timeout=0.05, transport=transport))
        for _ in range(3):  # the transports close on the next turns of the loop
            await asyncio.sleep(0)
        assert len(os.listdir("/proc/self/fd")) <= fds + 4  # the server's side of each of the 4 connections


async def test_send_waits_while_the_server_does_not_read(transport: TransportName) -> None:
    """send() returns once the data can go out: it waits while the server reads nothing."""
    reading = asyncio.Event()

    async def script(peer: Peer) -> None:
        await reading.wait()
        await peer.hold()

    async with hostile(script) as url:
        conn = await open_connection(ConnectOptions(url, compression=False, transport=transport))
        sending = asyncio.ensure_future(_send_many(conn, 64, b"x" * 2**20))
        done, _ = await asyncio.wait([sending], timeout=0.3 * UNIT)
        assert not done  # the kernel's buffers are full, and send() waits
        reading.set()
        await asyncio.wait_for(sending, 10 * UNIT)
        await conn.abort()


async def _send_many(conn: Connection, count: int, data: bytes) -> None:
    for _ in range(count):
        await conn.send(data)
