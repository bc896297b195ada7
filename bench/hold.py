"""N sessions held 10 s, each pinging every second, against the node `ws` echo server: ping p95, peak RSS, CPU.

    python bench/hold.py [SESSIONS] [--transport picows|websockets|k6 ...] [--hold-ms 10000]

One row per client: wsrun on each transport named (and k6 with ``k6``), run one after the other
against one echo server. Peak RSS is the client's process tree, sampled, and ru_maxrss; CPU is
user + sys from wait4. Timings depend on the machine: nothing here is a test.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
from pathlib import Path

from run import K6_HOLD, WSRUN_HOLD, ensure_tools, p95, run_k6, run_wsrun, start_echo_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sessions", type=int, nargs="?", default=10_000)
    parser.add_argument("--transport", action="append", choices=("picows", "websockets", "k6"))
    parser.add_argument("--hold-ms", type=int, default=10_000)
    args = parser.parse_args()
    # Every session is a socket, twice on this machine (the server's end too): inherited by both children.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.sessions + 1024)), hard))
    clients = args.transport or ["picows", "websockets"]
    k6 = ensure_tools() if "k6" in clients else None
    server, url = start_echo_server()
    folder = Path(tempfile.mkdtemp(prefix="wsrun-hold-"))
    try:
        for client in clients:
            if client == "k6":
                assert k6 is not None
                m = run_k6(k6, K6_HOLD.format(sessions=args.sessions, hold_ms=args.hold_ms), url, folder)
            else:
                scenario = WSRUN_HOLD.format(sessions=args.sessions, hold_ms=args.hold_ms)
                m = run_wsrun(scenario, url, folder, "--transport", client)
            print(
                f"{client:>10}: {args.sessions:,} sessions held {args.hold_ms / 1000:g}s: "
                f"ping p95 {p95(m, 'ws_ping'):,.1f} ms, connect p95 {p95(m, 'ws_connecting'):,.1f} ms, "
                f"peak RSS {m.rss_mb:,.0f} MB, CPU {m.cpu:.1f} s, wall {m.wall:.1f} s{'' if m.ok else ', FAILED'}",
                flush=True,
            )
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
