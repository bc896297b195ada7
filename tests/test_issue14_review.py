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
