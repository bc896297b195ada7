"""The `schema` comparison: values keep their types, formats are checked, schema files and $ref stay
inside the scenario's folder with the scenario file's limits, patterns use RE2, and a validation's work is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection

from wsrun.cli import main
from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load
from wsrun.scenario.schemas import FORMATS, MAX_STEPS, check_schema, load_schema_file, schema_errors

from .helpers import UNIT, interrupt, run_yaml, serving

SECRET = "hunter2-Pa55w0rd"


def scenario_in(folder: Path, schema: str, *, name: str = "s.yaml") -> Path:
    """A scenario in ``folder`` whose end check names the schema file ``schema`` (on line 3)."""
    path = folder / name
    path.write_text(f"url: ws://127.0.0.1:9\nchecks:\n  - {{name: shape, that: message, schema: {schema}}}\n")
    return path


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# -- 11.3: a value keeps its type; formats ---------------------------------------------------------


@pytest.mark.usefixtures("transport")
async def test_a_field_keeps_its_type_and_only_a_whole_message_is_read_as_json() -> None:
    """message.user from {"user": "123"} is the string "123", not the number 123; "alice" is a string, not bad JSON."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send('{"user": "123"}')
        await ws.send('{"user": "alice"}')
        await ws.wait_closed()

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://x
            rules:
              - on: message
                do:
                  - check: {name: user is text, that: message.user, schema: {type: string}}
                  - check: {name: user is no number, that: message.user, schema: {not: {type: integer}}}
                  - check: {name: message is JSON, that: message, schema: {type: object, required: [user]}}
              - {on: message, when: {that: messages_received, equals: 2}, do: [close]}
            """,
            url=url,
        )
    assert run.check("user is text") == (2, 0, "")
    assert run.check("user is no number") == (2, 0, "")
    assert run.check("message is JSON") == (2, 0, "")


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        (
            "uuid",
            ["123e4567-e89b-12d3-a456-426614174000"],
            ["x", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g"],
        ),
        (
            "date-time",
            ["2024-02-29T12:30:00Z", "2024-01-01t00:00:60.5+05:30"],
            ["2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00"],
        ),
        ("date", ["2024-02-29"], ["2023-02-29", "2024-1-1"]),
        ("time", ["23:59:59Z", "08:30:00.123-02:00"], ["24:00:00Z", "08:30:00"]),
        ("email", ["a.b+c@example.com", "x@localhost"], ["nobody", "a@", "@b.c", "a..b@c.d", "a@-b.c"]),
        ("hostname", ["example.com", "a-b.c1"], ["-a.com", "a_b.com", "a" * 64 + ".com"]),
        ("ipv4", ["192.168.0.1", "0.0.0.0"], ["256.1.1.1", "1.2.3", "01.2.3.4", "١.2.3.4"]),
        ("ipv6", ["::1", "2001:db8::8a2e:370:7334"], ["::g", "fe80::1%eth0", "1.2.3.4"]),
        (
            "uri",
            ["https://example.com/a?b=c#d", "urn:isbn:0451450523", "mailto:a@b.c"],
            ["/relative/path", "http://a b", "http://x/%zz", "1http://x"],
        ),
    ],
)
def test_common_formats_are_checked(name: str, good: list[str], bad: list[str]) -> None:
    """format: uuid, date-time, date, time, email, hostname, ipv4, ipv6 and uri are assertions."""
    for value in good:
        assert schema_errors({"format": name}, value) is None, value
    for value in bad:
        assert schema_errors({"format": name}, value) == f"the value: {value!r} is not a {name!r}", value
    assert schema_errors({"format": name}, 12) is None  # a format applies to strings only


def test_other_formats_are_annotations() -> None:
    """A format wsrun does not check passes anything, as the specification allows; the README lists the checked ones."""
    assert schema_errors({"format": "idn-hostname"}, "not a host!") is None
    assert schema_errors({"format": "regex"}, "(") is None
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in FORMATS)


# -- 12.6: schema files stay inside the scenario's folder; their content is never quoted --------------


@pytest.mark.parametrize("where", ["parent", "absolute", "symlink", "ref"])
def test_schema_files_outside_the_scenario_folder_are_refused(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """../, an absolute path, a symlink leading out and a $ref leading out are load errors naming file, line, what is allowed."""
    outside = tmp_path / "credentials.json"
    outside.write_text(json.dumps({"type": "object", "password": SECRET}))
    folder = tmp_path / "scenarios"
    folder.mkdir()
    name = {"parent": "../credentials.json", "absolute": str(outside), "symlink": "link.json", "ref": "s.json"}[where]
    (folder / "link.json").symlink_to(outside)
    (folder / "s.json").write_text('{"$ref": "../credentials.json"}')
    path = scenario_in(folder, name)
    code, output = validate(path, capsys)
    assert code == 2
    assert f"{path}:3:" in output and "checks[0].schema" in output
    assert "schema files must be inside the scenario's folder" in output
    assert SECRET not in output and "Traceback" not in output


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".yaml", f"password: {SECRET}\n  bad: indentation\n"),
        (".yaml", f"password: *{SECRET}\n"),
        (".yaml", f"{SECRET}: 1\n{SECRET}: 2\n"),
        (".yaml", f"key: !!int {SECRET}\n"),
        (".yaml", f"key: !{SECRET} x\n"),
        (".yaml", f"{SECRET}\n"),
        (".json", f'{{"password": "{SECRET}" "x"}}'),
        (".json", f'{{"{SECRET}": 1, "{SECRET}": 2}}'),
        (".json", f'{{"type": "{SECRET}"}}'),
    ],
)
def test_an_error_in_a_schema_file_never_quotes_it(
    suffix: str, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that does not parse, or is not a schema, is refused by where it fails, never by what it holds."""
    (tmp_path / f"secrets{suffix}").write_text(text)
    code, output = validate(scenario_in(tmp_path, f"secrets{suffix}"), capsys)
    assert code == 2
    assert "checks[0].schema: secrets" in output
    assert SECRET not in output and "Traceback" not in output


# -- 12.7, 12.9: $ref within the schema and files beside it, resolved when the file loads ---------------


@pytest.mark.parametrize(
    "ref",
    [
        "http://127.0.0.1:9/schema.json",
        "https://example.com/schema.json",
        "file:///etc/passwd",
        "file:///dev/zero",
        "/etc/passwd",
        "//example.com/x.json",
    ],
)
def test_a_ref_that_would_fetch_is_a_load_error(ref: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """http(s)://, file:// or an absolute path in $ref: an error before running, exit 2; nothing is fetched."""
    (tmp_path / "s.json").write_text(json.dumps({"properties": {"a": {"$ref": ref}}}))
    started = time.monotonic()
    code, output = validate(scenario_in(tmp_path, "s.json"), capsys)
    assert code == 2
    assert "wsrun fetches nothing" in output or "schema files must be inside" in output
    assert "root:" not in output and "Traceback" not in output
    assert time.monotonic() - started < 5 * UNIT
    with pytest.raises(ValueError, match="points outside the schema"):
        check_schema({"$ref": ref})  # inline, the same


@pytest.mark.parametrize("inline", [True, False])
def test_an_unresolvable_ref_is_a_load_error(inline: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """$ref: '#/$defs/missing' is refused when the file loads (it was an internal error, then ✓ passed)."""
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    if inline:
        path = tmp_path / "s.yaml"
        path.write_text(
            f"url: ws://127.0.0.1:9\nchecks:\n  - {{name: shape, that: message, schema: {json.dumps(schema)}}}\n"
        )
    else:
        (tmp_path / "s.json").write_text(json.dumps(schema))
        path = scenario_in(tmp_path, "s.json")
    code, output = validate(path, capsys)
    assert code == 2
    assert f"{path}:3:" in output
    assert "$ref '#/$defs/missing' does not resolve" in output
    assert main([str(path), "-q"]) == 2


async def test_refs_between_schema_files_beside_the_scenario(echo_url: str, tmp_path: Path) -> None:
    """A schema file may refer to another one in the folder (and to itself); both are read when the file loads."""
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "reply.json").write_text(
        json.dumps(
            {"type": "object", "properties": {"user": {"$ref": "common.yaml#/$defs/user"}}, "required": ["user"]}
        )
    )
    (tmp_path / "schemas" / "common.yaml").write_text(
        "$defs:\n  user: {type: object, properties: {id: {$ref: '#/$defs/id'}}, required: [id]}\n  id: {type: string, format: uuid}\n"
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        """url: ws://x
rules:
  - on: open
    do:
      - send_json: {user: {id: 123e4567-e89b-12d3-a456-426614174000}}
      - send_json: {user: {id: 42}}
  - on: message
    do: [{check: {name: reply shape, that: message, schema: schemas/reply.json}}]
  - {on: message, when: {that: messages_received, equals: 2}, do: [close]}
"""
    )
    run = await run_yaml(path.read_text(), url=echo_url, file=str(path))
    passes, fails, reason = run.check("reply shape")
    assert (passes, fails) == (1, 1)
    assert "user.id: 42 is not of type 'string'" in reason


# -- 12.8: schema files get the scenario file's limits --------------------------------------------------


def _bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("fifo", "not a regular file"),
        ("large", "the file is 11 MiB; schema files are limited to 10 MiB"),
        ("bomb", "expands to more than 100,000 values"),
        ("deep yaml", "nested more than 64 levels"),
        ("deep json", "nested more than 64 levels"),
        ("many json values", "more than 100,000 values"),
        ("not utf-8", "not UTF-8 text"),
        ("folder", "is a folder"),
    ],
)
def test_schema_files_have_the_scenario_file_limits(
    kind: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FIFO, a huge file, an alias bomb, deep nesting: a clear load error from wsrun validate, no traceback, no hang."""
    name = {"deep json": "s.json", "many json values": "s.json"}.get(kind, "s.yaml")
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "large":
        with path.open("wb") as file:
            file.truncate(11 * 2**20)
    elif kind == "bomb":
        path.write_text(_bomb())
    elif kind == "deep yaml":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif kind == "deep json":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif kind == "many json values":
        path.write_text(json.dumps({"enum": list(range(200_000))}))
    elif kind == "not utf-8":
        path.write_bytes(b"type: \xff\n")
    else:
        path.mkdir()
    started = time.monotonic()
    code, output = validate(scenario_in(tmp_path, name, name="scenario.yaml"), capsys)
    assert code == 2
    assert expected in output, output
    assert "Traceback" not in output
    assert time.monotonic() - started < 10 * UNIT


def test_a_schema_file_read_through_the_command_line_never_hangs(tmp_path: Path) -> None:
    """A run whose schema file is a FIFO ends at once with exit 2 (it used to wait for a writer forever)."""
    os.mkfifo(tmp_path / "s.json")
    path = scenario_in(tmp_path, "s.json")
    done = subprocess.run(
        [sys.executable, "-m", "wsrun", str(path)], capture_output=True, text=True, timeout=30 * UNIT, check=False
    )
    assert done.returncode == 2
    assert "not a regular file" in done.stderr


# -- 12.10: RE2 for pattern and patternProperties ----------------------------------------------------------


def test_schema_patterns_use_re2() -> None:
    """pattern, patternProperties and additionalProperties run in linear time: ^(a+)+$ cannot stall."""
    evil = "a" * 30 + "!"
    started = time.monotonic()
    assert "does not match '^(a+)+$'" in (schema_errors({"pattern": "^(a+)+$"}, evil) or "")
    assert (
        schema_errors({"patternProperties": {"^(a+)+$": {"type": "integer"}}, "additionalProperties": False}, {evil: 1})
        == f"the value: Additional properties are not allowed ({evil!r} unexpected)"
    )
    assert (
        schema_errors({"patternProperties": {"^(a+)+$": True}, "unevaluatedProperties": False}, {evil: 1})
        == f"the value: Unevaluated properties are not allowed ({evil!r} unexpected)"
    )
    assert time.monotonic() - started < 1 * UNIT
    # RE2 syntax, as for matches: \pL is a letter.
    assert schema_errors({"pattern": r"^\pL+$"}, "héllo") is None


@pytest.mark.parametrize("pattern", ["(?=a)", r"(a)\1", "(?<!x)y"])
def test_a_pattern_re2_cannot_run_is_a_load_error(
    pattern: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Look-around or back-references in a schema pattern: refused when the file loads, inline or in a file."""
    with pytest.raises(ValueError, match="not a valid regular expression"):
        check_schema({"properties": {"a": {"pattern": pattern}}})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        check_schema({"patternProperties": {pattern: {}}})
    (tmp_path / "s.json").write_text(json.dumps({"items": {"pattern": pattern}}))
    code, output = validate(scenario_in(tmp_path, "s.json"), capsys)
    assert code == 2 and "RE2 syntax" in output


@pytest.mark.usefixtures("transport")
async def test_a_crafted_message_cannot_stall_a_schema_pattern() -> None:
    """The README's 31-byte message against pattern ^(a+)+$: the check fails at once and the session keeps its timeout."""

    async def handler(ws: ServerConnection) -> None:
        for _ in range(3):
            await ws.send(json.dumps({"name": "a" * 30 + "!"}))
        await ws.wait_closed()

    async with serving(handler) as url:
        started = time.monotonic()
        run = await run_yaml(
            """
            url: ws://x
            timeout: 3s
            rules:
              - on: message
                do: [{check: {name: name, that: message, schema: {properties: {name: {pattern: "^(a+)+$"}}}}}]
              - {on: message, when: {that: messages_received, equals: 3}, do: [close]}
            """,
            url=url,
        )
    assert run.check("name")[:2] == (0, 3)
    assert time.monotonic() - started < 3 * UNIT


# -- 12.11: bounded work -----------------------------------------------------------------------------------


def test_unique_items_takes_linear_time() -> None:
    """uniqueItems over 3,000 objects (14 s before): well under a second; equal objects in any key order are found."""
    items = [{"id": i, "tags": ["a", i], "nested": {"x": i}} for i in range(3_000)]
    started = time.monotonic()
    assert schema_errors({"uniqueItems": True}, items) is None
    assert time.monotonic() - started < 1 * UNIT
    assert schema_errors({"uniqueItems": True}, [*items, {"nested": {"x": 5}, "tags": ["a", 5.0], "id": 5}]) == (
        "the value: has non-unique elements (item 3000 repeats an earlier one)"
    )
    assert schema_errors({"uniqueItems": True}, [1, True, "1", 1.5, [1], {"1": 1}, None, False, 0]) is None
    assert schema_errors({"uniqueItems": True}, [1, 1.0]) is not None


def test_a_validation_that_needs_too_much_work_fails_saying_so() -> None:
    """A validation is bounded by MAX_STEPS: beyond, the check fails with that reason, in a bounded time."""
    schema = {"items": {"allOf": [{"type": "integer"}, {"minimum": 0}] * 10}}
    started = time.monotonic()
    reason = schema_errors(schema, list(range(50_000)))
    assert reason == (
        f"the validation stopped after {MAX_STEPS:,} steps, the most one validation may take"
        " (a smaller value, or a simpler schema)"
    )
    assert time.monotonic() - started < 2 * UNIT
    assert schema_errors(schema, list(range(100))) is None  # the budget is per validation


@pytest.mark.usefixtures("transport")
async def test_the_session_deadline_gets_through_heavy_validations() -> None:
    """A flood of messages that each take the most work a validation may do: the 1 s timeout still ends the session.

    Each validation stops at MAX_STEPS, and the session yields to the event loop after
    events that took long, not only every 64 events (100 such messages took 9 s).
    """
    heavy = json.dumps([0] * 20_000)

    async def handler(ws: ServerConnection) -> None:
        for _ in range(100):
            await ws.send(heavy)
        await ws.wait_closed()

    async with serving(handler) as url:
        started = time.monotonic()
        run = await run_yaml(
            """
            url: ws://x
            timeout: 1s
            close_timeout: 500ms
            rules:
              - on: message
                do: [{check: {name: heavy, that: message, schema: {items: {allOf: [{type: integer}, {minimum: 0}, {maximum: 0}, {type: integer}, {minimum: 0}, {maximum: 0}]}}}}]
            """,
            url=url,
        )
    elapsed = time.monotonic() - started
    assert elapsed < 4 * UNIT, elapsed
    passes, fails, reason = run.check("heavy")
    assert passes == 0 and 1 <= fails < 64
    assert reason.startswith(f"message does not match the schema: the validation stopped after {MAX_STEPS:,} steps")


def test_schema_file_loaded_beside_the_scenario_by_load(tmp_path: Path) -> None:
    """load() reads the schema files a scenario names, so wsrun validate finds their problems too."""
    (tmp_path / "s.json").write_text('{"type": 5}')
    with pytest.raises(ScenarioError, match=r"s\.json: schema is not a valid JSON Schema at type"):
        load(scenario_in(tmp_path, "s.json"))
    (tmp_path / "s.json").write_text('{"type": "object"}')
    assert load(scenario_in(tmp_path, "s.json")).checks[0].name == "shape"
    assert load_schema_file("s.json", tmp_path).contents == {"type": "object"}


def test_ctrl_c_gets_through_heavy_validations(tmp_path: Path) -> None:
    """Ctrl-C during a flood of messages that each take a validation's most work: the run ends within a second or so."""
    import threading

    from websockets.sync.server import ServerConnection as SyncConnection
    from websockets.sync.server import serve as serve_sync

    heavy = json.dumps([0] * 20_000)

    def handler(ws: SyncConnection) -> None:
        for _ in range(300):
            ws.send(heavy)
        for _ in ws:  # until the client goes
            pass

    with serve_sync(handler, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        path = tmp_path / "s.yaml"
        path.write_text(
            f"url: ws://127.0.0.1:{server.socket.getsockname()[1]}\n"
            "rules:\n"
            "  - {on: message, when: {that: messages_received, equals: 1}, do: [{log: flooded}]}\n"
            "  - on: message\n"
            "    do: [{check: {name: heavy, that: message,"
            " schema: {items: {allOf: [{type: integer}, {minimum: 0}, {maximum: 0}, {type: integer}]}}}}]\n"
        )
        code, _, err, elapsed = interrupt([sys.executable, "-m", "wsrun", str(path)], after="flooded")
        server.shutdown()
    assert code == 130, err
    assert "Traceback" not in err
    assert elapsed < 3 * UNIT, elapsed


def test_symlinks_inside_the_folder_and_embedded_ids_resolve(tmp_path: Path) -> None:
    """A link that stays inside the folder is followed; a part with its own $id is found by it; a missing file says who named it."""
    (tmp_path / "common").mkdir()
    (tmp_path / "shared").symlink_to(tmp_path / "common")
    (tmp_path / "common" / "defs.json").write_text('{"$defs": {"user": {"type": "string"}}}')
    (tmp_path / "s.json").write_text(
        json.dumps(
            {
                "properties": {
                    "a": {"$ref": "shared/defs.json#/$defs/user"},
                    "b": {"$ref": "common/defs.json#/$defs/user"},
                    "c": {"$ref": "https://example.com/id"},
                },
                "$defs": {"x": {"$id": "https://example.com/id", "type": "integer"}},
            }
        )
    )
    schema = load_schema_file("s.json", tmp_path)
    assert schema_errors(schema, {"a": "x", "b": "y", "c": 1}) is None
    assert schema_errors(schema, {"a": 1}) == "a: 1 is not of type 'string'"
    assert schema_errors(schema, {"c": "1"}) == "c: '1' is not of type 'integer'"
    (tmp_path / "t.json").write_text('{"$ref": "nope.json"}')
    with pytest.raises(ValueError, match=r"^nope\.json: no such file \(named by \$ref 'nope\.json' in t\.json\)$"):
        load_schema_file("t.json", tmp_path)


@pytest.mark.parametrize(
    ("schema", "chain"),
    [
        (
            {"properties": {"a": {"$ref": "#/properties/b"}, "b": {"$ref": "#/properties/a"}}},
            "#/properties/b ($ref '#/properties/a') → #/properties/a ($ref '#/properties/b') → back to #/properties/b",
        ),
        ({"$ref": "#"}, "# ($ref '#') → back to #"),
        (
            {"$defs": {"x": {"allOf": [{"$ref": "#/$defs/x"}]}}, "$ref": "#/$defs/x"},
            "#/$defs/x (allOf[0]) → #/$defs/x/allOf/0 ($ref '#/$defs/x') → back to #/$defs/x",
        ),
        ({"$defs": {"x": {"not": {"$ref": "#"}}}, "anyOf": [{"$ref": "#/$defs/x"}]}, "($ref '#')"),
    ],
)
def test_a_ref_cycle_that_reads_nothing_is_a_load_error(schema: dict[str, object], chain: str) -> None:
    """A $ref chain back to itself with no keyword that goes into the value is refused when the file loads,
    naming the refs (it failed at run time, "nested too deeply"); a recursive schema through properties
    or items (a tree, a linked list) stays valid."""
    with pytest.raises(ValueError, match=r"^\$ref cycle: ") as caught:
        check_schema(schema)
    assert chain in str(caught.value)
    assert "validating would never end" in str(caught.value)
    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}}
    linked = {"$defs": {"n": {"anyOf": [{"type": "null"}, {"properties": {"next": {"$ref": "#/$defs/n"}}}]}}}
    for recursive in (tree, {**linked, "$ref": "#/$defs/n"}):
        check_schema(recursive)
    assert schema_errors(tree, {"kids": [{"kids": []}, {"kids": 1}]}) == "kids[1].kids: 1 is not of type 'array'"


def test_a_ref_cycle_across_schema_files_is_a_load_error(tmp_path: Path) -> None:
    """A cycle through two schema files is refused when the scenario loads, naming each file and ref."""
    (tmp_path / "a.yaml").write_text("properties:\n  x: {$ref: 'b.yaml#/$defs/y'}\n")
    (tmp_path / "b.yaml").write_text("$defs:\n  y: {$ref: 'a.yaml#/properties/x'}\n")
    with pytest.raises(ScenarioError) as caught:
        load(scenario_in(tmp_path, "a.yaml"))
    message = caught.value.problems[0].message
    assert message.startswith("$ref cycle: "), message
    assert "a.yaml#/properties/x ($ref 'b.yaml#/$defs/y')" in message
    assert "b.yaml#/$defs/y ($ref 'a.yaml#/properties/x')" in message
    (tmp_path / "b.yaml").write_text("$defs:\n  y: {properties: {next: {$ref: 'a.yaml#/properties/x'}}}\n")
    assert load(scenario_in(tmp_path, "a.yaml")).checks[0].name == "shape"
