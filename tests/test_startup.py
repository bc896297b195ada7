"""Start-up: each command imports only what it uses (checked in sys.modules of a fresh process, never timed)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from .helpers import UNIT

#: Heavy packages: none may be imported by a command that does not use it.
HEAVY = (
    "asyncio",
    "pydantic",
    "rich",
    "jsonschema",
    "picows",
    "websockets",
    "uvloop",
    "multiprocessing",
    "yaml",
    "re2",
)

PLAIN = """
url: ws://127.0.0.1:9/echo
rules:
  - on: open
    do: [{send: hello}]
  - on: message
    do: [{log: "got {{ message }}"}, close]
checks:
  - {name: status is 101, that: status, equals: 101}
"""


def imported_by(code: str) -> set[str]:
    """The heavy top-level packages in sys.modules once ``code`` has run in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60 * UNIT, check=False)
    return set(json.loads(done.stdout.splitlines()[-1])) & set(HEAVY)


def scenario(tmp_path: Path, text: str = PLAIN) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def test_the_command_line_module_imports_nothing_heavy() -> None:
    """Importing wsrun.cli (what --version and --help need) loads no heavy package at all."""
    assert imported_by("import wsrun.cli") == set()


def test_validate_loads_the_models_and_yaml_only(tmp_path: Path) -> None:
    """wsrun validate imports pydantic and yaml, and no event loop, report, transport or JSON Schema library."""
    path = scenario(tmp_path)
    assert imported_by(f"from wsrun.cli import main\nassert main(['validate', {path!r}]) == 0") == {"pydantic", "yaml"}


def test_validate_imports_jsonschema_and_re2_when_a_scenario_needs_them(tmp_path: Path) -> None:
    """A schema: condition and a matches: pattern are checked when the file is validated: then, and only then,
    jsonschema and RE2 are imported."""
    more = "equals: 101}\n  - {name: shape, schema: {type: object}}\n  - {name: word, matches: '^h'}"
    path = scenario(tmp_path, PLAIN.replace("equals: 101}", more))
    loaded = imported_by(f"from wsrun.cli import main\nassert main(['validate', {path!r}]) == 0")
    assert {"jsonschema", "re2"} <= loaded


def test_a_run_imports_neither_workers_nor_the_other_transport_nor_jsonschema(tmp_path: Path) -> None:
    """A run on the default transport, without --workers and without schema:, leaves picows, multiprocessing
    and jsonschema unimported."""
    path = scenario(tmp_path)
    loaded = imported_by(f"from wsrun.cli import main\nassert main([{path!r}, '-q']) == 1")
    assert {"asyncio", "pydantic", "websockets", "rich"} <= loaded
    assert not {"picows", "multiprocessing", "jsonschema"} & loaded
