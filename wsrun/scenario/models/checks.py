"""
Conditions and checks: one language for rule conditions, check actions, end checks and expectations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    JsonValue,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import TypeAliasType

from ..regex import RegexError, compile_regex
from ..schemas import check_schema
from .base import COMPARISONS, Name, _Strict, _walk_templates

# ---------------------------------------------------------------------------
# Conditions and checks: one language for rule conditions, check actions and end checks.


class Condition(_Strict):
    """A test of one value: `that` names it, exactly one comparison says what it must be.

    The comparisons: equals, not_equals, contains, not_contains, matches, at_least,
    at_most, exists, schema.
    """

    that: Name = Field(
        "message",
        title="Value to test",
        description="The name of the value to test: a variable, a stored name, a fact such as status or"
        " close_code, or a dotted path into a JSON message (message.user.id). Default: message, the current"
        " message (or, outside a message rule, the last one received).",
        examples=["message", "message.type", "status", "close_code"],
    )
    equals: JsonValue = Field(
        None,
        title="Equals",
        description="Passes when the value equals this, as JSON values: 1 equals 1.0, true never equals 1. A text"
        ' message compared with a number compares as text ("101" equals 101), with a mapping or list as parsed'
        " JSON; a binary message reads as lowercase hex. Templates allowed.",
        examples=["hello", 101, {"type": "ack"}, "{{ token }}"],
    )
    not_equals: JsonValue = Field(
        None,
        title="Does not equal",
        description="Passes when the value differs from this (the opposite of equals). Templates allowed.",
        examples=["error", 1006],
    )
    contains: JsonValue = Field(
        None,
        title="Contains",
        description="Passes when the value contains this: a substring of a text, an item of a list, a key of an"
        ' object; for a binary message, these bytes written in hex ("00 01"). Templates allowed.',
        examples=["hello", "00 01"],
    )
    not_contains: JsonValue = Field(
        None,
        title="Does not contain",
        description="Passes when contains would fail. Templates allowed.",
        examples=["error"],
    )
    matches: str | None = Field(
        None,
        title="Matches regular expression",
        description="Passes when this regular expression is found anywhere in the value's text (use ^ and $ to"
        " match the whole). RE2 syntax: no look-around or back-references; checked when the file is loaded.",
        examples=["^\\d+$", "^user-[0-9]+$"],
    )
    at_least: float | str | None = Field(
        None,
        title="At least",
        description='Passes when the value, read as a number (a text such as "42" counts), is greater than or'
        ' equal to this: a number, or a template giving one ("{{ last_seq }}"); a template that gives no number'
        " fails the condition.",
        examples=[1, 0.5, "{{ last_seq }}"],
    )
    at_most: float | str | None = Field(
        None,
        title="At most",
        description='Passes when the value, read as a number (a text such as "42" counts), is less than or'
        ' equal to this: a number, or a template giving one ("{{ limit }}"); a template that gives no number'
        " fails the condition.",
        examples=[100, 2.5, "{{ limit }}"],
    )
    exists: bool | None = Field(
        None,
        title="Exists",
        description="true: passes when the value is set and not null; false: passes when it is unset or null.",
        examples=[True, False],
    )
    schema_: dict[str, JsonValue] | str | None = Field(
        None,
        alias="schema",
        title="Valid against JSON Schema",
        description="Passes when the value is valid against this JSON Schema (draft 2020-12), given inline or as"
        " the path of a JSON or YAML file inside the scenario's folder (symlinks resolved; its $ref may name"
        " only files there too). A whole text message is read as JSON; a value taken from JSON keeps its"
        " type; a binary message fails.",
        examples=[{"type": "object", "required": ["id"]}, "schemas/reply.json"],
    )

    _comparison: tuple[str, Any] = PrivateAttr(default=("", None))

    @property
    def comparison(self) -> tuple[str, Any]:
        """The one comparison this condition makes, as (name, expected value)."""
        # Read past pydantic's __getattr__: this runs for every message of a load run.
        comparison: tuple[str, Any] = object.__getattribute__(self, "__pydantic_private__")["_comparison"]
        return comparison

    @field_validator("at_least", "at_most", mode="before")
    @classmethod
    def _number_or_text(cls, value: Any, info: ValidationInfo) -> Any:
        # One error for a value of neither type, rather than one per branch of the union (.float, .str).
        if value is None or isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
            return value
        raise ValueError(
            f'{info.field_name} needs a number, or a template giving one (like "{{{{ last_seq }}}}"); got {value!r}'
        )

    @model_validator(mode="after")
    def _one_comparison(self) -> Condition:
        self._choose_comparison()
        return self

    def _choose_comparison(self) -> None:
        fields = {"schema_" if name == "schema" else name for name in COMPARISONS}
        given = [name.rstrip("_") for name in fields if name in self.model_fields_set]
        given.sort(key=COMPARISONS.index)
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one comparison, one of: {', '.join(COMPARISONS)} (found: {found})")
        # Kept once here: conditions run for every message of a load run.
        self._comparison = name, expected = given[0], getattr(self, "schema_" if given[0] == "schema" else given[0])
        if name == "matches" and expected is not None:
            try:
                compile_regex(str(expected))
            except RegexError as exc:
                raise ValueError(f"matches: {exc}") from None
        elif name == "matches" and expected is None:
            raise ValueError("matches needs a regular expression")
        elif name in ("at_least", "at_most") and expected is None:
            raise ValueError(f"{name} needs a number")
        elif name in ("at_least", "at_most") and isinstance(expected, str) and "{{" not in expected:
            hint = f"write {expected.strip()} without quotes" if _is_number(expected) else "write a number"
            raise ValueError(
                f'{name} needs a number, or a template giving one (like "{{{{ last_seq }}}}"); got {expected!r}: {hint}'
            )
        elif name == "exists" and expected is None:
            raise ValueError("exists needs true or false")
        elif name == "schema":
            if expected is None:
                raise ValueError("schema needs a JSON Schema (a mapping) or the path of a file holding one")
            if isinstance(expected, dict):
                check_schema(expected)
            return
        _walk_templates(expected)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _not_empty(conditions: list[Any]) -> list[Any]:
    if not conditions:
        raise ValueError("an empty list of conditions: give at least one")
    return conditions


#: One or more conditions: a list, or the list of an ``all`` or an ``any``.
ConditionList = Annotated[
    list["Conditions"],
    AfterValidator(_not_empty),
    Field(json_schema_extra={"minItems": 1}),
]


class AllOf(_Strict):
    """Several conditions that must all hold."""

    all: ConditionList = Field(
        title="All of",
        description="Holds when every one of these conditions holds (a list does the same); each is a"
        " condition, a list, an all or an any.",
        examples=[[{"that": "message.type", "equals": "event"}, {"that": "message.seq", "at_least": 1}]],
    )

    @model_validator(mode="before")
    @classmethod
    def _alone(cls, data: Any) -> Any:
        return _group_alone(data, "all")


class AnyOf(_Strict):
    """Alternatives: at least one of these conditions must hold."""

    any: ConditionList = Field(
        title="Any of",
        description="Holds when at least one of these conditions holds; each is a condition, a list, an all or an any.",
        examples=[[{"that": "message.type", "equals": "ack"}, {"that": "message.type", "equals": "ok"}]],
    )

    @model_validator(mode="before")
    @classmethod
    def _alone(cls, data: Any) -> Any:
        return _group_alone(data, "any")


def _group_alone(data: Any, group: str) -> Any:
    """An all or an any is the whole mapping: a comparison beside it would be ambiguous."""
    if isinstance(data, dict):
        beside = [key for key in data if key != group and (key in COMPARISONS or key in ("that", "all", "any"))]
        if beside:
            raise ValueError(
                f"{group}: is a condition by itself: write the comparison ({', '.join(map(str, beside))}) as one of"
                f" the conditions inside {group}:, or leave out {group}:"
            )
    return data


_SHAPES_HELP = (
    "a condition is a mapping (that: and one comparison), a list of conditions (all must hold),"
    " {all: [...]} or {any: [...]}"
)


def _shape(value: Any) -> str | None:
    if isinstance(value, list):
        return "list of"
    if isinstance(value, dict):
        return "all of" if "all" in value else "any of" if "any" in value else "one condition"
    if isinstance(value, AllOf):
        return "all of"
    if isinstance(value, AnyOf):
        return "any of"
    return "one condition" if isinstance(value, Condition) else None


#: The tags of :data:`Conditions` in pydantic's error locations (not keys: they hold spaces).
SHAPES = ("one condition", "list of", "all of", "any of")

#: What a condition can be, everywhere one is accepted: one condition, a list of them (all must hold),
#: ``{all: [...]}`` or ``{any: [...]}``, nested freely.
Conditions = TypeAliasType(
    "Conditions",
    Annotated[
        Annotated[Condition, Tag("one condition")]
        | Annotated[ConditionList, Tag("list of")]
        | Annotated[AllOf, Tag("all of")]
        | Annotated[AnyOf, Tag("any of")],
        Discriminator(_shape, custom_error_type="condition", custom_error_message=_SHAPES_HELP),
        Field(
            description="One condition (that: and one comparison), a list of conditions that must all hold,"
            " {all: [...]} (the same) or {any: [...]} (at least one holds); they nest."
        ),
    ],
)


class Check(Condition):
    """A named assertion: a condition whose passes and fails are counted in the report under its name.

    Instead of that and a comparison, a check may hold ``all:`` or ``any:`` conditions.
    """

    name: str = Field(
        title="Check name",
        description="The name shown in the report. Checks with the same name are counted together, as in k6.",
        min_length=1,
        examples=["status is 101", "echo is right"],
    )
    that: Name = Field(
        "message",
        title="Value to check",
        description="The name of the value to check: a variable, a stored name, a fact such as status or"
        " close_code, or a dotted path into a JSON message. Default: message, as in every condition.",
        examples=["status", "close_code", "message.user.id"],
    )
    all: ConditionList | None = Field(
        None,
        title="All of",
        description="Instead of that and a comparison: passes when every one of these conditions holds (each a"
        " condition, a list, an all or an any); a failure gives the first failing condition's reason.",
        examples=[[{"that": "status", "equals": 101}, {"that": "closed_by", "equals": "client"}]],
    )
    any: ConditionList | None = Field(
        None,
        title="Any of",
        description="Instead of that and a comparison: passes when at least one of these conditions holds; a"
        " failure gives every alternative's reason.",
        examples=[[{"that": "close_code", "equals": 1000}, {"that": "close_code", "equals": 1001}]],
    )

    def _choose_comparison(self) -> None:
        groups = [key for key in ("all", "any") if getattr(self, key) is not None]
        if not groups:
            try:
                super()._choose_comparison()
            except ValueError as exc:
                if "(found: none)" not in str(exc):
                    raise
                raise ValueError(f"{exc}; or all: or any: with a list of conditions") from None
            return
        beside = [
            key for key in ("that", *COMPARISONS) if key in self.model_fields_set or f"{key}_" in self.model_fields_set
        ]
        if len(groups) > 1 or beside:
            found = ", ".join([*groups, *beside])
            raise ValueError(
                "a check holds either that: and one comparison, or all:, or any: (each condition inside names its"
                f" own value) (found: {found})"
            )
        self._comparison = groups[0], getattr(self, groups[0])


AllOf.model_rebuild()
AnyOf.model_rebuild()
Check.model_rebuild()

Loc = tuple[str | int, ...]


def leaves(node: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Condition]]:
    """Every single comparison inside a condition, a list, an all, an any or a check, with where it is written."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from leaves(item, (*loc, index))
    elif isinstance(node, AllOf):
        yield from leaves(node.all, (*loc, "all"))
    elif isinstance(node, AnyOf):
        yield from leaves(node.any, (*loc, "any"))
    elif isinstance(node, Condition):
        kind, inner = node.comparison
        if kind in ("all", "any"):
            yield from leaves(inner, (*loc, kind))
        else:
            yield loc, node
