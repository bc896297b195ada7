"""Every example in scenarios/ is valid and passes against the embedded test server, but for those of protocols it
does not speak (Socket.IO, GraphQL), which tests/test_protocols.py runs against real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsrun.cli import main

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))
#: Examples of protocols the embedded server does not speak: tests/test_protocols.py runs them against real servers.
OWN_SERVER = {"socketio-chat.yaml": "python-socketio", "graphql-subscription.yaml": "strawberry-graphql"}
SERVED = [path for path in SCENARIOS if path.name not in OWN_SERVER]


def test_there_are_examples() -> None:
    """The folder holds the k6 reference and the other examples."""
    names = {path.name for path in SCENARIOS}
    assert "k6-socket-on.yaml" in names and len(names) >= 4


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.name for path in SCENARIOS])
def test_example_validates(path: Path) -> None:
    """wsrun validate accepts every example, those that need their own server included."""
    assert main(["validate", str(path)]) == 0


def test_examples_left_to_their_own_servers_exist() -> None:
    """The examples not run with --serve are there (a renamed one must not drop out of every test)."""
    assert set(OWN_SERVER) <= {path.name for path in SCENARIOS}


@pytest.mark.parametrize("path", SERVED, ids=[path.name for path in SERVED])
def test_example_passes_on_the_embedded_server(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """wsrun SCENARIO --serve exits 0."""
    # Load examples run for their full duration by hand; here 2 s is enough to show they pass.
    shorter = ["--duration", "2s"] if "duration:" in path.read_text() else []
    code = main([str(path), "--serve", "-q", *shorter])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✓ passed" in out and "✗ failed" not in out
