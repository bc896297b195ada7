"""
JSON Schema, for the `schema` comparison: a message validated against a schema.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

# jsonschema is imported where it is used: it takes a tenth of a second, and most
# scenarios have no schema.

__all__ = ["check_schema", "schema_errors"]


def check_schema(schema: dict[str, Any]) -> None:
    """ValueError unless ``schema`` is a valid JSON Schema (draft 2020-12)."""
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"schema is not a valid JSON Schema: {exc.message}") from None


@functools.lru_cache(maxsize=128)
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(schema_json))


def schema_errors(schema: dict[str, Any], value: Any) -> str | None:
    """None when ``value`` is valid; else the first problem, with its path in the value."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = next(iter(validator.iter_errors(value)), None)
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    return f"{where.lstrip('.') or 'the value'}: {error.message}"
