"""Control frames in expectations (of: pings, of: pongs), pongs by hand, and not answering the server's pings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text

from .helpers import UNIT, run_yaml, serving

#: Every test here runs on each transport (conftest.py): the semantics are the same.
pytestmark = pytest.mark.usefixtures("transport")


class _SeesPongs(ServerConnection):
    """A websockets server connection that keeps the payload of every pong it receives, unsolicited ones too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pongs: list[bytes] = []

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PONG:
            self.pongs.append(bytes(event.data))
        super().process_event(event)


@contextlib.asynccontextmanager
async def keepalive_server(interval: float, timeout: float) -> AsyncIterator[str]:
    """A websockets server with its own keepalive: a ping every ``interval``, and the connection failed with
    1011 "keepalive ping timeout" when a pong does not come within ``timeout``; it echoes messages."""

    async def echo(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                await ws.send(message)

    async with serve(echo, "127.0.0.1", 0, ping_interval=interval, ping_timeout=timeout) as server:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        yield f"ws://{host}:{port}"


# -- of: pings ------------------------------------------------------------------------------------


async def test_server_pings_within_a_deadline_and_as_a_heartbeat(pinging_url: str) -> None:
    """A server pinging every 100 ms: a ping within 1s, and pings at most 500 ms apart, pass."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: server pings us, of: pings, message: any, within: 1s}
              - expect: {name: server heartbeat, of: pings, heartbeat: any, every: 500ms, for: 700ms}
          - {after: 800ms, do: [close]}
        """,
        url=pinging_url,
    )
    assert run.check("server pings us")[:2] == (1, 0)
    assert run.check("server heartbeat")[:2] == (1, 0)
    assert run.result.metrics.trends["ws_expect_latency"].count == 1


async def test_no_server_pings_fails_saying_so(echo_url: str) -> None:
    """The echo server never pings: both expectations fail, each naming what it waited for."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - send: hello
              - expect: {name: server pings us, of: pings, message: any, within: 300ms}
              - expect: {name: server heartbeat, of: pings, heartbeat: any, every: 200ms}
              - expect: {name: pinged hello, of: pings, message: {equals: hello}, within: 300ms}
          - {after: 400ms, do: [close]}
        """,
        url=echo_url,
    )
    assert run.check("server pings us") == (0, 1, "no ping within 300ms")
    assert run.check("server heartbeat") == (0, 1, "no ping for 200ms (0ms after arming was the last)")
    # The echoed message "hello" is a message, not a ping: expectations of pings never see it.
    assert run.check("pinged hello") == (0, 1, 'no ping matching message equals "hello" within 300ms')


async def test_messages_and_pings_are_watched_apart(pinging_url: str) -> None:
    """A ping is not a message to an expectation of messages, nor a message a ping to one of pings."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: no message, no_message: any, for: 300ms}
              - expect: {name: pings only, of: pings, count: any, at_least: 2, for: 300ms}
          - {after: 400ms, do: [close]}
        """,
        url=pinging_url,
    )
    assert run.check("no message")[:2] == (1, 0)
    assert run.check("pings only")[:2] == (1, 0)
    noisy = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: no ping, of: pings, no_message: any, for: 500ms}
          - {after: 600ms, do: [close]}
        """,
        url=pinging_url,
    )
    passes, fails, reason = noisy.check("no ping")
    assert (passes, fails) == (0, 1)
    assert reason.startswith("got a ping ") and " after it was armed: " in reason


# -- of: pongs --------------------------------------------------------------------------------------


async def test_pongs_to_our_pings_are_counted_and_read(echo_url: str) -> None:
    """Our pings every 50 ms: at least 3 pongs within 400ms, and the first pong's payload read as text."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: three pongs, of: pongs, count: any, at_least: 3, for: 400ms}
              - expect: {name: first pong, of: pongs, message: {that: message, equals: wsrun-1}, within: 400ms}
              - expect: {name: in order, of: pongs, sequence: [{equals: wsrun-1}, {equals: wsrun-2}], within: 400ms}
          - {every: 50ms, do: [ping]}
          - {after: 500ms, do: [close]}
        """,
        url=echo_url,
    )
    assert run.check("three pongs")[:2] == (1, 0)
    assert run.check("first pong")[:2] == (1, 0)
    assert run.check("in order")[:2] == (1, 0)


async def test_too_few_pongs_fails_with_the_count(echo_url: str) -> None:
    """Two pings, two pongs: each count fails with how many came and how many were expected."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: three pongs, of: pongs, count: any, at_least: 3, for: 300ms}
              - expect: {name: at most one, of: pongs, count: {matches: "^wsrun-"}, at_most: 1}
              - ping
              - ping
          - {after: 400ms, do: [close]}
        """,
        url=echo_url,
    )
    assert run.check("three pongs") == (0, 1, "2 pongs within 300ms, expected at least 3")
    assert run.check("at most one") == (
        0,
        1,
        '2 pongs matching message matches /^wsrun-/, expected at most 1; the last: "wsrun-2"',
    )


async def test_any_matches_every_message(echo_url: str) -> None:
    """The word any on messages: three echoes count; a fourth is one too many for at_most."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: three messages, count: any, at_least: 3, for: 300ms}
              - expect: {name: at most three, count: any, at_most: 3}
              - {send: a}
              - {send: b}
              - {send: c}
              - {send: d}
          - {after: 400ms, do: [close]}
        """,
        url=echo_url,
    )
    assert run.check("three messages")[:2] == (1, 0)
    assert run.check("at most three") == (0, 1, '4 messages, expected at most 3; the last: "d"')


# -- answer_pings -----------------------------------------------------------------------------------


async def test_not_answering_pings_lets_the_server_heartbeat_time_out() -> None:
    """answer_pings: false against a server's keepalive (a ping every 100 ms, its pong due within 500 ms): it fails
    the connection with 1011, and ping rules and expectations still saw its pings."""
    async with keepalive_server(0.1, 0.5 * UNIT) as url:
        run = await run_yaml(
            """
            url: ws://x
            answer_pings: false
            timeout: 5s
            rules:
              - on: open
                do: [{expect: {name: pinged, of: pings, message: any, within: 1s}}]
              - {on: ping, do: [{log: "ping {{ pings_received }}"}]}
            checks:
              - {name: dropped for its heartbeat, that: close_code, equals: 1011}
              - {name: by the server, that: closed_by, equals: server}
              - {name: its reason, that: close_reason, equals: keepalive ping timeout}
            """,
            url=url,
        )
    assert run.check("dropped for its heartbeat")[:2] == (1, 0)
    assert run.check("by the server")[:2] == (1, 0)
    assert run.check("its reason")[:2] == (1, 0)
    assert run.check("pinged")[:2] == (1, 0)
    assert "ping 1" in run.logs
    assert run.errors == ["server closed the connection with 1011 (internal error): keepalive ping timeout"]
    # The server's pings are in the transcript; no pong went back, so none is recorded as sent.
    kinds = [(frame.direction, frame.kind) for frame in run.result.transcript]
    assert ("received", "ping") in kinds and ("sent", "pong") not in kinds


async def test_answering_pings_keeps_the_server_heartbeat_happy() -> None:
    """By default the pongs go back on their own: the same server does not drop the session, and the check
    on its close code fails with what the close was."""
    async with keepalive_server(0.1, 0.5 * UNIT) as url:
        run = await run_yaml(
            """
            url: ws://x
            rules:
              - {after: 800ms, do: [close]}
            checks:
              - {name: dropped for its heartbeat, that: close_code, equals: 1011}
              - {name: pinged, that: pings_received, at_least: 4}
            """,
            url=url,
        )
    assert run.check("dropped for its heartbeat") == (0, 1, "expected close_code equals 1011, got 1000")
    assert run.check("pinged")[:2] == (1, 0)
    assert run.result.closed_by == "client" and run.errors == []


async def test_the_answer_pings_action_stops_the_pongs_at_that_moment() -> None:
    """Answered for 300 ms, then answer_pings: false: the server drops the session only after that."""
    async with keepalive_server(0.1, 0.5 * UNIT) as url:
        run = await run_yaml(
            """
            url: ws://x
            timeout: 5s
            rules:
              - {after: 300ms, do: [{answer_pings: false}, {log: silent now}]}
            checks:
              - {name: dropped for its heartbeat, that: close_code, equals: 1011}
            """,
            url=url,
        )
    assert run.check("dropped for its heartbeat")[:2] == (1, 0)
    closed_at = next(frame.at for frame in run.result.transcript if frame.kind == "close")
    silent_at = next(line.at for line in run.lines if line.text == "silent now")
    assert 0.3 <= silent_at < closed_at < 0.3 + 2 * UNIT


async def test_answering_by_hand_then_going_silent() -> None:
    """The README's example: answer_pings: false, a bare pong for the first three pings only; the server's
    keepalive is satisfied while they come, then drops the session with 1011."""
    async with keepalive_server(0.1, 0.5 * UNIT) as url:
        run = await run_yaml(
            """
            url: ws://x
            answer_pings: false
            timeout: 5s
            rules:
              - on: ping
                when: {that: pings_received, at_most: 3}
                do: [pong]
            checks:
              - {name: dropped for its heartbeat, that: close_code, equals: 1011}
              - {name: pinged four times, that: pings_received, equals: 4}
            """,
            url=url,
        )
    assert run.check("dropped for its heartbeat")[:2] == (1, 0)
    assert run.check("pinged four times")[:2] == (1, 0)
    assert sum((frame.direction, frame.kind) == ("sent", "pong") for frame in run.result.transcript) == 3


async def test_answer_pings_back_on_answers_again() -> None:
    """answer_pings: false at open, true again at once: the server's heartbeat never times out."""
    async with keepalive_server(0.1, 0.5 * UNIT) as url:
        run = await run_yaml(
            """
            url: ws://x
            answer_pings: false
            rules:
              - {on: open, do: [{answer_pings: true}]}
              - {after: 700ms, do: [close]}
            checks:
              - {name: closed by us, that: closed_by, equals: client}
            """,
            url=url,
        )
    assert run.check("closed by us")[:2] == (1, 0)


@contextlib.asynccontextmanager
async def aiohttp_heartbeat_server(heartbeat: float) -> AsyncIterator[str]:
    """An aiohttp server whose WebSocketResponse has ``heartbeat``: a ping every ``heartbeat`` seconds, and
    the TCP connection dropped (no close frame) when no pong comes within half of it; it echoes text."""

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=heartbeat)
        await ws.prepare(request)
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await ws.send_str(message.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"ws://{host}:{port}/"
    finally:
        await runner.cleanup()


async def test_an_aiohttp_heartbeat_drops_a_client_that_does_not_answer() -> None:
    """aiohttp's heartbeat (a framework's own keepalive): without pongs the session is dropped without a
    close frame (1006); answering, it lasts until we close it."""
    async with aiohttp_heartbeat_server(0.5 * UNIT) as url:
        silent = await run_yaml(
            """
            url: ws://x
            answer_pings: false
            timeout: 5s
            checks:
              - {name: dropped for its heartbeat, that: close_code, equals: 1006}
            """,
            url=url,
        )
        answering = await run_yaml(
            """
            url: ws://x
            rules:
              - {after: 1500ms, do: [close]}
            checks:
              - {name: dropped for its heartbeat, that: close_code, equals: 1006}
              - {name: pinged, that: pings_received, at_least: 2}
            """,
            url=url,
        )
    assert silent.check("dropped for its heartbeat")[:2] == (1, 0)
    assert silent.result.closed_by == "server"
    assert silent.errors == ["connection dropped without a close frame (1006)"]
    assert answering.check("dropped for its heartbeat") == (0, 1, "expected close_code equals 1006, got 1000")
    assert answering.check("pinged")[:2] == (1, 0)


# -- the pong action --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def pong_recorder(pings: list[bytes]) -> AsyncIterator[tuple[str, list[_SeesPongs]]]:
    """A server that sends these pings once the client says "go", then echoes; yields its URL and its
    connections, each with the pongs it received."""
    connections: list[_SeesPongs] = []

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, _SeesPongs)
        connections.append(ws)
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                if message == "go":
                    for data in pings:
                        await ws.ping(data)
                await ws.send(message)

    async with serving(handler, create_connection=_SeesPongs) as url:
        yield url, connections


async def test_a_bare_pong_answers_the_ping_being_handled() -> None:
    """answer_pings: false and `- pong` in the ping rule: the server gets one pong per ping, with its
    payload; the pongs sent by hand are in the transcript, as sent."""
    async with pong_recorder([b"one", b"two"]) as (url, connections):
        run = await run_yaml(
            """
            url: ws://x
            answer_pings: false
            rules:
              - {on: open, do: [{send: go}]}
              - {on: ping, do: [pong]}
              - {on: message, do: [close]}
            """,
            url=url,
        )
    assert connections[0].pongs == [b"one", b"two"]
    sent = [frame.text for frame in run.result.transcript if (frame.direction, frame.kind) == ("sent", "pong")]
    assert sent == ["<3 bytes: 6f6e65>", "<3 bytes: 74776f>"]


async def test_unanswered_pings_get_no_pong_and_unsolicited_pongs_carry_their_data() -> None:
    """answer_pings: false and no pong action: the server gets no pong to its pings; a pong with data (a
    template) outside a ping rule goes out as it is written."""
    async with pong_recorder([b"one"]) as (url, connections):
        run = await run_yaml(
            """
            url: ws://x
            answer_pings: false
            rules:
              - {on: open, do: [{send: go}]}
              - {on: message, when: {equals: go}, do: [{pong: {data: "still here {{ vu }}"}}, {send: done}]}
              - {on: message, when: {equals: done}, do: [close]}
            checks:
              - {name: one ping, that: pings_received, equals: 1}
            """,
            url=url,
        )
    assert connections[0].pongs == [b"still here 1"]
    assert run.check("one ping")[:2] == (1, 0)


async def test_pong_that_cannot_go_is_reported(echo_url: str) -> None:
    """A pong whose rendered payload is over 125 bytes, and a pong after our close, are errors naming the rule."""
    run = await run_yaml(
        f"""
        url: ws://x
        vars: {{long: {"x" * 126}}}
        rules:
          - on: open
            do:
              - pong: {{data: "{{{{ long }}}}"}}
              - close
              - pong
        """,
        url=echo_url,
    )
    assert run.errors == [
        "rules[0].do[0] (on: open): pong skipped: a pong payload is at most 125 bytes (RFC 6455 5.5), this one is 126",
        "rules[0].do[2] (on: open): pong skipped: the connection is closed",
    ]


async def test_secret_payloads_of_control_frames_are_masked(echo_url: str) -> None:
    """A secret in a pong we send, and in a pong an expectation names in its failure, is shown as ***."""
    run = await run_yaml(
        """
        url: ws://x
        vars: {token: s3cr3t-t0ken}
        secrets: [token]
        rules:
          - on: open
            do:
              - expect: {name: no pong, of: pongs, no_message: any}
              - {ping: {data: "{{ token }}"}}
              - {pong: {data: "{{ token }}"}}
          - {on: pong, do: [close]}
        """,
        url=echo_url,
    )
    passes, fails, reason = run.check("no pong")
    assert (passes, fails) == (0, 1)
    assert reason.startswith("got a pong ") and reason.endswith(': "***"')
    texts = [frame.text for frame in run.result.transcript if frame.kind in ("ping", "pong")]
    assert texts and all("s3cr3t" not in text and "73336372337" not in text for text in texts)
    assert "<12 bytes: ***>" in texts


# -- the file ---------------------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "s.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_of_pings_with_a_sequence_of_conditions_loads() -> None:
    """of: pings takes every kind, with conditions that read the payload as message."""
    scenario = load_text(
        """
url: ws://x
answer_pings: false
rules:
  - on: open
    do:
      - expect: {name: s, of: pings, sequence: [{equals: a}, {that: message.n, equals: 2}, any]}
      - {answer_pings: true}
      - pong
      - {pong: {data: "{{ now_ms }}"}}
""",
        "s.yaml",
    )
    assert scenario.answer_pings is False


def test_an_unknown_of_is_refused_naming_what_is_allowed() -> None:
    assert problems(
        "url: ws://x\nrules:\n  - on: open\n    do: [{expect: {name: e, of: ping, message: any, within: 1s}}]\n"
    ) == ["s.yaml:4:33: rules[0].do[0].expect.of: 'ping' is not allowed: use 'messages', 'pings' or 'pongs'"]


def test_a_word_other_than_any_is_refused() -> None:
    assert problems("url: ws://x\nrules:\n  - on: open\n    do: [{expect: {name: e, message: all, within: 1s}}]\n") == [
        "s.yaml:4:38: rules[0].do[0].expect.message: write a condition (a mapping), a list of them, or the word"
        " any; got 'all'"
    ]


def test_a_pong_payload_over_125_bytes_is_refused() -> None:
    long = "é" * 63
    assert problems(f"url: ws://x\nrules:\n  - on: open\n    do: [{{pong: {{data: {long}}}}}]\n") == [
        "s.yaml:4:24: rules[0].do[0].pong.data: a pong payload is at most 125 bytes in UTF-8 (RFC 6455 5.5),"
        " this is 126"
    ]


def test_a_pong_payload_names_only_known_names() -> None:
    [found] = problems("url: ws://x\nrules:\n  - on: ping\n    do: [{pong: {data: '{{ nope }}'}}]\n")
    assert found.startswith("s.yaml:4:24: rules[0].do[0].pong.data: unknown name 'nope': known names: close_code,")


def test_answer_pings_is_a_boolean() -> None:
    assert problems("url: ws://x\nanswer_pings: off\n") == [
        "s.yaml:2:15: answer_pings: must be a valid boolean, got 'off'"
    ]
    assert problems("url: ws://x\nrules:\n  - on: open\n    do: [{answer_pings: no}]\n") == [
        "s.yaml:4:25: rules[0].do[0].answer_pings: must be a valid boolean, got 'no'"
    ]
