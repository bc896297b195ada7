"""Echo round trips, SESSIONS x MESSAGES: client CPU µs per message, wsrun on each transport against its bare loop.

    python bench/echo.py [SESSIONS] [MESSAGES]

CPU is user + sys from wait4, start-up included, as bench/run.py measures it. Nothing here is a test.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from run import PAYLOAD, TRANSPORTS, WSRUN_ECHO, ensure_tools, run_bare, run_wsrun, start_echo_server


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    ensure_tools()
    server, url = start_echo_server()
    folder = Path(tempfile.mkdtemp(prefix="wsrun-echo-"))
    total = sessions * messages
    try:
        scenario = WSRUN_ECHO.format(sessions=sessions, messages=messages, last=messages - 1, payload=PAYLOAD)
        for transport in TRANSPORTS:
            wsrun = run_wsrun(scenario, url, folder, "--transport", transport)
            bare = run_bare(transport, url, sessions, messages, folder)
            print(
                f"{transport:>10}: {sessions} x {messages:,}: wsrun {wsrun.cpu / total * 1e6:.1f} µs/msg, "
                f"bare {bare.cpu / total * 1e6:.1f} µs/msg, per CPU-second wsrun/bare {bare.cpu / wsrun.cpu:.2f}x",
                flush=True,
            )
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
