"""Templates: which names a template uses, and rendering them into text or typed values."""

from __future__ import annotations

from typing import Any

import pytest

from wsrun.errors import TemplateError
from wsrun.scenario.conditions import evaluate
from wsrun.scenario.models import Condition
from wsrun.scenario.namespace import dig
from wsrun.scenario.templates import MISSING, names, render, render_value

VALUES: dict[str, Any] = {
    "token": "abc",
    "count": 3,
    "ratio": 1.5,
    "flag": True,
    "nothing": None,
    "raw": b"\x00\x01\xff",
    "user": {"id": 7, "name": "Zoë"},
    "items": [1, "two"],
    "message.user.id": 7,
}


def lookup(name: str) -> Any:
    """The test namespace: VALUES, MISSING for anything else."""
    return VALUES.get(name, MISSING)


def refuse(name: str) -> Any:
    """A lookup for text without templates: reading any name is a test failure."""
    raise AssertionError(f"looked up {name!r} in text without templates")


# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("no templates here", []),
        ("{{ token }}", ["token"]),
        ("{{token}}", ["token"]),
        ("{{   token   }}", ["token"]),
        ("{{ message.user.id }}", ["message.user.id"]),
        ("{{ message.items.0 }}", ["message.items.0"]),
        ("{{ _private }} and {{ x-request-id }}", ["_private", "x-request-id"]),
        ("Bearer {{ token }} at {{ now_ms }}", ["token", "now_ms"]),
        ("single { braces } are text", []),
    ],
)
def test_names_yields_each_name(template: str, expected: list[str]) -> None:
    """names() yields every name between braces, dotted paths and list indexes included."""
    assert list(names(template)) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{ a + b }}",
        "{{ x() }}",
        "{{ }}",
        "{{}}",
        "{{ 0abc }}",
        "{{ a..b }}",
        "{{ a b }}",
        "ok {{ a }} {{ b.upper() }}",
    ],
)
def test_names_refuses_expressions(template: str) -> None:
    """Anything but a name between the braces is refused, with a hint of what is allowed."""
    with pytest.raises(ValueError, match=r"is not a template: between \{\{ and \}\} write only a name"):
        list(names(template))


@pytest.mark.parametrize("template", ["hello {{ name", "{{", "{{ a }} and {{ b"])
def test_names_refuses_unclosed_braces(template: str) -> None:
    """An opening {{ without its closing }} is refused."""
    with pytest.raises(ValueError, match=r"unclosed \{\{ in template"):
        list(names(template))


# -- render ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ token }}", "abc"),
        ("Bearer {{token}}!", "Bearer abc!"),
        ("{{    token }}/{{ count   }}", "abc/3"),
        ("{{ message.user.id }}", "7"),
        ("{{ count }}", "3"),
        ("{{ ratio }}", "1.5"),
        ("{{ raw }}", "0001ff"),
        ("{{ flag }}", "true"),
        ("{{ nothing }}", "null"),
        ("{{ user }}", '{"id": 7, "name": "Zoë"}'),
        ("{{ items }}", '[1, "two"]'),
    ],
)
def test_render_substitutes_text_of_values(template: str, expected: str) -> None:
    """render() puts each value's text in place: bytes as hex, JSON for mappings, lists, booleans and null."""
    assert render(template, lookup) == expected


@pytest.mark.parametrize("template", ["", "plain text", "single {brace}", "closing only }}"])
def test_render_leaves_text_without_templates(template: str) -> None:
    """Text without {{ is returned unchanged and reads no names."""
    assert render(template, refuse) == template


def test_render_refuses_missing_name() -> None:
    """A name that is not set raises TemplateError naming it."""
    with pytest.raises(TemplateError, match=r"^\{\{ gone \}\} is not set$"):
        render("value: {{   gone }}", lookup)


def test_render_null_is_not_missing() -> None:
    """A name set to null renders as null rather than raising."""
    assert render("[{{ nothing }}]", lookup) == "[null]"


# -- render_value ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["count", "ratio", "flag", "nothing", "user", "items", "raw", "token"])
def test_render_value_whole_template_keeps_type(name: str) -> None:
    """A string that is exactly one template gives the value itself, with its type."""
    rendered = render_value("{{ " + name + " }}", lookup)
    assert rendered == VALUES[name]
    assert type(rendered) is type(VALUES[name])


def test_render_value_whole_template_without_spaces() -> None:
    """The whole-template form needs no spaces inside the braces."""
    assert render_value("{{count}}", lookup) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ count }} items", "3 items"),
        ("{{ count }}{{ token }}", "3abc"),
        ("{{ flag }}/{{ nothing }}", "true/null"),
        ("plain", "plain"),
    ],
)
def test_render_value_mixed_text_becomes_text(value: str, expected: str) -> None:
    """A string with text around a template, or several templates, renders to text."""
    assert render_value(value, lookup) == expected


def test_render_value_renders_nested_values() -> None:
    """Mappings and lists are rendered all the way down; other values pass through."""
    value = {
        "type": "subscribe",
        "id": "{{ count }}",
        "auth": {"token": "Bearer {{ token }}", "scopes": ["{{ items }}", "read"]},
        "n": 5,
        "on": False,
        "none": None,
    }
    assert render_value(value, lookup) == {
        "type": "subscribe",
        "id": 3,
        "auth": {"token": "Bearer abc", "scopes": [[1, "two"], "read"]},
        "n": 5,
        "on": False,
        "none": None,
    }


@pytest.mark.parametrize("value", ["{{ gone }}", "x {{ gone }}", ["{{ gone }}"], {"a": {"b": "{{ gone }}"}}])
def test_render_value_refuses_missing_name(value: Any) -> None:
    """A name that is not set raises TemplateError, wherever it sits in the value."""
    with pytest.raises(TemplateError, match=r"\{\{ gone \}\} is not set"):
        render_value(value, lookup)


def test_render_value_reads_only_names_used() -> None:
    """render_value() looks up each name it renders, in order, and nothing else."""
    read: list[str] = []

    def recording(name: str) -> Any:
        read.append(name)
        return lookup(name)

    assert render_value(["{{ token }}", 1, {"k": "{{ count }} x"}], recording) == ["abc", 1, {"k": "3 x"}]
    assert read == ["token", "count"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("message.sid", """message is not JSON, it starts '0{"sid":"Lbo8fz","upgrad…'"""),
        ("reply.user.nme", "reply.user has no key 'nme' (its keys: id, name)"),
        ("reply.items.3", "reply.items has 2 items, counted from 0"),
        ("reply.items.first", "reply.items is a list; index it with a number, like reply.items.0"),
        ("reply.user.id.x", "reply.user.id is a number, not an object"),
    ],
)
def test_an_unset_path_says_why(name: str, why: str) -> None:
    """A dotted path that leads nowhere says where it stops and why: a text that is not JSON shows its start."""
    values = {
        "message": '0{"sid":"Lbo8fz","upgrades":[],"pingInterval":25000}',
        "reply": {"user": {"id": 7, "name": "a"}, "items": [1, 2]},
    }

    def lookup(path: str) -> object:
        root, _, rest = path.partition(".")
        return dig(values[root], rest.split(".")) if rest else values[root]

    with pytest.raises(TemplateError) as caught:
        render(f"{{{{ {name} }}}}", lookup)
    assert str(caught.value) == f"{{{{ {name} }}}} is not set: {why}"
    condition = Condition.model_validate({"that": name, "equals": 1})
    outcome = evaluate(condition, lookup(name), lookup)
    assert outcome.reason == f"expected {name} equals 1, but {name} is not set: {why}"
