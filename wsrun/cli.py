"""
The command line: the only module that prints, exits or calls asyncio.run.

Exit codes: 0 every check passed; 1 a check failed (or, in a scenario without
checks, the session ended in an error); 2 invalid scenario or usage; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from . import __version__
from .errors import ScenarioError, UsageError, WsrunError

# Heavy modules (pydantic, websockets, rich) are imported where they are used,
# so that `wsrun --version` and `--help` answer at once.
if TYPE_CHECKING:
    from rich.console import Console

    from .model import Scenario
    from .report import Reporter
    from .results import SessionResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
COMMANDS = ("run", "validate", "schema", "serve")

__all__ = ["main"]


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wsrun",
        description="Run declarative WebSocket scenarios and report their checks.",
        epilog="Other commands: wsrun validate SCENARIO…, wsrun schema, wsrun serve. "
        "Exit codes: 0 passed, 1 a check failed, 2 invalid scenario or usage, 130 interrupted.",
    )
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files (YAML)")
    parser.add_argument("--url", help="connect here instead of the scenario's url")
    parser.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="override a variable from vars: (repeatable)"
    )
    parser.add_argument("--summary-export", metavar="PATH", help="write a JSON summary in k6's --summary-export shape")
    parser.add_argument(
        "--serve", action="store_true", help="start the embedded test server and connect to it (keeps the URL's path)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print no log lines and no metrics, only checks")
    parser.add_argument("--version", action="version", version=f"wsrun {__version__}")
    return parser


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--var {pair!r}: write NAME=VALUE")
        variables[name] = value
    return variables


def _serve_url(url: str, served: str) -> str:
    """The scenario's URL moved onto the embedded server: same path and query."""
    parts, target = urlsplit(url), urlsplit(served)
    return urlunsplit(("ws", target.netloc, parts.path, parts.query, ""))


@dataclass(frozen=True)
class _Job:
    scenario: Scenario
    file: str
    overrides: dict[str, str]


@contextlib.asynccontextmanager
async def _maybe_server(serve: bool) -> AsyncIterator[str | None]:
    """The embedded server's URL while the block runs, if asked for."""
    if not serve:
        yield None
        return
    from .server import running, url_of

    async with running(ping_every=0.5) as server:
        yield url_of(server)


async def _run_jobs(
    jobs: list[_Job], url: str | None, serve: bool, reporter: Reporter
) -> tuple[list[SessionResult], bool]:
    """Run the scenarios one after the other; Ctrl-C ends the current one and skips the rest.

    Every scenario is prepared before the first one runs, so that a missing
    environment variable or CA file stops everything before any connection.
    """
    from .engine import Session
    from .plan import prepare

    current: Session | None = None
    interrupted = False
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_sigint() -> None:
        nonlocal interrupted
        if interrupted and main is not None:  # a second Ctrl-C: stop waiting for anything
            main.cancel()
            return
        interrupted = True
        if current is not None:
            current.stop()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    results: list[SessionResult] = []
    try:
        async with _maybe_server(serve) as served:
            relocate = None if served is None else (lambda target: _serve_url(target, served))
            plans = [
                prepare(
                    job.scenario, file=job.file, url=url, overrides=job.overrides, env=os.environ, relocate=relocate
                )
                for job in jobs
            ]
            for plan in plans:
                if interrupted:
                    break
                current = Session(plan, reporter.log)
                result = await current.run()
                results.append(result)
                reporter.session(result)
    except asyncio.CancelledError:  # the second Ctrl-C: what ran is reported, the rest is dropped
        reporter.console.print("stopped at once (second Ctrl-C): the running scenario has no report")
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return results, interrupted


def _check_writable(path: str) -> None:
    """Fail before running, not after, when an output file cannot be written."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--summary-export {path}: no such folder {str(folder)!r}")
    if target.is_dir() or not os.access(target if target.exists() else folder, os.W_OK):
        raise UsageError(f"--summary-export {path}: cannot write there")


def _load_all(files: Sequence[str], overrides: dict[str, str]) -> list[_Job]:
    """Load every file, reporting the problems of all of them at once."""
    from .loader import load

    jobs: list[_Job] = []
    problems = []
    for file in files:
        try:
            scenario = load(file)
        except ScenarioError as exc:
            problems.extend(exc.problems)
        else:
            jobs.append(_Job(scenario, file, {k: v for k, v in overrides.items() if k in scenario.vars}))
    if problems:
        raise ScenarioError(problems)
    declared = {name for job in jobs for name in job.scenario.vars}
    unknown = set(overrides) - declared
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UsageError(f"--var {', '.join(sorted(unknown))}: not a variable of the scenario (its vars: {known})")
    return jobs


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def run(argv: Sequence[str]) -> int:
    from .report import Reporter
    from .summary import k6_summary

    args = _run_parser().parse_args(argv)
    reporter = Reporter(quiet=args.quiet)
    err = _stderr()
    try:
        if args.serve and args.url:
            raise UsageError("--serve and --url both say where to connect; give one")
        if args.summary_export:
            _check_writable(args.summary_export)
        jobs = _load_all(args.scenarios, _parse_vars(args.var))
        started = time.perf_counter()
        results, interrupted = asyncio.run(_run_jobs(jobs, args.url, args.serve, reporter))
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        return EXIT_USAGE
    except WsrunError as exc:
        err.print(f"wsrun: {exc}", markup=False)
        return EXIT_USAGE
    reporter.totals(results)
    if args.summary_export:
        summary = k6_summary(results, time.perf_counter() - started)
        try:
            Path(args.summary_export).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            err.print(f"wsrun: --summary-export {args.summary_export}: {exc.strerror}", markup=False)
            return EXIT_USAGE
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if all(result.passed for result in results) else EXIT_FAILED


def validate(argv: Sequence[str]) -> int:
    from .loader import load

    parser = argparse.ArgumentParser(prog="wsrun validate", description="Check scenario files without connecting.")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    args = parser.parse_args(argv)
    status = EXIT_OK
    for file in args.scenarios:
        try:
            scenario = load(file)
        except ScenarioError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            status = EXIT_USAGE
        else:
            print(f"{file}: valid ({len(scenario.rules)} rules, {len(scenario.checks)} checks)")
    return status


def schema(argv: Sequence[str]) -> int:
    from .model import json_schema

    argparse.ArgumentParser(prog="wsrun schema", description="Print the scenario format's JSON Schema.").parse_args(
        argv
    )
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def serve(argv: Sequence[str]) -> int:
    from .model import parse_duration
    from .server import running, url_of

    parser = argparse.ArgumentParser(prog="wsrun serve", description="Run the embedded test server until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=8765, help="0 picks a free port")
    parser.add_argument("--ping-every", metavar="DURATION", help="ping each client at this interval, like 500ms")
    args = parser.parse_args(argv)
    try:
        every = parse_duration(args.ping_every) if args.ping_every else None
    except ValueError as exc:
        print(f"wsrun serve: --ping-every: {exc}", file=sys.stderr)
        return EXIT_USAGE

    async def forever() -> None:
        try:
            async with running(args.host, args.port, every) as server:
                print(f"wsrun test server on {url_of(server)} (Ctrl-C stops it)", flush=True)
                await asyncio.Event().wait()
        except OSError as exc:
            print(f"wsrun serve: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None

    try:
        asyncio.run(forever())
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wsrun`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # answered before anything heavy is imported
        print(f"wsrun {__version__}")
        return EXIT_OK
    command = argv[0] if argv and argv[0] in COMMANDS else "run"
    if argv and argv[0] in COMMANDS:
        argv = argv[1:]
    try:
        return {"run": run, "validate": validate, "schema": schema, "serve": serve}[command](argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C before a run started (while loading, say)
        print("wsrun: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
