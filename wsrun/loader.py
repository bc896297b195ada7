"""
Scenario files to Scenario models: safe YAML, with every problem located.

YAML is read with a safe loader that builds plain data only (no object tags),
refuses duplicate keys, and reads booleans the YAML 1.2 way, so that the key
``on`` stays the word "on" instead of becoming ``True``.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import Problem, ScenarioError
from .model import ACTION_HELP, ACTIONS, Scenario
from .namespace import unknown_names

__all__ = ["load", "load_text"]

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and duplicate keys refused."""


# Copy the resolvers before changing them, so that yaml.SafeLoader stays untouched.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Duplicate(Exception):
    def __init__(self, key: str, node: yaml.Node, first: yaml.Node) -> None:
        self.key, self.node, self.first = key, node, first


def _check_duplicates(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in seen:
                raise _Duplicate(str(key), key_node, seen[key])
            seen[key] = key_node
            _check_duplicates(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item)


def _positions(node: yaml.Node, loc: Loc, out: dict[Loc, tuple[int, int]], keys: dict[Loc, tuple[int, int]]) -> None:
    """Record where each location's value (and each mapping key) starts, 1-based."""
    out.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*loc, key)
            keys.setdefault(child, (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            _positions(value_node, child, out, keys)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, (*loc, index), out, keys)


def format_loc(loc: Loc) -> str:
    """A location as the user writes it: ``rules[3].do[0].send``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    """Drop the tags pydantic inserts for tagged unions (``do[0].log.log`` -> ``do[0].log``)."""
    cleaned: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and i + 1 < len(loc) and loc[i + 1] == part and i > 0 and isinstance(loc[i - 1], int):
            continue
        if part in ("from_", "as_"):
            part = part.rstrip("_")
        cleaned.append(part)
    return tuple(cleaned)


def _message(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        loc = _clean_loc(error["loc"])
        allowed = [key for key in allowed_keys(loc) if key != loc[-1]]
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {loc[-1]!r}: {hint}allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{value!r} is not allowed: {error['msg'].replace('Input should be', 'use')}"
    if kind == "action":
        if isinstance(value, dict) and len(value) == 1:
            key = str(next(iter(value)))
            close = difflib.get_close_matches(key, ACTIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            return f"unknown action {key!r}: {hint}{ACTION_HELP}"
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


def load_text(text: str, file: str = "<scenario>") -> Scenario:
    """Parse and validate a scenario; ScenarioError lists every problem, located."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ScenarioError([Problem(file, line, column, "", f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(file, None, None, "", f"invalid YAML: {exc}")]) from None
    if node is None:
        raise ScenarioError([Problem(file, None, None, "", "the file is empty: a scenario needs at least url")])
    try:
        _check_duplicates(node)
    except _Duplicate as dup:
        mark, first = dup.node.start_mark, dup.first.start_mark
        raise ScenarioError(
            [
                Problem(
                    file,
                    mark.line + 1,
                    mark.column + 1,
                    "",
                    f"duplicate key {dup.key!r} (first at line {first.line + 1})",
                )
            ]
        ) from None
    try:
        data = _Loader(text).get_single_data()
    except yaml.YAMLError as exc:  # a constructor refused a tag
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ScenarioError(
            [Problem(file, line, column, "", f"invalid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        raise ScenarioError(
            [Problem(file, 1, 1, "", f"a scenario is a mapping of keys (url, rules, checks, …), not a {kind}")]
        )

    values: dict[Loc, tuple[int, int]] = {}
    keys: dict[Loc, tuple[int, int]] = {}
    _positions(node, (), values, keys)

    def locate(loc: Loc, *, key: bool = False) -> tuple[int | None, int | None]:
        for end in range(len(loc), -1, -1):
            prefix = loc[:end]
            found = (keys.get(prefix) if key and end == len(loc) else None) or values.get(prefix)
            if found:
                return found
        return None, None

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = _clean_loc(error["loc"])
            line, column = locate(loc, key=error["type"] == "extra_forbidden")
            problems.append(Problem(file, line, column, format_loc(loc), _message(error)))
        raise ScenarioError(problems) from None

    names = unknown_names(scenario)
    if names:
        problems = []
        for loc, message in names:
            line, column = locate(loc)
            problems.append(Problem(file, line, column, format_loc(loc), message))
        raise ScenarioError(problems)
    return scenario


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; the name defaults to the file's stem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(file, None, None, "", "no such file")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(file, None, None, "", "is a folder, not a scenario file")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Problem(file, None, None, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
        ) from None
    except OSError as exc:
        raise ScenarioError([Problem(file, None, None, "", f"cannot read: {exc.strerror}")]) from None
    scenario = load_text(text, file)
    if not scenario.name:
        scenario = scenario.model_copy(update={"name": Path(path).stem})
    return scenario
