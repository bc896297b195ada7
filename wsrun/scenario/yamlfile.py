"""
Reading YAML safely: plain data only, every value located, hostile documents refused.

- A safe loader builds plain data (no object tags), with libyaml when available.
- Booleans and numbers are read the YAML 1.2 way (its core schema): only true/false
  are booleans, so the key ``on`` stays "on"; ``1e20`` is a number, ``1_000`` a text.
- Duplicate keys and merge keys (``<<``) are refused: a reviewer must never be
  fooled by a key that silently overrides another.
- Anchors and aliases are allowed, but the document they expand to is bounded
  (no "billion laughs"), and so is nesting.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "Document",
    "FileProblem",
    "YamlProblem",
    "read_text",
    "read_yaml",
]

Loc = tuple[str | int, ...]

#: Limits on what a scenario document may expand to; real scenarios are far smaller.
MAX_VALUES = 100_000
MAX_DEPTH = 64
#: Scenario and schema files are small; a larger file is refused before it is read.
MAX_FILE_BYTES = 10 * 2**20

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type, misc]
    """A safe loader with YAML 1.2 core booleans and numbers."""


# The YAML 1.2 core schema (YAML 1.2.2, 10.3.2), where PyYAML follows YAML 1.1.
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

# Copy the resolvers before changing them, so that yaml's own loaders stay untouched.
# YAML 1.1's booleans (yes, on), numbers (1_000, 017 as octal, 1:30 as 90) and
# timestamps go: a date stays the text it is (YAML 1.2 has none).
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float", "timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if not _INT.match(text):  # !!int 1_000, !!int abc
        raise ValueError(f"{text!r} is not an integer (YAML 1.2)")
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)  # base 10, leading zeros included: 017 is 17


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node))
    if not _FLOAT.match(text):  # its pattern takes 10 too (!!float 10 is 10.0), not 0x10
        raise ValueError(f"{text!r} is not a number (YAML 1.2)")
    return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)


@dataclass(frozen=True)
class YamlProblem(Exception):
    """Why a text is not a usable YAML document, and where (1-based)."""

    line: int | None
    column: int | None
    message: str


@dataclass
class Document:
    """The data of a YAML document and where each value (and each mapping key) starts."""

    data: Any
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Loc, *, key: bool = False) -> tuple[int | None, int | None]:
        """Where a location is written, or its nearest written parent."""
        for end in range(len(loc), -1, -1):
            prefix = loc[:end]
            found = (self.keys.get(prefix) if key and end == len(loc) else None) or self.values.get(prefix)
            if found:
                return found
        return None, None


def _at(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _check(root: yaml.Node) -> None:
    """Refuse duplicate keys, merge keys, and documents too large or deep once aliases expand."""
    budget = MAX_VALUES
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise YamlProblem(
                None, None, f"the document expands to more than {MAX_VALUES:,} values (anchors and aliases included)"
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(*_at(node), f"values are nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(
                        *_at(key_node), "merge keys (<<) are not allowed: they let one key silently override another"
                    )
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        first = seen[key_node.value].start_mark.line + 1
                        raise YamlProblem(*_at(key_node), f"duplicate key {key_node.value!r} (first at line {first})")
                    seen[key_node.value] = key_node
                else:
                    stack.append((key_node, depth + 1))
                stack.append((value_node, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def _positions(root: yaml.Node, document: Document) -> None:
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        document.values.setdefault(loc, _at(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                document.keys.setdefault((*loc, key), _at(key_node))
                stack.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, index)) for index, item in enumerate(node.value))


def _problem(exc: yaml.YAMLError, text: str) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    elif isinstance(getattr(exc, "position", None), int):  # a ReaderError: a character YAML refuses
        before = text[: exc.position]  # type: ignore[attr-defined]
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    else:
        line = column = None
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    what = " ".join(str(part) for part in parts if part)
    if "maximum nesting depth" in what:
        # libyaml's own bound on nesting (PyYAML 6.0.4 and later), met while it scans ahead of ours:
        # the same problem, said as for any file nested too deeply.
        return YamlProblem(line, column, f"values are nested more than {MAX_DEPTH} levels deep")
    if not what:
        character = getattr(exc, "character", None)
        if isinstance(character, str):
            character = ord(character)
        what = f"character U+{character:04X} is not allowed" if character is not None else str(exc).splitlines()[0]
    return YamlProblem(line, column, f"invalid YAML: {what}")


class FileProblem(Exception):
    """Why a file cannot be read as a scenario or schema file (the message is for the user)."""


def read_text(path: str | os.PathLike[str], what: str = "scenario") -> str:
    """The UTF-8 text of a regular file of at most MAX_FILE_BYTES; FileProblem otherwise.

    The file is opened without blocking and checked once open (no race between
    the check and the read): a FIFO, a device (``/dev/zero``) or a folder is
    refused at once, and no more than the limit is ever read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileProblem("no such file") from None
    except IsADirectoryError:
        raise FileProblem(f"is a folder, not a {what} file") from None
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise FileProblem(f"is a folder, not a {what} file")
        if not stat.S_ISREG(status.st_mode):
            raise FileProblem("not a regular file (a pipe or a device?)")
        if status.st_size > MAX_FILE_BYTES:
            raise FileProblem(f"the file is {status.st_size / 2**20:.0f} MiB; {what} files are limited to 10 MiB")
        data = b""
        while len(data) <= MAX_FILE_BYTES:  # a file that grows while read is cut at the limit
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem(f"the file is larger than 10 MiB; {what} files are limited to 10 MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def _check_nesting(text: str) -> None:
    """Refuse deep nesting from the parser's events, before any node is built.

    libyaml builds nodes recursively in C: 30,000 nested brackets crash the process
    before Python can raise RecursionError. Its events come from a loop, so they are
    counted first.
    """
    loader = _Loader(text)
    depth = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
                    raise YamlProblem(line, column, f"values are nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _problem(exc, text) from None
    finally:
        loader.dispose()


def read_yaml(text: str) -> Document:
    """Parse one YAML document into located plain data; YamlProblem says what is wrong."""
    _check_nesting(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(None)
        _check(node)
        document = Document(None)
        _positions(node, document)
        document.data = loader.construct_document(node)
        return document
    except yaml.YAMLError as exc:  # bad syntax, or a tag the safe constructor refuses
        raise _problem(exc, text) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:  # !!int abc, !!timestamp x, huge ints
        raise YamlProblem(None, None, f"invalid YAML value: {exc}") from None
    except RecursionError:  # nesting deep enough to exhaust the parser itself
        raise YamlProblem(None, None, f"values are nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
