"""
From the paths on the command line to scenario files: folders are searched recursively.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError

__all__ = ["SUFFIXES", "expand", "scenario_files"]

SUFFIXES = (".yaml", ".yml")


def scenario_files(paths: Sequence[str]) -> list[str]:
    """Each path as given, a folder replaced by its ``*.yaml``/``*.yml`` files (see :func:`expand`)."""
    return [file for file, _ in expand(paths)]


def expand(paths: Sequence[str]) -> list[tuple[str, bool]]:
    """Each path as given, a folder replaced by its ``*.yaml``/``*.yml`` files (recursively, sorted),
    each with whether it was found in a folder rather than named.

    Hidden files and folders (``.git``, ``.venv``) are skipped. A file named twice,
    under any spelling, runs once (named, if it was named once). A path that does
    not exist is kept: loading it says so, with the others' problems.
    """
    files: list[tuple[str, bool]] = []
    for path in paths:
        folder = Path(path)
        if not folder.is_dir():
            files.append((path, False))
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
        files.extend((file, True) for file in found)
    # The same file under another spelling (./a.yaml, an absolute path) runs once too.
    unique: dict[str, tuple[str, bool]] = {}
    for file, in_folder in files:
        real = os.path.realpath(file)
        first = unique.setdefault(real, (file, in_folder))
        if first[1] and not in_folder:
            unique[real] = (first[0], False)
    return list(unique.values())
