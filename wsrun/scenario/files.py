"""
From the paths on the command line to scenario files: folders are searched recursively.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError

__all__ = ["SUFFIXES", "scenario_files"]

SUFFIXES = (".yaml", ".yml")


def scenario_files(paths: Sequence[str]) -> list[str]:
    """Each path as given, a folder replaced by its ``*.yaml``/``*.yml`` files (recursively, sorted).

    Hidden files and folders (``.git``, ``.venv``) are skipped. A file named twice,
    under any spelling, runs once. A path that does not exist is kept: loading it says so, with the others' problems.
    """
    files: list[str] = []
    for path in paths:
        folder = Path(path)
        if not folder.is_dir():
            files.append(path)
            continue
        found = sorted(
            str(file)
            for file in folder.rglob("*")
            if file.suffix in SUFFIXES
            and file.is_file()
            and not any(part.startswith(".") for part in file.relative_to(folder).parts)
        )
        if not found:
            raise UsageError(f"{path}: a folder with no scenario files (*.yaml, *.yml) in it")
        files.extend(found)
    # The same file under another spelling (./a.yaml, an absolute path) runs once too.
    unique: dict[str, str] = {}
    for file in files:
        unique.setdefault(os.path.realpath(file), file)
    return list(unique.values())
