"""Silence and failure as events: `idle: D` rules, and `on: failure` rules reading failure.name and failure.reason."""

from __future__ import annotations

import asyncio
import re
import textwrap

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text

from .helpers import UNIT, run_yaml, serving

#: Every test here runs on each transport (conftest.py): the semantics are the same.
pytestmark = pytest.mark.usefixtures("transport")


class Server:
    """A websockets server that records what it received and how the client closed."""

    def __init__(self, *, talk: int = 0, every: float = 0.05, answer: int = 0) -> None:
        self.talk, self.every, self.answer = talk, every, answer
        self.received: list[str | bytes] = []
        self.closes: list[tuple[int | None, str | None]] = []

    async def __call__(self, ws: ServerConnection) -> None:
        talker = asyncio.create_task(self._talk(ws))
        try:
            async for message in ws:
                self.received.append(message)
                if len(self.received) <= self.answer:
                    await ws.send(message)  # echo only the first `answer` messages
        except ConnectionClosed:
            pass
        finally:
            talker.cancel()
        self.closes.append((ws.close_code, ws.close_reason))

    async def _talk(self, ws: ServerConnection) -> None:
        for n in range(self.talk):
            await asyncio.sleep(self.every)  # the server's own pace: what the test is about
            await ws.send(f"tick {n + 1}")


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_text(textwrap.dedent(text).lstrip("\n"), "s.yaml")
    return [str(problem) for problem in caught.value.problems]


# -- idle ------------------------------------------------------------------------------------------


async def test_idle_closes_a_silent_session_with_the_chosen_code() -> None:
    """No message for 200 ms: the idle rule closes with 4000, the server sees 4000, and close_code passes."""
    server = Server()
    text = """
    url: ws://unused
    rules:
      - idle: 200ms
        do: [{log: "silent after {{ messages_received }} messages"}, {close: {code: 4000, reason: no message for 200ms}}]
    checks:
      - {name: closed for silence, that: close_code, equals: 4000}
    """
    async with serving(server) as url:
        run = await run_yaml(text, url=url)
    assert run.logs == ["silent after 0 messages"]
    assert run.check("closed for silence") == (1, 0, "")
    assert (run.result.closed_by, run.result.close_code) == ("client", 4000)
    assert server.closes == [(4000, "no message for 200ms")]
    assert 0.2 <= run.result.duration < 0.2 + 2 * UNIT


async def test_idle_does_not_fire_while_messages_keep_coming() -> None:
    """A message every 50 ms for 500 ms keeps a 300 ms idle rule quiet; it fires once the server stops,
    after all ten; a session that the messages kept busy until `after` fails a close_code check on idle."""
    text = """
    url: ws://unused
    rules:
      - idle: 300ms
        do: [{log: "silent after {{ messages_received }} messages"}, {close: {code: 4000}}]
      - after: {after}
        do: [close]
    checks:
      - {name: closed for silence, that: close_code, equals: 4000}
    """
    server = Server(talk=10)
    async with serving(server) as url:
        run = await run_yaml(text.replace("{after}", "10s"), url=url)
    assert run.logs == ["silent after 10 messages"]
    assert run.check("closed for silence") == (1, 0, "")
    assert server.closes == [(4000, "")]
    assert 0.5 + 0.3 <= run.result.duration < 0.8 + 2 * UNIT

    # The same server, closed by `after` at 450 ms while it still talks: idle never fired.
    server = Server(talk=10)
    async with serving(server) as url:
        run = await run_yaml(text.replace("{after}", "450ms"), url=url)
    assert run.logs == []
    assert run.check("closed for silence") == (0, 1, "expected close_code equals 4000, got 1000")
    assert server.closes == [(1000, "")]


async def test_idle_re_arms_after_a_message_and_fires_once_per_silence() -> None:
    """Idle fires at 100 ms; the reply to what it sends re-arms it, so it fires again 100 ms after; the
    second send is not answered, and the silence until the close at 600 ms fires it no more."""
    server = Server(answer=1)
    text = """
    url: ws://unused
    rules:
      - idle: 100ms
        do: [{log: "idle after {{ messages_received }}"}, {send: wake}]
      - after: 600ms
        do: [close]
    """
    async with serving(server) as url:
        run = await run_yaml(text, url=url)
    assert run.logs == ["idle after 0", "idle after 1"]
    assert server.received == ["wake", "wake"]
    assert run.errors == []


async def test_pings_are_not_messages_for_idle(pinging_url: str) -> None:
    """The server pings every 100 ms, and a 250 ms idle rule still fires: only messages end a silence."""
    text = """
    url: ws://unused
    rules:
      - idle: 250ms
        do: [{log: "silent, {{ pings_received }} pings"}, {close: {code: 4000}}]
    checks:
      - {name: pinged, that: pings_received, at_least: 1}
      - {name: closed for silence, that: close_code, equals: 4000}
    """
    run = await run_yaml(text, url=pinging_url)
    assert len(run.logs) == 1 and run.logs[0].startswith("silent, ")
    assert run.check("pinged") == (1, 0, "")
    assert run.check("closed for silence") == (1, 0, "")


# -- on: failure -----------------------------------------------------------------------------------

#: Indented as the scenarios below, which it ends.
FAILURE_RULE = """
      - on: failure
        when: {that: failure.name, equals: acknowledged}
        do:
          - {log: "{{ failure.name }}: {{ failure.reason }}"}
          - {close: {code: 4001, reason: "{{ failure.name }} failed"}}
      - after: 3s
        do: [close]
"""


async def test_a_failed_check_fires_failure_rules_and_closes_with_their_code() -> None:
    """A check that fails fires the failure rule (a passing one does not), which logs failure.name and
    failure.reason and closes with 4001: the server sees it, long before the 3 s close."""
    server = Server()
    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - {check: {name: upgraded, that: status, equals: 101}}
          - {check: {name: acknowledged, that: status, equals: 200}}
    """
    async with serving(server) as url:
        run = await run_yaml(text + FAILURE_RULE, url=url)
    assert run.logs == ["acknowledged: expected status equals 200, got 101"]
    assert run.check("upgraded") == (1, 0, "")
    assert run.check("acknowledged") == (0, 1, "expected status equals 200, got 101")
    assert server.closes == [(4001, "acknowledged failed")]
    assert run.result.duration < 2.0


async def test_a_failed_expectation_fires_failure_rules_when_its_deadline_passes() -> None:
    """An expectation whose deadline passes without its message fires the failure rule then."""
    server = Server()
    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - {send: hello}
          - {expect: {name: acknowledged, message: {that: message.type, equals: ack}, within: 200ms}}
    """
    async with serving(server) as url:
        run = await run_yaml(text + FAILURE_RULE, url=url)
    reason = 'no message matching message.type equals "ack" within 200ms'
    assert run.logs == [f"acknowledged: {reason}"]
    assert run.check("acknowledged") == (0, 1, reason)
    assert server.closes == [(4001, "acknowledged failed")]
    assert 0.2 <= run.result.duration < 2.0


async def test_a_forbidden_message_fires_failure_rules_at_once() -> None:
    """A no_message expectation fails on the message it forbids, and the failure rule closes then, not at 2 s."""
    server = Server(answer=1)
    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - {expect: {name: acknowledged, no_message: {equals: boom}, for: 2s}}
          - {send: boom}
    """
    async with serving(server) as url:
        run = await run_yaml(text + FAILURE_RULE, url=url)
    assert len(run.logs) == 1
    assert re.fullmatch(
        r'acknowledged: got a message matching message equals "boom" \d+ms after it was armed: "boom"', run.logs[0]
    )
    assert server.closes == [(4001, "acknowledged failed")]
    assert run.result.duration < 1.5


async def test_a_failed_request_fires_failure_rules() -> None:
    """A request left unanswered past its `within` fires the failure rule; an answered one does not."""
    server = Server(answer=1)
    text = """
    url: ws://unused
    rules:
      - on: open
        do:
          - {request: {name: answered, send_json: {id: 1, op: hi}, within: 1s}}
          - {request: {name: acknowledged, send_json: {id: 2, op: hi}, within: 200ms}}
    """
    async with serving(server) as url:
        run = await run_yaml(text + FAILURE_RULE, url=url)
    reason = "no reply with id = 2 within 200ms"
    assert run.logs == [f"acknowledged: {reason}"]
    assert run.check("answered")[:2] == (1, 0)
    assert run.check("acknowledged") == (0, 1, reason)
    assert server.closes == [(4001, "acknowledged failed")]


async def test_a_failure_inside_a_failure_rule_fires_nothing_more() -> None:
    """The failure rule's own check fails each time it runs, and fires no further failure rule: no loop."""
    text = """
    url: ws://unused
    rules:
      - on: open
        do: [{check: {name: first, that: status, equals: 200}}]
      - on: failure
        do:
          - {log: "failed: {{ failure.name }}"}
          - {check: {name: inner, that: status, equals: 0}}
      - after: 300ms
        do: [close]
    """
    async with serving(Server()) as url:
        run = await run_yaml(text, url=url)
    assert run.logs == ["failed: first"]
    assert run.check("inner") == (0, 1, "expected status equals 0, got 101")
    assert (run.result.closed_by, run.result.close_code) == ("client", 1000)


async def test_failures_after_the_close_and_at_the_end_fire_nothing() -> None:
    """An expectation cut short by the end of the session and a failing end check fire no failure rule."""
    text = """
    url: ws://unused
    rules:
      - on: open
        do: [{expect: {name: later, message: {equals: never}, within: 10s}}]
      - after: 200ms
        do: [close]
      - on: failure
        do: [{log: "failed: {{ failure.name }}"}]
    checks:
      - {name: end, that: close_code, equals: 4999}
    """
    async with serving(Server()) as url:
        run = await run_yaml(text, url=url)
    assert run.logs == []
    assert run.check("later")[:2] == (0, 1)
    assert run.check("end") == (0, 1, "expected close_code equals 4999, got 1000")


async def test_failure_reason_is_masked() -> None:
    """A secret in a failure's reason is *** in failure.reason: in the log line and in what is sent."""
    server = Server(answer=1)
    text = """
    url: ws://unused
    vars: {token: s3cr3t-t0ken}
    secrets: [token]
    rules:
      - on: open
        do: [{send: "{{ token }}"}]
      - on: message
        do: [{check: {name: acknowledged, that: message, equals: ok}}]
      - on: failure
        do: [{log: "{{ failure.reason }}"}, {send: "{{ failure.reason }}"}, close]
    """
    async with serving(server) as url:
        run = await run_yaml(text, url=url)
    assert run.logs == ['expected message equals "ok", got "***"']
    assert server.received == ["s3cr3t-t0ken", 'expected message equals "ok", got "***"']
    assert server.closes == [(1000, "")]


# -- load time -------------------------------------------------------------------------------------


def test_idle_is_one_trigger_of_a_rule() -> None:
    """idle with on is two triggers: an error naming the line and the triggers allowed."""
    found = problems("""
        url: ws://h
        rules:
          - idle: 5s
            on: open
            do: [close]
        """)
    assert found == [
        "s.yaml:3:5: rules[0]: a rule has exactly one trigger, one of: on, every, after, idle (found: on, idle)"
    ]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("500us", "'500us' is not a duration with a unit, like 250ms, 1s, 1.5s, 2m or 1m30s"),
        ("0.5ms", "must be at least 1ms: a faster timer would starve everything else"),
        ("0s", "must be at least 1ms: a faster timer would starve everything else"),
        ("5", "5 has no unit: write a duration with a unit, like 250ms, 1s, 1.5s, 2m or 1m30s"),
    ],
)
def test_idle_needs_a_duration_of_at_least_1ms(written: str, message: str) -> None:
    """idle below 1ms, without a unit or with an unknown one: an error at its line."""
    found = problems(f"url: ws://h\nrules:\n  - idle: {written}\n    do: [close]\n")
    assert len(found) == 1 and found[0].startswith("s.yaml:3:11: rules[0].idle: ") and message in found[0]


def test_failure_is_a_name_only_in_failure_rules() -> None:
    """failure.* outside an `on: failure` rule is never set: an error at load time, naming where."""
    found = problems("""
        url: ws://h
        rules:
          - on: failure
            when: {that: failure.name, equals: x}
            do: [{log: "{{ failure.reason }}"}]
          - on: open
            do: [{log: "{{ failure.name }}"}]
        checks:
          - {name: a, that: failure.reason, exists: true}
        """)
    assert found == [
        "s.yaml:7:16: rules[1].do[0].log: failure is set only in an `on: failure` rule (failure.name, failure.reason)",
        "s.yaml:9:21: checks[0].that: failure is set only in an `on: failure` rule (failure.name, failure.reason)",
    ]
