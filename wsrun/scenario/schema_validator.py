"""
The JSON Schema validator wsrun runs on server data: bounded work, linear-time, no backtracking.

- ``pattern`` and ``patternProperties`` use RE2 (:mod:`wsrun.scenario.regex`): no
  backtracking engine ever sees server data.
- ``uniqueItems`` takes linear time (items are hashed in a canonical form), and a
  single validation may take at most :data:`MAX_STEPS` steps: beyond, its check
  fails saying so, so no message can stall a session.
- ``format`` is checked for the formats in :data:`wsrun.scenario.formats.FORMATS`;
  any other format is an annotation, as the specification allows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .formats import FORMATS
from .regex import RegexError, compile_regex

if TYPE_CHECKING:
    import jsonschema

# jsonschema is imported where it is used: it takes a tenth of a second, and most
# scenarios have no schema.

__all__ = ["MAX_STEPS", "OutOfSteps", "format_checker", "start_budget", "validator_class"]

#: The work one validation may do: each keyword applied to a value is a step, a
#: keyword that goes through an array or object adds one step per item, and one
#: that applies several subschemas (allOf, properties, …) one per subschema. A
#: validation that needs more fails its check. At most about half a second here.
MAX_STEPS = 100_000


class OutOfSteps(Exception):
    """A validation used up its steps."""


class _Budget:
    left = MAX_STEPS


_budget = _Budget()


def start_budget() -> None:
    """A new validation starts: it may take MAX_STEPS steps."""
    _budget.left = MAX_STEPS


def _spend(steps: int) -> None:
    _budget.left -= steps
    if _budget.left < 0:
        raise OutOfSteps


def _canonical(value: Any) -> Any:
    """A hashable form of a JSON value, equal for equal values as JSON Schema compares them:
    1 equals 1.0, true does not equal 1, key order does not matter."""
    _spend(1)
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)  # Python's 1 == 1.0, with equal hashes
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("o", frozenset((key, _canonical(item)) for key, item in value.items()))
    return ("?", repr(value))


def _pattern_matches(pattern: str, text: str) -> bool:
    try:
        return compile_regex(pattern).search(text) is not None
    except RegexError:  # refused when the schema loaded; never reached
        return False


# Keywords that go through every item of an array or object: one step per item besides their own.
_ITERATING = frozenset(
    {
        "items",
        "prefixItems",
        "contains",
        "patternProperties",
        "additionalProperties",
        "unevaluatedItems",
        "unevaluatedProperties",
        "propertyNames",
        "uniqueItems",
    }
)


# Keywords that apply a list or mapping of subschemas: one step per subschema besides their own.
_BRANCHING = frozenset(
    {"allOf", "anyOf", "oneOf", "prefixItems", "properties", "dependentSchemas", "patternProperties"}
)


@functools.cache
def validator_class() -> Any:
    """Draft 2020-12 with RE2 patterns, linear uniqueItems and a bounded amount of work."""
    import jsonschema
    from jsonschema import ValidationError
    from jsonschema._utils import find_evaluated_item_indexes_by_schema

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not _pattern_matches(pattern, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    def pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        for pattern, subschema in patterns.items():
            for key, value in instance.items():
                if _pattern_matches(pattern, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=pattern)

    def extras(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
        properties = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        return [
            key
            for key in instance
            if key not in properties and not any(_pattern_matches(pattern, key) for pattern in patterns)
        ]

    def additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        found = extras(instance, schema)
        if validator.is_type(additional, "object"):
            for key in found:
                yield from validator.descend(instance[key], additional, path=key)
        elif not additional and found:
            yield ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, found))} unexpected)")

    def evaluated_keys(validator: Any, instance: dict[str, Any], schema: Any) -> set[str]:
        """The keys some keyword of ``schema`` (or of the subschemas it applies) evaluated."""
        if not isinstance(schema, dict):
            return set()
        _spend(1)
        keys: set[str] = set()
        for keyword in ("$ref", "$dynamicRef"):
            if keyword in schema:
                resolved = validator._resolver.lookup(schema[keyword])
                keys |= evaluated_keys(
                    validator.evolve(schema=resolved.contents, _resolver=resolved.resolver),
                    instance,
                    resolved.contents,
                )
        properties = schema.get("properties")
        if isinstance(properties, dict):
            keys |= properties.keys() & instance.keys()
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if keyword in schema:
                keys |= {
                    key for key, value in instance.items() if validator.evolve(schema=schema[keyword]).is_valid(value)
                }
        for pattern in schema.get("patternProperties", {}):
            keys |= {key for key in instance if _pattern_matches(pattern, key)}
        for key, subschema in schema.get("dependentSchemas", {}).items():
            if key in instance:
                keys |= evaluated_keys(validator, instance, subschema)
        for keyword in ("allOf", "oneOf", "anyOf"):
            for subschema in schema.get(keyword, []):
                if validator.evolve(schema=subschema).is_valid(instance):
                    keys |= evaluated_keys(validator, instance, subschema)
        if "if" in schema:
            if validator.evolve(schema=schema["if"]).is_valid(instance):
                keys |= evaluated_keys(validator, instance, schema["if"])
                keys |= evaluated_keys(validator, instance, schema.get("then", {}))
            else:
                keys |= evaluated_keys(validator, instance, schema.get("else", {}))
        return keys

    def unevaluated_properties(validator: Any, unevaluated: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        evaluated = evaluated_keys(validator, instance, schema)
        bad = [
            key
            for key in instance
            if key not in evaluated and not validator.evolve(schema=unevaluated).is_valid(instance[key])
        ]
        if bad:
            yield ValidationError(f"Unevaluated properties are not allowed ({', '.join(map(repr, bad))} unexpected)")

    def unevaluated_items(validator: Any, unevaluated: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "array"):
            return
        evaluated = set(find_evaluated_item_indexes_by_schema(validator, instance, schema))
        bad = [
            item
            for index, item in enumerate(instance)
            if index not in evaluated and not validator.evolve(schema=unevaluated).is_valid(item)
        ]
        if bad:
            yield ValidationError(f"Unevaluated items are not allowed ({len(bad)} unexpected)")

    def unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not unique or not validator.is_type(instance, "array"):
            return
        seen: set[Any] = set()
        for index, item in enumerate(instance):
            key = _canonical(item)
            if key in seen:
                yield ValidationError(f"has non-unique elements (item {index} repeats an earlier one)")
                return
            seen.add(key)

    base = jsonschema.Draft202012Validator
    replaced: dict[str, Callable[..., Any]] = {
        "pattern": pattern,
        "patternProperties": pattern_properties,
        "additionalProperties": additional_properties,
        "unevaluatedProperties": unevaluated_properties,
        "unevaluatedItems": unevaluated_items,
        "uniqueItems": unique_items,
    }

    def counted(name: str, keyword: Callable[..., Any]) -> Callable[..., Any]:
        iterates, branches = name in _ITERATING, name in _BRANCHING

        def step(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
            steps = 1
            if iterates and isinstance(instance, (list, dict)):
                steps += len(instance)
            if branches and isinstance(value, (list, dict)):
                steps += len(value)
            _spend(steps)
            return keyword(validator, value, instance, schema) or ()

        return step

    keywords = {name: counted(name, replaced.get(name) or keyword) for name, keyword in base.VALIDATORS.items()}
    return jsonschema.validators.extend(base, keywords)  # type: ignore[no-untyped-call]


@functools.cache
def format_checker() -> jsonschema.FormatChecker:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(functools.partial(_check_format, check))
    return checker


def _check_format(check: Callable[[str], bool], instance: Any) -> bool:
    return not isinstance(instance, str) or check(instance)
