"""wsrun's own CPU per message on the echo workload, in-process, with a cProfile of it.

Usage: python bench/profile_echo.py [--transport picows|websockets] [--sessions 10] [--seconds 8]
                                    [--profile] [--top 20]

Starts a node ``ws`` echo server (bench/echo-server.js; ``npm install ws`` into bench/.node as
bench/run.py does), then runs ``wsrun`` (its ``main``, in this process, on uvloop as the command
line does) on the simplest scenario there is: ``on: message -> send``, closing after the given
seconds. Prints this process's CPU (user + sys, start-up excluded) per message received; with
--profile, a cProfile's top lines by own time (the profile slows the run: its µs are not the figure).
Nothing here is a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"

SCENARIO = """
url: ws://unused
vus: {sessions}
iterations: {sessions}
compression: false
timeout: 1m
rules:
  - {{on: open, do: [{{send: "{payload}"}}]}}
  - {{on: message, do: [{{send: "{payload}"}}]}}
  - {{after: {seconds}s, do: [close]}}
"""


def start_echo_server() -> tuple[subprocess.Popen[str], str]:
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        NODE_DIR.mkdir(exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(NODE_DIR), "ws@8"], check=True)
    env = {**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")}
    server = subprocess.Popen(["node", str(HERE / "echo-server.js"), "0"], stdout=subprocess.PIPE, text=True, env=env)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("listening"):
        server.kill()
        raise SystemExit(f"the echo server did not start: {line!r}")
    return server, f"ws://127.0.0.1:{line.split()[1]}"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", default="picows", choices=["picows", "websockets"])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    import wsrun.transport.picows_connection
    import wsrun.transport.websockets_connection  # noqa: F401
    from wsrun.cli import main as run_wsrun  # imported before the clock starts: start-up is not the figure

    server, url = start_echo_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path, summary = Path(folder) / "echo.yaml", Path(folder) / "summary.json"
            path.write_text(SCENARIO.format(sessions=args.sessions, seconds=args.seconds, payload="x" * 32))
            argv = [str(path), "--url", url, "-q", "--summary-export", str(summary), "--transport", args.transport]
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
