"""The scenario models: durations, triggers, comparisons, actions, URLs, and the JSON Schema they generate."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text
from wsrun.scenario.models import (
    CheckAction,
    Close,
    Condition,
    Ping,
    Pong,
    Rule,
    Scenario,
    SendBinary,
    json_schema,
    parse_duration,
)

URL = "ws://127.0.0.1:8765"


def scenario(**fields: Any) -> dict[str, Any]:
    """A minimal scenario document with ``fields`` added."""
    return {"url": URL, **fields}


def one_action(action: Any) -> dict[str, Any]:
    """A scenario document whose one rule runs ``action`` on open."""
    return scenario(rules=[{"on": "open", "do": [action]}])


# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1s", 1.0),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        (" 1s ", 1.0),
        ("0s", 0.0),
        ("168h", 604800.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    """Durations with units read as seconds, parts added up, up to a week."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1", r"^'1' is not a duration with a unit, like 250ms"),
        (1, r"^1 has no unit: write a duration with a unit"),
        (1.5, r"^1\.5 has no unit"),
        ("1x", r"^'1x' is not a duration"),
        ("", r"^'' is not a duration"),
        ("-1s", r"^'-1s' is not a duration"),
        ("s", r"^'s' is not a duration"),
        (True, r"^expected a duration with a unit"),
        (None, r"^expected a duration with a unit"),
        ("169h", r"^'169h' is longer than a week$"),
        ("10081m", r"^'10081m' is longer than a week$"),
    ],
)
def test_parse_duration_refuses(value: object, message: str) -> None:
    """Anything but a duration with a unit, of at most a week, is refused with what is allowed."""
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


# -- rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("triggers", "found"),
    [
        ({}, "none"),
        ({"on": "open", "every": "1s"}, "on, every"),
        ({"every": "1s", "after": "2s"}, "every, after"),
        ({"after": "2s", "idle": "1s"}, "after, idle"),
    ],
)
def test_rule_needs_exactly_one_trigger(triggers: dict[str, Any], found: str) -> None:
    """A rule with no trigger, or with two, is refused, naming what it found."""
    with pytest.raises(
        ValidationError, match=rf"a rule has exactly one trigger, one of: on, every, after, idle \(found: {found}\)"
    ):
        Rule.model_validate({**triggers, "do": ["ping"]})


@pytest.mark.parametrize("every", ["0s", "0.5ms"])
def test_every_must_be_at_least_a_millisecond(every: str) -> None:
    """every below 1ms is refused: a timer that fast would starve everything else."""
    with pytest.raises(ValidationError, match="must be at least 1ms"):
        Rule.model_validate({"every": every, "do": ["ping"]})


def test_after_may_be_zero() -> None:
    """after: 0s runs right after open, so it is accepted; rule durations are in seconds."""
    rule = Rule.model_validate({"after": "0s", "do": ["ping"]})
    assert rule.after == 0.0
    assert rule.trigger == "after: 0s"
    assert Rule.model_validate({"every": "1m30s", "do": ["ping"]}).trigger == "every: 90s"


def test_rule_needs_an_action() -> None:
    """A rule with an empty do list is refused."""
    with pytest.raises(ValidationError, match="at least 1 item"):
        Rule.model_validate({"on": "open", "do": []})


# -- conditions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "found"),
    [({}, "none"), ({"that": "status"}, "none"), ({"equals": 1, "contains": 1}, "equals, contains")],
)
def test_condition_needs_exactly_one_comparison(condition: dict[str, Any], found: str) -> None:
    """A condition with no comparison, or with two, is refused, naming what it found."""
    with pytest.raises(ValidationError, match=rf"give exactly one comparison, one of: equals, .* \(found: {found}\)"):
        Condition.model_validate(condition)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"matches": "("}, r"matches: '\(' is not a valid regular expression"),
        ({"matches": "[a-"}, "is not a valid regular expression"),
        ({"at_least": None}, "at_least needs a number"),
        ({"exists": None}, "exists needs true or false"),
        ({"equals": "{{ a + b }}"}, "is not a template"),
        ({"that": "a b", "equals": 1}, "String should match pattern"),
    ],
)
def test_condition_refuses(condition: dict[str, Any], message: str) -> None:
    """A bad regex, a missing number or flag, an expression in braces or a bad name is refused."""
    with pytest.raises(ValidationError, match=message):
        Condition.model_validate(condition)


def test_condition_comparison_and_default_that() -> None:
    """A condition tests the current message by default, and reports its one comparison."""
    condition = Condition.model_validate({"equals": None})
    assert condition.that == "message"
    assert condition.comparison == ("equals", None)


def test_matches_needs_a_pattern() -> None:
    """matches: null is refused, as at_least: null and exists: null are."""
    with pytest.raises(ValidationError):
        Condition.model_validate({"matches": None})


# -- actions --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999])
def test_close_code_accepted(code: int) -> None:
    """Close codes RFC 6455 7.4.1 lets a client send are accepted (1011 as IANA's registry has it)."""
    close = Close.model_validate({"close": {"code": code}})
    assert close.close is not None and close.close.code == code


@pytest.mark.parametrize("code", [1004, 1005, 1006, 1012, 1013, 1014, 1015, 999, 2999, 5000])
def test_close_code_refused(code: int) -> None:
    """Reserved codes, codes only a server sends (1012-1014) and out-of-range ones are refused, saying what is allowed."""
    allowed = r"use 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, or 3000-4999"
    with pytest.raises(ValidationError, match=rf"{code} cannot be sent by a client \(RFC 6455 7.4\): {allowed}"):
        Close.model_validate({"close": {"code": code}})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"base64": "AAEC/w==", "hex": "000102ff"}, "give exactly one of base64 or hex"),
        ({}, "give exactly one of base64 or hex"),
        ({"hex": "zz"}, "not valid hex"),
        ({"hex": "abc"}, "not valid hex"),
        ({"base64": "!!!!"}, "not valid base64"),
    ],
)
def test_send_binary_refused(payload: dict[str, str], message: str) -> None:
    """send_binary needs exactly one encoding, and bytes that decode."""
    with pytest.raises(ValidationError, match=message):
        SendBinary.model_validate({"send_binary": payload})


@pytest.mark.parametrize("payload", [{"base64": "AAEC/w=="}, {"hex": "0001 02ff"}, {"hex": "000102FF"}])
def test_send_binary_decodes(payload: dict[str, str]) -> None:
    """send_binary's bytes decode the same from base64 or hex."""
    assert SendBinary.model_validate({"send_binary": payload}).send_binary.constant == b"\x00\x01\x02\xff"


def test_bare_words_are_actions() -> None:
    """ping, pong and close may be written as bare words, meaning their defaults."""
    rule = Rule.model_validate({"on": "open", "do": ["ping", "pong", "close"]})
    assert rule.do == [Ping(ping=None), Pong(pong=None), Close(close=None)]


@pytest.mark.parametrize("action", ["log", "send", {"log": "x", "send": "y"}, {"shout": "x"}, 1])
def test_unknown_action_refused(action: Any) -> None:
    """Anything but one action key (or a bare ping or close) is refused, listing the actions."""
    with pytest.raises(ValidationError, match="an action is a mapping with one key, one of: log, send"):
        Scenario.model_validate(one_action(action))


# -- unknown keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        scenario(bogus=1),
        scenario(rules=[{"on": "open", "do": ["ping"], "bogus": 1}]),
        scenario(rules=[{"on": "message", "when": {"equals": 1, "bogus": 1}, "do": ["ping"]}]),
        one_action({"close": {"code": 1000, "bogus": 1}}),
        one_action({"ping": {"data": "x", "bogus": 1}}),
        one_action({"send_binary": {"hex": "00", "bogus": 1}}),
        one_action({"store": {"from": "message", "as": "x", "bogus": 1}}),
        one_action({"check": {"name": "n", "that": "status", "equals": 101, "bogus": 1}}),
        scenario(checks=[{"name": "n", "that": "status", "equals": 101, "bogus": 1}]),
        {"url": "wss://example.com", "tls": {"insecure": True, "bogus": 1}},
    ],
)
def test_unknown_keys_refused(document: dict[str, Any]) -> None:
    """An unknown key is refused wherever it appears, never silently ignored."""
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(document)
    assert [(error["type"], error["loc"][-1]) for error in caught.value.errors()] == [("extra_forbidden", "bogus")]


# -- url and tls ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ws://h", "wss://h:443/p?q=1", "{{ base }}/socket", "ws://h/{{ token }}"])
def test_websocket_url_accepted(url: str) -> None:
    """ws:// and wss:// URLs are accepted, and so is a URL whose scheme is a template."""
    assert Scenario.model_validate({"url": url}).url == url


@pytest.mark.parametrize("url", ["http://h", "https://h", "h:8765", "", "wss//h"])
def test_non_websocket_url_refused(url: str) -> None:
    """A URL that does not start with ws:// or wss:// is refused."""
    with pytest.raises(ValidationError, match="is not a WebSocket URL: it must start with ws:// or wss://"):
        Scenario.model_validate({"url": url})


def test_tls_needs_wss() -> None:
    """tls settings are refused with a ws:// URL and accepted with wss://."""
    with pytest.raises(ValidationError, match="applies only to wss:// URLs"):
        Scenario.model_validate({"url": URL, "tls": {"insecure": True}})
    tls = Scenario.model_validate({"url": "wss://h", "tls": {"insecure": True}}).tls
    assert tls is not None and tls.insecure is True


# -- JSON Schema ----------------------------------------------------------------------------


def test_json_schema_declares_its_dialect() -> None:
    """The generated schema names its JSON Schema dialect and describes a scenario."""
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "wsrun scenario"
    assert "url" in schema["required"]


@pytest.mark.parametrize("word", ["ping", "pong", "close"])
def test_json_schema_accepts_bare_words(word: str) -> None:
    """The schema of ping, pong and close accepts the bare word as well as the mapping."""
    definition = json_schema()["$defs"][word.capitalize()]
    consts = [option for option in definition["anyOf"] if "const" in option]
    assert consts == [{"const": word, "description": consts[0]["description"]}]
    assert consts[0]["description"]
    assert any(option.get("properties", {}).get(word) for option in definition["anyOf"])


def test_that_defaults_to_message_everywhere() -> None:
    """One condition language: `that` defaults to message in when, expectations and checks alike."""
    scenario = Scenario.model_validate(
        {
            "url": "ws://h",
            "rules": [
                {
                    "on": "message",
                    "when": {"contains": "a"},
                    "do": [
                        {"check": {"name": "inline", "contains": "b"}},
                        {"expect": {"name": "e", "message": {"contains": "c"}, "within": "1s"}},
                    ],
                }
            ],
            "checks": [{"name": "end", "contains": "d"}],
        }
    )
    rule = scenario.rules[0]
    assert rule.when is not None and rule.when.that == "message"
    assert [action.check.that for action in rule.do[:1] if isinstance(action, CheckAction)] == ["message"]
    assert scenario.checks[0].that == "message"


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e400", "[1, .inf]"])
def test_send_json_refuses_numbers_json_cannot_carry(value: str) -> None:
    """Infinity and NaN are YAML floats but not JSON numbers: an error when the file loads, not invalid JSON sent."""
    text = f"url: ws://h\nrules:\n  - {{on: open, do: [{{send_json: {{v: {value}}}}}]}}\n"
    with pytest.raises(ScenarioError, match=r"is not a JSON number: JSON has no infinity and no NaN"):
        load_text(text, "s.yaml")
