"""
A closed standard output (``wsrun … | head -3``) costs what would have been printed, nothing else.

Python ignores SIGPIPE, so writing to a pipe nobody reads raises BrokenPipeError.
Once that happens, standard output goes to the null device and printing carries
on quietly: the run ends as it would have, and writes every output file.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

__all__ = ["guard_stdout"]


class _Guarded:
    """sys.stdout, but a closed pipe behind it turns writes into no-ops instead of errors."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._lost()

    def _lost(self) -> None:
        self._closed = True
        # What is still buffered, and Python's own flush at exit, go to the null device.
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Wrap sys.stdout once, for the whole process."""
    if sys.stdout is not None and not isinstance(sys.stdout, _Guarded):
        sys.stdout = _Guarded(sys.stdout)
