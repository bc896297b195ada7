"""Every example in scenarios/ is valid and passes against the embedded test server."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsrun.cli import main

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))


def test_there_are_examples() -> None:
    """The folder holds the k6 reference and the other examples."""
    names = {path.name for path in SCENARIOS}
    assert "k6-socket-on.yaml" in names and len(names) >= 4


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.name for path in SCENARIOS])
def test_example_validates_and_passes(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """wsrun validate accepts it, and wsrun SCENARIO --serve exits 0."""
    assert main(["validate", str(path)]) == 0
    # Load examples run for their full duration by hand; here 2 s is enough to show they pass.
    shorter = ["--duration", "2s"] if "duration:" in path.read_text() else []
    code = main([str(path), "--serve", "-q", *shorter])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✓ passed" in out and "✗ failed" not in out
