"""Signals and pipes: real signals to a real wsrun process, every output written, no process left behind."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import UNIT
from .hostile import upgrade


class Wsrun:
    """A wsrun process whose output lines can be awaited, each wait with a deadline."""

    def __init__(self, *args: str, stdout: int = subprocess.PIPE, group: bool = False) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wsrun", *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=group,  # its own process group, as a shell gives a command: a terminal's Ctrl-C
        )
        self.pid = self.process.pid
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err))
            if stream is not None
        ]
        for reader in self._readers:
            reader.start()
        self.code: int | None = None
        self.max_rss_mb = 0.0

    def _read(self, stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line)
            if into is self.out:
                self.lines.put(line)
        if into is self.out:
            self.lines.put(None)

    def wait_for(self, text: str, count: int = 1, timeout: float = 10 * UNIT) -> None:
        """Until ``count`` lines on stdout contain ``text``."""
        deadline = time.monotonic() + timeout
        seen = 0
        while seen < count:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout}s; stderr: {''.join(self.err)[-2000:]}") from None
            if line is None:
                raise AssertionError(f"wsrun ended before {text!r}: {''.join(self.out)[-2000:]}{''.join(self.err)}")
            seen += text in line

    def signal(self, signum: int) -> float:
        self.process.send_signal(signum)
        return time.monotonic()

    def finish(self, timeout: float = 10 * UNIT) -> int:
        """Wait for the exit (killing it past the deadline); records its peak memory."""
        ended: list[tuple[int, int, object]] = []
        waiter = threading.Thread(target=lambda: ended.append(os.wait4(self.pid, 0)), daemon=True)
        waiter.start()
        waiter.join(timeout)
        if not ended:
            self.process.kill()
            waiter.join()
            self.code = self.process.returncode = -signal.SIGKILL
            raise AssertionError(f"wsrun did not end within {timeout}s")
        _, status, usage = ended[0]
        self.code = self.process.returncode = os.waitstatus_to_exitcode(status)
        self.max_rss_mb = usage.ru_maxrss / 1024  # type: ignore[attr-defined]
        for reader in self._readers:
            reader.join(timeout=5 * UNIT)
        return self.code

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def kill(self) -> None:
        if self.code is None:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(timeout=5 * UNIT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@contextlib.contextmanager
def wsrun(*args: str, stdout: int = subprocess.PIPE, group: bool = False) -> Iterator[Wsrun]:
    run = Wsrun(*args, stdout=stdout, group=group)
    try:
        yield run
    finally:
        run.kill()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def workers_of(pid: int) -> list[int]:
    """The worker processes of a --workers run (not multiprocessing's resource tracker)."""
    return [child for child in children(pid) if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def gone_within(pids: list[int], timeout: float) -> list[int]:
    """The processes still alive after ``timeout``: their ends are awaited (pidfd), though they are not our children."""
    watched = {}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            watched[os.pidfd_open(pid)] = pid
    deadline = time.monotonic() + timeout
    try:
        while any(alive(pid) for pid in watched.values()) and time.monotonic() < deadline:
            select.select(list(watched), [], [], max(0.0, deadline - time.monotonic()))
            for fd in [fd for fd, pid in watched.items() if not alive(pid)]:
                os.close(fd)
                del watched[fd]
    finally:
        for fd in watched:
            os.close(fd)
    return [pid for pid in pids if alive(pid)]


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def outputs(tmp_path: Path) -> tuple[list[str], dict[str, Path]]:
    files = {
        "--summary-export": tmp_path / "summary.json",
        "--junit": tmp_path / "junit.xml",
        "--report": tmp_path / "report.html",
        "--out": tmp_path / "samples.ndjson",
    }
    args = []
    for option, path in files.items():
        args += [option, f"ndjson={path}" if option == "--out" else str(path)]
    return args, files


LONG = """
url: ws://127.0.0.1:9/echo
timeout: 120s
vus: 4
duration: 60s
rules:
  - {every: 100ms, do: [ping, {send: hi}]}
  - {after: 200ms, do: [{log: up}]}
checks:
  - {name: echoed, that: message, equals: hi}
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_signal_writes_every_output(tmp_path: Path, signum: int, code: int, workers: int) -> None:
    """SIGTERM (or SIGHUP) is treated like Ctrl-C: stopped within a second, the report and every output file
    written, and the exit code 128 + the signal."""
    args, files = outputs(tmp_path)
    with wsrun(write(tmp_path, LONG), "--serve", "--workers", str(workers), *args) as run:
        run.wait_for("up", count=4)  # every vu is running
        sent = run.signal(signum)
        assert run.finish() == code, run.stdout + run.stderr
        assert time.monotonic() - sent < 4 * UNIT
    assert "ws_sessions" in run.stdout and "interrupted" in run.stdout
    assert "Traceback" not in run.stderr, run.stderr
    if signum != signal.SIGINT:
        assert f"stopped by {signal.Signals(signum).name}" in run.stderr
    summary = json.loads(files["--summary-export"].read_text())
    assert summary["metrics"]["ws_sessions"]["count"] >= 4
    assert "<testsuites" in files["--junit"].read_text()
    assert "<html" in files["--report"].read_text().lower()
    points = [json.loads(line) for line in files["--out"].read_text().splitlines()]
    assert sum(p["metric"] == "ws_sessions" for p in points if p["type"] == "Point") >= 4
    assert not list(tmp_path.glob("samples.ndjson.worker*"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_no_worker_outlives_a_stopped_run(tmp_path: Path, signum: int) -> None:
    """A stop signal to the parent of a --workers run alone (not to its process group) stops every worker."""
    with wsrun(write(tmp_path, LONG), "--serve", "--workers", "2") as run:
        run.wait_for("up", count=4)  # every vu of both workers is running
        workers = workers_of(run.pid)
        assert len(workers) == 2
        run.signal(signum)
        run.finish()
    assert gone_within(workers, 2 * UNIT) == []
    assert gone_within(children(run.pid), 2 * UNIT) == []


def importing(pid: int) -> bool:
    """Whether a worker has started importing wsrun (pydantic's compiled core is mapped), and so is past
    the start of Python, where Ctrl-C would end it silently."""
    with contextlib.suppress(OSError):
        return "pydantic_core" in Path(f"/proc/{pid}/maps").read_text()
    return False


def test_ctrl_c_at_a_terminal_while_workers_start(tmp_path: Path) -> None:
    """Ctrl-C at a terminal (the whole process group) while the workers are still starting: they stop quietly."""
    with wsrun(write(tmp_path, LONG), "--serve", "--workers", "2", group=True) as run:
        deadline = time.monotonic() + 10 * UNIT
        while not any(importing(worker) for worker in workers_of(run.pid)):  # cannot be awaited from outside
            assert time.monotonic() < deadline, "no worker started"
            threading.Event().wait(0.002)
        os.killpg(run.pid, signal.SIGINT)  # a worker is still importing wsrun
        assert run.finish() == 130, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert "interrupted" in run.stdout


def test_workers_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed with SIGKILL cannot stop its workers: they notice it is gone and stop on their own."""
    with wsrun(write(tmp_path, LONG), "--serve", "--workers", "2") as run:
        run.wait_for("up", count=4)
        workers = workers_of(run.pid)
        assert len(workers) == 2
        run.signal(signal.SIGKILL)
        run.finish()
        assert gone_within(workers, 5 * UNIT) == []


def test_a_lost_worker_fails_the_run_and_is_left_out_everywhere(tmp_path: Path) -> None:
    """A worker killed mid-run: the run fails saying so (exit 1), and --out counts the same sessions as the summary."""
    path = write(
        tmp_path,
        """
        url: ws://127.0.0.1:9/echo
        vus: 4
        duration: 2s
        graceful_stop: 1s
        rules:
          - {on: open, do: [{send: hi}]}
          - {after: 100ms, do: [{log: up}, close]}
        checks:
          - {name: echoed, that: message, equals: hi}
        """,
    )
    args, files = outputs(tmp_path)
    with wsrun(path, "--serve", "--workers", "2", *args) as run:
        run.wait_for("up", count=4)
        victim = workers_of(run.pid)[1]
        os.kill(victim, signal.SIGKILL)
        assert run.finish(timeout=20 * UNIT) == 1, run.stdout + run.stderr
    assert "was lost (killed by SIGKILL)" in run.stdout and "✗ failed" in run.stdout
    summary = json.loads(files["--summary-export"].read_text())["metrics"]
    points = [json.loads(line) for line in files["--out"].read_text().splitlines()]
    sent = sum(p["metric"] == "ws_sessions" for p in points if p["type"] == "Point")
    assert sent == summary["ws_sessions"]["count"] > 0
    assert not list(tmp_path.glob("samples.ndjson.worker*"))
    # JUnit fails it too, in a case of its own: every check passed, yet the run is not green.
    junit = files["--junit"].read_text()
    assert '<testcase name="every worker process finished"' in junit and 'type="LostWorker"' in junit
    assert "worker 2 of 2 was lost (killed by SIGKILL)" in junit


def test_a_second_ctrl_c_keeps_what_workers_wrote_in_out(tmp_path: Path) -> None:
    """A second Ctrl-C in a --workers run: what the workers wrote ends in the --out file, no part is left beside it."""
    out = tmp_path / "samples.ndjson"
    with wsrun(write(tmp_path, LONG), "--serve", "--workers", "2", "--out", f"ndjson={out}") as run:
        run.wait_for("up", count=2)
        run.signal(signal.SIGINT)
        sent = run.signal(signal.SIGINT)
        assert run.finish() == 130, run.stderr
        assert time.monotonic() - sent < 5 * UNIT
    points = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(p["type"] == "Point" and p["metric"] == "ws_msgs_sent" for p in points)
    assert not list(tmp_path.glob("samples.ndjson.worker*"))
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_a_closed_stdout_costs_no_output_file(tmp_path: Path, workers: int) -> None:
    """`wsrun … | head -1`: the pipe closes early; the run still ends with its verdict and writes every file."""
    path = write(
        tmp_path,
        """
        url: ws://127.0.0.1:9/echo
        vus: 2
        rules:
          - {on: open, do: [{log: opened}]}
          - {every: 20ms, do: [{log: tick}]}
          - {after: 500ms, do: [close]}
        """,
    )
    args, files = outputs(tmp_path)
    reading, writing = os.pipe()
    with wsrun(path, "--serve", "--workers", str(workers), *args, stdout=writing) as run:
        os.close(writing)
        seen, deadline = b"", time.monotonic() + 10 * UNIT
        while b"opened" not in seen:
            ready, _, _ = select.select([reading], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, "nothing printed in time"
            seen += os.read(reading, 4096)
        os.close(reading)  # as `head` does once it has its lines
        assert run.finish() == 0, run.stderr
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr
    for path in files.values():
        assert path.stat().st_size > 0


def test_a_million_vus_yield_to_ctrl_c_in_bounded_memory(tmp_path: Path) -> None:
    """--vus 1000000 against a closed port: Ctrl-C is honoured within seconds, and memory follows the sessions
    running, not the vus asked for."""
    with socket.socket() as closed:  # bound but not listening: every connection is refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        path = write(tmp_path, f"url: ws://127.0.0.1:{port}\nrules:\n  - {{on: error, do: [{{log: refused}}]}}\n")
        with wsrun(path, "--vus", "1000000") as run:
            run.wait_for("refused", count=1000, timeout=20 * UNIT)  # before: 40 s and 1.8 GB before the first
            sent = run.signal(signal.SIGINT)
            assert run.finish(timeout=15 * UNIT) == 130, run.stderr
            elapsed = time.monotonic() - sent
    assert elapsed < 5 * UNIT  # measured 0.6-1.6 s on 2 shared cores
    assert "interrupted" in run.stdout and "ws_sessions" in run.stdout
    # Before: 1.8 GB. Measured 55-72 MB alone, up to 332 MB on a busy machine (more sessions in flight at once).
    assert run.max_rss_mb < 600, f"{run.max_rss_mb:.0f} MB"


SHORT = """
url: ws://127.0.0.1:9/echo
vus: 4
duration: 6s
graceful_stop: 2s
rules:
  - {every: 100ms, do: [{send: hi}]}
  - {after: 200ms, do: [{log: up}]}
checks:
  - {name: echoed, that: message, equals: hi}
"""


def sessions_everywhere(files: dict[str, Path]) -> tuple[int, int, int]:
    """Sessions counted by --summary-export, by --out (one ws_sessions point each) and JUnit's test cases."""
    summary = json.loads(files["--summary-export"].read_text())["metrics"]
    points = [json.loads(line) for line in files["--out"].read_text().splitlines()]
    sent = sum(p["metric"] == "ws_sessions" for p in points if p["type"] == "Point")
    junit = files["--junit"].read_text()
    tests = int(junit.split('tests="', 1)[1].split('"', 1)[0])
    return summary.get("ws_sessions", {}).get("count", 0), sent, tests


def test_a_stop_signal_to_one_worker_fails_the_run(tmp_path: Path) -> None:
    """SIGTERM to one worker alone (not to wsrun): part of the load never ran, so the run fails (exit 1),
    saying which worker and why, and what that worker did is counted the same in every output."""
    args, files = outputs(tmp_path)
    with wsrun(write(tmp_path, SHORT), "--serve", "--workers", "2", *args) as run:
        run.wait_for("up", count=4)
        victim = workers_of(run.pid)[1]
        os.kill(victim, signal.SIGTERM)
        assert run.finish(timeout=20 * UNIT) == 1, run.stdout + run.stderr
    assert "worker 2 of 2 was stopped by SIGTERM" in run.stdout and "✗ failed" in run.stdout
    assert "interrupted" not in run.stdout.splitlines()[1]  # the headline: nobody stopped wsrun
    summary, sent, _ = sessions_everywhere(files)
    assert summary == sent >= 4  # the stopped worker's sessions are kept, everywhere
    junit = files["--junit"].read_text()
    assert 'failures="0"' not in junit and "worker 2 of 2 was stopped by SIGTERM" in junit
    assert not list(tmp_path.glob("samples.ndjson.worker*"))


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[int]:
    """A process stopped with SIGSTOP (hung, as far as anyone can tell); killed at the end, whatever happened."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_hung_worker_is_killed_and_the_run_fails(tmp_path: Path) -> None:
    """A worker that stops answering (SIGSTOP) cannot keep the run waiting: it is killed and counted lost, and
    the run ends soon after its duration, failed (before: still waiting after 45 s)."""
    args, files = outputs(tmp_path)
    with wsrun(write(tmp_path, SHORT), "--serve", "--workers", "2", *args) as run:
        run.wait_for("up", count=4)
        started = time.monotonic()
        with frozen(workers_of(run.pid)[1]) as victim:
            assert run.finish(timeout=30 * UNIT) == 1, run.stdout + run.stderr
            # duration 6 s + graceful_stop 2 s, or 5 s of silence, whichever first; then the others' end
            assert time.monotonic() - started < 15 * UNIT
            assert gone_within([victim], 2 * UNIT) == []
    assert "worker 2 of 2 was lost (it stopped answering" in run.stdout and "✗ failed" in run.stdout
    summary, sent, _ = sessions_everywhere(files)
    assert summary == sent >= 2  # the lost worker's part is left out of every output


def test_ctrl_c_ends_a_run_with_a_hung_worker_within_seconds(tmp_path: Path) -> None:
    """Ctrl-C while a worker hangs: the run still ends within a few seconds, with its report."""
    with wsrun(write(tmp_path, LONG), "--serve", "--workers", "2") as run:
        run.wait_for("up", count=4)
        with frozen(workers_of(run.pid)[0]) as victim:
            sent = run.signal(signal.SIGINT)
            assert run.finish(timeout=20 * UNIT) == 130, run.stdout + run.stderr
            assert time.monotonic() - sent < 7 * UNIT
            assert gone_within([victim], 2 * UNIT) == []
    assert "interrupted" in run.stdout and "worker 1 of 2 was lost" in run.stdout


@contextlib.contextmanager
def mute_server() -> Iterator[int]:
    """A WebSocket server (on a thread) that accepts every connection, then never answers anything, the close
    included: a session stopped by Ctrl-C waits the most it may for its closing handshake."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                held.append(connection)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(4096)
                key = next(
                    line.split(b":", 1)[1].strip().decode()
                    for line in request.split(b"\r\n")
                    if line.lower().startswith(b"sec-websocket-key:")
                )
                connection.sendall(upgrade({"sec-websocket-key": key}))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for connection in held:
            connection.close()


def test_a_second_ctrl_c_reports_what_out_holds(tmp_path: Path) -> None:
    """After a second Ctrl-C in a --workers run, the summary, JUnit and --out count the same sessions
    (before: --out held the sessions the workers wrote, the summary and JUnit none)."""
    args, files = outputs(tmp_path)
    with mute_server() as port:
        path = write(tmp_path, LONG.replace("ws://127.0.0.1:9/echo", f"ws://127.0.0.1:{port}/"))
        with wsrun(path, "--workers", "2", *args) as run:
            run.wait_for("up", count=4)
            run.signal(signal.SIGINT)
            run.wait_for("interrupted")  # the first stop has reached the workers; their sessions are closing
            sent = run.signal(signal.SIGINT)
            assert run.finish() == 130, run.stderr
            assert time.monotonic() - sent < 5 * UNIT
    summary, points, tests = sessions_everywhere(files)
    assert summary == points >= 4
    assert tests > 0
    assert "has no report" not in run.stdout
    assert not list(tmp_path.glob("samples.ndjson.worker*"))


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_a_suite_with_its_exit_code(tmp_path: Path, workers: int) -> None:
    """SIGTERM to a suite: every scenario stops, stderr says which signal, and the exit code is 143."""
    first = write(tmp_path, LONG, "a.yaml")
    write(tmp_path, LONG.replace("log: up", "log: up too"), "b.yaml")
    args, files = outputs(tmp_path)
    with wsrun(first, str(tmp_path / "b.yaml"), "--serve", "--workers", str(workers), *args) as run:
        run.wait_for("up", count=4)
        sent = run.signal(signal.SIGTERM)
        assert run.finish() == 143, run.stdout + run.stderr
        assert time.monotonic() - sent < 8 * UNIT
    assert "wsrun: stopped by SIGTERM, as by Ctrl-C" in run.stderr
    assert "Traceback" not in run.stderr
    assert "interrupted" in run.stdout
    assert 'name="interrupted" value="true"' in files["--junit"].read_text()
