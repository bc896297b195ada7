"""The interpreter against real servers: events, actions, timers, templates, conditions, checks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from wsrun.transport.base import TransportName

from .helpers import UNIT, run_yaml, serving

#: Every test here runs on each transport (conftest.py): the semantics are the same.
pytestmark = pytest.mark.usefixtures("transport")

# -- events ---------------------------------------------------------------------------------


async def plain_echo_that_pings(ws: ServerConnection) -> None:
    """Any echo server that pings its clients: here, websockets' own, not wsrun's."""

    async def pings() -> None:
        while True:
            await asyncio.sleep(0.1)
            await ws.ping()

    pinger = asyncio.create_task(pings())
    try:
        async for message in ws:
            await ws.send(message)
    finally:
        pinger.cancel()


@pytest.mark.parametrize("server", ["embedded", "plain"])
async def test_k6_reference_sequence(server: str, pinging_url: str) -> None:
    """The k6 Socket.on example prints its lines in k6's order and closes at about 2 s."""
    with open("scenarios/k6-socket-on.yaml", encoding="utf-8") as file:
        text = file.read()
    if server == "embedded":
        run = await run_yaml(text, url=pinging_url)
    else:
        async with serving(plain_echo_that_pings) as url:
            run = await run_yaml(text, url=url)
    logs = run.logs
    assert logs[0] == "connected"
    assert logs[1].startswith("Received message: ") and logs[1].split(": ")[1].isdigit()
    assert logs.count("Pinging every 1sec (setInterval test)") == 2
    assert logs.count("PING!") >= 10  # the server pings every 100 ms for 2 s
    # Several handlers for one event run in file order.
    for index, line in enumerate(logs):
        if line == "PONG!":
            assert logs[index + 1] == "OTHER PONG!"
    # The pong of the 1 s ping fires its rules; the 2 s ping goes out just before the close,
    # and after our close frame no rule fires (as k6, which runs no handler after socket.close()).
    assert 1 <= logs.count("PONG!") <= 2
    assert "PONG!" not in logs[logs.index("2 seconds passed, closing the socket") :]
    assert logs[-2:] == ["2 seconds passed, closing the socket", "disconnected"] or logs[-1] == "disconnected"
    assert "An unexpected error occurred" not in " ".join(logs)
    assert run.check("status is 101")[:2] == (1, 0)
    assert 1.9 < run.result.duration < 2 + 2 * UNIT
    assert run.result.closed_by == "client" and run.result.close_code == 1000
    counters = run.result.metrics.counters
    assert counters["ws_sessions"] == 1 and counters["ws_msgs_sent"] == 1 and counters["ws_msgs_received"] == 1
    assert counters["data_sent"] > 0 and counters["data_received"] > 0
    assert run.result.metrics.trends["ws_ping"].count == 2
    assert run.result.metrics.trends["ws_connecting"].count == 1
    assert run.result.passed


async def test_open_runs_before_any_message(echo_url: str) -> None:
    """open fires once, after the handshake, before message rules."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [{log: open}, {send: one}, {send: two}]
          - on: message
            do:
              - log: "got {{ message }}"
              - check: {name: sent counter, that: messages_sent, equals: 2}
          - on: message
            when: {equals: two}
            do: [close]
        """,
        url=echo_url,
    )
    assert run.logs == ["open", "got one", "got two"]
    assert run.check("sent counter")[:2] == (2, 0)
    assert run.result.metrics.counters["ws_msgs_received"] == 2


async def test_binary_messages_go_to_binary_rules(echo_url: str) -> None:
    """Binary messages fire binary rules, text messages fire message rules."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [{send_binary: {hex: "00ff10"}}, {send_binary: {base64: "AAE="}}, {send: text}]
          - on: binary
            do: [{log: "binary {{ message }}"}]
          - on: message
            do: [{log: "text {{ message }}"}, close]
        checks:
          - {name: last message is text, that: message, equals: text}
        """,
        url=echo_url,
    )
    assert run.logs == ["binary 00ff10", "binary 0001", "text text"]
    assert run.result.passed


async def test_ping_and_pong_events(echo_url: str) -> None:
    """Our pings come back as pongs with a measured round trip; counters follow."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [ping, {ping: {data: hello}}]
          - on: pong
            do:
              - log: "pong {{ pongs_received }}"
              - check: {name: two pongs at most, that: pongs_received, at_most: 2}
          - on: pong
            when: {that: pongs_received, equals: 2}
            do: [close]
        checks:
          - {name: no ping from server, that: pings_received, equals: 0}
        """,
        url=echo_url,
    )
    assert run.logs == ["pong 1", "pong 2"]
    assert run.result.metrics.trends["ws_ping"].count == 2
    assert run.result.metrics.trends["ws_ping"].minimum >= 0
    assert run.result.passed


async def test_server_pings_fire_ping_rules(pinging_url: str) -> None:
    """Each server ping fires ping rules; the pong goes back on its own."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: ping
            do: [{log: "ping {{ pings_received }}"}]
          - on: ping
            when: {that: pings_received, equals: 3}
            do: [close]
        """,
        url=pinging_url,
    )
    assert run.logs == ["ping 1", "ping 2", "ping 3"]
    assert run.result.passed


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1000, ["close 1000 bye by server"]),
        (1001, ["close 1001 bye by server"]),
        (1008, ["error server closed the connection with 1008 (policy violation): bye", "close 1008 bye by server"]),
        (1011, ["error server closed the connection with 1011 (internal error): bye", "close 1011 bye by server"]),
        (4000, ["error server closed the connection with 4000 (application-defined): bye", "close 4000 bye by server"]),
    ],
)
async def test_server_close_codes(code: int, expected: list[str]) -> None:
    """The server closes: 1000 and 1001 run close rules only; other codes run error, then close."""

    async def handler(ws: ServerConnection) -> None:
        await ws.close(code, "bye")

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://unused
            rules:
              - on: close
                do: [{log: "close {{ close_code }} {{ close_reason }} by {{ closed_by }}"}]
              - on: error
                do: [{log: "error {{ error }}"}]
            checks:
              - {name: closed by server, that: closed_by, equals: server}
            """,
            url=url,
        )
    assert run.logs == expected
    assert len(run.errors) == len(expected) - 1
    assert run.result.passed  # the check covers the close: an expected error does not fail it


async def test_dropped_tcp_is_1006_error_then_close() -> None:
    """A TCP connection dropped without a close frame: error (1006), then close."""

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        ws.transport.abort()

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://unused
            rules:
              - {on: open, do: [{send: x}]}
              - {on: close, do: [{log: "close {{ close_code }} by {{ closed_by }}"}]}
              - {on: error, do: [{log: "error {{ error }}"}]}
            """,
            url=url,
        )
    assert run.logs == ["error connection dropped without a close frame (1006)", "close 1006 by server"]
    assert not run.result.passed  # no checks, and the session ended in an error


async def test_message_too_big_fails_the_connection_with_1009() -> None:
    """A message over max_message_size closes the connection with 1009, reported as an error."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send("x" * 2000)
        with contextlib.suppress(ConnectionClosed):
            await ws.wait_closed()

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://unused
            max_message_size: 1000
            rules:
              - {on: error, do: [{log: "error {{ error }}"}]}
            checks:
              - {name: too big, that: close_code, equals: 1009}
            """,
            url=url,
        )
    assert run.logs and run.logs[0].startswith("error connection failed with 1009 (message too big)")
    assert run.result.passed


# -- handshake failures ---------------------------------------------------------------------


async def test_refused_connection_runs_only_error_rules() -> None:
    """Nothing listening: error rules run, status is unset, status is 101 fails."""
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = await run_yaml(
        f"""
        url: ws://127.0.0.1:{port}
        rules:
          - {{on: open, do: [{{log: open}}]}}
          - {{on: close, do: [{{log: close}}]}}
          - {{on: error, do: [{{log: "error {{{{ error }}}}"}}, {{send: x}}]}}
        checks:
          - {{name: status is 101, that: status, equals: 101}}
        """
    )
    assert run.logs == [f"error connection refused by ws://127.0.0.1:{port}"]
    passes, fails, reason = run.check("status is 101")
    assert (passes, fails) == (0, 1)
    assert reason == "expected status equals 101, but status is not set"
    assert any("send skipped: there is no connection" in error for error in run.errors)
    assert run.result.metrics.counters["ws_sessions"] == 1
    assert not run.result.metrics.trends["ws_connecting"].count


async def test_http_error_records_status_headers_and_body(echo_url: str) -> None:
    """A 403 answer: status and headers are checkable, error rules run."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - {on: error, do: [{log: "{{ error }}"}]}
        checks:
          - {name: status is 101, that: status, equals: 101}
          - {name: forbidden, that: status, equals: 403}
          - {name: content type, that: headers.Content-Type, equals: text/plain}
        """,
        url=echo_url + "/status/403",
    )
    assert run.logs == ["handshake failed: server answered HTTP 403 Forbidden"]
    assert run.check("status is 101")[:2] == (0, 1)
    assert run.check("status is 101")[2] == "expected status equals 101, got 403"
    assert run.check("forbidden")[:2] == (1, 0)
    assert run.check("content type")[:2] == (1, 0)


# -- actions --------------------------------------------------------------------------------


async def test_send_json_keeps_types_and_store_feeds_later_templates() -> None:
    """send_json serialises a mapping; store keeps a field for later templates."""
    received: list[object] = []

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            request = json.loads(message)
            received.append(request)
            await ws.send(json.dumps({"id": request.get("id"), "token": "t-42", "items": [{"n": 1}, {"n": 2}]}))

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://unused
            vars: {count: 3, who: alice}
            rules:
              - on: open
                do: [{send_json: {id: 7, count: "{{ count }}", hello: "hi {{ who }}", flags: [true, null]}}]
              - on: message
                when: {that: message.id, equals: 7}
                do:
                  - store: {from: message.token, as: token}
                  - store: {from: message.items.1.n, as: second}
                  - send_json: {id: 8, token: "{{ token }}", second: "{{ second }}"}
              - on: message
                when: {that: message.id, equals: 8}
                do: [close]
            checks:
              - {name: second item, that: message.items.1.n, equals: 2}
            """,
            url=url,
        )
    assert received == [
        {"id": 7, "count": 3, "hello": "hi alice", "flags": [True, None]},
        {"id": 8, "token": "t-42", "second": 2},
    ]
    assert run.result.passed


async def test_close_action_with_code_and_reason() -> None:
    """close sends the given code and reason; close rules see them."""
    seen: list[tuple[int | None, str | None]] = []

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.recv()
        seen.append((ws.close_code, ws.close_reason))

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://unused
            rules:
              - {on: open, do: [{close: {code: 4001, reason: done}}, {log: after close}, {send: late}]}
              - {on: close, do: [{log: "closed {{ close_code }} by {{ closed_by }}"}]}
            """,
            url=url,
        )
    assert seen == [(4001, "done")]
    assert run.logs == ["after close", "closed 4001 by client"]
    assert run.errors == ["rules[0].do[2] (on: open): send skipped: the connection is closed"]


async def test_check_action_counts_every_evaluation(echo_url: str) -> None:
    """An inline check is counted each time it runs; the first failure is explained."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [{send: a}, {send: b}, {send: a}]
          - on: message
            do: [{check: {name: echo is a, that: message, equals: a}}]
          - on: message
            when: {that: messages_received, equals: 3}
            do: [close]
        """,
        url=echo_url,
    )
    passes, fails, reason = run.check("echo is a")
    assert (passes, fails) == (2, 1)
    assert reason == 'expected message equals "a", got "b"'
    assert not run.result.passed


async def test_check_that_never_ran_fails(echo_url: str) -> None:
    """A check whose rule never fired is reported as never evaluated, and fails."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - {on: open, do: [close]}
          - {on: binary, do: [{check: {name: binary seen, that: message, exists: true}}]}
        """,
        url=echo_url,
    )
    passes, fails, reason = run.check("binary seen")
    assert (passes, fails) == (0, 1)
    assert "never evaluated" in reason and "rules[1].do[0]" in reason


async def test_template_of_unset_value_is_an_error_naming_the_rule(echo_url: str) -> None:
    """A template naming a value that is not set at run time is an error naming the rule."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [{log: "id {{ message.id }}"}, close]
        """,
        url=echo_url,
    )
    assert run.errors == ["rules[0].do[0] (on: open): {{ message.id }} is not set"]
    assert run.result.closed_by == "client"  # the rest of the rule still ran


# -- timers ---------------------------------------------------------------------------------


async def test_every_and_after_fire_in_order(echo_url: str) -> None:
    """every fires repeatedly from open; after fires once; both stop at close."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - {every: 100ms, do: [{log: tick}]}
          - {after: 350ms, do: [{log: bye}, close]}
          - {after: 10s, do: [{log: never}]}
        """,
        url=echo_url,
    )
    assert run.logs == ["tick", "tick", "tick", "bye"]
    times = [line.at for line in run.lines if line.text == "tick"]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert run.result.duration < 5 * UNIT


async def test_timeout_ends_a_stalled_session() -> None:
    """A server that never answers: the scenario's timeout ends it, reported as such."""

    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()  # reads (and answers pings) but never sends a thing

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://unused
            timeout: 300ms
            close_timeout: 200ms
            rules:
              - {on: open, do: [{send: "hello?"}]}
              - {on: error, do: [{log: "error {{ error }}"}]}
              - {on: close, do: [{log: "close {{ closed_by }}"}]}
            """,
            url=url,
        )
    assert run.result.timed_out
    assert run.logs[0] == "error session timed out after 0.3s"
    assert run.result.duration < 3 * UNIT
    assert not run.result.passed


async def test_stop_ends_the_session_promptly(echo_url: str, transport: TransportName) -> None:
    """stop() (Ctrl-C) ends a running session within a second, keeping its results."""
    from wsrun.scenario.loader import load_text
    from wsrun.session.plan import prepare
    from wsrun.session.session import Session

    scenario = load_text("url: ws://x\nrules:\n  - {every: 50ms, do: [{log: tick}]}\n", "s.yaml")
    ticking = asyncio.Event()
    session = Session(prepare(scenario, file="s.yaml", url=echo_url, transport=transport), lambda line: ticking.set())
    task = asyncio.create_task(session.run())
    await asyncio.wait_for(ticking.wait(), 2 * UNIT)  # it is really running
    session.stop()
    result = await asyncio.wait_for(task, 2 * UNIT)
    assert result.interrupted and not result.timed_out
    assert result.closed_by == "client"


async def test_when_applies_to_timer_rules(echo_url: str) -> None:
    """A condition on an every rule is evaluated each time the timer is due."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - {on: open, do: [{send: a}]}
          - every: 50ms
            when: {that: messages_received, at_least: 100}
            do: [{log: should not run}]
          - {every: 50ms, when: {that: messages_received, equals: 1}, do: [{log: tick}, close]}
        """,
        url=echo_url,
    )
    assert run.logs == ["tick"]


async def test_runtime_values_that_break_limits_are_errors_not_crashes(echo_url: str) -> None:
    """A templated regex that is invalid, a ping payload over 125 bytes: errors naming the rule."""
    run = await run_yaml(
        """
        url: ws://unused
        vars: {pattern: "(", long: ""}
        rules:
          - on: open
            do:
              - {ping: {data: "{{ long }}"}}
              - {check: {name: regex, that: url, matches: "{{ pattern }}"}}
              - close
        """,
        url=echo_url,
        overrides={"long": "x" * 126},
    )
    assert run.errors == [
        "rules[0].do[0] (on: open): ping skipped: a ping payload is at most 125 bytes (RFC 6455 5.5), this one is 126"
    ]
    assert run.check("regex")[2].startswith("matches: '(' is not a valid regular expression")
    assert run.result.closed_by == "client"


async def test_stop_after_the_end_is_harmless(echo_url: str, transport: TransportName) -> None:
    """stop() on a finished session does nothing."""
    from wsrun.scenario.loader import load_text
    from wsrun.session.plan import prepare
    from wsrun.session.session import Session

    scenario = load_text("url: ws://x\nrules: [{on: open, do: [close]}]\n")
    session = Session(prepare(scenario, file="s", url=echo_url, transport=transport))
    result = await session.run()
    session.stop()
    assert result.closed_by == "client" and not result.interrupted


async def test_equals_keeps_the_types_of_json_fields() -> None:
    """A field of a JSON message keeps its type ("5" is not 5); a whole text message may stand for what it spells."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"count": "5", "ok": "true", "v": "null", "n": 5}))
        await ws.send("101")
        await ws.wait_closed()

    text = """
    url: ws://x
    rules:
      - on: message
        when: {that: messages_received, equals: 1}
        do:
          - check: {name: text five, that: message.count, equals: "5"}
          - check: {name: number five, that: message.count, equals: 5}
          - check: {name: text true, that: message.ok, equals: true}
          - check: {name: text null, that: message.v, equals: null}
          - check: {name: number n, that: message.n, equals: 5}
      - on: message
        when: {that: messages_received, equals: 2}
        do: [{check: {name: whole message spells 101, equals: 101}}, close]
    """
    async with serving(handler) as url:
        run = await run_yaml(text, url=url)
    assert [run.check(name)[:2] for name in ("text five", "number n", "whole message spells 101")] == [(1, 0)] * 3
    assert [run.check(name)[:2] for name in ("number five", "text true", "text null")] == [(0, 1)] * 3
