"""The JSON Schema as an editor reads it: every key titled, described and given valid examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from wsrun.scenario import models
from wsrun.scenario.models import COMPARISONS, Condition, Scenario, json_schema
from wsrun.scenario.yamlfile import read_yaml

SCHEMA = json_schema()
DEFS: dict[str, Any] = SCHEMA["$defs"]
URL = "wss://example.com/socket"

# Keys whose values are not subschemas to walk: an example or a default may itself hold a key named
# "properties" (an inline JSON Schema, say); $defs are walked one by one, each under its own name.
_VALUES = ("examples", "default", "const", "enum", "$defs")


def _properties(owner: str, node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property under ``node``, at any depth (anyOf branches included), as ("Owner.key", subschema)."""
    if isinstance(node, list):
        for item in node:
            yield from _properties(owner, item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _VALUES:
            continue
        if key == "properties":
            for name, subschema in value.items():
                yield f"{owner}.{name}", subschema
                yield from _properties(owner, subschema)
        else:
            yield from _properties(owner, value)


def _all_properties() -> list[tuple[str, dict[str, Any]]]:
    """The properties of the scenario and of every definition it refers to."""
    found = list(_properties("Scenario", {k: v for k, v in SCHEMA.items() if k != "$defs"}))
    for name, definition in DEFS.items():
        found.extend(_properties(name, definition))
    return found


PROPERTIES = _all_properties()
IDS = [path for path, _ in PROPERTIES]


def _refs(node: Any) -> Iterator[str]:
    """The names of the definitions ``node`` refers to directly."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value.rsplit("/", 1)[-1]
            elif key not in _VALUES:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _validator(subschema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A Draft 2020-12 validator for one property, with the schema's $defs there for its $refs."""
    return jsonschema.Draft202012Validator({**subschema, "$defs": DEFS})


def test_schema_is_valid_draft_2020_12() -> None:
    """The generated schema is itself a valid Draft 2020-12 schema (examples are arrays, and so on)."""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_definition_is_reached_from_the_scenario() -> None:
    """Following $refs from the top level reaches every definition, so walking them misses no key."""
    reached: set[str] = set()
    todo = list(_refs({k: v for k, v in SCHEMA.items() if k != "$defs"}))
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(_refs(DEFS[name]))
    assert reached == set(DEFS)


def test_the_walk_finds_keys_at_every_depth() -> None:
    """The walk sees top-level keys, nested options and the mapping form of bare-word actions."""
    assert {"Scenario.url", "Rule.do", "ExpectOptions.for", "Tls.insecure", "Ping.ping", "Close.close"} <= set(IDS)


@pytest.mark.parametrize(("path", "subschema"), PROPERTIES, ids=IDS)
def test_property_is_documented(path: str, subschema: dict[str, Any]) -> None:
    """Each property has a non-empty title, description and list of examples for hover and completion."""
    for key in ("title", "description"):
        assert isinstance(subschema.get(key), str), f"{path} has no {key}"
        assert subschema[key].strip(), f"{path} has an empty {key}"
    examples = subschema.get("examples")
    assert isinstance(examples, list), f"{path} has no examples"
    assert examples, f"{path} has an empty list of examples"


@pytest.mark.parametrize(("path", "subschema"), PROPERTIES, ids=IDS)
def test_property_examples_are_valid(path: str, subschema: dict[str, Any]) -> None:
    """Each example of a property validates against that property's own subschema."""
    validator = _validator(subschema)
    for example in subschema.get("examples", []):
        errors = [error.message for error in validator.iter_errors(example)]
        assert not errors, f"{path}: example {example!r} is invalid: {errors}"


MODELS = [
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__.startswith(models.__name__)
]


@pytest.mark.parametrize("cls", [cls for cls in MODELS if cls.model_fields], ids=lambda cls: cls.__name__)
def test_every_field_sets_title_description_and_examples(cls: type[BaseModel]) -> None:
    """Each field states its own title (not pydantic's made-up one from its name), description and examples."""
    for name, field in cls.model_fields.items():
        assert field.title, f"{cls.__name__}.{name} has no title of its own"
        assert field.description, f"{cls.__name__}.{name} has no description"
        assert field.examples, f"{cls.__name__}.{name} has no examples"


@pytest.mark.parametrize("name", [name for name in DEFS if name != "JsonValue"])
def test_definition_is_described(name: str) -> None:
    """Each model's definition carries its docstring as a description (in every branch of a bare-word union)."""
    definition = DEFS[name]
    branches = definition.get("anyOf", [definition])
    for branch in branches:
        assert str(branch.get("description", "")).strip(), f"{name} has no description"


TOP_LEVEL = [
    (key, example) for key, subschema in SCHEMA["properties"].items() for example in subschema.get("examples", [])
]


@pytest.mark.parametrize(("key", "example"), TOP_LEVEL, ids=[f"{key}-{i}" for i, (key, _) in enumerate(TOP_LEVEL)])
def test_top_level_examples_are_accepted_by_the_models(key: str, example: Any) -> None:
    """The models, stricter than the schema (close codes, templates, durations), accept every top-level example."""
    Scenario.model_validate({"url": URL, key: example})


ACTIONS = ["Log", "Send", "SendJson", "SendBinary", "Ping", "Close", "CheckAction", "Store", "Expect", "Request"]
ACTION_EXAMPLES = [
    (key, example)
    for name in ACTIONS
    for key, subschema in _properties(name, DEFS[name])
    for example in subschema.get("examples", [])
]


@pytest.mark.parametrize(
    ("key", "example"), ACTION_EXAMPLES, ids=[f"{key}-{i}" for i, (key, _) in enumerate(ACTION_EXAMPLES)]
)
def test_action_examples_are_accepted_by_the_models(key: str, example: Any) -> None:
    """Every action's example, options included, is accepted by the models as an action of a rule."""
    action = {key.split(".", 1)[1]: example}
    Scenario.model_validate({"url": URL, "rules": [{"on": "open", "do": [action]}]})


CONDITION_EXAMPLES = [
    (key, example)
    for key, subschema in DEFS["Condition"]["properties"].items()
    for example in subschema.get("examples", [])
]


@pytest.mark.parametrize(
    ("key", "example"), CONDITION_EXAMPLES, ids=[f"{key}-{i}" for i, (key, _) in enumerate(CONDITION_EXAMPLES)]
)
def test_condition_examples_are_accepted_by_the_models(key: str, example: Any) -> None:
    """Every example of a condition's keys is accepted by the models (with one comparison, as required)."""
    document = {key: example} if key in COMPARISONS else {key: example, "exists": True}
    Condition.model_validate(document)


SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema=../schema.json"


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.name for path in SCENARIOS])
def test_example_scenario_is_clean_in_the_editor(path: Path) -> None:
    """Each example names schema.json in its first line, and the schema finds nothing wrong in it."""
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == MODELINE
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(read_yaml(text).data)
    ]
    assert not errors, errors
