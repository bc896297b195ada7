"""The package's layers hold: imports point down, no cycle, outputs never import a transport (import-linter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .helpers import UNIT

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    """Every contract in pyproject.toml's [tool.importlinter] is kept (static: nothing of wsrun runs)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120 * UNIT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_module_is_past_about_500_lines() -> None:
    """A module that grows past about 500 lines is asking to be split along a line that exists in it."""
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "wsrun").rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 520
    }
    assert not long, long
