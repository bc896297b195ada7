"""Several conditions (lists, all, any, nested) everywhere a condition is accepted, templated bounds,
and the comparisons that `wsrun validate` knows could never match."""

from __future__ import annotations

import textwrap

import pytest

from wsrun.errors import ScenarioError
from wsrun.scenario.conditions import holds
from wsrun.scenario.kinds import FACT_KINDS
from wsrun.scenario.loader import load_text
from wsrun.scenario.models import Scenario
from wsrun.scenario.namespace import FACTS
from wsrun.scenario.templates import MISSING
from wsrun.session import state
from wsrun.session.expect import describe

from .helpers import run_yaml

#: The session tests run on each transport (conftest.py); the load-time ones need no connection.
both = pytest.mark.usefixtures("transport")

#: Three JSON messages, echoed back by the server: an event on prices, an event on news, an error.
THREE = """
          - on: open
            do:
              - send_json: {type: event, topic: prices, n: 1}
              - send_json: {type: event, topic: news, n: 2}
              - send_json: {type: error, n: 3}
          - {on: message, when: {that: message.n, equals: 3}, do: [close]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_text(textwrap.dedent(text).lstrip("\n"), "s.yaml")
    return [str(problem) for problem in caught.value.problems]


def loads(text: str) -> Scenario:
    return load_text(textwrap.dedent(text).lstrip("\n"), "s.yaml")


# -- when: -------------------------------------------------------------------------------------


@both
async def test_when_takes_a_list_all_any_and_nested(echo_url: str) -> None:
    """A list and an all fire only when every condition holds; an any when one does; they nest."""
    run = await run_yaml(
        """
        url: ws://x
        rules:"""
        + THREE
        + """
          - on: message
            when: [{that: message.type, equals: event}, {that: message.topic, equals: prices}]
            do: [{log: "list {{ message.n }}"}]
          - on: message
            when: {all: [{that: message.type, equals: event}, {that: message.topic, equals: prices}]}
            do: [{log: "all {{ message.n }}"}]
          - on: message
            when: {any: [{that: message.type, equals: error}, {that: message.topic, equals: news}]}
            do: [{log: "any {{ message.n }}"}]
          - on: message
            when:
              any:
                - all: [{that: message.type, equals: event}, {that: message.n, at_least: 2}]
                - [{that: message.type, equals: error}, {that: message.n, equals: 99}]
            do: [{log: "nested {{ message.n }}"}]
        """,
        echo_url,
    )
    assert run.logs == ["list 1", "all 1", "any 2", "nested 2", "any 3"]
    assert run.errors == []


@both
async def test_when_any_skips_an_alternative_naming_a_value_not_set(echo_url: str) -> None:
    """In an any, an alternative whose template names a value not set yet does not hold; another may."""
    run = await run_yaml(
        """
        url: ws://x
        rules:"""
        + THREE
        + """
          - on: message
            when: {any: [{that: message.n, equals: "{{ seen }}"}, {that: message.n, equals: 1}]}
            do: [{log: "first {{ message.n }}"}, {store: {from: message.n, as: seen}}]
        """,
        echo_url,
    )
    assert run.logs == ["first 1"]
    assert run.errors == []


# -- checks ------------------------------------------------------------------------------------


@both
async def test_checks_with_all_and_any_pass_and_fail_with_reasons(echo_url: str) -> None:
    """A check's all gives the first failing condition's reason; an any gives every alternative's."""
    run = await run_yaml(
        """
        url: ws://x
        rules:"""
        + THREE
        + """
          - on: message
            do:
              - check: {name: known type, any: [{that: message.type, equals: event}, {that: message.type, equals: error}]}
              - check: {name: an event on prices, all: [{that: message.type, equals: event}, {that: message.topic, equals: prices}]}
              - check:
                  name: a low event or an error
                  any:
                    - all: [{that: message.type, equals: event}, {that: message.n, at_most: 1}]
                    - {that: message.type, equals: error}
        checks:
          - {name: opened, all: [{that: status, equals: 101}, [{that: messages_received, at_least: 3}]]}
          - name: closed by the server
            any: [{that: closed_by, equals: server}, {that: close_code, equals: 4000}]
        """,
        echo_url,
    )
    assert run.check("known type") == (3, 0, "")
    assert run.check("an event on prices") == (
        1,
        2,
        'expected message.topic equals "prices", got "news"',
    )
    assert run.check("a low event or an error") == (
        2,
        1,
        'none of: expected message.n at_most 1, got 2; or expected message.type equals "error", got "event"',
    )
    assert run.check("opened")[:2] == (1, 0)
    assert run.check("closed by the server") == (
        0,
        1,
        'none of: expected closed_by equals "server", got "client"; or expected close_code equals 4000, got 1000',
    )


def test_the_reason_of_an_any_nests() -> None:
    """An any inside an any keeps its reasons together, in parentheses."""
    scenario = loads(
        """
        url: ws://h
        vars: {a: 0}
        checks:
          - name: nested
            any:
              - any: [{that: a, equals: 1}, {that: a, equals: 2}]
              - {that: a, exists: false}
        """
    )
    outcome = holds(scenario.checks[0], lambda name: 3 if name == "a" else MISSING)
    assert outcome.reason == (
        "none of: (none of: expected a equals 1, got 3; or expected a equals 2, got 3);"
        " or expected a not to be set, got 3"
    )


# -- expectations ------------------------------------------------------------------------------


@both
async def test_expectations_take_any(echo_url: str) -> None:
    """message, count and a sequence step with an any: passing, and failing with the any in words."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect:
                  name: an error or news
                  message: {any: [{that: message.type, equals: error}, {that: message.topic, equals: news}]}
                  within: 2s
              - expect:
                  name: a reply or a close
                  message: {any: [{that: message.type, equals: reply}, {that: message.type, equals: close}]}
                  within: 300ms
              - expect:
                  name: errors or news
                  count: {any: [{that: message.type, equals: error}, {that: message.topic, equals: news}]}
                  at_most: 1
              - expect:
                  name: prices then news or an error
                  sequence:
                    - {that: message.topic, equals: prices}
                    - any: [{that: message.topic, equals: news}, {that: message.type, equals: error}]
                  within: 2s
              - expect:
                  name: news then prices
                  sequence:
                    - [{that: message.type, equals: event}, {any: [{that: message.topic, equals: news}, {that: message.n, equals: 0}]}]
                    - {that: message.topic, equals: prices}
              - send_json: {type: event, topic: prices, n: 1}
              - send_json: {type: event, topic: news, n: 2}
              - send_json: {type: error, n: 3}
          - {after: 500ms, do: [close]}
        """,
        echo_url,
    )
    assert run.check("an error or news")[:2] == (1, 0)
    assert run.check("prices then news or an error")[:2] == (1, 0)
    assert run.check("a reply or a close") == (
        0,
        1,
        'no message matching message.type equals "reply" or message.type equals "close" within 300ms',
    )
    passes, fails, reason = run.check("errors or news")
    assert (passes, fails) == (0, 1)
    assert reason.startswith(
        '2 messages matching message.type equals "error" or message.topic equals "news", expected at most 1;'
        ' the last: "{\\"type\\": \\"error\\"'
    )
    passes, fails, reason = run.check("news then prices")
    assert (passes, fails) == (0, 1)
    assert reason.startswith(
        'step 2 (message.topic equals "prices") arrived before step 1 (message.type equals "event" and'
        ' (message.topic equals "news" or message.n equals 0))'
    )


def test_describe_puts_parentheses_around_nested_groups() -> None:
    """An and inside an or, and an or inside an and, read unambiguously."""
    scenario = loads(
        """
        url: ws://h
        vars: {a: 0, b: 0, c: 0, d: 0, e: x}
        rules:
          - on: message
            when:
              any:
                - [{that: a, equals: 1}, {that: b, equals: 2}]
                - all: [{that: c, exists: true}, {any: [{that: d, equals: 3}, {that: e, matches: "^x"}]}]
            do: [ping]
        """
    )
    assert describe(scenario.rules[0].when) == (
        "(a equals 1 and b equals 2) or (c exists true and (d equals 3 or e matches /^x/))"
    )


# -- templated bounds --------------------------------------------------------------------------


@both
async def test_templated_at_least_and_at_most(echo_url: str) -> None:
    """Each number at least the one before it (the README's example), a bound from a variable, and a
    template that gives no number at run time: a failed condition with its reason, not a crash."""
    run = await run_yaml(
        """
        url: ws://x
        vars: {first_seq: 0, limit: 2, word: "{{ uuid }}"}
        rules:
          - on: open
            do:
              - store: {from: first_seq, as: last_seq}
              - send_json: {seq: 1}
              - send_json: {seq: 3}
              - send_json: {seq: 2}
              - send_json: {seq: 4, last: true}
          - on: message
            do:
              - check: {name: in order, that: message.seq, at_least: "{{ last_seq }}"}
              - store: {from: message.seq, as: last_seq}
              - check: {name: under the limit, that: message.seq, at_most: "{{ limit }}"}
              - check: {name: a word as a bound, that: message.seq, at_least: "{{ word }}"}
              - check: {name: a stored text, that: message.seq, at_most: "1{{ last_seq }}"}
          - {on: message, when: {that: message.last, exists: true}, do: [close]}
        """,
        echo_url,
    )
    assert run.check("in order") == (3, 1, "expected message.seq at_least 3, got 2")
    assert run.check("under the limit") == (2, 2, "expected message.seq at_most 2, got 3")
    passes, fails, reason = run.check("a word as a bound")
    assert (passes, fails) == (0, 4)
    assert reason.startswith('message.seq at_least "{{ word }}": it gave "') and reason.endswith(
        '", which is not a number'
    )
    assert run.check("a stored text")[:2] == (4, 0)  # "11", "13", "12", "14"
    assert run.errors == []


@both
async def test_an_unset_bound_fails_and_any_lets_the_first_message_pass(echo_url: str) -> None:
    """Before anything is stored the bound is not set: the check fails saying so, unless an any lets
    the first message pass."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do: [{send_json: {seq: 1}}, {send_json: {seq: 2}}, {send_json: {seq: 2, last: true}}]
          - on: message
            do:
              - check: {name: bare, that: message.seq, at_least: "{{ last_seq }}"}
              - check: {name: in order, any: [{that: last_seq, exists: false}, {that: message.seq, at_least: "{{ last_seq }}"}]}
              - store: {from: message.seq, as: last_seq}
          - {on: message, when: {that: message.last, exists: true}, do: [close]}
        """,
        echo_url,
    )
    assert run.check("bare") == (2, 1, "{{ last_seq }} is not set")
    assert run.check("in order") == (3, 0, "")


# -- load-time errors --------------------------------------------------------------------------


def test_shapes_that_are_errors() -> None:
    """A comparison beside any, empty lists, a word, a check with any and that: located, saying what is allowed."""
    assert problems(
        """
        url: ws://h
        rules:
          - on: message
            when: {any: [{equals: 1}], equals: 2}
            do: [ping]
          - on: message
            when: []
            do: [ping]
          - on: message
            when: {all: [], any: [{equals: 1}]}
            do: [ping]
          - on: message
            when: hello
            do: [ping]
          - on: message
            do:
              - check: {name: a, all: [{equals: 1}], that: status}
              - check: {name: b}
              - expect: {name: c, message: {any: [{that: message.x, at_least: abc}]}, within: 1s}
              - expect: {name: d, count: {all: [{equals: 1}, {any: []}]}, at_least: 1}
        checks:
          - {name: e, any: [{equals: 1}], all: [{equals: 2}]}
          - {name: f, that: message.seq, at_most: "5"}
        """
    ) == [
        "s.yaml:4:11: rules[0].when: any: is a condition by itself: write the comparison (equals) as one of the"
        " conditions inside any:, or leave out any:",
        "s.yaml:7:11: rules[1].when: an empty list of conditions: give at least one",
        "s.yaml:10:11: rules[2].when: all: is a condition by itself: write the comparison (any) as one of the"
        " conditions inside all:, or leave out all:",
        "s.yaml:13:11: rules[3].when: a condition is a mapping (that: and one comparison), a list of conditions"
        " (all must hold), {all: [...]} or {any: [...]}; got 'hello'",
        "s.yaml:17:16: rules[4].do[0].check: a check holds either that: and one comparison, or all:, or any:"
        " (each condition inside names its own value) (found: all, that)",
        "s.yaml:18:16: rules[4].do[1].check: give exactly one comparison, one of: equals, not_equals, contains,"
        " not_contains, matches, at_least, at_most, exists, schema (found: none); or all: or any: with a list of"
        " conditions",
        "s.yaml:19:43: rules[4].do[2].expect.message.any[0]: at_least needs a number, or a template giving one"
        " (like \"{{ last_seq }}\"); got 'abc': write a number",
        "s.yaml:20:60: rules[4].do[3].expect.count.all[1].any: an empty list of conditions: give at least one",
        "s.yaml:22:5: checks[0]: a check holds either that: and one comparison, or all:, or any: (each condition"
        " inside names its own value) (found: all, any)",
        's.yaml:23:5: checks[1]: at_most needs a number, or a template giving one (like "{{ last_seq }}");'
        " got '5': write 5 without quotes",
    ]


def test_comparisons_that_could_never_match_are_errors() -> None:
    """Facts and variables of a fixed type, compared with what they can never equal: each located, saying
    what would be allowed; the comparisons that can match load."""
    assert problems(
        """
        url: ws://h
        vars: {name: bob, flag: true, n: 5, num: "7"}
        rules:
          - on: message
            when: [{that: status, equals: abc}, {any: [{that: closed_by, equals: clinet}]}]
            do:
              - expect: {name: c, sequence: [{any: [{that: iteration, contains: 1}]}, {that: vu, equals: x}]}
        checks:
          - {name: s1, that: status, equals: "101"}
          - {name: s2, that: status, equals: true}
          - {name: s3, that: close_code, not_equals: {a: 1}}
          - {name: s4, that: errors, equals: [1]}
          - {name: s5, that: messages_sent, not_contains: 1}
          - {name: t1, that: close_reason, equals: 5}
          - {name: t2, that: url, equals: null}
          - {name: t3, that: closed_by, at_least: 1}
          - {name: t4, that: closed_by, not_equals: sever}
          - {name: v1, that: message.seq, at_least: "{{ name }}"}
          - {name: v2, that: message.seq, at_most: "{{ flag }}"}
          - {name: v3, that: n, equals: "5"}
          - {name: v4, that: flag, at_least: 1}
          - {name: v5, that: name, equals: 3}
          - {name: v6, that: status, equals: "{{ name }}"}
          - {name: v7, that: name, at_most: 3}
          - {name: v8, that: messages_received, at_least: "{{ closed_by }}"}
          - {name: ok, all: [{that: num, at_least: 3}, {that: message.seq, at_least: "{{ num }}"}]}
          - {name: ok, all: [{that: status, equals: "{{ n }}"}, {that: closed_by, equals: client}]}
          - {name: ok, all: [{that: close_reason, at_least: 1}, {that: status, at_least: "{{ n }}"}]}
          - {name: ok, all: [{that: status, matches: "^1"}, {that: message.n, equals: "{{ name }}"}]}
          - {name: ok, all: [{that: flag, equals: false}, {that: url, contains: "ws://"}]}
          - {name: t5, that: error, equals: true}
          - {name: t6, that: close_reason, not_equals: [done]}
        """
    ) == [
        's.yaml:5:35: rules[0].when[0].equals: status equals "abc": status is an integer and "abc" is text, so they'
        " are never equal and equals could never pass: compare it with a number, written without quotes (like 101)",
        's.yaml:5:74: rules[0].when[1].any[0].equals: closed_by equals "clinet": closed_by is client or server,'
        " never 'clinet', so equals could never pass; did you mean 'client'?",
        "s.yaml:7:73: rules[0].do[0].expect.sequence[0].any[0].contains: iteration contains 1: iteration is an"
        " integer, and contains looks into text, lists and mappings, so it could never pass: compare it with"
        " equals, at_least or at_most",
        's.yaml:7:98: rules[0].do[0].expect.sequence[1].equals: vu equals "x": vu is an integer and "x" is text, so'
        " they are never equal and equals could never pass: compare it with a number, written without quotes"
        " (like 101)",
        's.yaml:9:38: checks[0].equals: status equals "101": status is an integer and "101" is text, so they are'
        " never equal and equals could never pass: compare it with a number, written without quotes (like 101)",
        "s.yaml:10:38: checks[1].equals: status equals true: status is an integer and true is a boolean, so they"
        " are never equal and equals could never pass: compare it with a number, written without quotes (like 101)",
        's.yaml:11:46: checks[2].not_equals: close_code not_equals {"a": 1}: close_code is an integer and {"a": 1}'
        " is a mapping, so they are never equal and not_equals could never fail: compare it with a number, written"
        " without quotes (like 101)",
        "s.yaml:12:38: checks[3].equals: errors equals [1]: errors is an integer and [1] is a list, so they are"
        " never equal and equals could never pass: compare it with a number, written without quotes (like 101)",
        "s.yaml:13:51: checks[4].not_contains: messages_sent not_contains 1: messages_sent is an integer, and"
        " not_contains looks into text, lists and mappings, so it could never fail: compare it with equals,"
        " at_least or at_most",
        "s.yaml:14:44: checks[5].equals: close_reason equals 5: close_reason is text and 5 is an integer, so they"
        ' are never equal and equals could never pass: compare it with text (in quotes when it looks like a number: "42")',
        "s.yaml:15:35: checks[6].equals: url equals null: url is text and null is null, so they are never equal and"
        ' equals could never pass: compare it with text (in quotes when it looks like a number: "42")',
        "s.yaml:16:43: checks[7].at_least: closed_by at_least 1: closed_by is client or server, never a number, so"
        " at_least could never pass: compare it with equals, not_equals, contains or matches",
        's.yaml:17:45: checks[8].not_equals: closed_by not_equals "sever": closed_by is client or server, never'
        " 'sever', so not_equals could never fail; did you mean 'server'?",
        's.yaml:18:45: checks[9].at_least: message.seq at_least "{{ name }}": "{{ name }}" gives name, which is'
        ' text (vars: name: "bob"), not a number: at_least needs a number, or a template giving one',
        's.yaml:19:44: checks[10].at_most: message.seq at_most "{{ flag }}": "{{ flag }}" gives flag, which is a'
        " boolean (vars: flag: true), not a number: at_most needs a number, or a template giving one",
        's.yaml:20:33: checks[11].equals: n equals "5": n is an integer (vars: n: 5) and "5" is text, so they are'
        " never equal and equals could never pass: compare it with a number, written without quotes (like 101)",
        "s.yaml:21:38: checks[12].at_least: flag at_least 1: flag is a boolean (vars: flag: true), never a number,"
        " so at_least could never pass: compare it with equals",
        's.yaml:22:36: checks[13].equals: name equals 3: name is text (vars: name: "bob") and 3 is an integer, so'
        ' they are never equal and equals could never pass: compare it with text (in quotes when it looks like a number: "42")',
        's.yaml:23:38: checks[14].equals: status equals "{{ name }}": status is an integer and "{{ name }}" gives'
        ' name, which is text (vars: name: "bob"), so they are never equal and equals could never pass: compare it'
        " with a number, written without quotes (like 101)",
        's.yaml:24:37: checks[15].at_most: name at_most 3: name is text (vars: name: "bob"), never a number, so'
        " at_most could never pass: compare it with equals, not_equals, contains or matches",
        's.yaml:25:51: checks[16].at_least: messages_received at_least "{{ closed_by }}": "{{ closed_by }}" gives'
        " closed_by, which is client or server, not a number: at_least needs a number, or a template giving one",
        "s.yaml:31:37: checks[22].equals: error equals true: error is text and true is a boolean, so they are never"
        ' equal and equals could never pass: compare it with text (in quotes when it looks like a number: "42")',
        's.yaml:32:48: checks[23].not_equals: close_reason not_equals ["done"]: close_reason is text and ["done"] is'
        " a list, so they are never equal and not_equals could never fail: compare it with text (in quotes when it"
        ' looks like a number: "42")',
    ]


def test_a_typo_inside_nested_conditions_says_what_is_allowed_there() -> None:
    """An unknown key deep in an any or a list is located, with the keys a condition allows."""
    allowed = "that, equals, not_equals, contains, not_contains, matches, at_least, at_most, exists, schema, all, any"
    assert problems(
        """
        url: ws://h
        rules:
          - on: message
            when: [{that: message.x, equls: 1}, {any: [{contans: a}]}]
            do: [ping]
        """
    ) == [
        f"s.yaml:4:30: rules[0].when[0].equls: unknown key 'equls': did you mean 'equals'? allowed here: {allowed}",
        f"s.yaml:4:49: rules[0].when[1].any[0].contans: unknown key 'contans': did you mean 'contains'? allowed"
        f" here: {allowed}",
    ]


def test_validate_exits_2_on_a_comparison_that_could_never_match(tmp_path: object) -> None:
    """The CLI's validate reports it like any problem of the file, exit code 2."""
    from pathlib import Path

    from wsrun.cli import main

    file = Path(str(tmp_path)) / "s.yaml"
    file.write_text("url: ws://h\nchecks:\n  - {name: closed, that: closed_by, equals: clinet}\n")
    assert main(["validate", str(file)]) == 2


# -- one table of fact kinds -------------------------------------------------------------------


def test_the_fact_kinds_are_facts() -> None:
    """Every fact with a fixed kind is a fact the session reads and the README names."""
    assert set(FACT_KINDS) <= set(state._FACTS) and set(FACT_KINDS) <= set(FACTS)


@both
async def test_the_facts_have_their_kinds_in_a_session(echo_url: str) -> None:
    """In a real session each typed fact holds a value of its kind (as JSON Schema sees it), as the
    load-time check assumes."""
    schemas = {"number": "{type: integer}", "text": "{type: string}"}
    checks = "".join(
        f"  - {{name: {fact}, that: {fact}, schema: {schemas[kind.family]}}}\n" for fact, kind in FACT_KINDS.items()
    )
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - {on: open, do: [{log: "{{ later }}"}, {send: hi}]}
          - {on: message, do: [{store: {from: message, as: later}}, {close: {reason: done}}]}
        checks:\n"""
        + textwrap.indent(checks, " " * 8)
        + "          - {name: by client, that: closed_by, schema: {enum: [client, server]}}\n",
        echo_url,
    )
    assert run.errors == ["rules[0].do[0] (on: open): {{ later }} is not set"]
    for fact in [*FACT_KINDS, "by client"]:
        assert run.check(fact) == (1, 0, ""), fact
