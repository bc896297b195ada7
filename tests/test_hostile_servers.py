"""Hostile servers: each failure ends as the right events, error, facts, report and verdict."""

from __future__ import annotations

import asyncio
import os
import socket
import zlib
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import ServerConnection

from .helpers import UNIT, Run, report, run_yaml, serving
from .hostile import BINARY, CLOSE, CONT, PING, TEXT, Peer, close_frame, frame, hostile, silent_tcp, upgrade

#: Every test here runs on each transport (conftest.py): the semantics are the same.
pytestmark = pytest.mark.usefixtures("transport")

#: Logs every event, so that tests can assert the exact sequence.
EVENTS = """
url: ws://unused
timeout: {timeout}
close_timeout: {close_timeout}
{extra}
rules:
  - {{on: open, do: [{{log: open}}]}}
  - {{on: message, do: [{{log: "message {{{{ message }}}}"}}]}}
  - {{on: binary, do: [{{log: "binary {{{{ message }}}}"}}]}}
  - {{on: ping, do: [{{log: ping}}]}}
  - {{on: pong, do: [{{log: pong}}]}}
  - {{on: error, do: [{{log: "error {{{{ error }}}}"}}]}}
  - {{on: close, do: [{{log: "close {{{{ close_code }}}} by {{{{ closed_by }}}}"}}]}}
{more}
"""


def events(*, timeout: str = "5s", close_timeout: str = "1s", extra: str = "", more: str = "") -> str:
    return EVENTS.format(timeout=timeout, close_timeout=close_timeout, extra=extra, more=more)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
async def nothing_survives() -> object:
    """No task, socket or timer of wsrun outlives a session, whatever the server did."""
    tasks, fds = asyncio.all_tasks(), open_fds()
    yield
    for _ in range(3):  # let servers' own handlers finish their last step
        await asyncio.sleep(0)
    left = {task for task in asyncio.all_tasks() - tasks if "wsrun" in repr(task.get_coro())}
    assert left == set()
    assert open_fds() <= fds


# -- after open -----------------------------------------------------------------------------


async def test_close_frame_but_tcp_never_closed() -> None:
    """The server sends a close frame and keeps TCP open: close_timeout ends it, as a server close."""

    async def script(peer: Peer) -> None:
        peer.send(close_frame(1000, "bye"))
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(close_timeout="300ms"), url=url)
    assert run.logs == ["open", "close 1000 by server"]
    assert run.result.passed and run.result.duration < 3 * UNIT


async def test_close_we_send_is_never_answered() -> None:
    """We close and the server never answers: 1006, with a message naming the closing handshake."""

    async def script(peer: Peer) -> None:
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(close_timeout="300ms", more="  - {after: 10ms, do: [close]}"), url=url)
    assert run.logs == [
        "open",
        "error the server did not complete the closing handshake: no close frame came back (1006)",
        "close 1006 by client",
    ]
    assert not run.result.passed


async def test_pings_never_answered_with_pong_timeout() -> None:
    """A server that never answers pings: with pong_timeout, an error, then wsrun closes with 1011."""

    async def script(peer: Peer) -> None:
        while True:
            opcode, _ = await peer.read_frame()
            if opcode == CLOSE:
                peer.send(close_frame(1011))
                return

    async with hostile(script) as url:
        run = await run_yaml(events(extra="pong_timeout: 200ms", more="  - {after: 10ms, do: [ping]}"), url=url)
    assert run.logs == [
        "open",
        "error no pong within 0.2s of a ping: closing with 1011",
        "close 1011 by client",
    ]
    assert run.errors == ["no pong within 0.2s of a ping: closing with 1011"]


async def test_flood_is_counted_whole_and_memory_stays_bounded() -> None:
    """20,000 messages as fast as the server can: every one counted, nothing kept but the transcript."""
    import tracemalloc

    count, payload = 20_000, b"x" * 1000

    async def script(peer: Peer) -> None:
        for index in range(count):
            peer.send(frame(TEXT, payload))
            if index % 500 == 0:
                await peer.drain()
                await asyncio.sleep(0)
        peer.send(close_frame(1000))
        await peer.hold()

    tracemalloc.start()
    try:
        async with hostile(script) as url:
            run = await run_yaml(
                f"""
                url: ws://unused
                timeout: {30 * UNIT:g}s
                checks:
                  - {{name: all counted, that: messages_received, equals: {count}}}
                """,
                url=url,
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.result.passed, run.result.checks["all counted"].reason
    assert run.result.metrics.counters["ws_msgs_received"] == count
    assert run.result.metrics.counters["data_received"] > count * len(payload)
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB for {count * len(payload) / 2**20:.0f} MiB received"


async def test_flood_does_not_delay_the_timeout() -> None:
    """The session timeout is honoured while messages pour in."""

    async def script(peer: Peer) -> None:
        while True:
            for _ in range(200):
                peer.send(frame(TEXT, b"flood"))
            await peer.drain()
            await asyncio.sleep(0)  # drain() does not yield while the client keeps up: share the loop

    async with hostile(script) as url:
        run = await run_yaml("url: ws://x\ntimeout: 300ms\nclose_timeout: 200ms\n", url=url)
    assert run.result.timed_out
    assert run.result.duration < 2 * UNIT
    assert run.result.metrics.counters["ws_msgs_received"] > 0


async def test_message_over_max_size_is_1009() -> None:
    """A message over max_message_size: the client fails the connection with 1009."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"y" * 2000))
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(extra="max_message_size: 1000"), url=url)
    assert run.logs[0] == "open"
    assert run.logs[1].startswith("error connection failed with 1009 (message too big)")
    assert run.logs[2] == "close 1009 by client"
    assert "1009 (message too big)" in report(run.result)


async def test_invalid_utf8_is_1007() -> None:
    """Invalid UTF-8 in a text frame: the client fails the connection with 1007."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"ok \xff\xfe"))
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(), url=url)
    assert run.logs[0] == "open"
    assert run.logs[1].startswith("error connection failed with 1007 (invalid frame payload data)")
    assert run.logs[2] == "close 1007 by client"
    assert run.result.close_code == 1007 and run.result.closed_by == "client"


async def test_fragmented_message_and_frame_kinds() -> None:
    """Fragments make one message; text and binary frames go to their own rules; pings keep their place."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"hel", fin=False))
        peer.send(frame(PING, b"mid"))  # a control frame may come between fragments
        peer.send(frame(CONT, b"lo", fin=True))
        peer.send(frame(BINARY, b"\x01\x02"))
        peer.send(close_frame(1000))
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(), url=url)
    assert run.logs == ["open", "ping", "message hello", "binary 0102", "close 1000 by server"]


async def test_fragments_arriving_one_by_one_do_not_stall_the_session() -> None:
    """A message in 20 fragments sent 5 ms apart (websockets' send of an async iterator): its rules run at once,
    and the session ends when the server closes, long before its timeout."""

    async def handler(ws: ServerConnection) -> None:
        async def fragments() -> AsyncIterator[str]:
            for _ in range(20):
                yield "y" * 1000
                await asyncio.sleep(0.005)

        await ws.send(fragments())
        await ws.close()

    async with serving(handler) as url:
        run = await run_yaml(events(timeout="10s"), url=url)
    # The log line is cut (what a session keeps is bounded): the message arrived whole, once.
    assert run.logs[0] == "open" and run.logs[1].startswith("message " + "y" * 1000)
    assert run.logs[2:] == ["close 1000 by server"]
    assert run.result.metrics.counters["ws_msgs_received"] == 1
    assert run.result.passed and run.result.duration < 3 * UNIT


async def test_endless_empty_fragments_are_bounded_by_the_timeout() -> None:
    """Empty fragments that never end never reach max_message_size: the session's timeout ends them, and
    they cost no memory."""
    import tracemalloc

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"", fin=False))
        while True:
            peer.send(frame(CONT, b"", fin=False) * 1000)
            await peer.drain()
            await asyncio.sleep(0)

    tracemalloc.start()
    try:
        async with hostile(script) as url:
            run = await run_yaml(events(timeout="1s", close_timeout="300ms"), url=url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.result.timed_out and run.result.duration < 4 * UNIT
    # Read on past 10,000 fragments of 2 bytes (fewer than 4,096 were once allowed), with no error but the timeout.
    assert run.result.metrics.counters["data_received"] > 20_000
    assert run.errors == ["session timed out after 1s"]
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# -- the handshake --------------------------------------------------------------------------


async def test_wrong_accept_key_fails_the_handshake() -> None:
    """A 101 with a wrong Sec-WebSocket-Accept is a failed handshake: status is not 101."""

    async with hostile(lambda peer: peer.hold(), handshake=lambda request: upgrade(request, accept="d3Jvbmc=")) as url:
        run = await run_yaml(events(more="checks: [{name: status is 101, that: status, equals: 101}]"), url=url)
    assert run.logs == ["error handshake failed: invalid Sec-WebSocket-Accept header: d3Jvbmc="]
    assert run.check("status is 101") == (0, 1, "expected status equals 101, but status is not set")


async def test_subprotocol_not_offered_fails_the_handshake() -> None:
    """A subprotocol the client did not offer is refused."""

    def handshake(request: dict[str, str]) -> bytes:
        return upgrade(request, extra="Sec-WebSocket-Protocol: surprise\r\n")

    async with hostile(lambda peer: peer.hold(), handshake=handshake) as url:
        run = await run_yaml(events(extra="subprotocols: [chat]"), url=url)
    assert len(run.logs) == 1 and run.logs[0].startswith("error handshake failed: ")
    assert "surprise" in run.logs[0]


@pytest.mark.parametrize("status", [401, 403, 404, 500])
async def test_http_refusals(status: int, echo_url: str) -> None:
    """401, 403, 404, 500: status, headers and the error are recorded and checkable; exit would be 1."""
    run = await run_yaml(
        events(
            more=f"checks: [{{name: refused, that: status, equals: {status}}}, {{name: status is 101, that: status, equals: 101}}]"
        ),
        url=f"{echo_url}/status/{status}",
    )
    assert len(run.logs) == 1 and run.logs[0].startswith(f"error handshake failed: server answered HTTP {status}")
    assert run.check("refused")[:2] == (1, 0)
    assert run.check("status is 101")[:2] == (0, 1)
    assert run.result.headers["content-type"] == "text/plain"
    text = report(run.result)
    assert "✗ status is 101" in text and f"got {status}" in text and "✗ failed" in text


async def test_plain_tcp_on_a_wss_url(echo_url: str) -> None:
    """A server speaking plain TCP on a wss:// URL is a TLS error, not a hang."""
    port = echo_url.rsplit(":", 1)[1]
    run = await run_yaml(events(), url=f"wss://127.0.0.1:{port}")
    assert run.logs == [
        f"error connection reset by wss://127.0.0.1:{port} during the TLS handshake: is it a TLS server?"
    ]


async def test_connection_refused_and_unresolvable() -> None:
    """Nothing listening and an unknown host each end in one error and a report."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = await run_yaml(events(), url=f"ws://127.0.0.1:{port}")
    assert refused.logs == [f"error connection refused by ws://127.0.0.1:{port}"]
    unknown = await run_yaml(events(), url="ws://nonexistent.invalid")
    assert unknown.logs[0].startswith("error cannot resolve the host of ws://nonexistent.invalid")


async def test_handshake_never_answered() -> None:
    """A port that accepts TCP but never answers the handshake: connect_timeout, then a report."""

    async with silent_tcp() as port:
        run = await run_yaml(events(extra="connect_timeout: 200ms"), url=f"ws://127.0.0.1:{port}")
    assert run.logs == ["error connect timed out after 0.2s"]
    assert not run.result.passed


# -- what the report shows ------------------------------------------------------------------


async def test_escape_sequences_from_the_server_are_neutralised() -> None:
    """A server cannot recolour or rewrite the report: control characters are shown as \\xNN."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"\x1b[32m\xe2\x9c\x93 fake pass\x1b]0;title\x07"))
        peer.send(close_frame(1000))
        await peer.hold()

    async with hostile(script) as url:
        run: Run = await run_yaml(events(more="checks: [{name: never, that: message, equals: nope}]"), url=url)
    text = report(run.result)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[32m✓ fake pass" in text


# -- frames that break the rules, and compression -------------------------------------------


def rsv1(data: bytes) -> bytes:
    """The same frame with RSV1 set: compressed, for permessage-deflate (RFC 7692 section 6)."""
    return bytes([data[0] | 0x40]) + data[1:]


def deflated(data: bytes, compressor: zlib._Compress | None = None) -> bytes:
    """A message's payload compressed as RFC 7692 7.2.1 says: raw deflate, sync flush, tail removed."""
    compressor = compressor or zlib.compressobj(wbits=-15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def with_deflate(request: dict[str, str]) -> bytes:
    return upgrade(request, extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")


async def test_compressed_messages_whole_fragmented_and_plain() -> None:
    """With permessage-deflate: compressed messages, whole or in fragments, and uncompressed ones, all arrive."""

    async def script(peer: Peer) -> None:
        compressor = zlib.compressobj(wbits=-15)  # context takeover: each message builds on the last
        peer.send(rsv1(frame(TEXT, deflated(b"hello " * 100, compressor))))
        second = deflated("é".encode() * 3, compressor)
        peer.send(rsv1(frame(TEXT, second[:2], fin=False)))
        peer.send(frame(PING, b"mid"))
        peer.send(frame(CONT, second[2:], fin=True))
        peer.send(frame(BINARY, b"\x01\x02"))  # not compressed: RSV1 clear
        peer.send(close_frame(1000))
        await peer.hold()

    async with hostile(script, handshake=with_deflate) as url:
        run = await run_yaml(events(), url=url)
    assert run.logs == [
        "open",
        "message " + "hello " * 100,
        "ping",
        "message ééé",
        "binary 0102",
        "close 1000 by server",
    ]


async def test_compressed_message_over_max_size_is_1009() -> None:
    """A small compressed frame that inflates past max_message_size: 1009, without inflating it all."""

    async def script(peer: Peer) -> None:
        peer.send(rsv1(frame(TEXT, deflated(b"a" * 500_000))))
        await peer.hold()

    async with hostile(script, handshake=with_deflate) as url:
        run = await run_yaml(events(extra="max_message_size: 1000"), url=url)
    assert run.logs == [
        "open",
        "error connection failed with 1009 (message too big): frame exceeds limit of 1000 bytes",
        "close 1009 by client",
    ]


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([rsv1(frame(TEXT, b"hi"))], "reserved bits must be 0"),  # RSV1 while nothing was negotiated
        ([frame(CONT, b"lo")], "unexpected continuation frame"),
        ([frame(TEXT, b"a", fin=False), frame(TEXT, b"b")], "expected a continuation frame"),
        ([bytes([0x80 | 0x20 | TEXT]) + frame(TEXT, b"hi")[1:]], "reserved bits must be 0"),  # RSV2
        ([rsv1(frame(PING, b"p"))], "reserved bits must be 0"),
    ],
)
async def test_frames_that_break_the_rules_are_1002(frames: list[bytes], reason: str) -> None:
    """RSV bits nobody negotiated, continuation frames out of order: the client fails the connection with 1002."""

    async def script(peer: Peer) -> None:
        for data in frames:
            peer.send(data)
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(close_timeout="300ms"), url=url)
    assert run.logs == ["open", f"error connection failed with 1002 (protocol error): {reason}", "close 1002 by client"]


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([rsv1(frame(TEXT, b"\x01\x02\x03\x04"))], "decompression failed"),
        (
            [rsv1(frame(TEXT, deflated(b"abc")[:1], fin=False)), rsv1(frame(CONT, deflated(b"abc")[1:]))],
            "RSV1 bit set in continuation frame",
        ),
    ],
)
async def test_broken_compression_is_1002(frames: list[bytes], reason: str) -> None:
    """Data that does not inflate, RSV1 on a continuation frame: 1002."""

    async def script(peer: Peer) -> None:
        for data in frames:
            peer.send(data)
        await peer.hold()

    async with hostile(script, handshake=with_deflate) as url:
        run = await run_yaml(events(close_timeout="300ms"), url=url)
    assert run.logs == ["open", f"error connection failed with 1002 (protocol error): {reason}", "close 1002 by client"]


async def test_utf8_character_split_across_fragments() -> None:
    """A character whose bytes straddle two fragments is decoded whole."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, "é".encode()[:1], fin=False))
        peer.send(frame(CONT, "é".encode()[1:]))
        peer.send(close_frame(1000))
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(), url=url)
    assert run.logs == ["open", "message é", "close 1000 by server"]


async def test_empty_close_frame_is_1005_and_what_follows_is_ignored() -> None:
    """A close frame without a code is 1005 (an error); frames after a close frame are not read."""
    seen: list[tuple[int, bytes]] = []

    async def script(peer: Peer) -> None:
        peer.send(frame(CLOSE, b""))
        peer.send(frame(TEXT, b"after the close"))
        seen.append(await peer.read_frame())
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(close_timeout="300ms"), url=url)
    assert run.logs == [
        "open",
        "error server closed the connection with 1005 (no status received [internal])",
        "close 1005 by server",
    ]
    assert seen == [(CLOSE, b"")]  # the answer echoes it: an empty close frame


async def test_close_between_fragments_is_answered_with_1002_and_reported_as_such() -> None:
    """Autobahn|Testsuite 7.1.5: a fragment, a close, a fragment. The client fails the connection with 1002
    (the message is incomplete): an error, and the report shows the close frame each way."""
    seen: list[tuple[int, bytes]] = []

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"frag", fin=False))
        peer.send(close_frame(1000))
        peer.send(frame(CONT, b"ment"))
        seen.append(await peer.read_frame())

    async with hostile(script) as url:
        run = await run_yaml(events(close_timeout="300ms"), url=url)
    assert seen == [(CLOSE, b"\x03\xea" + b"incomplete fragmented message")]
    assert run.logs == [
        "open",
        "error connection failed with 1002 (protocol error): incomplete fragmented message",
        "close 1000 by server",
    ]
    assert not run.result.passed
    text = report(run.result)
    assert "closed by server: received 1000 (OK), sent 1002 (protocol error) 'incomplete fragmented message'" in text
    assert "✗ failed" in text
    # The transcript shows both close frames, in the order they went.
    closes = [(frame.direction, frame.text) for frame in run.result.transcript if frame.kind == "close"]
    assert closes == [("received", "1000 (OK)"), ("sent", "1002 (protocol error): incomplete fragmented message")]


async def test_flood_does_not_starve_the_timers() -> None:
    """Timers fire on time while messages pour in faster than the session handles them: what is due
    goes before the next queued message (an `every` fired 0 times in 2 s, and `after` never closed)."""

    async def script(peer: Peer) -> None:
        while True:
            for _ in range(200):
                peer.send(frame(TEXT, b"flood"))
            await peer.drain()
            await asyncio.sleep(0)

    text = """
    url: ws://x
    timeout: 10s
    close_timeout: 300ms
    rules:
      - {every: 100ms, do: [{log: tick}]}
      - {after: 500ms, do: [close]}
    """
    async with hostile(script) as url:  # it floods on and never answers our close frame
        run = await run_yaml(text, url=url)
    assert not run.result.timed_out and run.result.closed_by == "client"
    assert run.result.duration < 0.5 + 0.3 + 2 * UNIT
    assert 3 <= run.logs.count("tick") <= 5
    assert run.result.metrics.counters["ws_msgs_received"] > 0
