"""Helpers for the tests: custom servers on 127.0.0.1 (port 0) and running scenarios."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from wsrun.scenario.loader import load_text
from wsrun.session.plan import prepare
from wsrun.session.results import LogLine, SessionResult
from wsrun.session.session import Session
from wsrun.transport.base import TransportName

#: Every timeout in the tests is a multiple of this; raise WSRUN_TEST_UNIT on a slow machine.
UNIT = float(os.environ.get("WSRUN_TEST_UNIT", "1"))

#: The transport that run_yaml connects with; the `transport` fixture (conftest.py) runs a test on each.
TRANSPORT: TransportName = "websockets"


@contextlib.asynccontextmanager
async def serving(handler: Callable[[ServerConnection], Awaitable[None]], **kwargs: Any) -> AsyncIterator[str]:
    """A websockets server with a custom handler; yields its ws:// URL."""
    async with serve(handler, "127.0.0.1", 0, ping_interval=None, **kwargs) as server:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        yield f"ws://{host}:{port}"


class Run:
    """What a scenario run gave: the result and the log lines as they were printed."""

    def __init__(self, result: SessionResult, lines: list[LogLine]) -> None:
        self.result = result
        self.lines = lines

    @property
    def logs(self) -> list[str]:
        return [line.text for line in self.lines if line.kind == "log"]

    @property
    def errors(self) -> list[str]:
        return [line.text for line in self.result.errors]

    def check(self, name: str) -> tuple[int, int, str]:
        tally = self.result.checks[name]
        return tally.passes, tally.fails, tally.reason


async def run_yaml(text: str, url: str | None = None, file: str = "scenario.yaml", **prepare_args: Any) -> Run:
    """Validate a scenario given as YAML text and run one session of it."""
    scenario = load_text(textwrap.dedent(text), file)
    prepare_args.setdefault("transport", TRANSPORT)
    plan = prepare(scenario, file=file, url=url, **prepare_args)
    lines: list[LogLine] = []
    result = await Session(plan, lines.append).run()
    return Run(result, lines)


def interrupt(
    command: list[str], *, after: str, then_again_after: str | None = None, timeout: float = 10 * UNIT
) -> tuple[int, str, str, float]:
    """Run a command, press Ctrl-C once a line containing ``after`` is printed (and again after
    ``then_again_after``); returns the exit code, the rest of stdout, stderr, and the seconds
    from the first Ctrl-C to the end."""
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stdout is not None
            assert after in process.stdout.readline()  # blocks until the run is under way
            sent = time.monotonic()
            process.send_signal(signal.SIGINT)
            if then_again_after is not None:
                assert then_again_after in process.stdout.readline()
                process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=timeout)
            return process.returncode, out, err, time.monotonic() - sent
        finally:
            process.kill()


def report(result: SessionResult) -> str:
    """The console report of one session, as plain text."""
    from rich.console import Console

    from wsrun.output.console import Reporter
    from wsrun.session.results import RunResult

    out = io.StringIO()
    Reporter(Console(file=out, width=200, highlight=False, color_system=None)).run(RunResult.of(result))
    return out.getvalue()
