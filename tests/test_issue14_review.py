"""Issue 14's new constructs as a new user (and a hostile server) would try them: each test here failed before its fix."""

from __future__ import annotations

import textwrap

import pytest

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text


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
