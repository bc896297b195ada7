"""
wsrun's exceptions, translated once at the boundary where they arise::

    WsrunError
    ├── ScenarioError      the scenario file is missing, unreadable or invalid
    ├── UsageError         the command line asks for something impossible
    ├── ConnectFailed      the WebSocket connection could not be opened
    ├── Disconnected       an action needed the connection, and it is closed
    └── TemplateError      a template names a value that is not set

"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConnectFailed", "Disconnected", "Problem", "ScenarioError", "TemplateError", "UsageError", "WsrunError"]


class WsrunError(Exception):
    """Base class of every error wsrun reports to its user."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, located for the person fixing it."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        at = f" {self.path}:" if self.path else ""
        return f"{where}:{at} {self.message}"


class ScenarioError(WsrunError):
    """The scenario file is missing, unreadable or invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UsageError(WsrunError):
    """The command line asks for something wsrun cannot do."""


class ConnectFailed(WsrunError):
    """The connection or its opening handshake failed.

    ``status``, ``headers`` and ``body`` are set when the server answered with HTTP.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body = body


class Disconnected(WsrunError):
    """An action needed the connection, and it is closed."""


class TemplateError(WsrunError):
    """A template names a value that is not set at the moment it is rendered."""
