"""
The command line: the only module that prints, exits or calls asyncio.run.

Exit codes: 0 every check passed; 1 a check failed (or, in a scenario without
checks, the session ended in an error, or a worker process was lost); 2 invalid
scenario or usage; 99 a threshold failed; 128 + the signal's number when a signal
stopped the run: 130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP. In a suite the
worst of these wins (a signal, 99, 1).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import ScenarioError, UsageError, WsrunError
from .output.stdout import guard_stdout
from .run.signals import STOP_SIGNALS, Stopped, exit_for, signals_caught, signals_held
from .scenario.variables import check_declared, parse_vars

# Heavy modules (asyncio, pydantic, websockets, rich) are imported where they are used,
# so that `wsrun --version` and `--help` answer at once, and `wsrun validate` loads no event loop.
if TYPE_CHECKING:
    from rich.console import Console

    from .run.suite import Job
    from .session.results import RunResult

DEFAULT_CONCURRENCY = 64  # as suite.DEFAULT_CONCURRENCY, which imports what --help must not wait for
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_THRESHOLDS, EXIT_INTERRUPTED = 0, 1, 2, 99, 130
COMMANDS = ("run", "validate", "schema", "serve", "init")
COMMANDS_HELP = """commands:
  wsrun SCENARIO|FOLDER … [options]   run scenarios (wsrun run … is the same)
  wsrun validate SCENARIO|FOLDER …    check files without connecting
  wsrun init NAME                     write a commented starter scenario, NAME.yaml
  wsrun schema                        print the scenario format's JSON Schema
  wsrun serve [--port 8765]           run the embedded test server (wsrun serve --help)
"""
EXIT_CODES_HELP = """exit codes: 0 passed, 1 a check failed (or a worker was lost), 2 invalid scenario or usage,
  99 a threshold failed, 128 + the signal that stopped the run: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP
  (the report and every output file are still written)
"""

__all__ = ["main"]


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wsrun",
        description="Run declarative WebSocket scenarios and report their checks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=COMMANDS_HELP + "\n" + EXIT_CODES_HELP,
    )
    parser.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario files (YAML), or folders: every *.yaml and *.yml in them, recursively",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"scenarios running at once in a suite (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--transport",
        choices=("websockets", "picows"),
        help="the WebSocket library under every connection (over the scenarios' transport:);"
        " picows needs pip install 'wsrun[fast]'",
    )
    parser.add_argument("--junit", metavar="PATH", help="write JUnit XML: a test suite per file, a test case per check")
    parser.add_argument(
        "--report", metavar="PATH.html", help="write a self-contained HTML report with a timeline and latency plots"
    )
    parser.add_argument("--url", help="connect here instead of the scenario's url")
    parser.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="override a variable from vars: (repeatable)"
    )
    parser.add_argument("--summary-export", metavar="PATH", help="write a JSON summary in k6's --summary-export shape")
    parser.add_argument(
        "--serve", action="store_true", help="start the embedded test server and connect to it (keeps the URL's path)"
    )
    parser.add_argument("--vus", type=_positive_int, help="concurrent sessions (overrides the scenario's vus)")
    parser.add_argument("--iterations", type=_positive_int, help="sessions in all (overrides the scenario's)")
    parser.add_argument("--duration", type=_duration, help="keep starting sessions for this long, like 30s")
    parser.add_argument(
        "--workers", type=_positive_int, default=1, help="spread the sessions over this many processes (default 1)"
    )
    parser.add_argument(
        "--out", metavar="ndjson=PATH", type=_out, help="write every metric sample as a JSON line (k6's JSON output)"
    )
    parser.add_argument(
        "--summary-trend-stats",
        type=_trend_stats,
        metavar="STATS",
        help="trend statistics to show, comma-separated, like avg,p(99),max",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print no log lines and no metrics, only checks")
    parser.add_argument("--version", action="version", version=f"wsrun {__version__}")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def _duration(text: str) -> float:
    from .scenario.models import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be longer than 0s")
    return seconds


def _trend_stats(text: str) -> list[str]:
    from .scenario.metric_names import parse_trend_stat

    try:
        return [parse_trend_stat(part) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _out(text: str) -> str:
    kind, sep, path = text.partition("=")
    if kind != "ndjson" or not sep or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: write ndjson=PATH (the only output so far)")
    return path


def _check_writable(option: str, path: str) -> None:
    """Fail before running, not after, when an output file cannot be written."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        if not folder.is_dir():
            raise UsageError(f"{option} {path}: no such folder {str(folder)!r}")
        if target.exists() and not target.is_file():
            raise UsageError(f"{option} {path}: not a regular file")
        if not os.access(target if target.exists() else folder, os.W_OK):
            raise UsageError(f"{option} {path}: cannot write there")
        existed = target.exists()
        with open(target, "a", encoding="utf-8"):  # the name itself may be too long, say
            pass
        if not existed:  # a run that stops before writing must not leave an empty file behind
            target.unlink()
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}") from None


def _load_all(paths: Sequence[str], overrides: dict[str, str]) -> list[Job]:
    """Load every file (schema files found in folders left out), reporting the problems of all of them at once."""
    from .run.suite import Job
    from .scenario.loader import load_suite

    jobs: list[Job] = []
    problems = []
    for loaded in load_suite(paths).scenarios:
        problems.extend(loaded.problems)
        if (scenario := loaded.scenario) is not None:
            jobs.append(Job(scenario, loaded.file, {k: v for k, v in overrides.items() if k in scenario.vars}))
    if problems:
        raise ScenarioError(problems)
    check_declared(overrides, {name for job in jobs for name in job.scenario.vars})
    return jobs


def _shown(message: str) -> str:
    """An error message for the terminal: what it quotes from a file (a key, a value) may hold control
    characters, which are made visible line by line, never sent raw."""
    from .output.text import printable

    return "\n".join(printable(line) for line in message.split("\n"))


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def run(argv: Sequence[str]) -> int:
    from .output.console import Reporter
    from .run import aio
    from .run.suite import Options, run_jobs
    from .scenario.metric_names import DEFAULT_TREND_STATS

    args = _run_parser().parse_args(argv)
    err = _stderr()
    try:
        if args.serve and args.url:
            raise UsageError("--serve and --url both say where to connect; give one")
        for option, path in (
            ("--summary-export", args.summary_export),
            ("--out", args.out),
            ("--junit", args.junit),
            ("--report", args.report),
        ):
            if path:
                _check_writable(option, path)
        jobs = _load_all(args.scenarios, parse_vars(args.var))
        stats = args.summary_trend_stats or next(
            (job.scenario.summary_trend_stats for job in jobs if job.scenario.summary_trend_stats), DEFAULT_TREND_STATS
        )
        reporter = Reporter(quiet=args.quiet, trend_stats=stats, suite=len(jobs) > 1)
        options = Options(
            args.url,
            args.serve,
            args.vus,
            args.iterations,
            args.duration,
            args.workers,
            args.quiet,
            args.out,
            concurrency=args.concurrency,
            report=bool(args.report),
            transport=args.transport,
        )
        started = time.perf_counter()
        results, stopped_by = aio.run(
            run_jobs(
                jobs,
                options,
                on_log=reporter.log,
                on_start=reporter.progress,
                on_result=reporter.run,
                on_hard_stop=reporter.hard_stop,
            )
        )
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(_shown(str(problem)), markup=False)
        return EXIT_USAGE
    except WsrunError as exc:
        err.print(_shown(f"wsrun: {exc}"), markup=False)
        return EXIT_USAGE
    duration = time.perf_counter() - started
    with signals_held() as held:
        if stopped_by is not None and stopped_by != signal.SIGINT:
            err.print(
                f"wsrun: stopped by {stopped_by.name}, as by Ctrl-C: the report covers the run so far", markup=False
            )
        reporter.totals(results, skipped=len(jobs) - len(results))
        status = _write_outputs(args, results, duration, err)
    if status is not None:
        return status
    return exit_code(results, stopped_by or held.signum)


def _write_outputs(args: argparse.Namespace, results: list[RunResult], duration: float, err: Console) -> int | None:
    """The files asked for: --summary-export, --junit, --report. EXIT_USAGE if one cannot be written."""
    outputs: list[tuple[str, str, Callable[[], str]]] = []
    if args.summary_export:
        from .output.summary import k6_summary

        outputs.append(
            (
                "--summary-export",
                args.summary_export,
                lambda: json.dumps(k6_summary(results, duration), indent=2) + "\n",
            )
        )
    if args.junit:
        from .output.junit import junit_xml

        outputs.append(("--junit", args.junit, lambda: junit_xml(results, duration=duration)))
    if args.report:
        from .output.html import render_html

        outputs.append(("--report", args.report, lambda: render_html(results, duration=duration)))
    status = None
    for option, path, text in outputs:
        try:
            Path(path).write_text(text(), encoding="utf-8")
        except OSError as exc:
            err.print(f"wsrun: {option} {path}: {exc.strerror}", markup=False)
            status = EXIT_USAGE
    return status


def exit_code(results: Sequence[RunResult], stopped_by: int | None = None) -> int:
    """128 + the signal that stopped the run (130 Ctrl-C, 143 SIGTERM); 99 when a threshold failed (as k6);
    1 when a check failed or a worker was lost; else 0."""
    if stopped_by:
        return exit_for(stopped_by)
    if not all(result.thresholds_passed for result in results):
        return EXIT_THRESHOLDS
    return EXIT_OK if all(result.checks_passed for result in results) else EXIT_FAILED


def validate(argv: Sequence[str]) -> int:
    from .scenario.loader import load_suite

    parser = argparse.ArgumentParser(prog="wsrun validate", description="Check scenario files without connecting.")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files, or folders of them")
    args = parser.parse_args(argv)
    status = EXIT_OK
    try:
        suite = load_suite(args.scenarios)
    except UsageError as exc:
        print(f"wsrun validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for loaded in suite.scenarios:
        for problem in loaded.problems:
            print(_shown(str(problem)), file=sys.stderr)
            status = EXIT_USAGE
        if (scenario := loaded.scenario) is not None:
            print(f"{loaded.file}: valid ({len(scenario.rules)} rules, {len(scenario.checks)} checks)")
    return status


def schema(argv: Sequence[str]) -> int:
    from .scenario.models import json_schema

    argparse.ArgumentParser(prog="wsrun schema", description="Print the scenario format's JSON Schema.").parse_args(
        argv
    )
    # ASCII (non-ASCII text as \u escapes), so that any locale prints it, and schema.json stays plain.
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def init(argv: Sequence[str]) -> int:
    from .scenario.starter import write_starter

    parser = argparse.ArgumentParser(
        prog="wsrun init", description="Write a commented starter scenario, NAME.yaml, that passes with --serve."
    )
    parser.add_argument("name", metavar="NAME", help="the file to write (.yaml is added when missing)")
    args = parser.parse_args(argv)
    try:
        path = write_starter(args.name)
    except UsageError as exc:
        print(f"wsrun init: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {path}; run it with: wsrun {shlex.quote(str(path))} --serve")
    if path.name.startswith("."):
        print(f"note: {path.name} starts with a dot, so running its folder (wsrun FOLDER) skips it")
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
    import asyncio

    from .scenario.models import parse_duration
    from .server import PING_EVERY, running, url_of

    default_every = f"{PING_EVERY * 1000:.0f}ms"
    parser = argparse.ArgumentParser(
        prog="wsrun serve",
        description="Run the embedded test server until Ctrl-C (or SIGTERM): the one --serve starts, pinging each client"
        f" every {default_every}. The path chooses what it does: see the README, 'The embedded test server'.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)"
    )
    parser.add_argument(
        "--port", type=_port, default=8765, help="the port to listen on (default 8765; 0 picks a free one)"
    )
    parser.add_argument(
        "--ping-every",
        metavar="DURATION",
        default=default_every,
        help=f"ping each client at this interval (default {default_every}, as --serve); off to never ping",
    )
    args = parser.parse_args(argv)
    try:
        every = None if args.ping_every in ("off", "0") else parse_duration(args.ping_every)
    except ValueError as exc:
        print(f"wsrun serve: --ping-every: {exc}", file=sys.stderr)
        return EXIT_USAGE

    async def forever() -> None:
        # A stop signal ends the wait in the loop: raised from a signal handler instead, it could land inside a
        # connection's callback, where asyncio reports it as that connection's error and the server runs on.
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            async with running(args.host, args.port, every) as server:
                print(f"wsrun test server on {url_of(server)} (Ctrl-C stops it)", flush=True)
                await stop.wait()
        except OSError as exc:
            print(f"wsrun serve: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None

    try:
        asyncio.run(forever())
    except (KeyboardInterrupt, Stopped):  # Ctrl-C, SIGTERM (docker stop), SIGHUP: the server's normal end
        return EXIT_OK
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wsrun`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # what wsrun can do, rather than "the following arguments are required"
        print("usage: wsrun SCENARIO|FOLDER … [options]   (wsrun --help for the options)\n", file=sys.stderr)
        print(COMMANDS_HELP, end="", file=sys.stderr)
        return EXIT_USAGE
    if argv == ["--version"]:  # answered before anything heavy is imported
        print(f"wsrun {__version__}")
        return EXIT_OK
    command = argv[0] if argv and argv[0] in COMMANDS else "run"
    if argv and argv[0] in COMMANDS:
        argv = argv[1:]
    try:
        with signals_caught():
            return {"run": run, "validate": validate, "schema": schema, "serve": serve, "init": init}[command](argv)
    except Stopped as exc:  # SIGTERM or SIGHUP before a run started
        print(f"wsrun: stopped by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return exit_for(exc.signum)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C before a run started (while loading, say)
        print("wsrun: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # the output itself cannot be written (a full disk, /dev/full)
        print(f"wsrun: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def entry() -> None:
    """The console script: ``main()``, then exit without waiting for threads that cannot end.

    A DNS lookup that never answers holds a thread of the resolver; the run's
    deadline already ended the session and the report is out, so the process
    does not wait for that thread (Python cannot cancel it).
    """
    # `wsrun … | head` still writes every output file: a closed stdout only stops the printing.
    guard_stdout()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if threading.active_count() > 1:
        os._exit(code)
    sys.exit(code)
