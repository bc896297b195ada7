"""Several conditions (lists, all, any, nested) everywhere a condition is accepted, templated bounds,
and the comparisons that `wsrun validate` knows could never match."""

from __future__ import annotations

import textwrap

import pytest

from wsrun.errors import ScenarioError
from wsrun.scenario.conditions import holds
from wsrun.scenario.loader import load_text
from wsrun.scenario.models import Scenario
from wsrun.scenario.templates import MISSING
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
