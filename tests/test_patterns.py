"""Named patterns read fields out of framed text; template filters put values into text encoded."""

from __future__ import annotations

import base64
import json
import textwrap
from typing import Any
from urllib.parse import quote, unquote

import pytest
from websockets.asyncio.server import ServerConnection

from wsrun.errors import ScenarioError, TemplateError
from wsrun.scenario.loader import load_text
from wsrun.scenario.namespace import look_up
from wsrun.scenario.patterns import captures, why_unset
from wsrun.scenario.templates import MISSING, names, render, render_value
from wsrun.session import state

from .helpers import run_yaml, serving
from .test_secrets import leaks, outputs

#: The tests that talk to a server run on each transport (conftest.py).
both = pytest.mark.usefixtures("transport")

#: A Socket.IO packet: its type, an ack id, and its JSON data.
SIO = r"^(?P<type>4[0-9])(?P<ack>[0-9]+)?(?P<data>\[.*\])?$"
#: Engine.IO's open packet: 0 and a JSON handshake.
ENGINE = r"^0(?P<handshake>\{.*\})$"
HEADER = f"""
url: ws://unused
patterns:
  sio: '{SIO}'
  engine: '{ENGINE}'
"""


async def socket_io(ws: ServerConnection) -> None:
    """A Socket.IO-like server: the open packet, a chat event, then an echo."""
    await ws.send('0{"sid":"abc"}')
    await ws.send('42["chat",{"text":"hi","n":5}]')
    async for message in ws:
        await ws.send(message)


async def run_socket_io(body: str) -> Any:
    async with serving(socket_io) as url:
        return await run_yaml(HEADER + textwrap.dedent(body), url=url)


# -- reading fields --------------------------------------------------------------------------


@both
async def test_fields_of_socket_io_packets_are_read_stored_and_compared() -> None:
    """The sid of the open packet is stored; the event name and fields are compared; a capture spelling a
    number equals it; an expectation matches on a capture; `NAME` alone is set when the message matches."""
    run = await run_socket_io(
        """
        rules:
          - on: open
            do:
              - expect: {name: chat event, message: [{that: sio.type, equals: 42}, {that: sio.data.0, equals: chat}], within: 2s}
          - on: message
            when: {that: engine, exists: true}
            do: [{store: {from: engine.handshake.sid, as: sid}}]
          - on: message
            when: {that: sio.data.0, equals: chat}
            do:
              - check: {name: text is hi, that: sio.data.1.text, equals: hi}
              - check: {name: n is 5, that: sio.data.1.n, at_least: 5}
              - check: {name: the type spells 42, that: sio.type, equals: 42}
              - check: {name: the data as JSON, that: sio.data, equals: [chat, {n: 5, text: hi}]}
              - check: {name: the packet matches, that: sio, exists: true}
              - log: "{{ sid }} said {{ sio.data.1.text }} in a {{ sio.type }} packet"
              - close
        checks:
          - {name: sid stored, that: sid, equals: abc}
        """
    )
    for name in ("chat event", "text is hi", "n is 5", "the type spells 42", "the data as JSON", "sid stored"):
        assert run.check(name) == (1, 0, ""), name
    assert run.check("the packet matches") == (1, 0, "")
    assert run.logs == ["abc said hi in a 42 packet"]
    assert run.errors == []


@both
async def test_a_failing_check_and_expectation_on_captures_say_why() -> None:
    """A field that differs is shown; a message the pattern does not match is quoted; an expectation
    on a capture that never comes says what it waited for."""
    run = await run_socket_io(
        """
        rules:
          - on: open
            do: [{expect: {name: leave event, message: {that: sio.data.0, equals: leave}, within: 300ms}}]
          - on: message
            do: [{check: {name: event name, that: sio.data.0, equals: chat}}, {check: {name: matches, that: sio, exists: true}}]
          - on: message
            when: {that: sio, exists: true}
            do:
              - check: {name: text, that: sio.data.1.text, equals: bye}
              - check: {name: n is a number, that: sio.data.1.n, equals: "5"}
          - {after: 500ms, do: [close]}
        """
    )
    passes, fails, reason = run.check("event name")
    assert (passes, fails) == (1, 1)
    assert reason == (
        'expected sio.data.0 equals "chat", but sio.data.0 is not set: the message does not match patterns.sio,'
        ' it starts \'0{"sid":"abc"}\''
    )
    assert run.check("matches") == (
        1,
        1,
        "expected sio to be set, but sio is not set: the message does not match patterns.sio, it starts"
        ' \'0{"sid":"abc"}\'',
    )
    assert run.check("text")[2] == 'expected sio.data.1.text equals "bye", got "hi"'
    # A field read as JSON keeps its type, as message.n does: only a capture's own text may spell a number.
    assert run.check("n is a number")[2] == 'expected sio.data.1.n equals "5", got 5'
    assert run.check("leave event") == (0, 1, 'no message matching sio.data.0 equals "leave" within 300ms')


@both
async def test_a_group_that_did_not_take_part_or_a_message_that_does_not_match_is_not_set() -> None:
    """Templates explain an unset capture: the message does not match, or the group did not take part."""
    run = await run_socket_io(
        """
        rules:
          - on: message
            do:
              - log: "ack {{ sio.ack }}"
              - log: "type {{ sio.type }}"
          - {after: 300ms, do: [close]}
        """
    )
    assert run.errors == [
        "rules[0].do[0] (on: message): {{ sio.ack }} is not set: the message does not match patterns.sio,"
        ' it starts \'0{"sid":"abc"}\'',
        "rules[0].do[1] (on: message): {{ sio.type }} is not set: the message does not match patterns.sio,"
        ' it starts \'0{"sid":"abc"}\'',
        "rules[0].do[0] (on: message): {{ sio.ack }} is not set: sio.ack did not take part in the match",
    ]
    assert run.logs == ["type 42"]


@both
async def test_an_unset_capture_in_a_binary_payload_is_explained_too() -> None:
    """send_binary's base64 field reads bytes its own way, and still says why a capture is not set."""
    run = await run_socket_io(
        """
        rules:
          - on: message
            when: {that: messages_received, equals: 1}
            do: [{send_binary: {base64: "{{ sio.ack }}"}}]
          - {after: 300ms, do: [close]}
        """
    )
    assert run.errors == [
        "rules[0].do[0] (on: message): {{ sio.ack }} is not set: the message does not match patterns.sio,"
        ' it starts \'0{"sid":"abc"}\''
    ]


@both
async def test_each_message_is_searched_once_per_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many conditions on one message search it once per pattern they read, not once per condition."""
    searched: list[tuple[str, Any]] = []

    def counting(pattern: str, message: Any) -> Any:
        searched.append((pattern, message))
        return captures(pattern, message)

    monkeypatch.setattr(state, "captures", counting)
    run = await run_socket_io(
        """
        rules:
          - {on: message, when: {that: sio.type, equals: 42}, do: [{log: "{{ sio.data.0 }} {{ sio.data.1.n }}"}]}
          - {on: message, when: {that: sio, exists: true}, do: [{check: {name: typed, that: sio.type, matches: '^4'}}]}
          - {on: message, when: {that: engine, exists: true}, do: [{store: {from: engine.handshake.sid, as: sid}}]}
          - {after: 300ms, do: [close]}
        """
    )
    assert run.logs == ["chat 5"] and run.check("typed") == (1, 0, "")
    assert sorted(searched, key=str) == sorted(
        [
            (pattern, message)
            for pattern in (SIO, ENGINE)
            for message in ('0{"sid":"abc"}', '42["chat",{"text":"hi","n":5}]')
        ],
        key=str,
    )


def test_a_binary_message_never_matches() -> None:
    """A pattern reads text: bytes are not searched, and why says so."""
    assert captures(SIO, b"42[]") is MISSING
    assert why_unset("sio.type", SIO, b"42[]", MISSING) == "the message is binary; patterns.sio reads text messages"
    assert why_unset("sio", SIO, MISSING, MISSING) == "sio reads the current message, and none was received yet"
    assert captures(SIO, "42") == {"type": "42"}


# -- encoding values into text ---------------------------------------------------------------

AWKWARD = 'say "hi" \\ bye\nnext ünï ✓ & 100%'


@both
async def test_json_url_and_base64_round_trip_through_an_echo(echo_url: str) -> None:
    """A value with quotes, a backslash, a line break and non-ASCII text goes out as valid JSON, as a
    query-string value and as base64, and comes back as it was; in send_json a filtered template is text."""
    run = await run_yaml(
        """
        url: ws://unused
        vars: {text: given with --var, n: 5}
        rules:
          - on: open
            do:
              - send: '{"text": {{ text | json }}, "n": {{ n | json }}, "q": "a={{ text | url }}", "b": "{{ text | base64 }}"}'
          - on: message
            when: {that: message.n, exists: true}
            do:
              - check: {name: json round trip, that: message.text, equals: "{{ text }}"}
              - check: {name: a number stays a number, that: message.n, equals: 5}
              - log: "{{ message.q }}"
              - log: "{{ message.b }}"
              - send_json: {inner: "{{ text | json }}", kept: "{{ n }}"}
          - on: message
            when: {that: message.inner, exists: true}
            do: [{log: "{{ message.inner }}"}, {check: {name: typed, that: message.kept, equals: 5}}, close]
        """,
        url=echo_url,
        overrides={"text": AWKWARD},
    )
    assert run.errors == []
    assert run.check("json round trip") == (1, 0, "") and run.check("a number stays a number") == (1, 0, "")
    query, encoded, inner = run.logs
    assert query.startswith("a=") and unquote(query[2:]) == AWKWARD and "&" not in query[2:] and " " not in query
    assert base64.b64decode(encoded).decode() == AWKWARD
    assert json.loads(inner) == AWKWARD  # the encoded text, a string: not the value
    assert run.check("typed") == (1, 0, "")


@both
async def test_base64_of_a_binary_message_encodes_its_bytes(echo_url: str) -> None:
    """Bytes are encoded as they are; JSON and url encode them as they read in text (hex)."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - {on: open, do: [{send_binary: {hex: "00ff 10"}}]}
          - on: binary
            do: [{log: "{{ message | base64 }} {{ message | json }} {{ message | url }}"}, close]
        """,
        url=echo_url,
    )
    assert run.logs == ['AP8Q "00ff10" 00ff10']


@both
async def test_a_filter_on_an_unset_name_or_nan_is_an_error_naming_it(echo_url: str) -> None:
    """A filtered name that is not set is explained as any name; NaN cannot be written as JSON."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - {on: open, do: [{send: '{"x": NaN}'}]}
          - on: message
            do: [{send: "{{ message.x | json }}"}, {send: "{{ message.y | url }}"}, close]
        """,
        url=echo_url,
    )
    assert run.errors == [
        "rules[1].do[0] (on: message): {{ message.x | json }}: it holds an infinite number or NaN, which JSON"
        " cannot carry",
        "rules[1].do[1] (on: message): {{ message.y }} is not set: message has no key 'y' (its keys: x)",
    ]


@both
async def test_an_encoded_secret_stays_masked(echo_url: str) -> None:
    """A secret sent JSON-, URL- and base64-encoded is masked in every output, in each of those forms."""
    secret = 'Tr0ub4dor"&3\\x/é'
    run = await run_yaml(
        """
        url: ws://unused
        vars: {token: given with --var}
        secrets: [token]
        rules:
          - on: open
            do:
              - send: '{"t": {{ token | json }}, "u": "{{ token | url }}", "b": "{{ token | base64 }}"}'
              - log: 'json {{ token | json }} url {{ token | url }} base64 {{ token | base64 }}'
          - on: message
            do: [{check: {name: echoed, that: message, equals: nope}}, close]
        """,
        url=echo_url,
        overrides={"token": secret},
    )
    assert run.logs == ['json "***" url *** base64 ***']
    assert (
        run.check("echoed")[2]
        == 'expected message equals "nope", got "{\\"t\\": \\"***\\", \\"u\\": \\"***\\", \\"b\\": \\"***\\"}"'
    )
    for name, text in outputs(run).items():
        assert not leaks(secret, text), name
        assert quote(secret, safe="") not in text and base64.b64encode(secret.encode()).decode() not in text, name


def test_filters_render_each_kind_of_value() -> None:
    """json keeps numbers, booleans, null, objects and lists as JSON; url and base64 read them as text."""
    values: dict[str, Any] = {"n": 5, "f": 1.5, "yes": True, "none": None, "obj": {"a": [1, "é"]}, "s": "a b/c"}

    def lookup(name: str) -> Any:
        return look_up(name, (values,), {})

    assert render("{{ n | json }} {{ f|json }} {{yes | json}} {{ none | json }}", lookup) == "5 1.5 true null"
    assert render("{{ obj | json }}", lookup) == '{"a": [1, "é"]}'
    assert render("{{ s | url }} {{ obj.a.1 | url }}", lookup) == "a%20b%2Fc %C3%A9"
    assert render("{{ n | base64 }}", lookup) == "NQ=="
    assert render_value({"x": "{{ n | json }}", "y": "{{ n }}"}, lookup) == {"x": "5", "y": 5}
    assert list(names("{{ a.b | url }} {{ c }}")) == ["a.b", "c"]
    with pytest.raises(TemplateError, match=r"\{\{ gone \}\} is not set"):
        render("{{ gone | json }}", lookup)


# -- load-time errors ------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_text(textwrap.dedent(text).lstrip("\n"), "s.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_a_pattern_must_compile_and_name_its_groups_and_its_name() -> None:
    """An invalid RE2 pattern, one without a named group, a name that is not a name: located, each."""
    assert problems(
        """
        url: ws://h
        patterns:
          ahead: '(?P<a>x)(?=y)'
          unnamed: '^4([0-9])$'
          s-io: '(?P<s>x)'
        """
    ) == [
        "s.yaml:3:10: patterns.ahead: '(?P<a>x)(?=y)' is not a valid regular expression (RE2 syntax): invalid perl"
        " operator: (?=",
        "s.yaml:4:12: patterns.unnamed: '^4([0-9])$' has no named group: name each field to read, like"
        " (?P<type>[0-9]+); the name then reads it (NAME.type)",
        "s.yaml:5:3: patterns.s-io: 's-io': a pattern name is letters, digits and _, not starting with a digit",
    ]


def test_a_group_named_twice_or_with_a_name_no_path_can_read_is_an_error() -> None:
    """RE2 accepts both, and would silently read the first of two groups of one name."""
    assert problems(
        r"""
        url: ws://h
        patterns:
          twice: '(?P<a>x)|(?<a>y)'
          digit: '(?P<0a>x)'
          escaped: '\\(?P<a>x\\)'
        """
    ) == [
        "s.yaml:3:10: patterns.twice: group 'a' is named twice: which capture it reads would be a guess",
        "s.yaml:4:10: patterns.digit: group name '0a': a group name is letters, digits and _, not starting with a"
        " digit",
    ]


def test_both_spellings_of_a_named_group_are_accepted() -> None:
    """RE2 takes (?P<name>…) and (?<name>…)."""
    scenario = load_text(
        "url: ws://h\npatterns: {p: '(?<a>x)(?P<b>y)'}\nchecks: [{name: c, that: p.b, exists: true}]\n"
    )
    assert captures(scenario.patterns["p"], "-xy-") == {"a": "x", "b": "y"}


def test_a_pattern_name_taken_by_another_name_is_an_error() -> None:
    """A pattern may not be named like a built-in name, a variable or a stored name."""
    assert problems(
        """
        url: ws://h
        vars: {v: 1}
        patterns: {status: '(?P<s>x)', v: '(?P<s>x)', kept: '(?P<s>x)', request_reply: '(?P<s>x)'}
        rules:
          - on: open
            do:
              - {store: {from: status, as: kept}}
              - {request: {name: r, send_json: {id: 1}, within: 1s, as: request_reply}}
        """
    ) == [
        "s.yaml:3:20: patterns.status: 'status' is a built-in name; give the pattern another name",
        "s.yaml:3:35: patterns.v: 'v' is a variable; give the pattern another name",
        "s.yaml:3:53: patterns.kept: 'kept' is a stored name (store or request as:); give the pattern another name",
        "s.yaml:3:80: patterns.request_reply: 'request_reply' is a stored name (store or request as:); give the"
        " pattern another name",
    ]


def test_a_group_the_pattern_does_not_have_is_an_error_wherever_it_is_read() -> None:
    """that, templates (in conditions too), store.from and expectations: the groups are listed."""
    found = problems(
        HEADER
        + textwrap.dedent(
            """\
        vars: {early: "{{ sio.type }}"}
        rules:
          - on: message
            when: {that: sio.tpye, equals: 42}
            do:
              - {store: {from: sio.dat.1, as: kept}}
              - {log: "{{ sio.ak }}"}
              - {expect: {name: e, message: {that: sio.x, exists: true}, within: 1s}}
              - {check: {name: c, that: sio.type, equals: "{{ engine.sid }}"}}
        """
        )
    )
    groups = "its groups: type, ack, data"
    assert found == [
        "s.yaml:5:15: vars.early: {{ sio.type }} is not known before connecting: a variable may use env.NAME,"
        " now_ms, now, uuid, vu, iteration and variables above it",
        f"s.yaml:8:18: rules[0].when.that: patterns.sio has no group 'tpye': did you mean 'type'? {groups}",
        f"s.yaml:10:24: rules[0].do[0].store.from: patterns.sio has no group 'dat': did you mean 'data'? {groups}",
        f"s.yaml:11:15: rules[0].do[1].log: patterns.sio has no group 'ak': did you mean 'ack'? {groups}",
        f"s.yaml:12:44: rules[0].do[2].expect.message.that: patterns.sio has no group 'x': {groups}",
        "s.yaml:13:51: rules[0].do[3].check.equals: patterns.engine has no group 'sid': its groups: handshake",
    ]


def test_an_unknown_or_a_second_filter_is_an_error() -> None:
    """Exactly one filter name after |, one of json, url, base64."""
    assert problems(
        """
        url: ws://h
        vars: {x: 1}
        rules:
          - on: open
            do: [{send: "{{ x | jsn }}"}, {send: "{{ x | json | url }}"}, {log: "{{ x | }}"}]
        """
    ) == [
        "s.yaml:5:17: rules[0].do[0].send: '{{ x | jsn }}': unknown filter 'jsn': did you mean 'json'? the filters"
        " are json, url, base64",
        "s.yaml:5:42: rules[0].do[1].send: '{{ x | json | url }}': one filter only, like {{ name | json }}",
        "s.yaml:5:73: rules[0].do[2].log: '{{ x | }}': a filter's name comes after |: one of json, url, base64",
    ]
