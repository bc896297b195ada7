"""The picows transport: permessage-deflate without sockets, what picows would leave behind, and the
known differences from websockets, each asserted on both transports in a test named for it."""

from __future__ import annotations

import asyncio
import gc
import logging
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode

from wsrun.errors import ConnectFailed
from wsrun.transport import deflate
from wsrun.transport.base import ConnectOptions, TransportName, open_connection
from wsrun.transport.deflate import Agreement, Deflate, NegotiationError, negotiate, parse_extensions

from .helpers import UNIT, interrupt, run_yaml
from .hostile import CLOSE, TEXT, Peer, frame, hostile
from .test_hostile_servers import events


def test_picows_is_in_the_tested_range() -> None:
    """picows_connection relies on picows 2.3's behaviour (close frames left unanswered, its read buffer,
    wait_disconnected): pyproject pins picows to >=2.3,<3."""
    from picows.version import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    assert major == 2 and minor >= 3


# -- permessage-deflate, pure ----------------------------------------------------------------


def test_extensions_header_is_parsed() -> None:
    """Names, parameters with and without values, quoted values and spaces (RFC 6455 9.1)."""
    header = 'permessage-deflate ; server_max_window_bits="12";client_no_context_takeover, x-other'
    assert parse_extensions(header) == [
        ("permessage-deflate", [("server_max_window_bits", "12"), ("client_no_context_takeover", None)]),
        ("x-other", []),
    ]


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("", "expected token at 0 in "),
        ("permessage-deflate;", "expected token at 19 in permessage-deflate;"),
        ("a b", "expected comma at 2 in a b"),
        ('a; b="x y"', 'expected token after quoted string at 5 in a; b="x y"'),
        ('a; b="x', 'expected quoted string at 5 in a; b="x'),
    ],
)
def test_malformed_extensions_header_is_refused(header: str, error: str) -> None:
    """A header outside the grammar is named with where it went wrong."""
    with pytest.raises(NegotiationError) as caught:
        parse_extensions(header)
    assert str(caught.value) == f"invalid Sec-WebSocket-Extensions header: {error}"


def test_answers_to_the_offer_are_agreed() -> None:
    """The server's parameters become the agreement; none at all is no compression."""
    assert negotiate([], offered=True) is None
    assert negotiate(["permessage-deflate"], offered=True) == Agreement()
    answer = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10; server_no_context_takeover"
    assert negotiate([answer], offered=True) == Agreement(
        server_no_context_takeover=True, server_max_window_bits=12, client_max_window_bits=10
    )


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        (["permessage-deflate"], "no extensions supported"),  # not offered
        (["x-unknown; a=1"], "Unsupported extension: name = x-unknown, params = [('a', '1')]"),
        (["permessage-deflate", "permessage-deflate"], "Unsupported extension: name = permessage-deflate, params = []"),
        (
            ["permessage-deflate; server_max_window_bits=16"],
            "Unsupported extension: name = permessage-deflate, params = [('server_max_window_bits', '16')]",
        ),
        (
            ["permessage-deflate; client_max_window_bits"],  # a value is required in an answer
            "Unsupported extension: name = permessage-deflate, params = [('client_max_window_bits', None)]",
        ),
        (
            ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            "Unsupported extension: name = permessage-deflate, params = "
            "[('server_no_context_takeover', None), ('server_no_context_takeover', None)]",
        ),
    ],
)
def test_answers_that_do_not_fit_the_offer_are_refused(answers: list[str], error: str) -> None:
    """What websockets refuses is refused, in its words (RFC 7692 7.1)."""
    with pytest.raises(NegotiationError) as caught:
        negotiate(answers, offered=answers != ["permessage-deflate"])
    assert str(caught.value) == error


@pytest.mark.parametrize("takeover", [True, False])
def test_messages_compress_as_websockets_compresses_them(takeover: bool) -> None:
    """Byte for byte what websockets puts on the wire, with and without context takeover."""
    ours = Deflate(Agreement(client_no_context_takeover=not takeover, client_max_window_bits=12))
    theirs = PerMessageDeflate(False, not takeover, 15, 12, {"memLevel": 5})
    for message in [b"hello " * 100, b"", b"hello " * 100, bytes(range(256)) * 40]:
        assert ours.compress(message) == bytes(theirs.encode(Frame(Opcode.BINARY, message)).data)


@pytest.mark.parametrize("takeover", [True, False])
def test_messages_decompress_whole_or_in_fragments(takeover: bool) -> None:
    """Each message comes back, in one frame or in several, with or without context takeover."""
    sender = Deflate(Agreement(client_no_context_takeover=not takeover))
    receiver = Deflate(Agreement(server_no_context_takeover=not takeover))
    for message in [b"first " * 200, b"first " * 200, b"x"]:
        data = sender.compress(message)
        assert receiver.decompress(data, first=True, fin=True, limit=10_000) == message
        middle = len(data) // 2
        head = receiver.decompress(data[:middle], first=True, fin=False, limit=10_000)
        tail = receiver.decompress(data[middle:], first=False, fin=True, limit=10_000 - len(head))
        assert head + tail == message


def test_decompression_stops_at_the_limit() -> None:
    """A bomb is not inflated past the limit; invalid data is a failure, not an exception of zlib's."""
    bomb = Deflate(Agreement()).compress(b"a" * 10_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(deflate.TooBig):
        Deflate(Agreement()).decompress(bomb, first=True, fin=True, limit=1000)
    assert Deflate(Agreement()).decompress(Deflate(Agreement()).compress(b"a" * 1000), first=True, fin=True, limit=1000)
    with pytest.raises(deflate.DecompressionFailed, match=r"^decompression failed$"):
        Deflate(Agreement()).decompress(b"\x01\x02\x03\x04", first=True, fin=True, limit=1000)


def test_a_window_of_8_bits_is_refused_for_our_side() -> None:
    """zlib cannot compress with 8 bits; the server's side may use them."""
    with pytest.raises(NegotiationError, match="client_max_window_bits"):
        negotiate(["permessage-deflate; client_max_window_bits=8"], offered=True)
    agreement = negotiate(["permessage-deflate; server_max_window_bits=8"], offered=True)
    assert agreement is not None and agreement.server_max_window_bits == 8
    compressor = zlib.compressobj(wbits=-9)  # zlib's smallest window, within 8 bits' reach
    data = (compressor.compress(b"small window " * 10) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert Deflate(agreement).decompress(data, first=True, fin=True, limit=1000) == b"small window " * 10


# -- what picows would leave behind ------------------------------------------------------------


class Recording(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_protocol_errors_leave_no_log_and_no_unretrieved_exception() -> None:
    """picows logs every connection and protocol error, and keeps an exception nobody awaits: neither shows."""
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda loop, context: unhandled.append(context))
    handler = Recording()
    logging.getLogger().addHandler(handler)
    try:

        async def script(peer: Peer) -> None:
            peer.send(bytes([0x83, 0]))  # opcode 3: picows' parser fails the connection
            await peer.hold()

        async with hostile(script) as url:
            run = await run_yaml(events(), url=url, transport="picows")
        gc.collect()
        await asyncio.sleep(0)
    finally:
        logging.getLogger().removeHandler(handler)
        loop.set_exception_handler(None)
    assert run.logs[1].startswith("error connection failed with 1002 (protocol error)")
    assert [record.getMessage() for record in handler.records if record.name.startswith(("picows", "wsrun"))] == []
    assert unhandled == []


async def test_plain_tcp_on_a_wss_url_prints_nothing(echo_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    """picows' default aiofastnet prints a logging error on this failure; wsrun does not use it."""
    port = echo_url.rsplit(":", 1)[1]
    with pytest.raises(ConnectFailed, match="during the TLS handshake: is it a TLS server"):
        await open_connection(ConnectOptions(f"wss://127.0.0.1:{port}", transport="picows"))
    assert capfd.readouterr().err == ""


async def test_read_buffer_stays_small_under_a_flood() -> None:
    """picows' read buffer doubles whenever a read fills it and never shrinks: reads are capped."""
    import tracemalloc

    async def script(peer: Peer) -> None:
        data = frame(TEXT, b"x" * 100) * 1000
        for _ in range(100):
            peer.send(data)
            await peer.drain()
        peer.send(struct.pack("!BB", 0x88, 2) + struct.pack("!H", 1000))
        await peer.hold()

    tracemalloc.start()
    try:
        async with hostile(script) as url:
            run = await run_yaml(
                f"url: ws://x\ntimeout: {20 * UNIT:g}s\nclose_timeout: 100ms\n", url=url, transport="picows"
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.result.metrics.counters["ws_msgs_received"] == 100_000
    assert peak < 3 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_ctrl_c_during_a_picows_session_ends_cleanly(tmp_path: Path) -> None:
    """Ctrl-C ends a picows session within a second, with the report and exit 130 (on uvloop, as the CLI runs)."""
    path = tmp_path / "s.yaml"
    path.write_text("url: ws://x\ntransport: picows\nrules:\n  - {every: 50ms, do: [{log: tick}, ping]}\n")
    code, out, err, elapsed = interrupt([sys.executable, "-m", "wsrun", str(path), "--serve"], after="tick")
    assert code == 130, err
    assert "interrupted" in out and "ws_sessions" in out
    assert "Traceback" not in err and err == ""
    assert elapsed < 3 * UNIT


# -- where the two transports differ -----------------------------------------------------------

#: Protocol errors that picows' own frame parser finds, and its words for them.
PARSER_ERRORS = [
    (
        [frame(TEXT, b"y" * 2000)],
        "1009 (message too big)",
        "frame with 2000 bytes exceeds limit of 1000 bytes",
        "Received frame with payload size exceeding max allowed size, 2000 > 1000",
    ),
    ([bytes([0x83, 0])], "1002 (protocol error)", "invalid opcode", "Received frame with invalid opcode=0x3"),
    (
        [frame(CLOSE, struct.pack("!H", 1005))],
        "1002 (protocol error)",
        "invalid status code",
        "Received CLOSE with invalid close code: 1005",
    ),
    (
        [frame(CLOSE, struct.pack("!H", 1000) + b"\xff")],
        "1007 (invalid frame payload data)",
        "invalid start byte at position 0",
        "Received CLOSE with invalid UTF-8 reason",
    ),
]


@pytest.mark.parametrize(("frames", "code", "websockets_words", "picows_words"), PARSER_ERRORS)
async def test_difference_parser_errors_in_picows_words_and_tcp_closed_at_once(
    frames: list[bytes], code: str, websockets_words: str, picows_words: str, transport: TransportName
) -> None:
    """Same close code and verdict; picows' reason text, and it closes TCP 10 ms after its close frame
    where websockets waits up to close_timeout for the server to close it."""

    async def script(peer: Peer) -> None:
        for data in frames:
            peer.send(data)
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(close_timeout="500ms", extra="max_message_size: 1000"), url=url)
    words = picows_words if transport == "picows" else websockets_words
    assert run.logs == ["open", f"error connection failed with {code}: {words}", f"close {code[:4]} by client"]
    if transport == "picows":
        assert run.result.duration < 0.4 * UNIT
    else:
        assert run.result.duration >= 0.5


async def test_difference_non_minimal_length_is_refused_by_picows(transport: TransportName) -> None:
    """A frame whose 16-bit length would fit in 7 bits: websockets reads it, picows fails with 1002."""

    async def script(peer: Peer) -> None:
        peer.send(bytes([0x81, 126, 0, 5]) + b"hello")
        peer.send(struct.pack("!BBH", 0x88, 2, 1000))
        await peer.hold()

    async with hostile(script) as url:
        run = await run_yaml(events(close_timeout="200ms"), url=url)
    if transport == "picows":
        reason = "Received frame with invalid 16-bit payload len"
        assert run.logs[1:] == [f"error connection failed with 1002 (protocol error): {reason}", "close 1002 by client"]
    else:
        assert run.logs[1:] == ["message hello", "close 1000 by server"]


async def test_difference_refusal_body_only_what_came_with_the_head(transport: TransportName) -> None:
    """A refusal whose body comes after its head: websockets reads it by Content-Length, picows keeps none."""

    def refuse(request: dict[str, str]) -> bytes:
        return b"HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\n\r\n"

    async def script(peer: Peer) -> None:
        await asyncio.sleep(0.05 * UNIT)
        peer.send(b"go away now")
        await peer.hold()

    async with hostile(script, handshake=refuse) as url:
        with pytest.raises(ConnectFailed) as caught:
            await open_connection(ConnectOptions(url, transport=transport))
    assert str(caught.value) == "handshake failed: server answered HTTP 403 Forbidden"
    assert caught.value.body == ("" if transport == "picows" else "go away now")


async def test_difference_user_agent_names_the_library(echo_url: str, transport: TransportName) -> None:
    """Each transport's User-Agent names itself (so bytes_sent differ by its length); a scenario's own wins."""
    import json

    for headers, expected in [
        ({}, f"Python/{sys.version_info.major}.{sys.version_info.minor} {transport}/"),
        ({"User-Agent": "mine"}, "mine"),
    ]:
        conn = await open_connection(ConnectOptions(echo_url + "/headers", headers=headers, transport=transport))
        first = await asyncio.wait_for(conn.next_event(), 5 * UNIT)
        await conn.close()
        assert json.loads(first.data)["headers"]["user-agent"].startswith(expected)  # type: ignore[union-attr]


async def test_difference_101_bytes_are_counted_with_the_standard_reason_phrase(transport: TransportName) -> None:
    """picows keeps no raw bytes of a 101: data_received counts "Switching Protocols", whatever the server wrote."""

    def handshake(request: dict[str, str]) -> bytes:
        from .hostile import accept_key

        key = accept_key(request["sec-websocket-key"])
        return (
            "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {key}\r\n\r\n"
        ).encode()

    async with hostile(lambda peer: peer.hold(), handshake=handshake) as url:
        conn = await open_connection(ConnectOptions(url, transport=transport))
        received = conn.bytes_received
        await conn.abort()
    written = len(handshake({"sec-websocket-key": "x"}))
    shorter = len("Web Socket Protocol Handshake") - len("Switching Protocols")
    assert received == (written - shorter if transport == "picows" else written)
