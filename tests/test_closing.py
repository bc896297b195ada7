"""The closing rules: what fires after our close frame, after the server's, and when the connection drops."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from wsrun.scenario.loader import load_text
from wsrun.session.load import LoadRun, load_of
from wsrun.session.plan import prepare
from wsrun.session.results import SessionResult

from . import helpers
from .helpers import UNIT, Run, run_yaml, serving
from .hostile import CLOSE, TEXT, Peer, close_frame, frame, hostile

#: Every test here runs on each transport (conftest.py): the semantics are the same.
pytestmark = pytest.mark.usefixtures("transport")


async def echo(ws: ServerConnection) -> None:
    """A plain echo server: it echoes what it read before our close frame, then answers the close."""
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def say_why_and_close(ws: ServerConnection) -> None:
    """A server that is full: it says so and closes at once with 1013."""
    await ws.send(json.dumps({"type": "error", "error": "server full"}))
    await ws.close(1013, "server full")


async def many(text: str, url: str, sessions: int) -> list[Run]:
    """Run ``sessions`` sessions of a scenario at once."""
    return list(await asyncio.gather(*(run_yaml(text, url=url) for _ in range(sessions))))


async def test_echo_loop_closed_by_a_timer_passes() -> None:
    """An echo loop closed by a timer is not a failure: echoes in flight when our close frame goes out
    are counted and recorded but fire no rule (k6 runs no handler after socket.close()).

    Before this rule, most of the 10 sessions failed with "send skipped: the connection is closed"."""
    text = """
    url: ws://unused
    rules:
      - {on: open, do: [{send: hello}]}
      - {on: message, do: [{send: "{{ message }}"}]}
      - {after: 300ms, do: [close]}
    """
    async with serving(echo) as url:
        runs = await many(text, url, 10)
    for run in runs:
        result = run.result
        assert run.errors == [] and result.passed
        assert (result.closed_by, result.close_code) == ("client", 1000)
        sent, received = result.metrics.counters["ws_msgs_sent"], result.metrics.counters["ws_msgs_received"]
        # Every message sent went before our close frame, so the server echoed each one (but perhaps
        # the last, read with our close frame, which websockets answers first): those that arrived
        # during the closing handshake were counted too.
        assert sent > 10 and sent - 1 <= received <= sent


async def test_expectation_armed_at_open_sees_the_message_before_the_close() -> None:
    """One run of 20 sessions of a server that says why and closes at once: every one passes an
    expectation armed at open, since a message that arrived before the close reaches everything armed
    before it was processed, whatever the state of the socket (expect, check, store and log need no
    open connection). Before, 17 to 20 of 20 gave "expect skipped: the connection is closed"."""
    text = """
    url: ws://unused
    vus: 20
    iterations: 20
    rules:
      - on: open
        do:
          - expect: {name: says why, message: {that: message.type, equals: error}, within: 500ms}
          - store: {from: status, as: opened_with}
          - check: {name: opened, that: opened_with, equals: 101}
    checks:
      - {name: closed with 1013, that: close_code, equals: 1013}
    """
    scenario = load_text(textwrap.dedent(text), "s.yaml")
    sessions: list[SessionResult] = []
    async with serving(say_why_and_close) as url:
        plan = prepare(scenario, file="s.yaml", url=url, transport=helpers.TRANSPORT)
        result = await LoadRun(plan, load_of(scenario), on_session=sessions.append).run()
    assert result.sessions == 20 and result.passed
    # Each session had the 1013 close as an error, and none failed for it (its checks decide).
    assert (result.sessions_with_errors, result.failed_sessions) == (20, 0)
    for name in ("says why", "opened", "closed with 1013"):
        assert (result.checks[name].passes, result.checks[name].fails) == (20, 0), result.checks[name].reason
    assert not any("skipped" in error for error in result.errors), result.errors


async def test_a_send_after_the_server_closed_is_a_note_not_an_error() -> None:
    """A reply to a message that came just before the server's close frame cannot go out: that is a
    note, not an error, on either side of the race; the server's close is judged by its code."""

    async def one_message_then_close(ws: ServerConnection) -> None:
        await ws.send("bye")
        await ws.close(1000, "done")

    text = """
    url: ws://unused
    rules:
      - {on: message, do: [{send: "thanks for {{ message }}"}, {log: "got {{ message }}"}]}
    """
    async with serving(one_message_then_close) as url:
        runs = await many(text, url, 20)
    for run in runs:
        assert run.errors == [] and run.result.passed
        assert run.logs == ["got bye"]  # the message that came before the close fired its rule
        notes = [line.text for line in run.lines if line.kind == "note"]
        assert all("send not sent: the connection was already closed from the server's side" in n for n in notes)


async def test_a_request_that_could_not_go_out_fails_its_check() -> None:
    """A request that cannot be sent cannot be answered: its check fails, saying why."""
    text = """
    url: ws://unused
    rules:
      - on: close
        do: [{request: {name: asked, send_json: {id: "{{ uuid }}"}, within: 1s}}]
      - {after: 100ms, do: [close]}
    """
    async with serving(echo) as url:
        run = await run_yaml(text, url=url)
    passes, fails, reason = run.check("asked")
    assert (passes, fails) == (0, 1)
    assert reason == "request skipped: the connection is closed"


async def delayed_replies(ws: ServerConnection) -> None:
    """Answers each request 150 ms later; a close frame is answered at once."""

    async def reply(message: str | bytes) -> None:
        await asyncio.sleep(0.15)
        with_id = json.loads(message)
        try:
            await ws.send(json.dumps({"id": with_id["id"], "ok": True}))
        except ConnectionClosed:
            pass

    tasks = set()
    try:
        async for message in ws:
            task = asyncio.create_task(reply(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except ConnectionClosed:
        pass
    finally:
        for task in tasks:
            task.cancel()


REQUESTS_THEN_CLOSE = """
url: ws://unused
rules:
  - every: 100ms
    do:
      - log: tick
      - request: {name: answered, send_json: {id: "{{ uuid }}"}, within: 1s}
  - after: 300ms
    do: [CLOSE]
"""


async def test_close_waiting_for_pending_requests() -> None:
    """close: {wait_for_pending: true} closes once pending requests are decided: the request sent
    by the tick due at the same instant as the close is answered, not failed 1 ms after it was armed.
    Timers stop at once, so no request is sent while waiting."""
    text = REQUESTS_THEN_CLOSE.replace("CLOSE", "{close: {wait_for_pending: true, reason: settled}}")
    async with serving(delayed_replies) as url:
        run = await run_yaml(text, url=url)
    passes, fails, reason = run.check("answered")
    assert (passes, fails) == (3, 0), reason
    assert run.logs == ["tick"] * 3
    result = run.result
    assert (result.closed_by, result.close_code, result.close_reason) == ("client", 1000, "settled")
    assert result.duration >= 0.3 + 0.15


async def test_close_at_once_cuts_a_pending_request_short() -> None:
    """Without wait_for_pending, a request still waiting when the connection closes fails: this is the
    case the option is for."""
    text = REQUESTS_THEN_CLOSE.replace("CLOSE", "close")
    async with serving(delayed_replies) as url:
        run = await run_yaml(text, url=url)
    _, fails, reason = run.check("answered")
    assert fails >= 1 and "before the session ended" in reason


async def test_wait_for_pending_is_bounded_by_the_deadlines() -> None:
    """A close waiting for an expectation that never comes goes out at that expectation's deadline."""
    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - expect: {name: never comes, message: {that: message, equals: nope}, within: 300ms}
          - expect: {name: open-ended, no_message: {that: message, equals: nope}}
          - close: {wait_for_pending: true}
    """
    async with serving(echo) as url:
        run = await asyncio.wait_for(run_yaml(text, url=url), 5 * UNIT)
    assert run.check("never comes")[:2] == (0, 1)
    assert run.check("open-ended")[:2] == (1, 0)  # no deadline: decided by the session's end, not waited for
    assert run.result.closed_by == "client"
    assert 0.3 <= run.result.duration < 0.3 + 2 * UNIT


async def test_wait_for_pending_when_the_server_closes_first() -> None:
    """A close waiting for pending expectations sends nothing if the server closes first."""
    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - expect: {name: says why, message: {that: message.type, equals: error}, within: 1s}
          - expect: {name: never comes, message: {that: message, equals: nope}, within: 1s}
          - close: {wait_for_pending: true}
    """
    async with serving(say_why_and_close) as url:
        run = await run_yaml(text, url=url)
    assert run.check("says why")[:2] == (1, 0)
    assert (run.result.closed_by, run.result.close_code) == ("server", 1013)


async def test_graceful_stop_is_stopped_not_failed(echo_url: str) -> None:
    """Sessions stopped at the end of graceful_stop are stopped, not failed (as k6): an expectation that held
    so far passes, one still waiting and a rule not reached count neither way, and the close reason says why.
    But a check that no session of the whole run reached fails the run: a silent rule makes no green run."""
    text = """
    url: ws://unused
    graceful_stop: 100ms
    rules:
      - on: open
        do:
          - expect: {name: decided later, message: {that: message, equals: never}, within: 30s}
          - expect: {name: quiet, no_message: {that: message, equals: boom}}
      - {after: 30s, do: [{check: {name: late, that: status, equals: 101}}, close]}
    checks:
      - {name: status is 101, that: status, equals: 101}
    """
    scenario = load_text(textwrap.dedent(text), "s.yaml")
    sessions: list[SessionResult] = []
    plan = prepare(scenario, file="s.yaml", url=echo_url, transport=helpers.TRANSPORT)
    result = await LoadRun(plan, load_of(scenario, vus=3, duration=0.2), on_session=sessions.append).run()
    assert result.stopped == 3 and result.failed_sessions == 0
    assert (result.checks["status is 101"].passes, result.checks["status is 101"].fails) == (3, 0)
    assert (result.checks["quiet"].passes, result.checks["quiet"].fails) == (3, 0)
    for name in ("late", "decided later"):
        assert (result.checks[name].passes, result.checks[name].fails) == (0, 1)
        assert result.checks[name].reason == "never evaluated: every session ended or was stopped before reaching it"
    assert not result.passed
    for session in sessions:
        assert session.passed and session.close_reason == "wsrun: stopped at the end of the load run"


async def test_graceful_stop_of_a_held_session_passes(echo_url: str) -> None:
    """Held sessions stopped by the schedule pass what they showed: no gap in a heartbeat, the handshake."""
    text = """
    url: ws://unused
    graceful_stop: 100ms
    rules:
      - on: open
        do: [{expect: {name: pongs keep coming, heartbeat: {that: message, equals: tick}, every: 1s}}]
      - {every: 50ms, do: [{send: tick}]}
    checks:
      - {name: status is 101, that: status, equals: 101}
    """
    scenario = load_text(textwrap.dedent(text), "s.yaml")
    plan = prepare(scenario, file="s.yaml", url=echo_url, transport=helpers.TRANSPORT)
    result = await LoadRun(plan, load_of(scenario, vus=2, duration=0.3)).run()
    assert result.stopped == 2 and result.passed
    assert (result.checks["pongs keep coming"].passes, result.checks["pongs keep coming"].fails) == (2, 0)


async def test_what_arrives_during_our_closing_handshake_is_seen_when_it_arrives() -> None:
    """Our close frame does not hold the session until the handshake ends: messages the server sends
    meanwhile reach pending expectations at the time they arrive, not at the end of the handshake."""

    async def slow_to_close(peer: Peer) -> None:
        while (await peer.read_frame())[0] != CLOSE:
            pass
        for number in range(3):  # three messages after our close frame, 100 ms apart, then the reply
            await asyncio.sleep(0.1)
            peer.send(frame(TEXT, f"late{number}".encode()))
            await peer.drain()
        await asyncio.sleep(0.1)
        peer.send(close_frame(1000))
        await peer.drain()
        peer.writer.close()  # the server closes TCP first (RFC 6455 7.1.1)

    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - expect: {name: first late one in time, message: {equals: late0}, within: 250ms}
          - close
    """
    async with hostile(slow_to_close) as url:
        run = await run_yaml(text, url=url)
    assert run.check("first late one in time")[:2] == (1, 0), run.check("first late one in time")[2]
    assert (run.result.closed_by, run.result.close_code) == ("client", 1000)
    assert run.result.metrics.counters["ws_msgs_received"] == 3
    received = [frame.at for frame in run.result.transcript if frame.direction == "received" and frame.kind == "text"]
    assert received[1] - received[0] >= 0.05  # each stamped when it came, not all at the end


async def test_wait_for_pending_is_not_held_back_by_what_rules_arm_meanwhile() -> None:
    """A close waiting for pending requests goes at the latest when the last deadline pending at that moment
    passes: a rule that arms a new request on every reply cannot hold it back until the session's timeout."""
    text = """
    url: ws://unused
    timeout: 10s
    rules:
      - on: open
        do: [{request: {name: chained, send_json: {id: "{{ uuid }}"}, within: 1s}}]
      - on: message
        do: [{request: {name: chained, send_json: {id: "{{ uuid }}"}, within: 1s}}]
      - {after: 200ms, do: [{close: {wait_for_pending: true}}]}
    """
    async with serving(delayed_replies) as url:
        run = await asyncio.wait_for(run_yaml(text, url=url), 8 * UNIT)
    assert not run.result.timed_out and run.result.closed_by == "client"
    assert run.result.duration < 0.2 + 1.0 + 2 * UNIT


async def test_wait_for_pending_waits_only_for_what_was_pending() -> None:
    """The close waits for what was pending when it was asked for, not for what rules arm meanwhile: the reply
    to the request decides it, though an expectation armed by that reply is still waiting."""
    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - request: {name: answered, send_json: {id: "{{ uuid }}"}, within: 3s}
          - close: {wait_for_pending: true}
      - on: message
        do: [{expect: {name: armed later, message: {equals: never}, within: 2s}}]
    """
    async with serving(delayed_replies) as url:
        run = await run_yaml(text, url=url)
    assert run.check("answered")[:2] == (1, 0)
    assert run.result.closed_by == "client"
    assert run.result.duration < 0.15 + 1.0 * UNIT  # the reply comes after 150 ms; not at 2 s or 3 s


@pytest.mark.parametrize("code", [1002, 1003, 1007, 1008, 1009, 1010, 1011])
async def test_a_client_close_code_the_rfc_allows_reaches_the_server(code: int) -> None:
    """The close codes RFC 6455 7.4.1 lets a client send go out as written (they were refused when loaded)."""
    received: list[int | None] = []

    async def handler(ws: ServerConnection) -> None:
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        received.append(ws.close_code)

    text = f"url: ws://unused\nrules:\n  - {{on: open, do: [{{close: {{code: {code}, reason: bye}}}}]}}\n"
    async with serving(handler) as url:
        run = await run_yaml(text, url=url)
    assert (run.result.closed_by, run.result.close_code) == ("client", code)
    assert run.errors == []
    assert received == [code]


async def test_a_path_into_a_text_that_is_not_json_says_so() -> None:
    """message.sid on a Socket.IO packet says the message is not JSON and shows its start, in the run's error."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send('0{"sid":"Lbo8fz","upgrades":[],"pingInterval":25000}')
        await ws.wait_closed()

    text = """
    url: ws://unused
    rules:
      - {on: message, do: [{log: "sid {{ message.sid }}"}, close]}
    """
    async with serving(handler) as url:
        run = await run_yaml(text, url=url)
    assert run.errors == [
        "rules[0].do[0] (on: message): {{ message.sid }} is not set: message is not JSON,"
        """ it starts '0{"sid":"Lbo8fz","upgrad…'"""
    ]
