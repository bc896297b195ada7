"""
Scenario files to Scenario models, with every problem located and explained.

Reading the YAML safely is :mod:`wsrun.scenario.yamlfile`'s job; this module validates
the data with the models and turns each problem into a message for the person
fixing the file: where, what was found, what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from typing_extensions import TypeAliasType

from ..errors import Problem, ScenarioError
from .custom_metrics import declared_trends
from .custom_metrics import problems as metric_problems
from .files import expand
from .kinds import comparison_problems
from .models import ACTION_HELP, ACTIONS, SHAPES, AllOf, AnyOf, Condition, Conditions, Scenario, leaves
from .namespace import did_you_mean, unknown_names
from .schemas import Schema, SchemaProblem, load_schema_file
from .thresholds import problems as threshold_problems
from .yamlfile import Document, FileProblem, YamlProblem, read_text, read_yaml

__all__ = ["Loaded", "Suite", "load", "load_file", "load_schemas", "load_suite", "load_text"]

Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """A location as the user writes it: ``rules[3].do[0].send``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


#: The tags of the forms of send (text, or a mapping with size), which pydantic puts in a location.
_SEND_TAGS = ("text", "sized")


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    """Drop the tags pydantic inserts for tagged unions (``do[0].log.log`` -> ``do[0].log``, ``when.any of.any``
    -> ``when.any``)."""
    cleaned: list[str | int] = []
    for i, part in enumerate(loc):
        if part in SHAPES:
            continue
        if isinstance(part, str) and i + 1 < len(loc) and loc[i + 1] == part and i > 0 and isinstance(loc[i - 1], int):
            continue
        if part in _SEND_TAGS and i > 0 and loc[i - 1] == "send":
            continue
        if part in ("from_", "as_"):
            part = part.rstrip("_")
        cleaned.append(part)
    return tuple(cleaned)


def _message(error: Any, loc: Loc) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "string_pattern_mismatch":
        for part in reversed(loc):
            if part in _PATTERN_HELP:
                return f"{value!r}: {_PATTERN_HELP[str(part)]}"
        return f"{value!r} is not a name: write a name or a dotted path, like status or message.user.id"
    if kind in ("model_type", "model_attributes_type"):
        keys = ", ".join(allowed_keys((*loc, ""))) or "see the README"
        return f"must be a mapping with the keys: {keys}; got {value!r}"
    if kind == "too_short" and loc and loc[-1] == "do":
        return "must list at least one action"
    if kind == "too_short" and loc and loc[-1] == "sequence":
        return "a sequence has at least two steps; for one message, write message: (with within:)"
    if kind == "extra_forbidden":
        allowed = [key for key in allowed_keys(loc) if key != loc[-1]]
        return f"unknown key {loc[-1]!r}: {did_you_mean(str(loc[-1]), allowed)}allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{value!r} is not allowed: {error['msg'].replace('Input should be', 'use')}"
    if kind == "condition":
        return f"{error['msg']}; got {value!r}"
    if kind == "action":
        if isinstance(value, dict) and len(value) == 1:
            key = str(next(iter(value)))
            return f"unknown action {key!r}: {did_you_mean(key, ACTIONS)}{ACTION_HELP}"
        if isinstance(value, dict):
            return f"an action has exactly one key, found {len(value)} ({', '.join(map(str, value))}): {ACTION_HELP}"
    message = str(error["msg"]).replace("Input should be", "must be")
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"{message}, got {value!r}"
    return message


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _variants(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, root)
    options = schema.get("oneOf") or schema.get("anyOf")
    if not options:
        return [schema]
    return [variant for option in options for variant in _variants(option, root)]


def allowed_keys(loc: Loc) -> list[str]:
    """The keys the scenario format allows at a location, read off the JSON Schema."""
    root = Scenario.model_json_schema()
    schema = root
    for i, part in enumerate(loc):
        schema = _resolve(schema, root)
        variants = _variants(schema, root)
        if isinstance(part, int):
            schema = next((v["items"] for v in variants if "items" in v), {})
            continue
        owners = [v for v in variants if part in v.get("properties", {})]
        if i == len(loc) - 1:
            keys = [key for v in (owners or variants) for key in v.get("properties", {})]
            return list(dict.fromkeys(keys))
        schema = owners[0]["properties"][part] if owners else {}
    return []


_PATTERN_HELP = {
    "as": "must be a variable name: letters, digits and _, not starting with a digit",
    "vars": "a variable name is letters, digits and _, not starting with a digit",
    "patterns": "a pattern name is letters, digits and _, not starting with a digit",
    "subprotocols": "a subprotocol is an HTTP token: letters, digits and !#$%&'*+-.^_`|~",
    "headers": "a header name is an HTTP token (letters, digits and !#$%&'*+-.^_`|~), a value has no line break",
}


def _problems(error_list: list[Any], document: Document, file: str) -> list[Problem]:
    problems = []
    for error in error_list:
        # pydantic ends the location of a problem with a mapping's key with "[key]" (a key may be "[key]" too)
        on_key = error["type"] != "extra_forbidden" and error["loc"][-1:] == ("[key]",)
        loc = _clean_loc(error["loc"][:-1] if on_key else error["loc"])
        line, column = document.locate(loc, key=error["type"] == "extra_forbidden" or on_key)
        problems.append(Problem(file, line, column, format_loc(loc), _message(error, loc)))
    return problems


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


@dataclass(frozen=True)
class Loaded:
    """A scenario file as loaded: its scenario, or the problems that keep it from running (every one
    found in one pass), and the real path of every schema file it names (directly or through ``$ref``)."""

    file: str
    scenario: Scenario | None
    problems: list[Problem]
    schema_files: frozenset[str] = frozenset()


def _load(text: str, file: str) -> Loaded:
    try:
        document = read_yaml(text)
    except YamlProblem as problem:
        return Loaded(file, None, [Problem(file, problem.line, problem.column, "", problem.message)])
    data = document.data
    if data is None:
        return Loaded(file, None, [Problem(file, None, None, "", "the file is empty: a scenario needs at least url")])
    if not isinstance(data, dict):
        kind = "list" if isinstance(data, list) else type(data).__name__
        message = f"a scenario is a mapping of keys (url, rules, checks, …), not a {kind}"
        return Loaded(file, None, [Problem(file, 1, 1, "", message)])
    scenario: Scenario | None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        # The conditions that are valid on their own still have their schema files checked.
        scenario, problems, conditions = None, _problems(exc.errors(), document, file), _salvage(Scenario, data, ())
    else:
        conditions = _conditions(scenario)
        names = (
            unknown_names(scenario)
            + metric_problems(scenario)
            + threshold_problems(scenario.thresholds, declared_trends(scenario), scenario.metrics)
        )
        names += comparison_problems(conditions, scenario.vars)
        problems = [Problem(file, *document.locate(loc), format_loc(loc), message) for loc, message in names]
    reached: set[str] = set()
    _, failed = _schema_files(conditions, file, reached)
    problems += [Problem(file, *document.locate(loc), format_loc(loc), message) for loc, message in failed]
    return Loaded(file, None if problems else scenario, _by_line(problems), frozenset(reached))


def load_text(text: str, file: str = "<scenario>") -> Scenario:
    """Parse and validate a scenario; ScenarioError lists every problem, located, in file order."""
    loaded = _load(text, file)
    if loaded.scenario is None:
        raise ScenarioError(loaded.problems)
    return loaded.scenario


def _salvage(kind: Any, raw: Any, loc: Loc) -> list[tuple[Loc, Condition]]:
    """The conditions inside data that is not a valid ``kind`` as a whole, each valid on its own:
    the parts around a problem are validated by themselves, following the models' fields."""
    if kind == "Conditions":  # the recursive alias names itself
        kind = Conditions
    if isinstance(kind, TypeAliasType):
        kind = kind.__value__
    if get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) in (Union, UnionType):
        each: dict[Loc, Condition] = {}
        for option in get_args(kind):
            each.update(_salvage(option, raw, loc))
        return list(each.items())
    if get_origin(kind) is list and isinstance(raw, list):
        return [found for index, item in enumerate(raw) for found in _salvage(get_args(kind)[0], item, (*loc, index))]
    if isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(raw, dict):
        try:
            return _conditions(kind.model_validate(raw), loc)
        except ValidationError:
            pass
        found: list[tuple[Loc, Condition]] = []
        for name, info in kind.model_fields.items():
            key = info.alias or name
            if key in raw:
                found += _salvage(info.annotation, raw[key], (*loc, key))
        return found
    return []


def _conditions(node: Any, loc: Loc = ()) -> list[tuple[Loc, Condition]]:
    """Every condition of a scenario, with where it is written."""
    if isinstance(node, (Condition, AllOf, AnyOf)):
        return list(leaves(node, loc))
    found: list[tuple[Loc, Condition]] = []
    if isinstance(node, BaseModel):
        for name, info in type(node).model_fields.items():
            found += _conditions(getattr(node, name), (*loc, info.alias or name))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _conditions(item, (*loc, index))
    return found


def _schema_files(
    conditions: list[tuple[Loc, Condition]], file: str, reached: set[str] | None = None
) -> tuple[dict[str, Schema], list[tuple[Loc, str]]]:
    """The schema files that conditions name, by name, and the problems, by the condition naming the file.

    ``reached`` gets the real path of every schema file named, directly or through ``$ref``."""
    schemas: dict[str, Schema] = {}
    failed: dict[str, str] = {}
    problems: list[tuple[Loc, str]] = []
    for loc, condition in conditions:
        name, expected = condition.comparison
        if name != "schema" or not isinstance(expected, str):
            continue
        if expected not in schemas and expected not in failed:
            try:
                schemas[expected] = load_schema_file(expected, Path(file).parent, reached)
            except SchemaProblem as exc:
                failed[expected] = str(exc)
        if expected in failed:
            problems.append(((*loc, "schema"), failed[expected]))
    return schemas, problems


def load_schemas(scenario: Scenario, file: str) -> dict[str, Schema]:
    """The schema files that conditions name, read from the scenario's folder (see :mod:`wsrun.schemas`)."""
    schemas, failed = _schema_files(_conditions(scenario), file)
    if failed:
        raise ScenarioError([Problem(file, None, None, format_loc(loc), message) for loc, message in failed])
    return schemas


def load_file(path: str | Path) -> Loaded:
    """Read and validate a scenario file, every problem found; the name defaults to the file's stem."""
    file = str(path)
    try:
        text = read_text(path)
    except FileProblem as exc:
        return Loaded(file, None, [Problem(file, None, None, "", str(exc))])
    loaded = _load(text, file)
    if loaded.scenario is not None and not loaded.scenario.name:
        loaded = replace(loaded, scenario=loaded.scenario.model_copy(update={"name": Path(path).stem}))
    return loaded


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; the name defaults to the file's stem."""
    loaded = load_file(path)
    if loaded.scenario is None:
        raise ScenarioError(loaded.problems)
    return loaded.scenario


@dataclass(frozen=True)
class Suite:
    """The scenario files of a run, loaded, and the files found in its folders that are its schemas."""

    scenarios: list[Loaded]
    schemas: list[str]


def load_suite(paths: Sequence[str]) -> Suite:
    """Every scenario file of ``paths`` (folders searched), loaded, each problem found.

    A file found in a folder that a scenario of the run names as a schema file
    (``schema: FILE``, or through a ``$ref``) is a schema, not a scenario: it is
    left out, whatever it holds and in whatever order the files come. A file named
    by itself is always a scenario.
    """
    found = expand(paths)
    loaded = [load_file(file) for file, _ in found]
    schemas = frozenset().union(*(each.schema_files for each in loaded))
    left_out = [file for file, in_folder in found if in_folder and os.path.realpath(file) in schemas]
    kept = [each for each, (file, _) in zip(loaded, found, strict=True) if file not in left_out]
    return Suite(kept, left_out)
