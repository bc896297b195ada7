"""Expectations in time, against real servers: each construct passing and failing, with the report's text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text

from .helpers import run_yaml
from .hostile import TEXT, Peer, close_frame, frame, hostile
from .test_hostile_servers import report

#: Every test here runs on each transport (conftest.py): the semantics are the same.
pytestmark = pytest.mark.usefixtures("transport")


async def test_message_within_passes_and_records_latency(echo_url: str) -> None:
    """subscribe, then expect the ack within 500ms: passes, and ws_expect_latency has the wait."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - send_json: {type: subscribe, topic: news, id: s1}
              - expect: {name: ack in time, message: {that: message.type, equals: ack}, within: 500ms}
          - {on: message, when: {that: message.type, equals: event}, do: [close]}
        """,
        url=echo_url + "/pubsub",
    )
    assert run.check("ack in time")[:2] == (1, 0)
    assert run.result.metrics.trends["ws_expect_latency"].count == 1


async def test_message_within_fails_with_the_frames_around_it(echo_url: str) -> None:
    """No matching message by the deadline: a clear reason, and the transcript around it in the report."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - send: hello
              - expect: {name: ack in time, message: {that: message, equals: ack}, within: 100ms}
          - {after: 300ms, do: [close]}
        """,
        url=echo_url,
    )
    passes, fails, reason = run.check("ack in time")
    assert (passes, fails) == (0, 1)
    assert reason == 'no message matching message equals "ack" within 100ms'
    text = report(run.result)
    assert "✗ ack in time" in text and "→ text   hello" in text and "← text   hello" in text


async def test_no_message_passes_when_quiet_and_fails_naming_the_match(echo_url: str) -> None:
    """no_message for a period: passes on silence; fails on the first matching message, naming it."""
    quiet = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do: [{expect: {name: no error, no_message: {that: message.type, equals: error}, for: 200ms}}]
          - {after: 300ms, do: [close]}
        """,
        url=echo_url + "/heartbeat/50",
    )
    assert quiet.check("no error")[:2] == (1, 0)
    noisy = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do: [{expect: {name: silence, no_message: {that: message.type, equals: heartbeat}}}]
          - {after: 300ms, do: [close]}
        """,
        url=echo_url + "/heartbeat/50",
    )
    passes, fails, reason = noisy.check("silence")
    assert (passes, fails) == (0, 1)
    assert reason.startswith('got a message matching message.type equals "heartbeat"')
    assert reason.endswith('after it was armed: "{\\"type\\": \\"heartbeat\\", \\"n\\": 1}"')


def sender(*messages: bytes) -> object:
    async def script(peer: Peer) -> None:
        peer.send(b"".join(frame(TEXT, message) for message in messages))  # all in one TCP write
        await peer.read_frame()  # wait for the client's close
        peer.send(close_frame(1000))

    return script


SEQUENCE = """
url: ws://x
rules:
  - on: open
    do:
      - expect:
          name: ack before event
          sequence: [{that: message.type, equals: ack}, {that: message.type, equals: event}]
          within: 1s
  - {after: 200ms, do: [close]}
"""


async def test_sequence_in_order_passes() -> None:
    """A before B: passes when A comes first, even with other messages between."""
    async with hostile(sender(b'{"type": "ack"}', b'{"type": "noise"}', b'{"type": "event"}')) as url:  # type: ignore[arg-type]
        run = await run_yaml(SEQUENCE, url=url)
    assert run.check("ack before event")[:2] == (1, 0)


async def test_sequence_out_of_order_fails() -> None:
    """B before A fails, naming both steps and the message."""
    async with hostile(sender(b'{"type": "event"}', b'{"type": "ack"}')) as url:  # type: ignore[arg-type]
        run = await run_yaml(SEQUENCE, url=url)
    passes, fails, reason = run.check("ack before event")
    assert (passes, fails) == (0, 1)
    assert reason == (
        'step 2 (message.type equals "event") arrived before step 1 (message.type equals "ack"):'
        ' "{\\"type\\": \\"event\\"}"'
    )


COUNT = """
url: ws://x
rules:
  - on: open
    do: [{{expect: {{name: beats, count: {{that: message.type, equals: heartbeat}}, {bounds}, for: 500ms}}}}]
  - {{after: 600ms, do: [close]}}
"""


async def test_count_in_a_window(echo_url: str) -> None:
    """count: between at_least and at_most matching messages during the window."""
    ok = await run_yaml(COUNT.format(bounds="at_least: 2, at_most: 20"), url=echo_url + "/heartbeat/100")
    assert ok.check("beats")[:2] == (1, 0)
    few = await run_yaml(COUNT.format(bounds="at_least: 50"), url=echo_url + "/heartbeat/100")
    passes, fails, reason = few.check("beats")
    assert (passes, fails) == (0, 1)
    assert (
        few.result.checks["beats"].where == "rules[0].do[0]"
        and 'messages matching message.type equals "heartbeat" within 500ms, expected at least 50' in reason
    )
    many = await run_yaml(COUNT.format(bounds="at_most: 1"), url=echo_url + "/heartbeat/100")
    assert many.check("beats")[2].startswith('2 messages matching message.type equals "heartbeat", expected at most 1')


HEARTBEAT = """
url: ws://x
rules:
  - on: open
    do: [{{expect: {{name: heartbeat, heartbeat: {{that: message.type, equals: heartbeat}}, every: {every}, for: 600ms}}}}]
  - {{after: 700ms, do: [close]}}
"""


async def test_heartbeat_interval(echo_url: str) -> None:
    """heartbeat: passes while matches come at least every `every`; fails on a longer gap."""
    ok = await run_yaml(HEARTBEAT.format(every="300ms"), url=echo_url + "/heartbeat/50")
    assert ok.check("heartbeat")[:2] == (1, 0)
    slow = await run_yaml(HEARTBEAT.format(every="100ms"), url=echo_url + "/heartbeat/400")
    passes, fails, reason = slow.check("heartbeat")
    assert (passes, fails) == (0, 1)
    assert reason.startswith('no message matching message.type equals "heartbeat" for 100ms')


async def test_request_reply_correlation(echo_url: str) -> None:
    """request: the reply whose id equals the request's passes; latency goes to the named trend; `as` stores it."""
    run = await run_yaml(
        """
        url: ws://x
        thresholds:
          get_user_latency: ["p(95) < 5000"]
        rules:
          - on: open
            do:
              - request: {name: get_user replied, send_json: {id: "{{ uuid }}", method: get_user}, within: 1s, metric: get_user_latency, as: reply}
              - request: {name: ping replied, send_json: {id: 7, method: ping}, within: 1s}
          - {on: message, when: {that: messages_received, equals: 2}, do: [{log: "{{ reply.request.method }}"}, close]}
        """,
        url=echo_url + "/json",
    )
    assert run.check("get_user replied")[:2] == (1, 0) and run.check("ping replied")[:2] == (1, 0)
    assert run.result.metrics.trends["get_user_latency"].count == 1
    assert run.result.metrics.trends["ws_reply_latency"].count == 1
    assert run.logs == ["get_user"]


async def test_replies_out_of_order_in_one_write() -> None:
    """Two replies arriving together, in reverse order: every pending expectation sees every message."""

    async def script(peer: Peer) -> None:
        first = json.loads((await peer.read_frame())[1])
        second = json.loads((await peer.read_frame())[1])
        peer.send(
            frame(TEXT, json.dumps({"id": second["id"]}).encode())
            + frame(TEXT, json.dumps({"id": first["id"]}).encode())
        )
        await peer.read_frame()
        peer.send(close_frame(1000))

    async with hostile(script) as url:
        run = await run_yaml(
            """
            url: ws://x
            rules:
              - on: open
                do:
                  - request: {name: first, send_json: {id: "{{ uuid }}"}, within: 1s}
                  - request: {name: second, send_json: {id: "{{ uuid }}"}, within: 1s}
              - {on: message, when: {that: messages_received, equals: 2}, do: [close]}
            """,
            url=url,
        )
    assert run.check("first")[:2] == (1, 0) and run.check("second")[:2] == (1, 0)


async def test_request_without_its_reply_fails(echo_url: str) -> None:
    """A reply with another id does not count: no reply with that id, by the deadline."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do: [{request: {name: matched, send_json: {id: 41}, reply_id: request.other, within: 200ms}}]
          - {after: 400ms, do: [close]}
        """,
        url=echo_url + "/json",
    )
    assert run.check("matched") == (0, 1, "no reply with request.other = 41 within 200ms")
    text = report(run.result)
    assert "✗ matched" in text and "↳ no reply with request.other = 41 within 200ms (at " in text
    assert text.count("rules[0].do[0]") == 1  # where it is, said once
    assert '→ text   {"id": 41}' in text  # the frames around the failure


async def test_json_schema_inline_and_from_a_file(echo_url: str, tmp_path: Path) -> None:
    """schema: a message is validated against a JSON Schema, inline or from a file beside the scenario."""
    (tmp_path / "reply.json").write_text(json.dumps({"type": "object", "required": ["id", "type"]}))
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - {on: open, do: [{send_json: {id: 1, name: n}}]}
          - on: message
            do:
              - check: {name: reply shape, that: message, schema: reply.json}
              - check: {name: id is a string, that: message, schema: {properties: {id: {type: string}}}}
              - close
        """,
        url=echo_url + "/json",
        file=str(tmp_path / "s.yaml"),
    )
    assert run.check("reply shape")[:2] == (1, 0)
    assert run.check("id is a string") == (
        0,
        1,
        'message does not match the schema: id: 1 is not of type \'string\'; got "{\\"id\\": 1, \\"type\\": \\"reply\\", \\"request\\": {\\"id\\": 1, \\"name\\": \\"n\\"}}"',
    )


def test_templates_in_requests_and_expectations_are_checked_at_load() -> None:
    """An unknown name in a request's payload or an expectation is caught before connecting."""
    with pytest.raises(ScenarioError, match=r"rules\[0\]\.do\[0\]\.request\.send_json\.id: unknown name 'uuuid'"):
        load_text(
            "url: ws://h\nrules:\n  - {on: open, do: [{request: {name: n, send_json: {id: '{{ uuuid }}'}, within: 1s}}]}\n",
            "s.yaml",
        )
    with pytest.raises(ScenarioError, match=r"unknown name 'nope'"):
        load_text(
            "url: ws://h\nrules:\n  - {on: open, do: [{expect: {name: n, message: {that: nope, equals: x}, within: 1s}}]}\n",
            "s.yaml",
        )


def test_bad_expectations_are_load_errors() -> None:
    """A malformed expectation or schema is refused when the file loads, with its place."""
    with pytest.raises(ScenarioError, match=r"rules\[0\]\.do\[0\]\.expect: message needs within"):
        load_text("url: ws://h\nrules:\n  - {on: open, do: [{expect: {name: n, message: {equals: x}}}]}\n", "s.yaml")
    with pytest.raises(ScenarioError, match="does not apply to message"):
        load_text(
            "url: ws://h\nrules:\n  - {on: open, do: [{expect: {name: n, message: {equals: x}, within: 1s, at_least: 2}}]}\n",
            "s.yaml",
        )
    with pytest.raises(ScenarioError, match="schema is not a valid JSON Schema"):
        load_text("url: ws://h\nchecks: [{name: n, that: message, schema: {type: 5}}]\n", "s.yaml")
    with pytest.raises(
        ScenarioError,
        match=r"s\.yaml:3:\d+: rules\[0\]\.do\[0\]\.expect\.sequence: a sequence has at least two steps; for one"
        r" message, write message: \(with within:\)$",
    ):
        load_text(
            "url: ws://h\nrules:\n  - {on: open, do: [{expect: {name: n, sequence: [{equals: a}], within: 1s}}]}\n",
            "s.yaml",
        )


async def test_a_condition_that_cannot_be_evaluated_fails_its_expectation(echo_url: str) -> None:
    """A template in an expectation naming a value not set yet fails that expectation; the session goes on."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: templated, message: {that: message, equals: "{{ stash }}"}, within: 500ms}
              - send: hello
          - {on: message, do: [{store: {from: message, as: stash}}, close]}
        checks: [{name: status is 101, that: status, equals: 101}]
        """,
        url=echo_url,
    )
    assert run.check("templated") == (
        0,
        1,
        "a condition could not be evaluated: {{ stash }} is not set",
    )
    assert run.check("status is 101")[:2] == (1, 0)


def test_the_frames_around_a_failure_are_shown_under_it() -> None:
    """The report prints the frames around a failed expectation right under its reason."""
    from wsrun.session.results import CheckResult, Frame, RunResult, SessionResult

    from .test_hostile_servers import report as render

    session = SessionResult("s", "s.yaml", "ws://x", has_checks=True)
    tally = CheckResult("ack", "rules[0].do[1]")
    tally.record(False, 'no message matching message equals "ack" within 100ms', 0.2)
    tally.excerpt = [Frame(0.01, "sent", "text", "subscribe"), Frame(0.02, "received", "text", "nack")]
    session.checks["ack"] = tally
    text = render(session)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "↳ no message matching" in line and "rules[0].do[1]" in line)
    assert "→ text   subscribe" in lines[at + 1] and "← text   nack" in lines[at + 2]
    assert RunResult.of(session).checks["ack"].excerpt == tally.excerpt


def test_a_late_message_is_late() -> None:
    """A message taken from the queue after the deadline does not pass; a window that is over does not fail."""
    from wsrun.scenario.models import ExpectOptions
    from wsrun.session.expect import arm_expect

    def options(**fields: object) -> ExpectOptions:
        return ExpectOptions.model_validate({"name": "n", **fields})

    def lookup(name: str) -> object:
        return "hit" if name == "message" else None

    message = arm_expect(options(message={"equals": "hit"}, within="200ms"), "w", 0.0, {})
    outcome = message.feed(0.9, lookup, "hit")
    assert outcome is not None and not outcome.passed and "within 200ms" in outcome.reason
    quiet = arm_expect(options(no_message={"equals": "hit"}, **{"for": "200ms"}), "w", 0.0, {})
    outcome = quiet.feed(0.9, lookup, "hit")
    assert outcome is not None and outcome.passed
    beat = arm_expect(options(heartbeat={"equals": "hit"}, every="200ms"), "w", 0.0, {})
    outcome = beat.feed(0.5, lookup, "hit")
    assert outcome is not None and not outcome.passed and "for 200ms" in outcome.reason


def test_request_ids_match_strictly() -> None:
    """The reply id "5" does not answer the request id 5."""
    from wsrun.scenario.models import RequestOptions
    from wsrun.session.expect import arm_request

    request = RequestOptions.model_validate({"name": "n", "send_json": {"id": 5}, "within": "1s"})
    pending = arm_request(request, 5, "w", 0.0)
    assert pending.feed(0.1, lambda name: None, '{"id": "5"}') is None
    outcome = pending.feed(0.2, lambda name: None, '{"id": 5}')
    assert outcome is not None and outcome.passed
