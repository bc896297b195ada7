"""wsrun's own CPU per message on the echo workload, in-process, with a cProfile of it.

Usage: python bench/profile_echo.py [--transport picows|websockets|memory] [--sessions 10] [--seconds 8]
                                    [--messages N]
                                    [--profile] [--top 20]

Starts a node ``ws`` echo server (bench/echo-server.js; ``npm install ws`` into bench/.node as
bench/run.py does), then runs ``wsrun`` (its ``main``, in this process, on uvloop as the command
line does) on the simplest scenario there is: ``on: message -> send``, closing after the given
seconds. Prints this process's CPU (user + sys, start-up excluded) per message received; with
--profile, a cProfile's top lines by own time (the profile slows the run: its µs are not the figure).
``--transport memory`` replaces the connection by an in-memory echo (no socket, no server): what is
left is wsrun's own work per message, the interpreter alone, free of the transport and of the load
the echo server puts on a shared machine.
Nothing here is a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import measure
from measure import NODE_DIR
from run import WSRUN_ECHO, WSRUN_ECHO_TIMED

#: The echo scenario of bench/run.py: send, wait for the echo, send the next, for a time; with --messages N,
#: N round trips a session, with two conditions a message.
SCENARIO, COUNTED = WSRUN_ECHO_TIMED, WSRUN_ECHO


def start_echo_server() -> tuple[subprocess.Popen[str], str]:
    """bench/measure.py's node `ws` echo server, its npm package installed first if need be."""
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        NODE_DIR.mkdir(exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(NODE_DIR), "ws@8"], check=True)
    return measure.start_echo_server()


class MemoryEcho:
    """A connection that echoes each message at once, in memory: the interpreter's cost alone."""

    connecting, status, headers, subprotocol = 0.0, 101, {}, None

    def __init__(self) -> None:
        from collections import deque

        self.events: deque[object] = deque()
        self.closed = False
        self.bytes_sent = self.bytes_received = 0

    async def next_event_before(self, due: float | None) -> object:
        import asyncio

        from wsrun.transport.events import Closed

        if self.events:
            return self.events.popleft()
        if self.closed:
            return Closed(1000, "", "client", None)
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0 if due is None else max(0.0, due - loop.time()))
        return None

    async def next_event(self) -> object:
        return await self.next_event_before(None)

    async def send(self, data: str | bytes) -> None:
        from wsrun.transport.events import Message

        self.bytes_sent += len(data)
        self.bytes_received += len(data)
        self.events.append(Message(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = True
        self.events.clear()

    def oldest_unanswered_ping(self) -> float | None:
        return None

    async def abort(self) -> None:
        self.closed = True


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", default="picows", choices=["picows", "websockets", "memory"])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--messages", type=int, help="bench/run.py's scenario: this many messages a session")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    import wsrun.transport.picows_connection
    import wsrun.transport.websockets_connection
    from wsrun.cli import main as run_wsrun  # imported before the clock starts: start-up is not the figure

    if args.transport == "memory":
        import wsrun.session.session

        async def open_memory(options: object) -> MemoryEcho:
            return MemoryEcho()

        wsrun.session.session.open_connection = open_memory  # type: ignore[assignment]
    server, url = start_echo_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path, summary = Path(folder) / "echo.yaml", Path(folder) / "summary.json"
            if args.messages:
                scenario = COUNTED.format(
                    sessions=args.sessions, messages=args.messages, last=args.messages - 1, payload="x" * 32
                )
            else:
                scenario = SCENARIO.format(sessions=args.sessions, ms=round(args.seconds * 1000), payload="x" * 32)
            path.write_text(scenario)
            argv = [
                str(path),
                "--url",
                url,
                "-q",
                "--summary-export",
                str(summary),
                "--transport",
                "websockets" if args.transport == "memory" else args.transport,
            ]
            profile = cProfile.Profile() if args.profile else None
            before = cpu()
            if profile is not None:
                profile.enable()
            code = run_wsrun(argv)
            if profile is not None:
                profile.disable()
            spent = cpu() - before
            metrics = json.loads(summary.read_text())["metrics"]
    finally:
        server.kill()
    messages = metrics["ws_msgs_received"]["count"]
    print(
        f"{args.transport}: {messages:,.0f} messages, {spent:.2f} CPU s, "
        f"{spent / messages * 1e6:.1f} CPU µs per message, exit {code}" + (" (profiled)" if profile is not None else "")
    )
    if profile is not None:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
