"""Issue 14's new constructs as a new user (and a hostile server) would try them: each test here failed before its fix."""

from __future__ import annotations

import base64
import json
import textwrap
from urllib.parse import quote

import pytest

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text

from .helpers import run_yaml
from .test_secrets import outputs, pieces


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_text(textwrap.dedent(text).lstrip("\n"), "s.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_a_misspelt_field_of_failure_is_an_error_at_load_time() -> None:
    """failure has name and reason only: failure.nme would never be set, so it is a typo caught at its line."""
    found = problems("""
        url: ws://h
        rules:
          - on: failure
            when: {that: failure.resaon, exists: true}
            do: [{log: "{{ failure.nme }}"}]
        """)
    assert found == [
        "s.yaml:4:18: rules[0].when.that: failure has no field 'resaon': did you mean 'reason'? it has: name, reason",
        "s.yaml:5:16: rules[0].do[0].log: failure has no field 'nme': did you mean 'name'? it has: name, reason",
    ]


@pytest.mark.parametrize("written", ["true", "[1]", "{n: 1}"])
def test_at_least_of_the_wrong_type_is_one_error_without_pydantic_s_branches(written: str) -> None:
    """at_least: true is one error at its line saying what is allowed, not one per branch of a union (.float, .str)."""
    found = problems(f"url: ws://h\nchecks:\n  - {{name: c, that: status, at_least: {written}}}\n")
    assert found == [
        f"s.yaml:3:39: checks[0].at_least: at_least needs a number, or a template giving one"
        f' (like "{{{{ last_seq }}}}"); got {load_value(written)!r}'
    ]


def load_value(written: str) -> object:
    return {"true": True, "[1]": [1], "{n: 1}": {"n": 1}}[written]


@pytest.mark.usefixtures("transport")
async def test_a_secret_put_into_a_ping_or_pong_by_a_filter_is_masked_in_the_hex_of_the_frame(echo_url: str) -> None:
    """A control frame's payload shows as hex: the hex of `{{ token | base64 }}`, `| url` and `| json` is masked
    there, in the report, JUnit and the HTML report, as the filtered text is in a message."""
    secret = 'Tr0ub4dor"&3/x'
    run = await run_yaml(
        """
        url: ws://h
        vars: {token: 'Tr0ub4dor"&3/x'}
        secrets: [token]
        rules:
          - on: open
            do:
              - ping: {data: "{{ token | base64 }}"}
              - ping: {data: "{{ token | url }}"}
              - pong: {data: "{{ token | json }}"}
              - expect: {name: two pongs, of: pongs, count: any, at_least: 2, for: 5s}
          - on: pong
            when: {that: pongs_received, equals: 2}
            do: [close]
        checks:
          - {name: closed, that: close_code, equals: 1000}
        """,
        echo_url,
    )
    assert run.check("two pongs")[:2] == (1, 0) and run.check("closed")[:2] == (1, 0)
    encoded = [base64.b64encode(secret.encode()).decode(), quote(secret, safe=""), json.dumps(secret)]
    hexes = [form.encode().hex() for form in encoded]
    shown = outputs(run)
    for name, text in shown.items():
        assert [form for form in hexes if form in text.lower()] == [], name
    assert shown["console"].count("***") >= 5  # three sent, two pongs back


@pytest.mark.usefixtures("transport")
async def test_a_secret_repeated_to_a_size_is_not_half_shown_where_the_payload_ends(echo_url: str) -> None:
    """send: {size: 31, fill: "{{ token }}"} ends with 15 of the token's 16 characters: that part of it is a
    secret too, sent and echoed, text and binary, in frames, log lines, check reasons, JUnit and HTML."""
    run = await run_yaml(
        """
        url: ws://h
        vars: {token: ABCDEFGHIJKLMNOP, blob: deadbeefcafebabe0011223344556677}
        secrets: [token, blob]
        rules:
          - on: open
            do:
              - send: {size: 31, fill: "{{ token }}"}
              - send_binary: {size: 31, hex: "{{ blob }}"}
              - expect: {name: both echoed, count: any, at_least: 2, for: 5s}
          - on: message
            do: [{log: "{{ message }}"}, {check: {name: echo, equals: "{{ token }}"}}]
          - on: binary
            do: [{check: {name: binary echo, equals: "{{ blob }}"}}, close]
        checks:
          - {name: closed, that: close_code, equals: 1000}
        """,
        echo_url,
    )
    assert run.check("both echoed")[:2] == (1, 0)
    assert run.check("echo") == (0, 1, 'expected message equals "***", got "***"')
    assert run.check("binary echo") == (0, 1, 'expected message equals "***", got <31 bytes: ***>')
    assert run.logs == ["***"]
    for name, text in outputs(run).items():
        assert pieces("ABCDEFGHIJKLMNOP", text, 3) == [], name
        assert pieces("deadbeefcafebabe0011223344556677", text, 6) == [], name
    frames = [frame.text for frame in run.result.transcript if frame.kind in ("text", "binary")]
    assert sorted(frames) == ["***", "***", "<31 bytes: ***>", "<31 bytes: ***>"]
