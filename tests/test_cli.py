"""The command line: exit codes, output, validate, schema, summary export, Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from wsrun.cli import main
from wsrun.scenario.models import json_schema

from .helpers import UNIT, interrupt

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


PASSING = """
url: ws://127.0.0.1:9/echo
vars: {word: hello}
rules:
  - on: open
    do: [{send: "{{ word }}"}]
  - on: message
    do: [{log: "got {{ message }}"}, close]
checks:
  - {name: status is 101, that: status, equals: 101}
  - {name: echo, that: message, equals: "{{ word }}"}
"""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version and exits 0."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("wsrun 0.")


def test_committed_schema_is_generated() -> None:
    """schema.json is exactly what the models generate: `wsrun schema > schema.json`."""
    committed = json.loads((ROOT / "schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), "schema.json is stale: run `wsrun schema > schema.json`"


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    """wsrun schema prints the JSON Schema."""
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()


def test_schema_command_writes_the_committed_file_whatever_the_encoding() -> None:
    """`wsrun schema` prints schema.json byte for byte, also when stdout's encoding is ASCII."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "wsrun", "schema"], capture_output=True, env=env, timeout=30 * UNIT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "schema.json").read_bytes()


def test_run_passing_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A passing scenario exits 0; logs, checks and k6 metrics are printed."""
    code = main([write(tmp_path, PASSING), "--serve"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "s] got hello" in out
    assert "✓ status is 101" in out and "✓ echo" in out
    for metric in ("ws_connecting", "ws_msgs_sent", "ws_msgs_received", "ws_session_duration", "ws_sessions"):
        assert metric in out
    assert "checks" in out and "100.00% ✓ 2 ✗ 0" in out


def test_var_overrides_keep_the_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--var replaces a variable; a failing check then exits 1 and shows the transcript."""
    code = main([write(tmp_path, PASSING), "--serve", "--var", "word=bye"])
    out = capsys.readouterr().out
    assert code == 0 and "got bye" in out
    scenario = write(tmp_path, PASSING.replace('equals: "{{ word }}"', "equals: hello"), "fail.yaml")
    code = main([scenario, "--serve", "--var", "word=bye"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ echo" in out and 'expected message equals "hello", got "bye"' in out
    assert "last " in out and "→ text   bye" in out and "← text   bye" in out


def test_unknown_var_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--var for a variable the scenario lacks is refused (exit 2), never silently ignored."""
    assert main([write(tmp_path, PASSING), "--serve", "--var", "wrod=x"]) == 2
    assert "--var wrod: not a variable of the scenario (its vars: word)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--var", "novalue"], "--var 'novalue': write NAME=VALUE"),
        (["--url", "http://x"], "is not a WebSocket URL"),
        (["--url", "ws://x", "--serve"], "--serve and --url both say where to connect"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    """Bad options exit 2 with a one-line message and no traceback."""
    assert main([write(tmp_path, PASSING), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_invalid_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid scenario exits 2, listing every problem with file and line."""
    path = write(tmp_path, "url: ws://h\nrules:\n  - on: opn\n    do: [ping]\ntimout: 1s\n")
    assert main([path]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:9: rules[0].on: 'opn' is not allowed" in err
    assert f"{path}:5:1: timout: unknown key" in err
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing scenario file exits 2."""
    assert main([str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: no such file" in capsys.readouterr().err


def test_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate checks files without connecting: 0 when all are valid, 2 otherwise."""
    good = write(tmp_path, PASSING)
    assert main(["validate", good]) == 0
    assert "valid (2 rules, 2 checks)" in capsys.readouterr().out
    bad = write(tmp_path, "url: ws://h\nrules:\n  - on: open\n    do: [{send: '{{ nope }}'}]\n", "bad.yaml")
    assert main(["validate", good, bad]) == 2
    assert f"{bad}:4:17: rules[0].do[0].send: unknown name 'nope'" in capsys.readouterr().err


def test_connection_refused_fails_the_status_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening: the report still comes, status is 101 fails, exit 1."""
    code = main([write(tmp_path, PASSING), "--url", "ws://127.0.0.1:9"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ status is 101" in out and "connection refused" in out


def test_no_checks_and_an_error_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without checks, a session that ended in an error fails."""
    path = write(tmp_path, "url: ws://127.0.0.1:9/close/4000\nrules:\n  - {on: open, do: [{send: x}]}\n")
    assert main([path, "--serve"]) == 1
    out = capsys.readouterr().out
    assert "server closed the connection with 4000" in out and "✗ failed" in out


def test_several_files_and_summary_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Several files run; one failing makes exit 1; the summary has k6's shape, a group per file."""
    good = write(tmp_path, PASSING, "good.yaml")
    bad = write(tmp_path, PASSING.replace("equals: 101", "equals: 200"), "bad.yaml")
    export = tmp_path / "summary.json"
    assert main([good, bad, "--serve", "-q", "--summary-export", str(export)]) == 1
    out = capsys.readouterr().out
    assert "2 scenarios: 1 passed, 1 failed" in out and "got hello" not in out  # -q hides log lines
    summary = json.loads(export.read_text())
    metrics = summary["metrics"]
    assert metrics["ws_sessions"]["count"] == 2 and metrics["ws_sessions"]["rate"] > 0
    assert metrics["ws_msgs_sent"]["count"] == 2
    assert set(metrics["ws_connecting"]) == {"avg", "min", "med", "max", "p(90)", "p(95)"}
    assert metrics["checks"] == {"passes": 3, "fails": 1, "value": 0.75}
    # In a suite each file's checks stay apart, in a group named by the file.
    groups = summary["root_group"]["groups"]
    assert summary["root_group"]["checks"] == {}
    assert groups[good]["checks"]["status is 101"]["passes"] == 1
    assert groups[bad]["checks"]["status is 101"]["fails"] == 1
    assert groups[bad]["checks"]["status is 101"]["path"] == f"::{bad}::status is 101"


def test_ctrl_c_prints_the_report_and_exits_130(tmp_path: Path) -> None:
    """Ctrl-C ends the session within a second, prints the report so far and exits 130."""
    path = write(tmp_path, "url: ws://127.0.0.1:9\nrules:\n  - {every: 50ms, do: [{log: tick}]}\n")
    code, out, err, elapsed = interrupt([sys.executable, "-m", "wsrun", path, "--serve"], after="tick")
    assert code == 130, err
    assert "interrupted" in out and "ws_sessions" in out
    assert "Traceback" not in err
    assert elapsed < 3 * UNIT


def test_serve_command(tmp_path: Path) -> None:
    """wsrun serve runs the test server until Ctrl-C; a scenario passes against it."""
    with subprocess.Popen(
        [sys.executable, "-m", "wsrun", "serve", "--port", "0", "--ping-every", "100ms"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = next(word for word in banner.split() if word.startswith("ws://"))
        assert url.startswith("ws://127.0.0.1:")
        scenario = write(
            tmp_path,
            """
            url: ws://unused
            rules:
              - {on: ping, do: [close]}
            checks:
              - {name: pinged, that: pings_received, equals: 1}
            """,
        )
        assert main([scenario, "--url", url, "-q"]) == 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10 * UNIT) == 0


def test_serve_pings_every_500ms_by_default_as_serve_does(tmp_path: Path) -> None:
    """wsrun serve, like --serve, pings each client every 500 ms unless --ping-every says otherwise."""
    with subprocess.Popen(
        [sys.executable, "-m", "wsrun", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            url = next(word for word in process.stdout.readline().split() if word.startswith("ws://"))
            scenario = write(
                tmp_path,
                """
                url: ws://unused
                timeout: 5s
                rules:
                  - {on: ping, do: [close]}
                checks:
                  - {name: pinged, that: pings_received, equals: 1}
                  - {name: soon, that: closed_by, equals: client}
                """,
            )
            assert main([scenario, "--url", url, "-q"]) == 0
        finally:
            process.send_signal(signal.SIGTERM)  # docker stop, say: the server's normal end too
            assert process.wait(timeout=10 * UNIT) == 0


async def test_serve_stops_on_sigterm_while_busy_with_a_client() -> None:
    """A stop signal that lands while the server handles a message still stops it, at once and with 0 (raised
    from a signal handler, it landed inside the connection's callback, and the server ran on)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wsrun", "serve", "--port", "0", "--ping-every", "off", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 10 * UNIT)
        url = next(word for word in line.decode().split() if word.startswith("ws://"))
        async with connect(url, max_queue=None) as ws:
            flood = "x" * 60_000
            for _ in range(50):  # the server spends most of this in data_received
                await ws.send(flood)
            process.send_signal(signal.SIGTERM)
            for _ in range(50):
                await ws.send(flood)
            async for _ in ws:  # read what it echoed, until it closes
                pass
        assert await asyncio.wait_for(process.wait(), 10 * UNIT) == 0
    except (ConnectionClosed, OSError):  # the server went away mid-flood: its exit code says how
        assert await asyncio.wait_for(process.wait(), 10 * UNIT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_serve_help_shows_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """wsrun serve --help says what --host is and which port and ping interval it uses by default."""
    assert main(["serve", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--host HOST the address to listen on (default 127.0.0.1" in help_text
    assert "(default 8765; 0 picks a free one)" in help_text
    assert "(default 500ms, as --serve)" in help_text


def test_bare_wsrun_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """wsrun without arguments says what it can do: every command, not only a missing argument."""
    assert main([]) == 2
    err = capsys.readouterr().err
    for command in ("wsrun validate", "wsrun init", "wsrun schema", "wsrun serve", "wsrun --help"):
        assert command in err


def test_serve_resolves_variables_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --serve, a uuid variable in the URL is the same one the rules see."""
    path = write(
        tmp_path,
        """
        url: "ws://127.0.0.1:9/headers?id={{ id }}"
        vars: {id: "{{ uuid }}"}
        rules:
          - {on: message, do: [close]}
        checks:
          - {name: same id, that: message.path, equals: "/headers?id={{ id }}"}
        """,
    )
    assert main([path, "--serve", "-q"]) == 0, capsys.readouterr().out


def test_everything_is_prepared_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing environment variable in the second file stops the run before the first connects."""
    monkeypatch.delenv("WSRUN_TEST_TOKEN", raising=False)
    first = write(tmp_path, PASSING, "first.yaml")
    second = write(tmp_path, 'url: ws://127.0.0.1:9\nvars: {t: "{{ env.WSRUN_TEST_TOKEN }}"}\n', "second.yaml")
    assert main([first, second, "--serve"]) == 2
    captured = capsys.readouterr()
    assert "got hello" not in captured.out  # the first scenario did not run
    assert "vars.t: {{ env.WSRUN_TEST_TOKEN }} is not set (set that environment variable)" in captured.err


def test_unwritable_summary_export_is_refused_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--summary-export into a missing folder is a usage error before the run."""
    assert main([write(tmp_path, PASSING), "--serve", "--summary-export", str(tmp_path / "no" / "s.json")]) == 2
    captured = capsys.readouterr()
    assert "no such folder" in captured.err and "got hello" not in captured.out


@pytest.mark.parametrize("url", ["ws://", "ws://127.0.0.1:99999", "ws://[::1"])
def test_malformed_url_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    """A URL that cannot be connected to as written exits 2, naming it."""
    assert main([write(tmp_path, PASSING), "--url", url]) == 2
    assert "is not a valid WebSocket URL" in capsys.readouterr().err


def test_serve_refuses_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    """wsrun serve --port 99999 is a usage error, not a traceback."""
    assert main(["serve", "--port", "99999"]) == 2
    assert "99999 is not a port number (0-65535)" in capsys.readouterr().err


def test_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    """A second Ctrl-C while the first is still closing stops at once with 130, no traceback."""
    path = write(
        tmp_path,
        """
        url: ws://127.0.0.1:9
        close_timeout: 30s
        rules:
          - {on: open, do: [{log: started}]}
          - {on: close, do: [{log: closed}]}
        """,
    )
    # The session is closing slowly: a server that never answers the close frame.
    command = [sys.executable, "-c", SLOW_CLOSER, path]
    code, out, err, _ = interrupt(command, after="started", then_again_after="interrupted")
    assert code == 130, err
    assert "second Ctrl-C" in out and "Traceback" not in err


# Runs wsrun against a TCP server that answers the handshake and then ignores everything.
SLOW_CLOSER = """
import asyncio, base64, hashlib, sys, threading
from wsrun.cli import main

async def handle(reader, writer):
    head = await reader.readuntil(b"\\r\\n\\r\\n")
    key = [l.split(b":", 1)[1].strip() for l in head.split(b"\\r\\n") if l.lower().startswith(b"sec-websocket-key")][0]
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\\r\\n\\r\\n")
    while await reader.read(65536):
        pass

def serve(ready, box):
    async def run():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        box.append(server.sockets[0].getsockname()[1])
        ready.set()
        await asyncio.Event().wait()
    asyncio.run(run())

ready, box = threading.Event(), []
threading.Thread(target=serve, args=(ready, box), daemon=True).start()
ready.wait(10)
sys.exit(main([sys.argv[1], "--url", f"ws://127.0.0.1:{box[0]}"]))
"""


def test_transport_is_chosen_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--transport picows runs the scenario on picows, and the report says which transport ran."""
    path = write(tmp_path, PASSING)
    assert main([path, "--serve", "--transport", "picows"]) == 0
    out = capsys.readouterr().out
    assert f"{path} · transport picows" in out and "✓ echo" in out
    scenario = write(tmp_path, "transport: picows\n" + PASSING, "picows.yaml")
    assert main([scenario, "--serve", "--transport", "websockets"]) == 0  # the command line wins
    assert "transport websockets" in capsys.readouterr().out


def test_missing_transport_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking for picows where it is not installed: exit 2, naming the extra to install, before connecting."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "picows" else real(name, *a))
    path = write(tmp_path, "transport: picows\n" + PASSING)
    assert main([path, "--serve"]) == 2
    captured = capsys.readouterr()
    assert "transport picows is not installed: pip install 'wsrun[fast]'" in captured.err
    assert "got hello" not in captured.out


def test_threshold_with_no_samples_fails_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A threshold on a metric nothing measured fails the run (99), saying so in every output; the
    summary shows no trend of zeros."""
    text = """
    url: ws://unused
    thresholds:
      ws_reply_latency: ["p(95) < 100", "count == 0"]
    rules:
      - {after: 50ms, do: [close]}
    """
    summary, junit = tmp_path / "summary.json", tmp_path / "junit.xml"
    code = main([write(tmp_path, text), "--serve", "--summary-export", str(summary), "--junit", str(junit)])
    out = capsys.readouterr().out
    assert code == 99, out
    assert "✗ ws_reply_latency ...........: no samples: nothing was measured" in out
    assert "✗ p(95) < 100 (p(95)=no samples)" in out and "✓ count == 0 (count=0)" in out
    assert "p(95)=0" not in out
    exported = json.loads(summary.read_text(encoding="utf-8"))["metrics"]["ws_reply_latency"]
    assert exported == {"thresholds": {"p(95) < 100": True, "count == 0": False}}
    assert 'message="p(95)=no samples, expected p(95) &lt; 100"' in junit.read_text(encoding="utf-8")


def test_a_checks_threshold_with_no_check_evaluated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """checks: ["rate > 0.9"] with no check evaluated fails (99), and the checks line shows no rate of zeros."""
    text = """
    url: ws://unused
    thresholds:
      checks: ["rate > 0.9"]
    rules:
      - {after: 50ms, do: [close]}
    """
    code = main([write(tmp_path, text), "--serve"])
    out = capsys.readouterr().out
    assert code == 99, out
    assert "✗ checks .....................: no samples" in out and "0.00%" not in out
    assert "✗ rate > 0.9 (rate=no samples)" in out


@pytest.mark.parametrize("workers", ["1", "2"])
def test_threshold_on_a_request_metric_with_no_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    """A threshold on a request's own metric that nothing measured fails (99) saying so; it crashed the report."""
    text = """
    url: ws://unused
    thresholds:
      my_latency: ["max < 5"]
      "my_latency{my_tag:x}": ["max < 5"]
    rules:
      - on: message
        do: [{request: {name: asked, send_json: {id: "{{ uuid }}"}, within: 1s, metric: my_latency}}]
      - {after: 50ms, do: [close]}
    """
    summary = tmp_path / "summary.json"
    code = main([write(tmp_path, text), "--serve", "--workers", workers, "--summary-export", str(summary)])
    out = capsys.readouterr().out
    assert code == 99, out
    lines = [line for line in out.splitlines() if line.startswith("✗ my_latency")]
    assert len(lines) == 2 and all(line.endswith(": no samples: nothing was measured") for line in lines), out
    assert out.count("✗ max < 5 (max=no samples)") == 2
    metrics = json.loads(summary.read_text(encoding="utf-8"))["metrics"]
    assert metrics["my_latency"] == metrics["my_latency{my_tag:x}"] == {"thresholds": {"max < 5": True}}
