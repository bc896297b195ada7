"""
wsrun against k6 and against the bare client loops, on the same machine and the same echo server,
judged against issue 15's goals.

    python bench/run.py                 # echo, hold and start-up (about 3 minutes)
    python bench/run.py --quick         # smaller workloads, for a first look (about 1 minute)
    python bench/run.py --runs 3        # three runs, then each goal's figures and how often it was met
    python bench/run.py --only echo     # one part: echo, hold, startup, or most (the slow search)

It installs what it needs beside itself (bench/measure.py), starts a node `ws` echo server
that is not wsrun's own, and runs, with uvloop installed for every Python client:

1. echo: 10 sessions x 8 s (send, wait for the echo, send the next), for k6, wsrun on each
   transport (--transport picows, --transport websockets) and the bare client loops of picows
   and websockets (bench/bare_*.py, the floors). CPU time is the primary figure: user + sys of the
   client process and its children, start-up included, per message received and as messages
   per CPU-second. The wall-clock rate (messages over the sessions' 8 s) stands beside it.
2. hold: 10,000 sessions held 10 s, each pinging every second, for k6 and wsrun on each
   transport: sessions held, ping p95, connect p95, peak memory of the process tree, CPU.
3. startup: `wsrun validate` on one scenario, and the first connection of `wsrun FILE` (the
   moment its upgrade request reaches a listening socket), both from the process's start;
   the median of several runs. bench/startup.py, when there is one, runs after it (in the first run).
4. most (only when asked): the most sessions held with ping p95 under 100 ms.

Then each goal of issue 15 with its figure and pass or miss. Nothing here is a test: timings
depend on the machine, so the load average is printed beside the figures. The wsrun measured is
the one the caller's PYTHONPATH names (the versions line says where it was imported from).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from measure import (
    CLIENT_CWD,
    HERE,
    Measure,
    client_env,
    compile_wsrun,
    ensure_tools,
    measure,
    start_echo_server,
    versions,
)

__all__ = ["ensure_tools", "start_echo_server"]  # bench/suite.py uses them

# -- the workloads, written once for each tool ----------------------------------------------------

PAYLOAD = "x" * 32

K6_ECHO_TIMED = """
import ws from 'k6/ws';
export const options = {{ vus: {sessions}, iterations: {sessions}, summaryTrendStats: ['avg', 'p(95)', 'max'] }};
export default function () {{
  ws.connect(__ENV.URL, {{}}, function (socket) {{
    socket.on('open', () => {{
      socket.send('{payload}');
      socket.setTimeout(() => socket.close(), {ms});
    }});
    socket.on('message', () => socket.send('{payload}'));
  }});
}}
"""

WSRUN_ECHO_TIMED = """
url: ws://unused
vus: {sessions}
iterations: {sessions}
compression: false
timeout: 10m
rules:
  - {{on: open, do: [{{send: "{payload}"}}]}}
  - {{on: message, do: [{{send: "{payload}"}}]}}
  - {{after: {ms}ms, do: [close]}}
"""

# The echo of an earlier bench/run.py, MESSAGES round trips a session (for other bench/ scripts).
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
export const options = {{ vus: {sessions}, iterations: {sessions}, summaryTrendStats: ['avg', 'min', 'p(95)', 'max'] }};
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

STARTUP = """
url: {url}
rules:
  - {{on: open, do: [close]}}
"""

TRANSPORTS = ("picows", "websockets")


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


def run_bare(library: str, url: str, sessions: int, messages: int | str, folder: Path) -> Measure:
    """The bare client loop of a library (bare_picows.py, bare_websockets.py): the floor under wsrun.
    MESSAGES round trips a session, or for as long as a duration with an s says ("8s")."""
    out = folder / "bare.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / f"bare_{library}.py"), url, str(sessions), str(messages), str(out)]
    return measure(command, out)


def metric(m: Measure, name: str, stat: str) -> float:
    return float(m.summary.get("metrics", {}).get(name, {}).get(stat, float("nan")))


def p95(m: Measure, name: str) -> float:
    return metric(m, name, "p(95)")


# -- the parts --------------------------------------------------------------------------------------


@dataclass
class Echo:
    """One client's echo figures."""

    messages: float
    seconds: float  # the workload's own time: the longest session, or the bare loop's clock
    measure: Measure

    @property
    def us_per_message(self) -> float:
        return self.measure.cpu * 1e6 / self.messages if self.messages else float("nan")

    @property
    def per_cpu_second(self) -> float:
        return self.messages / self.measure.cpu if self.measure.cpu else float("nan")

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else float("nan")


def echo(k6: str, url: str, folder: Path, sessions: int, seconds: float) -> dict[str, Echo]:
    ms = round(seconds * 1000)
    out: dict[str, Echo] = {}
    m = run_k6(k6, K6_ECHO_TIMED.format(sessions=sessions, ms=ms, payload=PAYLOAD), url, folder)
    out["k6"] = Echo(metric(m, "ws_msgs_received", "count"), metric(m, "ws_session_duration", "max") / 1000, m)
    scenario = WSRUN_ECHO_TIMED.format(sessions=sessions, ms=ms, payload=PAYLOAD)
    for transport in TRANSPORTS:
        m = run_wsrun(scenario, url, folder, "--transport", transport)
        out[f"wsrun {transport}"] = Echo(
            metric(m, "ws_msgs_received", "count"), metric(m, "ws_session_duration", "max") / 1000, m
        )
    for library in TRANSPORTS:
        m = run_bare(library, url, sessions, f"{seconds:g}s", folder)
        out[f"bare {library}"] = Echo(float(m.summary.get("messages", 0)), float(m.summary.get("seconds", 0)), m)
    print(f"\necho, {sessions} sessions x {seconds:g} s; CPU = user + sys of the client, start-up included")
    print(
        f"  {'client':<18} {'messages':>10} {'CPU s':>7} {'CPU µs/msg':>11} {'msg/CPU-s':>10} "
        f"{'msg/s (wall)':>13} {'peak MB':>8}"
    )
    for name, e in out.items():
        failed = "" if e.measure.ok and e.messages else f"  FAILED {e.measure.error[-200:]!r}"
        print(
            f"  {name:<18} {e.messages:>10,.0f} {e.measure.cpu:>7.2f} {e.us_per_message:>11.1f} "
            f"{e.per_cpu_second:>10,.0f} {e.per_second:>13,.0f} {e.measure.rss_mb:>8.0f}{failed}",
            flush=True,
        )
    return out


@dataclass
class Hold:
    """One client's figures for sessions held."""

    sessions: float
    ping_p95: float
    connect_p95: float
    connect_spread: float  # seconds between the quickest connect and the slowest
    measure: Measure

    def held(self, wanted: int, seconds: float) -> bool:
        """All WANTED sessions ran, and all at once: the slowest connected before the quickest closed."""
        return self.measure.ok and self.sessions == wanted and self.connect_spread < seconds


def hold(k6: str, url: str, folder: Path, sessions: int, seconds: float) -> dict[str, Hold]:
    ms = round(seconds * 1000)
    measures = {"k6": run_k6(k6, K6_HOLD.format(sessions=sessions, hold_ms=ms), url, folder)}
    for transport in TRANSPORTS:
        scenario = WSRUN_HOLD.format(sessions=sessions, hold_ms=ms)
        measures[f"wsrun {transport}"] = run_wsrun(scenario, url, folder, "--transport", transport)
    out = {
        name: Hold(
            metric(m, "ws_sessions", "count"),
            metric(m, "ws_ping", "p(95)"),
            metric(m, "ws_connecting", "p(95)"),
            (metric(m, "ws_connecting", "max") - metric(m, "ws_connecting", "min")) / 1000,
            m,
        )
        for name, m in measures.items()
    }
    print(f"\nhold, {sessions:,} sessions x {seconds:g} s, each pinging every second")
    print(
        f"  {'client':<18} {'sessions':>8} {'at once':>7} {'ping p95 ms':>12} {'connect p95 ms':>15} {'peak MB':>8} "
        f"{'CPU s':>7} {'wall s':>7}"
    )
    for name, h in out.items():
        failed = "" if h.measure.ok else f"  FAILED {h.measure.error[-200:]!r}"
        print(
            f"  {name:<18} {h.sessions:>8,.0f} {'yes' if h.held(sessions, seconds) else 'NO':>7} "
            f"{h.ping_p95:>12,.1f} {h.connect_p95:>15,.0f} {h.measure.rss_mb:>8,.0f} "
            f"{h.measure.cpu:>7.1f} {h.measure.wall:>7.1f}{failed}",
            flush=True,
        )
    return out


def wsrun_command() -> list[str]:
    """`wsrun` as a user runs it: the environment's console script (python -m wsrun where there is none)."""
    script = Path(sys.executable).parent / "wsrun"
    return [sys.executable, str(script)] if script.exists() else [sys.executable, "-m", "wsrun"]


def first_request(command: list[str], timeout: float = 10) -> float:
    """Seconds from starting the command to its upgrade request's end reaching a listening socket (the
    socket then refuses with a 503, and the process is ended)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(timeout)
    port = listener.getsockname()[1]
    arrived: list[float] = []

    def accept() -> None:
        try:
            connection, _ = listener.accept()
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                arrived.append(time.perf_counter())
                connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            return

    thread = threading.Thread(target=accept)
    thread.start()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--url", f"ws://127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=client_env(),
        cwd=CLIENT_CWD,
    )
    thread.join()
    listener.close()
    process.kill()
    process.wait()
    return arrived[0] - started if arrived else float("nan")


def startup(folder: Path, repeat: int, detail: bool) -> dict[str, float]:
    """Medians over REPEAT runs, in ms: `wsrun validate FILE`, and the first connection of `wsrun FILE` on each
    transport. DETAIL: bench/startup.py after them, when there is one."""
    path = folder / "startup.yaml"
    path.write_text(STARTUP.format(url="ws://127.0.0.1:9"))
    wsrun = wsrun_command()
    validate: list[float] = []
    first: dict[str, list[float]] = {transport: [] for transport in TRANSPORTS}
    env = client_env()
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(
            [*wsrun, "validate", str(path)], capture_output=True, env=env, cwd=CLIENT_CWD, check=False
        )
        validate.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(f"  wsrun validate failed: {done.stderr.decode(errors='replace')[-300:]}")
        for transport in TRANSPORTS:
            first[transport].append(first_request([*wsrun, str(path), "-q", "--transport", transport]))
    out = {"validate": statistics.median(validate) * 1000}
    out.update({f"first connection, {t}": statistics.median(first[t]) * 1000 for t in TRANSPORTS})
    spread = {"validate": validate, **{f"first connection, {t}": first[t] for t in TRANSPORTS}}
    print(f"\nstart-up, from the process's start ({' '.join(Path(part).name for part in wsrun)}), {repeat} runs")
    for name, ms in out.items():
        low, high = min(spread[name]) * 1000, max(spread[name]) * 1000
        print(f"  {name:<30} median {ms:>6.0f} ms   (min {low:.0f}, max {high:.0f})", flush=True)
    if detail and (HERE / "startup.py").exists():
        print("  bench/startup.py says:", flush=True)
        # k6 on the PATH, so that bench/startup.py measures it beside wsrun.
        search = f"{HERE / '.py' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        runs = ["--runs", str(repeat)]
        subprocess.run([sys.executable, str(HERE / "startup.py"), *runs], env={**env, "PATH": search}, check=False)
    return out


def most(k6: str, url: str, folder: Path, seconds: float, counts: list[int]) -> None:
    """The most sessions held with ping p95 under 100 ms, for each tool (slow: a run per count)."""
    ms = round(seconds * 1000)
    for tool in ("k6", "wsrun --transport picows", "wsrun --transport websockets", "wsrun --workers 2"):
        best = 0
        for sessions in counts:
            if tool == "k6":
                m = run_k6(k6, K6_HOLD.format(sessions=sessions, hold_ms=ms), url, folder)
            else:
                m = run_wsrun(WSRUN_HOLD.format(sessions=sessions, hold_ms=ms), url, folder, *tool.split()[1:])
            ping = metric(m, "ws_ping", "p(95)")
            print(f"  {tool}: {sessions:,} sessions: ping p95 {ping:,.1f} ms, peak {m.rss_mb:,.0f} MB", flush=True)
            if not m.ok or not ping < 100:
                break
            best = sessions
        print(f"most sessions held with ping p95 < 100 ms, {tool}: {best:,}", flush=True)


# -- the goals --------------------------------------------------------------------------------------


@dataclass
class Goal:
    name: str
    figure: float
    target: str
    passed: bool
    judged: bool = True  # False: reported beside a goal, not one itself


def goals(
    echoes: dict[str, Echo] | None,
    holds: dict[str, Hold] | None,
    sessions: int,
    hold_seconds: float,
    starts: dict[str, float] | None,
) -> list[Goal]:
    out: list[Goal] = []
    if echoes:
        k6, picows, websockets = echoes["k6"], echoes["wsrun picows"], echoes["wsrun websockets"]
        ratio = picows.per_cpu_second / k6.per_cpu_second
        out.append(Goal("picows: messages per CPU-second / k6's", ratio, "≥ 1.5×", ratio >= 1.5))
        ratio = picows.messages / k6.messages
        out.append(Goal("picows: messages in the same wall time / k6's", ratio, "≥ 1.3×", ratio >= 1.3))
        ratio = websockets.per_cpu_second / echoes["bare websockets"].per_cpu_second
        out.append(Goal("websockets: messages per CPU-second / bare loop's", ratio, "≥ 0.85×", ratio >= 0.85))
        own = picows.us_per_message - echoes["bare picows"].us_per_message
        out.append(Goal("picows: wsrun's own CPU µs/msg (over bare picows)", own, "≤ ~8 µs", own <= 8, judged=False))
    if holds:
        k6_hold = holds["k6"]
        for transport in TRANSPORTS:
            h = holds[f"wsrun {transport}"]
            judged = transport == "picows"
            out.append(
                Goal(
                    f"{transport}: {sessions:,} held, ping p95 ms",
                    h.ping_p95,
                    "< 100 ms",
                    h.held(sessions, hold_seconds) and h.ping_p95 < 100,
                    judged,
                )
            )
            ratio = h.measure.rss_mb / k6_hold.measure.rss_mb
            out.append(
                Goal(f"{transport}: peak memory / k6's, {sessions:,} held", ratio, "≤ 0.25×", ratio <= 0.25, judged)
            )
    if starts:
        ms = starts["validate"]
        out.append(Goal("wsrun validate, one scenario (ms)", ms, "≤ 150 ms", ms <= 150))
        for transport in TRANSPORTS:
            ms = starts[f"first connection, {transport}"]
            judged = transport == "websockets"  # the default transport: `wsrun FILE`
            out.append(Goal(f"first connection, {transport} (ms)", ms, "≤ 250 ms", ms <= 250, judged))
    return out


def show_goals(found: list[Goal]) -> None:
    print("\nissue 15's goals (in brackets: reported beside them, not judged)")
    for goal in found:
        unit = "×" if goal.target.endswith("×") else ""
        verdict = "pass" if goal.passed else "MISS"
        print(
            f"  {goal.name:<52} {goal.figure:>9.2f}{unit:<1}  {goal.target:<9} "
            + (verdict if goal.judged else f"({verdict})")
        )


def show_spread(runs: list[list[Goal]]) -> None:
    print(f"\nover {len(runs)} runs")
    for index, goal in enumerate(runs[0]):
        figures = [run[index].figure for run in runs]
        met = sum(run[index].passed for run in runs)
        shown = " / ".join(f"{figure:.2f}" for figure in figures)
        print(f"  {goal.name:<52} {shown:<24} {goal.target:<9} met in {met} of {len(runs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller workloads, for a first look")
    parser.add_argument(
        "--only", choices=("echo", "hold", "startup", "most"), action="append", help="one part (again for more)"
    )
    parser.add_argument("--runs", type=int, default=1, help="run everything this many times")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    parts = args.only or ["echo", "hold", "startup"]
    echo_seconds = 2.0 if args.quick else 8.0
    hold_sessions, hold_seconds = (1_000, 5.0) if args.quick else (10_000, 10.0)
    # Every held session is a socket in a client and another in the echo server: both inherit this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 2 * hold_sessions + 1024)), hard))
    k6 = ensure_tools()
    server, url = start_echo_server()
    folder = Path(tempfile.mkdtemp(prefix="wsrun-bench-"))
    found = versions(k6)
    compile_wsrun(found["wsrun"])
    figures: list[dict[str, object]] = []
    record = {"versions": found, "quick": args.quick, "runs": figures}
    runs: list[list[Goal]] = []
    try:
        print(", ".join(f"{name} {value}" for name, value in found.items()))
        print(
            f"node ws echo server at {url}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        )
        for run in range(args.runs):
            load = os.getloadavg()
            print(f"\n== run {run + 1} of {args.runs}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            echoes = echo(k6, url, folder, 10, echo_seconds) if "echo" in parts else None
            holds = hold(k6, url, folder, hold_sessions, hold_seconds) if "hold" in parts else None
            starts = startup(folder, 3 if args.quick else 10, run == 0) if "startup" in parts else None
            if "most" in parts:
                most(
                    k6,
                    url,
                    folder,
                    hold_seconds,
                    [250, 500, 1_000] if args.quick else [2_500, 5_000, 7_500, 10_000, 15_000],
                )
            found_goals = goals(echoes, holds, hold_sessions, hold_seconds, starts)
            if found_goals:
                show_goals(found_goals)
                runs.append(found_goals)
            figures.append(
                {
                    "load": load,
                    "echo": {
                        n: {"messages": e.messages, "cpu": e.measure.cpu, "seconds": e.seconds, "ok": e.measure.ok}
                        for n, e in (echoes or {}).items()
                    },
                    "hold": {
                        n: {
                            "sessions": h.sessions,
                            "ping_p95": h.ping_p95,
                            "connect_p95": h.connect_p95,
                            "at_once": h.held(hold_sessions, hold_seconds),
                            "rss_mb": h.measure.rss_mb,
                            "cpu": h.measure.cpu,
                            "wall": h.measure.wall,
                            "ok": h.measure.ok,
                        }
                        for n, h in (holds or {}).items()
                    },
                    "startup": starts or {},
                    "goals": [goal.__dict__ for goal in found_goals],
                }
            )
            if args.json:
                args.json.write_text(json.dumps(record, indent=1))
        if len(runs) > 1:
            show_spread(runs)
        load = os.getloadavg()
        print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
