"""Scenario files: safe YAML, and one located, readable message per problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load, load_text


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_text(textwrap.dedent(text).lstrip("\n"), "s.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_on_stays_a_word() -> None:
    """YAML 1.1 would read the key `on` as true; the loader keeps it the word "on"."""
    scenario = load_text("url: ws://h\nrules:\n  - on: open\n    do: [ping]\n")
    assert scenario.rules[0].on == "open"


def test_yes_and_no_are_strings() -> None:
    """Only true/false are booleans: yes, no, on, off stay text."""
    scenario = load_text("url: ws://h\nvars: {a: yes, b: off, c: true}\n")
    assert scenario.vars == {"a": "yes", "b": "off", "c": True}


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("1e20", 1e20),
        ("1E5", 100000.0),
        ("-2.5e-3", -0.0025),
        (".5", 0.5),
        ("+1.", 1.0),
        ("-.inf", float("-inf")),
        ("12", 12),
        ("017", 17),  # base 10 in YAML 1.2; octal in YAML 1.1
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", "1_000"),  # YAML 1.1 reads 1000
        ("1:30", "1:30"),  # YAML 1.1 reads 90
        ("0b101", "0b101"),
        ("1e", "1e"),
        ("e5", "e5"),
    ],
)
def test_numbers_follow_yaml_1_2_core(written: str, read: object) -> None:
    """Numbers are read as the YAML 1.2 core schema says: exponents without a dot, no underscores, no 1.1 forms."""
    scenario = load_text(f"url: ws://h\nvars: {{n: {written}}}\n")
    assert scenario.vars["n"] == read
    assert type(scenario.vars["n"]) is type(read)


def test_an_exponent_is_a_number_in_a_comparison() -> None:
    """at_least: 1e20 is a number, as YAML 1.2 reads it (it was refused as "not a number")."""
    scenario = load_text("url: ws://h\nchecks: [{name: big, that: message, at_least: 1e20}, {name: s, at_most: 1E5}]\n")
    assert [check.comparison for check in scenario.checks] == [("at_least", 1e20), ("at_most", 1e5)]


def test_every_problem_is_located() -> None:
    """Each problem names file, line, column, the path in the scenario, and what is allowed."""
    found = problems(
        """
        url: ws://127.0.0.1:1
        rules:
          - on: open
            do:
              - snd: x
          - on: opn
            do: [ping]
          - every: 1
            do: [ping]
        checks:
          - name: status is 101
            that: status
            equal: 101
        timout: 3s
        """
    )
    assert found == [
        "s.yaml:5:9: rules[0].do[0]: unknown action 'snd': did you mean 'send'? an action is a mapping with one key,"
        " one of: log, send, send_json, send_binary, ping, pong, answer_pings, close, check, store, expect, request,"
        " increment, add (or the bare word ping, pong or close)",
        "s.yaml:6:9: rules[1].on: 'opn' is not allowed: use 'open', 'message', 'binary', 'ping', 'pong', 'close', 'error'"
        " or 'failure'",
        "s.yaml:8:12: rules[2].every: 1 has no unit: write a duration with a unit, like 250ms, 1s, 1.5s, 2m or 1m30s",
        "s.yaml:13:5: checks[0].equal: unknown key 'equal': did you mean 'equals'? allowed here: that, equals,"
        " not_equals, contains, not_contains, matches, at_least, at_most, exists, schema, name, all, any",
        "s.yaml:14:1: timout: unknown key 'timout': did you mean 'timeout'? allowed here: name, description, url,"
        " headers, subprotocols, tags, transport, compression, connect_timeout, close_timeout, pong_timeout, answer_pings, max_message_size, tls,"
        " timeout, vus, iterations, duration, stages, graceful_stop, thresholds, metrics, summary_trend_stats, vars, secrets,"
        " patterns, rules, checks",
    ]


def test_missing_url() -> None:
    """A required key that is missing is named."""
    assert problems("rules: []\n") == ["s.yaml:1:1: url: required key is missing"]


def test_nested_unknown_key_lists_the_allowed_ones() -> None:
    """An unknown key in an action's options lists that action's keys."""
    found = problems("url: ws://h\nrules:\n  - on: open\n    do: [{close: {code: 4000, reson: x}}]\n")
    assert found == [
        "s.yaml:4:31: rules[0].do[0].close.reson: unknown key 'reson': did you mean 'reason'? allowed here: code, reason,"
        " wait_for_pending"
    ]


def test_wrong_type_shows_the_value() -> None:
    """A value of the wrong type is shown with what was expected."""
    found = problems("url: ws://h\nrules:\n  - on: open\n    do: [{send: [1, 2]}]\n")
    assert found == [
        "s.yaml:4:17: rules[0].do[0].send: must be text, or a mapping with size (and fill or random), got [1, 2]"
    ]


def test_unknown_template_name() -> None:
    """A template naming something no scenario defines is caught before connecting."""
    found = problems(
        """
        url: ws://h
        vars: {token: abc}
        rules:
          - on: open
            do: [{send: "{{ tokn }}"}]
        """
    )
    assert len(found) == 1
    assert found[0].startswith(
        "s.yaml:5:17: rules[0].do[0].send: unknown name 'tokn': did you mean 'token'? known names: "
    )
    assert "token" in found[0] and "now_ms" in found[0]


def test_names_need_their_key_and_vars_their_order() -> None:
    """env and headers need a key; a variable may only use variables above it."""
    found = problems(
        """
        url: ws://h
        vars:
          a: "{{ b }}"
          b: x
          status: 3
        checks:
          - {name: n, that: env, exists: true}
        """
    )
    assert found == [  # in file order
        "s.yaml:3:6: vars.a: {{ b }}: a variable may use only variables defined above it",
        "s.yaml:5:11: vars.status: 'status' is a built-in name; choose another name for this variable",
        "s.yaml:7:21: checks[0].that: env needs a name after it, like env.HOME",
    ]


def test_not_a_template() -> None:
    """Only names go between braces: expressions are refused with an example."""
    found = problems("url: ws://h\nrules:\n  - on: open\n    do: [{log: '{{ 1 + 1 }}'}]\n")
    assert len(found) == 1 and "is not a template" in found[0] and "rules[0].do[0].log" in found[0]


def test_duplicate_keys_are_an_error() -> None:
    """A repeated key is refused, naming both lines: a reviewer must not be fooled by a shadowed key."""
    found = problems("url: ws://a\nname: x\nurl: ws://b\n")
    assert found == ["s.yaml:3:1: duplicate key 'url' (first at line 1)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "s.yaml: the file is empty: a scenario needs at least url"),
        ("- a\n- b\n", "s.yaml:1:1: a scenario is a mapping of keys (url, rules, checks, …), not a list"),
        (
            "url: [\n",
            "s.yaml:2:1: invalid YAML: while parsing a flow node",
        ),
        ("url: !!python/object:os.system x\n", "invalid YAML"),
        ("url: !!python/name:os.system\n", "invalid YAML"),
    ],
)
def test_yaml_that_is_not_a_scenario(text: str, expected: str) -> None:
    """Empty files, lists, broken YAML and object tags are refused with a located message."""
    found = problems(text)
    assert len(found) == 1 and expected in found[0]


def test_python_tags_never_construct_objects() -> None:
    """A python/object tag is refused before anything is built."""
    found = problems("url: !!python/object/apply:os.system ['true']\n")
    assert "could not determine a constructor" in found[0]


def test_load_names_the_missing_file(tmp_path: Path) -> None:
    """A missing file, a folder and non-UTF-8 bytes each get a one-line error."""
    with pytest.raises(ScenarioError, match=r"nope\.yaml: no such file"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a folder"):
        load(tmp_path)
    binary = tmp_path / "junk.yaml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        load(binary)


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    """Without name:, the report uses the file name."""
    path = tmp_path / "login-flow.yaml"
    path.write_text("url: ws://h\n")
    assert load(path).name == "login-flow"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("url: ws://h\ncompression: off\n", "s.yaml:2:14: compression: must be a valid boolean"),
        ("url: ws://h\nmax_message_size: true\n", "s.yaml:2:19: max_message_size: must be a valid integer"),
        (
            "url: ws://h\nrules:\n  - {on: open, do: [{close: {code: '4000'}}]}\n",
            "rules[0].do[0].close.code: must be a valid integer",
        ),
        ("url: ws://h\ncheck_s: 1\n", "unknown key 'check_s'"),
        ("url: ws://h\nrules:\n  - {after: 1s1s, do: [ping]}\n", "'1s1s' is not a duration"),
        ("url: ws://h\nsubprotocols: ['a b']\n", "'a b': a subprotocol is an HTTP token"),
        ("url: ws://h\nvars: {a: [1]}\n", "vars.a: a variable is a string, number or boolean, not a list"),
        ("url: ws://h\nrules:\n  - {on: open, do: []}\n", "rules[0].do: must list at least one action"),
        ("url: ws://h\nrules:\n  - {on: open, do: [{ping: 5}]}\n", "must be a mapping with the keys: data"),
        (
            "url: ws://h\nrules:\n  - {on: open, do: [{store: {from: message, as: 1x}}]}\n",
            "'1x': must be a variable name",
        ),
    ],
)
def test_no_silent_conversion_and_clear_messages(text: str, expected: str) -> None:
    """Types are strict (off is not false, true is not 1), and each message says what is allowed."""
    found = problems(text)
    assert len(found) == 1 and expected in found[0], found


def test_vars_templates_are_checked() -> None:
    """A variable may use env.NAME, now_ms, now, uuid, vu, iteration and variables above it, nothing else."""
    found = problems(
        """
        url: ws://h
        vars:
          a: "{{ nope }}"
          b: "{{ status }}"
          c: "{{ env.HOME }}-{{ uuid }}-{{ a }}"
        """
    )
    assert found == [
        "s.yaml:3:6: vars.a: unknown name 'nope': a variable may use env.NAME, now_ms, now, uuid, vu, iteration and"
        " variables above it",
        "s.yaml:4:6: vars.b: {{ status }} is not known before connecting: a variable may use env.NAME, now_ms, now,"
        " uuid, vu, iteration and variables above it",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: &a [{on: open, do: *a}]\n", "nested more than 64 levels"),
        ("url: " + "[" * 200 + "]" * 200 + "\n", "nest"),
        (
            "url: ws://h\nbase: &r {on: open, do: [ping]}\nrules:\n  - <<: *r\n    on: close\n",
            "s.yaml:4:5: merge keys (<<) are not allowed",
        ),
        (
            "a: &a [1,2,3,4,5,6,7,8,9,10]\n"
            + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True)),
            "expands to more than 100,000 values",
        ),
        ('url: ws://h\nname: "a\x07b"\n', "s.yaml:2:9: invalid YAML: character U+0007 is not allowed"),
        ("url: ws://h\n\tname: x\n", "s.yaml:2:1: invalid YAML"),
    ],
)
def test_hostile_yaml_is_refused_quickly(text: str, expected: str) -> None:
    """Self-referencing aliases, deep nesting, merge keys, alias bombs and control characters: one located message."""
    found = problems(text)
    assert len(found) == 1 and expected in found[0], found


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """A 50 MB file is refused at once, without being read."""
    path = tmp_path / "huge.yaml"
    with path.open("w") as file:
        file.write("url: ws://h\ndescription: |\n")
        file.truncate(50 * 10**6)
    with pytest.raises(ScenarioError, match="the file is 48 MiB; scenario files are limited to 10 MiB"):
        load(path)


@pytest.mark.parametrize(
    ("where", "typo", "meant"),
    [
        ("rules[0].do[0].log", "mesage.id", "message"),
        ("checks[0].that", "stauts", "status"),
        ("rules[0].when.that", "close_cod", "close_code"),
    ],
)
def test_unknown_name_did_you_mean(where: str, typo: str, meant: str) -> None:
    """An unknown name gets a "did you mean", as unknown keys do."""
    text = {
        "rules[0].do[0].log": f'rules:\n  - {{on: message, do: [{{log: "{{{{ {typo} }}}}"}}]}}\n',
        "checks[0].that": f"checks:\n  - {{name: a, that: {typo}, equals: 101}}\n",
        "rules[0].when.that": f"rules:\n  - {{on: close, when: {{that: {typo}, equals: 1000}}, do: [ping]}}\n",
    }[where]
    with pytest.raises(ScenarioError) as caught:
        load_text("url: ws://h\n" + text, "s.yaml")
    (problem,) = caught.value.problems
    assert problem.path == where
    assert f"unknown name {typo.split('.')[0]!r}: did you mean {meant!r}? known names: " in problem.message


def test_request_without_its_id_is_refused_at_load_time() -> None:
    """A request whose send_json lacks its id path is an error when the file is loaded, not at run time."""
    text = """
    url: ws://h
    rules:
      - on: open
        do:
          - request: {name: a, send_json: {method: get}, within: 1s}
          - request: {name: b, send_json: {params: {x: 1}}, id: params.request_id, within: 1s}
          - request: {name: c, send_json: {params: "{{ p }}"}, id: params.request_id, within: 1s}
          - request: {name: d, send_json: {params: [{id: 5}]}, id: params.0.id, within: 1s}
    vars: {p: 1}
    """
    with pytest.raises(ScenarioError) as caught:
        load_text(textwrap.dedent(text), "s.yaml")
    problems = caught.value.problems
    assert [(p.line, p.path) for p in problems] == [(6, "rules[0].do[0].request"), (7, "rules[0].do[1].request")]
    assert problems[0].message.startswith('send_json has no id: give the request its id there (like id: "{{ uuid }}")')
    assert "send_json has no params.request_id" in problems[1].message


def test_schema_file_problems_come_with_the_others(tmp_path: Path) -> None:
    """A schema file's problem is reported in the same pass as an unknown key or an unknown name, by line
    (it was reported only once the others were fixed); a condition that is itself wrong is not read for one."""
    (tmp_path / "bad.yaml").write_text("type: 12\n", encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent(
            """
            url: ws://h
            rules:
              - on: message
                do:
                  - {check: {name: a, schema: missing.json}}
                  - {snd: x}
            checks:
              - {name: b, that: message, schema: bad.yaml}
              - {name: c, that: message, schema: nowhere.json, equals: 1}
            colour: red
            """
        ).lstrip("\n"),
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load(path)
    found = [(problem.line, problem.path, problem.message) for problem in caught.value.problems]
    assert [(line, where) for line, where, _ in found] == [
        (5, "rules[0].do[0].check.schema"),
        (6, "rules[0].do[1]"),
        (8, "checks[0].schema"),
        (9, "checks[1]"),
        (10, "colour"),
    ]
    assert "missing.json: no such file" in found[0][2]
    assert "bad.yaml" in found[2][2] and "not a valid JSON Schema" in found[2][2]
    assert "nowhere.json" not in str(found)  # the condition is wrong: give exactly one comparison


def test_schema_file_problems_come_with_unknown_names(tmp_path: Path) -> None:
    """A scenario valid in shape but with an unknown name gets its schema file problems in the same pass."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "url: ws://h\nchecks:\n  - {name: a, that: mesage, equals: 1}\n  - {name: b, schema: missing.json}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load(path)
    assert [(problem.line, problem.path) for problem in caught.value.problems] == [
        (3, "checks[0].that"),
        (4, "checks[1].schema"),
    ]


def test_a_key_spelt_like_pydantics_marker() -> None:
    """A key written "[key]" is an unknown key like any other (it crashed the loader with an IndexError)."""
    assert problems('url: ws://h\n"[key]": 1\n') == [
        "s.yaml:2:1: [key]: unknown key '[key]': allowed here: "
        + ", ".join(
            (
                "name, description, url, headers, subprotocols, tags, transport, compression, connect_timeout,"
                " close_timeout, pong_timeout, answer_pings, max_message_size, tls, timeout, vus, iterations, duration, stages,"
                " graceful_stop, thresholds, metrics, summary_trend_stats, vars, secrets, patterns, rules, checks"
            ).split(", ")
        )
    ]
