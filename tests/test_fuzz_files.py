"""Hostile scenario files, generated: valid or refused with located messages, never a traceback.

Each property runs on hundreds of generated documents (several thousand in all):
mutations of valid scenarios whose outcome is known (an unknown key, a missing
required key, a bad duration must be refused), and free-form mutations and raw
text or bytes whose only promise is a clean verdict.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsrun.cli import main
from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load, load_text
from wsrun.scenario.yamlfile import read_yaml

ROOT = Path(__file__).resolve().parent.parent
BASES: list[dict[str, Any]] = [read_yaml(path.read_text()).data for path in sorted((ROOT / "scenarios").glob("*.yaml"))]
EXAMPLES = 600  # per property; the properties below make several thousand documents together

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def verdict(text: str) -> list[str] | None:
    """None when the text is a valid scenario; its problems, as text, otherwise. Anything else raises."""
    try:
        load_text(text, "fuzz.yaml")
    except ScenarioError as exc:
        assert exc.problems, "a refusal names at least one problem"
        for problem in exc.problems:
            assert problem.file == "fuzz.yaml"
            assert problem.message and "Traceback" not in problem.message
            # Located: a line, unless the problem is the whole file (empty, not a mapping, too large).
            assert problem.line is not None or problem.path == "", str(problem)
        return [str(problem) for problem in exc.problems]
    return None


def dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


# -- the places in a scenario where only the format's own keys are allowed ----------------------


def model_mappings(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The mappings whose keys are fixed by the format (not vars, headers, tags or JSON payloads)."""
    found: list[dict[str, Any]] = [document]
    for rule in document.get("rules", []):
        found.append(rule)
        if isinstance(rule.get("when"), dict):
            found.append(rule["when"])
        for action in rule.get("do", []):
            if isinstance(action, dict):
                found.append(action)
                options = next(iter(action.values()))
                if isinstance(options, dict) and next(iter(action)) != "send_json":
                    found.append(options)
    found.extend(check for check in document.get("checks", []))
    return found


ODD_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=0, max_size=40
)
ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | ODD_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_TEXT, inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(base=st.sampled_from(BASES), data=st.data(), key=ODD_TEXT.filter(lambda text: text.strip() != ""))
def test_unknown_key_is_always_refused(base: dict[str, Any], data: st.DataObject, key: str) -> None:
    """An unknown key anywhere the format fixes the keys is refused, naming it."""
    document = copy.deepcopy(base)
    target = data.draw(st.sampled_from(model_mappings(document)))
    if key in target or (len(target) == 1 and key in ("ping", "close")):
        return
    target[key] = data.draw(ANY_VALUE)
    problems = verdict(dump(document))
    assert problems is not None, f"accepted an unknown key {key!r}"


@FUZZ
@given(base=st.sampled_from(BASES), data=st.data())
def test_missing_required_key_is_refused(base: dict[str, Any], data: st.DataObject) -> None:
    """Without url, a rule's do, or a check's name, the file is refused (that defaults to message)."""
    document = copy.deepcopy(base)
    places: list[tuple[dict[str, Any], str]] = [(document, "url")]
    places += [(rule, "do") for rule in document.get("rules", [])]
    places += [(check, "name") for check in document.get("checks", [])]
    target, key = data.draw(st.sampled_from(places))
    del target[key]
    problems = verdict(dump(document))
    assert problems is not None and any("required key is missing" in p for p in problems), problems


BAD_DURATIONS = (
    st.sampled_from(["-1s", "1", "1 s", "s", "1x", "1s1s", "99999h", "", "1e3s"]) | st.integers() | st.booleans()
)


@FUZZ
@given(base=st.sampled_from(BASES), data=st.data(), bad=BAD_DURATIONS)
def test_bad_duration_is_refused(base: dict[str, Any], data: st.DataObject, bad: Any) -> None:
    """A duration without a unit, negative, malformed or longer than a week is refused."""
    document = copy.deepcopy(base)
    places: list[tuple[dict[str, Any], str]] = [(document, "timeout"), (document, "connect_timeout")]
    places += [(rule, key) for rule in document.get("rules", []) for key in ("every", "after") if key in rule]
    target, key = data.draw(st.sampled_from(places))
    target[key] = bad
    assert verdict(dump(document)) is not None, f"accepted {key}: {bad!r}"


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaves(item, (*path, key))] or [path]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in leaves(item, (*path, index))] or [path]
    return [path]


@FUZZ
@given(base=st.sampled_from(BASES), data=st.data(), depth=st.integers(0, 80))
def test_any_mutation_gets_a_clean_verdict(base: dict[str, Any], data: st.DataObject, depth: int) -> None:
    """Any value replaced by anything (odd unicode, huge numbers, deep nesting): valid, or refused cleanly."""
    document = copy.deepcopy(base)
    path = data.draw(st.sampled_from(leaves(document)))
    value = data.draw(ANY_VALUE)
    for _ in range(depth):
        value = [value]
    if not path:
        document = value
    else:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
    verdict(dump(document))


@FUZZ
@given(text=st.text(max_size=300))
def test_raw_text_gets_a_clean_verdict(text: str) -> None:
    """Arbitrary text is a valid scenario or refused with located problems."""
    verdict(text)


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=300))
def test_cli_never_tracebacks_on_bytes(blob: bytes) -> None:
    """wsrun validate on arbitrary bytes exits 0 or 2, with no traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "junk.yaml"
        path.write_bytes(blob)
        try:
            load(path)
            expected = 0
        except ScenarioError:
            expected = 2
        assert main(["validate", str(path)]) == expected
