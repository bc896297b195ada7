"""
JSON Schema (draft 2020-12), for the `schema` comparison: a value validated against a schema.

A schema comes from the scenario (inline) or from files in the scenario's folder,
and the values it judges come from a server, so:

- Files are read with the scenario file's limits (:func:`wsrun.scenario.yamlfile.read_text`,
  :func:`wsrun.scenario.yamlfile.read_yaml`), only inside the scenario's folder, symlinks
  resolved first. An error about a file never quotes what is in it.
- ``$ref`` is resolved when the file loads, within the schema itself and schema
  files beside it; nothing is ever fetched (the registry's retrieve refuses), and
  a ``$ref`` that does not resolve is a load-time error, and so is a cycle of
  ``$ref`` that reads no part of the value (it would never end).
- ``pattern`` and ``patternProperties`` use RE2 (:mod:`wsrun.scenario.regex`): no backtracking
  engine ever sees server data.
- ``uniqueItems`` takes linear time (items are hashed in a canonical form), and a
  single validation may take at most :data:`MAX_STEPS` steps: beyond, its check
  fails saying so, so no message can stall a session.
- ``format`` is checked for the formats in :data:`wsrun.scenario.formats.FORMATS` (small pure checks);
  any other format is an annotation, as the specification allows.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from .formats import FORMATS
from .regex import RegexError, compile_regex
from .schema_validator import MAX_STEPS, OutOfSteps, format_checker, start_budget, validator_class
from .yamlfile import MAX_DEPTH, MAX_VALUES, FileProblem, YamlProblem, read_text, read_yaml

if TYPE_CHECKING:
    import referencing

# jsonschema is imported where it is used: it takes a tenth of a second, and most
# scenarios have no schema.

__all__ = ["FORMATS", "MAX_STEPS", "Schema", "SchemaProblem", "check_schema", "load_schema_file", "schema_errors"]


class SchemaProblem(ValueError):
    """A schema that cannot be used; the message says why, for the person fixing it."""


# -- the work a validation may do -----------------------------------------------------------------


# -- schemas, their references and their patterns -----------------------------------------------


@dataclass(frozen=True)
class Schema:
    """A JSON Schema ready to validate values: its ``$ref`` resolved, its patterns compiled.

    ``registry`` holds the schema and the schema files it refers to, under ``uri``.
    """

    contents: dict[str, Any]
    uri: str
    registry: referencing.Registry[Any]

    @functools.cached_property
    def validator(self) -> Any:
        root = {"$ref": self.uri} if self.uri else self.contents
        return validator_class()(root, registry=self.registry, format_checker=format_checker())


def _refuse(uri: str) -> Any:
    """The registry's retrieve: nothing is ever fetched (no network, no file)."""
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _empty_registry() -> referencing.Registry[Any]:
    from referencing import Registry

    return Registry(retrieve=_refuse)  # type: ignore[call-arg]


def _resource(contents: Any) -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012.create_resource(contents)


def _subschemas(resource: Any, base: str, *, root_id: bool) -> Iterator[tuple[dict[str, Any], str]]:
    """Every subschema of a schema that is a mapping, with its base URI (``$id`` changes it).

    ``root_id``: whether the root's own ``$id`` sets the base, as it does for an
    inline schema; a file is reached by its file URI, which stays its base (as
    jsonschema resolves it at run time).
    """
    stack = [(resource, urljoin(base, resource.id()) if root_id and resource.id() else base)]
    while stack:
        resource, base = stack.pop()
        if isinstance(resource.contents, dict):
            yield resource.contents, base
        for sub in resource.subresources():
            stack.append((sub, urljoin(base, sub.id()) if sub.id() else base))


def _refs(schema: dict[str, Any]) -> Iterator[str]:
    for keyword in ("$ref", "$dynamicRef"):
        if isinstance(schema.get(keyword), str):
            yield schema[keyword]


def _check_patterns(schema: dict[str, Any]) -> None:
    patterns = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
    if isinstance(schema.get("patternProperties"), dict):
        patterns.extend(schema["patternProperties"])
    for pattern in patterns:
        try:
            compile_regex(pattern)
        except RegexError as exc:
            raise SchemaProblem(f"pattern {exc}") from None


def _without(message: str, instance: Any) -> str:
    """A metaschema error without the value it quotes (which may come from a file that is no schema)."""
    shown = repr(instance)
    return message.replace(shown, "the value") if len(shown) > 0 else message


def _metaschema_check(schema: Any, *, quote: bool) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(
        jsonschema.Draft202012Validator.META_SCHEMA, format_checker=jsonschema.FormatChecker(formats=())
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(schema))
    if error is not None:
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        message = error.message if quote else _without(error.message, error.instance)
        at = f" at {where.lstrip('.')}" if where else ""
        raise SchemaProblem(f"schema is not a valid JSON Schema{at}: {message}")


def check_schema(schema: dict[str, Any]) -> None:
    """SchemaProblem (a ValueError) unless ``schema`` is a usable inline JSON Schema (draft 2020-12).

    Its patterns must compile with RE2, and each ``$ref`` must point within it
    (``#/$defs/name``): an inline schema refers to no file; a schema file may.
    """
    _metaschema_check(schema, quote=True)
    registry = _empty_registry().with_resource("", _resource(schema)).crawl()
    for subschema, base in _subschemas(registry[""], "", root_id=True):
        _check_patterns(subschema)
        for ref in _refs(subschema):
            _check_ref(ref, registry, base, inline=True)
    _check_cycles(registry, [("", "")], root_id=True)


def _check_ref(ref: str, registry: referencing.Registry[Any], base: str, *, inline: bool) -> None:
    from referencing.exceptions import Unresolvable

    try:
        registry.resolver(base).lookup(ref)
    except Unresolvable:
        target = urldefrag(urljoin(base, ref)).url
        if target and (inline or not target.startswith("file:")) and target not in registry:
            where = "within the schema (#/$defs/name)" if inline else "within the schema or to a schema file beside it"
            also = "; to share definitions between files, put the schema in a file" if inline else ""
            raise SchemaProblem(
                f"$ref {ref!r} points outside the schema: wsrun fetches nothing, a $ref may point {where}{also}"
            ) from None
        raise SchemaProblem(f"$ref {ref!r} does not resolve: nothing in the schema is at that place") from None


#: The keywords whose subschemas apply to the value itself, not to a part of it (an item, a property).
_IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")


def _in_place(schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for keyword in _IN_PLACE:
        value = schema.get(keyword)
        if isinstance(value, list):
            yield from ((f"{keyword}[{index}]", sub) for index, sub in enumerate(value))
        elif isinstance(value, dict) and keyword == "dependentSchemas":
            yield from ((f"{keyword}.{name}", sub) for name, sub in value.items())
        elif isinstance(value, dict):
            yield keyword, value


def _places(contents: Any, prefix: str) -> dict[int, str]:
    """Where each mapping and list of a document is, as a JSON pointer after ``prefix``, by identity."""
    places: dict[int, str] = {}
    stack: list[tuple[Any, str]] = [(contents, "#")]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, dict | list) and id(value) not in places:
            places[id(value)] = f"{prefix}{pointer}"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((sub, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}") for key, sub in items)
    return places


def _check_cycles(registry: referencing.Registry[Any], roots: list[tuple[str, str]], *, root_id: bool) -> None:
    """SchemaProblem for a chain of ``$ref`` (and keywords like ``allOf`` that apply to the same value)
    leading back to where it started: validating would go round it forever without reading
    anything. A schema may refer to itself through ``properties``, ``items``…: a tree ends.

    ``roots``: each document's URI in the registry and how to name it in a message.
    """
    from referencing.exceptions import Unresolvable

    bases: dict[int, str] = {}
    places: dict[int, str] = {}
    schemas: list[dict[str, Any]] = []
    for uri, named in roots:
        for subschema, base in _subschemas(registry[uri], uri, root_id=root_id):
            bases.setdefault(id(subschema), base)
            schemas.append(subschema)
        places = _places(registry[uri].contents, named) | places

    def steps(schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        yield from _in_place(schema)
        for ref in _refs(schema):
            try:
                target = registry.resolver(bases.get(id(schema), "")).lookup(ref).contents
            except Unresolvable:  # said by the $ref checks
                continue
            if isinstance(target, dict):
                bases.setdefault(id(target), bases.get(id(schema), ""))
            yield f"$ref {ref!r}", target

    done: set[int] = set()
    for start in schemas:
        if id(start) in done:
            continue
        # Depth first, without recursion: path[i] leads to path[i + 1] by labels[i].
        path: list[tuple[dict[str, Any], Iterator[tuple[str, Any]]]] = [(start, steps(start))]
        labels: list[str] = []
        on_path = {id(start)}
        while path:
            schema, ahead = path[-1]
            for label, target in ahead:
                if not isinstance(target, dict) or id(target) in done:
                    continue
                if id(target) in on_path:
                    first = next(i for i, (node, _) in enumerate(path) if node is target)
                    chain = [*zip([node for node, _ in path[first:]], [*labels[first:], label], strict=True)]
                    shown = " → ".join(f"{places.get(id(node), '?')} ({step})" for node, step in chain)
                    raise SchemaProblem(
                        f"$ref cycle: {shown} → back to {places.get(id(target), '?')}, without going into"
                        " the value: validating would never end (a schema may refer to itself through"
                        " properties, items or another keyword that reads a part of the value)"
                    )
                labels.append(label)
                path.append((target, steps(target)))
                on_path.add(id(target))
                break
            else:
                path.pop()
                on_path.discard(id(schema))
                done.add(id(schema))
                if labels:
                    labels.pop()


def _read_document(path: Path, shown: str) -> Any:
    """A schema file's data (JSON, or YAML for any other suffix), with the scenario file's limits."""
    try:
        text = read_text(path, "schema")
    except FileProblem as exc:
        raise SchemaProblem(f"{shown}: {exc}") from None
    if path.suffix == ".json":
        return _read_json(text, shown)
    try:
        return read_yaml(text).data
    except YamlProblem as problem:
        where = f" at line {problem.line}, column {problem.column}" if problem.line is not None else ""
        # Say where, never what: a file that is not a schema may hold anything.
        reason = problem.message if problem.message.startswith(_SAFE_REASONS) else "not valid YAML"
        raise SchemaProblem(f"{shown}{where}: {reason} (a schema file holds a JSON Schema, in JSON or YAML)") from None


#: The YAML problems whose message quotes nothing from the file.
_SAFE_REASONS = ("the document expands to more than", "values are nested more than", "merge keys")


def _read_json(text: str, shown: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data = dict(pairs)
        if len(data) != len(pairs):
            raise SchemaProblem(f"{shown}: a key appears twice in a mapping")
        return data

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:  # its message names the place, never the content
        raise SchemaProblem(
            f"{shown} at line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg.split(':')[0]})"
        ) from None
    except RecursionError:
        raise SchemaProblem(f"{shown}: values are nested more than {MAX_DEPTH} levels deep") from None
    # The same bounds as YAML documents: nesting and number of values.
    count = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise SchemaProblem(f"{shown}: the document has more than {MAX_VALUES:,} values")
        if depth > MAX_DEPTH:
            raise SchemaProblem(f"{shown}: values are nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return data


def _inside(folder: Path, path: Path) -> bool:
    return path == folder or folder in path.parents


def _file_of(uri: str) -> Path | None:
    parts = urlsplit(uri)
    return Path(unquote(parts.path)) if parts.scheme == "file" and not parts.netloc else None


def load_schema_file(name: str, folder: str | os.PathLike[str], reached: set[str] | None = None) -> Schema:
    """The schema file ``name``, relative to ``folder``, and the schema files it refers to.

    SchemaProblem when a file is outside the folder (symlinks resolved), cannot
    be read within the limits, is not a valid JSON Schema, or has a ``$ref``
    that points elsewhere or nowhere. ``reached`` gets the real path of each
    file inside the folder that was named, whether it could be used or not.
    """
    reached = set() if reached is None else reached
    root = Path(os.path.realpath(folder))
    allowed = f"schema files must be inside the scenario's folder ({folder or '.'}), relative to it"

    def locate(written: str, path: Path) -> Path:
        if Path(written).is_absolute():
            raise SchemaProblem(f"{written}: an absolute path; {allowed}")
        real = Path(os.path.realpath(path))
        if not _inside(root, real):
            raise SchemaProblem(f"{written}: outside the scenario's folder; {allowed}")
        return real

    def shown(path: Path) -> str:
        return str(path.relative_to(root))

    first = locate(name, root / name)
    first_uri = Path(os.path.normpath(root / name)).as_uri()
    registry = _empty_registry()
    # Each file is known by the URI it was named by (its base for the $ref in it) and by its real path.
    queue: list[tuple[str, Path, str]] = [(first_uri, first, "")]
    uris: dict[Path, list[str]] = {}
    while queue:
        uri, path, named_by = queue.pop()
        if path in uris:  # read already, under this name or another (a symlink)
            if uri not in uris[path]:
                uris[path].append(uri)
                registry = registry.with_resource(uri, registry[uris[path][0]])
            continue
        uris[path] = [uri]
        reached.add(str(path))
        try:
            data = _read_document(path, shown(path))
            if not isinstance(data, dict):
                raise SchemaProblem(f"{shown(path)}: a JSON Schema is a mapping of keywords (type, properties, …)")
            try:
                _metaschema_check(data, quote=False)
            except SchemaProblem as exc:
                raise SchemaProblem(f"{shown(path)}: {exc}") from None
        except SchemaProblem as exc:
            raise SchemaProblem(f"{exc}{named_by}") from None
        registry = registry.with_resource(uri, _resource(data)).crawl()
        for subschema, base in _subschemas(registry[uri], uri, root_id=False):
            try:
                _check_patterns(subschema)
            except SchemaProblem as exc:
                raise SchemaProblem(f"{shown(path)}: {exc}") from None
            for ref in _refs(subschema):
                target = urldefrag(urljoin(base, ref)).url
                if target in registry:  # this file, one already read, or a part with its own $id
                    continue
                file, parts = _file_of(target), urlsplit(ref)
                if file is None or parts.scheme or parts.netloc or Path(parts.path).is_absolute():
                    raise SchemaProblem(
                        f"{shown(path)}: $ref {ref!r} points outside the schema: wsrun fetches nothing,"
                        " a $ref may point within the schema or to a schema file beside it (other.json#/$defs/name)"
                    )
                try:
                    queue.append((target, locate(ref, file), f" (named by $ref {ref!r} in {shown(path)})"))
                except SchemaProblem as exc:
                    raise SchemaProblem(f"{shown(path)}: $ref {exc}") from None
    # Every file is in; now each $ref must resolve, without fetching anything.
    for path, names in uris.items():
        for subschema, base in _subschemas(registry[names[0]], names[0], root_id=False):
            for ref in _refs(subschema):
                try:
                    _check_ref(ref, registry, base, inline=False)
                except SchemaProblem as exc:
                    raise SchemaProblem(f"{shown(path)}: {exc}") from None
    _check_cycles(registry, [(names[0], shown(path)) for path, names in uris.items()], root_id=False)
    return Schema(registry[first_uri].contents, first_uri, registry)


@functools.lru_cache(maxsize=128)
def _inline(schema_json: str) -> Schema:
    contents = json.loads(schema_json)
    return Schema(contents, "", _empty_registry().with_resource("", _resource(contents)).crawl())


def schema_errors(schema: dict[str, Any] | Schema, value: Any) -> str | None:
    """None when ``value`` is valid; else the first problem, with its path in the value.

    A validation that would take more than MAX_STEPS steps stops there and fails.
    """
    from referencing.exceptions import Unresolvable

    if not isinstance(schema, Schema):
        schema = _inline(json.dumps(schema, sort_keys=True))
    start_budget()
    try:
        error = next(iter(schema.validator.iter_errors(value)), None)
    except OutOfSteps:
        return (
            f"the validation stopped after {MAX_STEPS:,} steps, the most one validation may take"
            " (a smaller value, or a simpler schema)"
        )
    except Unresolvable:  # refused when the schema loaded; said plainly if ever reached
        return "a $ref in the schema does not resolve"
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    return f"{where.lstrip('.') or 'the value'}: {error.message}"
