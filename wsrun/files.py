"""
From the paths on the command line to scenario files: folders are searched recursively.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import UsageError

__all__ = ["SUFFIXES", "scenario_files"]

SUFFIXES = (".yaml", ".yml")


def scenario_files(paths: Sequence[str]) -> list[str]:
    """Each path as given, a folder replaced by its ``*.yaml``/``*.yml`` files (recursively, sorted).

    Hidden files and folders (``.git``, ``.venv``) are skipped. A file named twice
    runs once. A path that does not exist is kept: loading it says so, with the others' problems.
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
    return list(dict.fromkeys(files))
