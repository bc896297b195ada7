"""Suites: folders and several files run at once, one combined report, exit codes, init, colour."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection

from wsrun.cli import main
from wsrun.errors import UsageError
from wsrun.scenario.files import scenario_files
from wsrun.scenario.loader import load
from wsrun.scenario.starter import starter_path

from .helpers import UNIT, interrupt, serving


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


HOLD = """
name: {name}
url: ws://127.0.0.1:9/
rules:
  - on: open
    do: [{{log: "{name} open"}}]
  - after: 300ms
    do: [close]
checks:
  - {{name: status is 101, that: status, equals: 101}}
"""


async def wsrun(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the wsrun command in a process of its own (the test's loop serves meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wsrun",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        async with asyncio.timeout(60 * UNIT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class Counting:
    """A server that holds each connection until the client closes it, counting how many are open at once."""

    def __init__(self) -> None:
        self.open = self.most = self.total = 0

    async def __call__(self, ws: ServerConnection) -> None:
        self.open += 1
        self.total += 1
        self.most = max(self.most, self.open)
        try:
            await ws.wait_closed()
        finally:
            self.open -= 1


# -- finding the files ---------------------------------------------------------------------------


def test_folders_are_searched_recursively_in_order(tmp_path: Path) -> None:
    """A folder gives its *.yaml and *.yml files, sorted, recursively; hidden ones and other files are left out."""
    for name in ("b.yaml", "a.yml", "sub/c.yaml", ".hidden/d.yaml", ".e.yaml", "notes.txt", "schema.json"):
        write(tmp_path, name, "x: 1\n")
    files = scenario_files([str(tmp_path)])
    assert [Path(file).relative_to(tmp_path).as_posix() for file in files] == ["a.yml", "b.yaml", "sub/c.yaml"]


def test_files_named_twice_run_once(tmp_path: Path) -> None:
    """A file given directly and again through its folder runs once, where it was first named."""
    one = write(tmp_path, "one.yaml", "x: 1\n")
    write(tmp_path, "two.yaml", "x: 1\n")
    assert scenario_files([one, str(tmp_path)]) == [one, str(tmp_path / "two.yaml")]


def test_a_folder_without_scenarios_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty folder is an error (exit 2), not a green run of nothing."""
    with pytest.raises(UsageError, match="no scenario files"):
        scenario_files([str(tmp_path)])
    assert main([str(tmp_path)]) == 2
    assert "no scenario files (*.yaml, *.yml)" in capsys.readouterr().err
    assert main(["validate", str(tmp_path)]) == 2


def test_validate_takes_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`wsrun validate FOLDER` checks every scenario in it."""
    write(tmp_path, "a.yaml", HOLD.format(name="a"))
    write(tmp_path, "deep/b.yaml", HOLD.format(name="b"))
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "a.yaml: valid" in out and "b.yaml: valid" in out


# -- running a suite -----------------------------------------------------------------------------


async def test_a_folder_runs_at_once_with_one_combined_report(tmp_path: Path) -> None:
    """Every scenario of a folder is connected at the same time; each gets a result line, then a totals line."""
    for index in range(6):
        write(tmp_path, f"s{index}.yaml", HOLD.format(name=f"hold {index}"))
    server = Counting()
    async with serving(server) as url:
        code, out, err = await wsrun(str(tmp_path), "--url", url)
    assert code == 0, out + err
    assert server.total == 6 and server.most == 6
    for index in range(6):
        assert re.search(rf"✓ .*s{index}\.yaml · hold {index} · [\d.]+s · 1 check passed", out), out
    assert out.rstrip().endswith("6 scenarios: 6 passed, 0 failed")
    # Log lines say which file printed them.
    assert re.search(r"s3\.yaml \[ *[\d.]+s\] hold 3 open", out), out


async def test_concurrency_bounds_the_scenarios_running_at_once(tmp_path: Path) -> None:
    """--concurrency 2: never more than two scenarios' connections open at once, and all of them run."""
    for index in range(5):
        write(tmp_path, f"s{index}.yaml", HOLD.format(name=f"hold {index}"))
    server = Counting()
    async with serving(server) as url:
        code, out, err = await wsrun(str(tmp_path), "--url", url, "--concurrency", "2", "-q")
    assert code == 0, out + err
    assert server.total == 5 and server.most == 2


async def test_results_follow_the_order_of_the_files_in_reports(tmp_path: Path) -> None:
    """The summary export and the closing list keep the files' order, whichever ends first."""
    slow = write(tmp_path, "a-slow.yaml", HOLD.format(name="slow").replace("300ms", "600ms"))
    fast = write(tmp_path, "b-fast.yaml", HOLD.format(name="fast").replace("300ms", "10ms"))
    export = tmp_path / "summary.json"
    server = Counting()
    async with serving(server) as url:
        code, out, err = await wsrun(slow, fast, "--url", url, "--summary-export", str(export))
    assert code == 0, out + err
    assert out.index("b-fast.yaml ·") < out.index("a-slow.yaml ·")  # lines print as scenarios end
    assert json.loads(export.read_text())["metrics"]["ws_sessions"]["count"] == 2


FAILING_CHECK = """
name: failing
url: ws://127.0.0.1:9/
rules:
  - on: open
    do: [{send: ping-me}]
  - on: message
    do: [close]
checks:
  - {name: echo says pong, that: message, equals: pong}
"""

FAILING_THRESHOLD = """
name: slow pings
url: ws://127.0.0.1:9/
thresholds:
  ws_msgs_received: ["count > 5"]
rules:
  - on: open
    do: [close]
"""


def test_failures_are_detailed_after_the_result_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A failed scenario gets its line, then its checks in full (reason, transcript) under "failures"."""
    write(tmp_path, "good.yaml", HOLD.format(name="good").replace("300ms", "10ms"))
    write(tmp_path, "bad.yaml", FAILING_CHECK)
    assert main([str(tmp_path), "--serve"]) == 1
    out = capsys.readouterr().out
    lines, failures = out.split("failures ─", 1)
    assert re.search(r"✗ .*bad\.yaml · failing · [\d.]+s · 1 of 1 check failed", lines), out
    assert re.search(r"✓ .*good\.yaml · good", lines), out
    assert 'equals "pong", got "ping-me"' in failures and "ping-me" in failures  # the reason and the transcript
    assert "good.yaml" not in failures.split("2 scenarios")[0]  # passing scenarios are not detailed
    assert "2 scenarios: 1 passed, 1 failed" in failures


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"good.yaml": HOLD.format(name="good")}, 0),
        ({"good.yaml": HOLD.format(name="good"), "bad.yaml": FAILING_CHECK}, 1),
        ({"bad.yaml": FAILING_CHECK, "slow.yaml": FAILING_THRESHOLD}, 99),
        ({"good.yaml": HOLD.format(name="good"), "slow.yaml": FAILING_THRESHOLD}, 99),
    ],
)
def test_the_suite_exit_code_is_the_worst(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    """0 when everything passed; a failed threshold (99) outranks a failed check (1)."""
    for name, text in files.items():
        write(tmp_path, name, text.replace("300ms", "10ms"))
    assert main([str(tmp_path), "--serve", "-q"]) == expected


def test_one_invalid_file_stops_the_suite_before_it_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file is validated first: an invalid one means exit 2, its place named, and nothing run."""
    write(tmp_path, "good.yaml", HOLD.format(name="good"))
    bad = write(tmp_path, "bad.yaml", "url: ws://127.0.0.1:9/\nrulez: []\n")
    assert main([str(tmp_path), "--serve"]) == 2
    captured = capsys.readouterr()
    assert f"{bad}:2" in captured.err and "rulez" in captured.err
    assert "good open" not in captured.out


def test_ctrl_c_stops_the_suite_and_says_what_did_not_run(tmp_path: Path) -> None:
    """Ctrl-C stops the running scenarios, skips the rest, reports what ran and exits 130."""
    ticking = "url: ws://127.0.0.1:9/\nrules:\n  - {every: 50ms, do: [{log: tick}]}\n"
    for index in range(3):
        write(tmp_path, f"s{index}.yaml", ticking)
    command = [sys.executable, "-m", "wsrun", str(tmp_path), "--serve", "--concurrency", "1"]
    code, out, err, elapsed = interrupt(command, after="tick")
    assert code == 130, err
    assert "3 scenarios: 0 passed, 0 failed, 1 interrupted, 2 not run" in out
    assert re.search(r"- .*s0\.yaml \(interrupted\)", out), out
    assert "Traceback" not in err
    assert elapsed < 3 * UNIT


# -- init ----------------------------------------------------------------------------------------


def test_init_writes_a_starter_that_validates_and_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`wsrun init NAME` writes NAME.yaml, commented; it validates and passes against --serve."""
    target = tmp_path / "smoke"
    assert main(["init", str(target)]) == 0
    path = tmp_path / "smoke.yaml"
    assert f"wrote {path}" in capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    assert text.count("\n#") + text.count("  # ") >= 10  # it explains itself
    scenario = load(str(path))
    assert scenario.name == "smoke" and scenario.checks
    assert main([str(path), "--serve", "-q"]) == 0
    out = capsys.readouterr().out
    assert "✓ echo is the greeting" in out and "✓ closed normally" in out


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing file is left as it was and the command exits 2."""
    path = tmp_path / "mine.yaml"
    path.write_text("mine\n", encoding="utf-8")
    assert main(["init", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "mine\n"


def test_init_names() -> None:
    """.yaml is added unless the name already ends in .yaml or .yml."""
    assert starter_path("a") == Path("a.yaml")
    assert starter_path("dir/b.yml") == Path("dir/b.yml")
    assert starter_path("c.test") == Path("c.test.yaml")


# -- output for CI logs ----------------------------------------------------------------------------

COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;[0-9;]+)m")


async def test_no_colour_off_a_terminal_and_with_no_color(tmp_path: Path) -> None:
    """Piped output has no escape codes; FORCE_COLOR adds colour, and NO_COLOR takes it away again."""
    path = write(tmp_path, "bad.yaml", FAILING_CHECK)
    plain = await wsrun(path, "--serve")
    forced = await wsrun(path, "--serve", env={"FORCE_COLOR": "1"})
    refused = await wsrun(path, "--serve", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain[0] == forced[0] == refused[0] == 1
    assert "\x1b[" not in plain[1] and 'equals "pong"' in plain[1]
    assert COLOUR.search(forced[1])  # the check above can fail: colour is there when asked for
    assert not COLOUR.search(refused[1])


async def test_ping_times_have_sub_millisecond_resolution(tmp_path: Path) -> None:
    """ws_ping is timed precisely, also under uvloop (whose loop clock moves in whole milliseconds)."""
    path = write(
        tmp_path,
        "ping.yaml",
        "url: ws://127.0.0.1:9/\nrules:\n  - {every: 20ms, do: [ping]}\n  - {after: 500ms, do: [close]}\n",
    )
    out = tmp_path / "samples.ndjson"
    code, stdout, err = await wsrun(path, "--serve", "-q", "--out", f"ndjson={out}")
    assert code == 0, stdout + err
    values = [
        point["data"]["value"]
        for point in map(json.loads, out.read_text().splitlines())
        if point["type"] == "Point" and point["metric"] == "ws_ping"
    ]
    assert len(values) >= 5
    assert any(value % 1 for value in values), values


# -- reports of a suite, through the command line ----------------------------------------------------


def test_junit_and_html_reports_of_a_suite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--junit and --report cover every scenario of a suite: valid JUnit, and an HTML page with timeline and plots."""
    import lxml.etree

    write(tmp_path, "suite/good.yaml", HOLD.format(name="good").replace("300ms", "200ms"))
    write(
        tmp_path,
        "suite/pings.yaml",
        "name: pings\nurl: ws://127.0.0.1:9/\nrules:\n  - {every: 20ms, do: [ping]}\n  - {after: 300ms, do: [close]}\n",
    )
    write(tmp_path, "suite/bad.yaml", FAILING_CHECK)
    junit, html = tmp_path / "junit.xml", tmp_path / "report.html"
    assert main([str(tmp_path / "suite"), "--serve", "-q", "--junit", str(junit), "--report", str(html)]) == 1
    schema = lxml.etree.XMLSchema(lxml.etree.parse(str(Path(__file__).parent / "data" / "junit-10.xsd")))
    document = lxml.etree.parse(str(junit))
    schema.assertValid(document)
    suites = document.getroot().findall("testsuite")
    assert [suite.get("name") for suite in suites] == [
        str(tmp_path / "suite" / n) for n in ("bad.yaml", "good.yaml", "pings.yaml")
    ]
    assert document.getroot().get("failures") == "1"
    failure = document.find(".//failure")
    assert failure is not None and 'equals "pong", got "ping-me"' in (failure.get("message") or "")
    page = html.read_text(encoding="utf-8")
    assert page.count('<section class="card scenario') == 3
    assert "timer" in page and "ws_ping" in page  # the timeline holds the timers; ws_ping is plotted
    assert "over-time plots were not recorded" not in page
    assert not re.search(r"""(src|href)=["']?https?://""", page)


def test_an_unwritable_report_is_refused_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--junit or --report into a missing folder: exit 2 before any connection."""
    path = write(tmp_path, "s.yaml", HOLD.format(name="s"))
    for option in ("--junit", "--report"):
        assert main([path, "--serve", option, str(tmp_path / "no" / "such" / "file")]) == 2
        captured = capsys.readouterr()
        assert f"{option} " in captured.err and "no such folder" in captured.err
        assert "s open" not in captured.out


# -- found by a new user's trial ---------------------------------------------------------------------


def test_a_run_stopped_before_it_starts_leaves_no_empty_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 (an invalid file) writes no --junit or --report file, so CI uploads nothing misleading."""
    bad = write(tmp_path, "bad.yaml", "url: ws://127.0.0.1:9/\nrulez: []\n")
    junit, html = tmp_path / "junit.xml", tmp_path / "report.html"
    assert main([bad, "--junit", str(junit), "--report", str(html)]) == 2
    assert not junit.exists() and not html.exists()


def test_init_refuses_an_empty_name(capsys: pytest.CaptureFixture[str]) -> None:
    """`wsrun init ''` is a usage error, not a traceback."""
    assert main(["init", ""]) == 2
    err = capsys.readouterr().err
    assert "give a file name" in err and "Traceback" not in err


def test_the_same_file_under_another_spelling_runs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """x.yaml, ./x.yaml and its absolute path are one file."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "x.yaml", "x: 1\n")
    assert scenario_files(["x.yaml", "./x.yaml", str(tmp_path / "x.yaml"), "."]) == ["x.yaml"]


def test_quiet_shows_thresholds_and_no_live_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-q still names a failed threshold (with its value) and prints no per-session lines."""
    path = write(
        tmp_path,
        "t.yaml",
        """
        url: ws://127.0.0.1:9/close/4000
        vus: 3
        iterations: 6
        thresholds:
          ws_msgs_received: ["count > 100"]
        rules:
          - on: open
            do: [{send: hi}, {log: logged-line}]
        """,
    )
    assert main([path, "--serve", "-q"]) == 99
    out = capsys.readouterr().out
    assert re.search(r"✗ threshold ws_msgs_received: count > 100 \(count=6\)", out), out
    assert "logged-line" not in out and "closed the connection with 4000" not in out.split("errors in")[0]


async def test_ctrl_c_does_not_pass_an_expectation_it_cut_short() -> None:
    """A heartbeat expectation still running at Ctrl-C fails as cut short (JUnit reports it skipped)."""
    from wsrun.scenario.loader import load_text
    from wsrun.server import running, url_of
    from wsrun.session.plan import prepare
    from wsrun.session.session import Session

    scenario = load_text(
        textwrap.dedent(
            """
            url: ws://127.0.0.1:9/heartbeat/50
            rules:
              - on: open
                do:
                  - expect: {name: beats, heartbeat: {that: message.type, equals: heartbeat}, every: 1s, for: 10s}
                  - log: armed
            """
        ),
        "s.yaml",
    )
    async with running() as server:
        plan = prepare(scenario, file="s.yaml", url=url_of(server) + "/heartbeat/50")
        armed = asyncio.Event()
        session = Session(plan, lambda line: armed.set() if line.text == "armed" else None)
        task = asyncio.create_task(session.run())
        async with asyncio.timeout(5 * UNIT):
            await armed.wait()
        session.stop()
        async with asyncio.timeout(5 * UNIT):
            result = await task
    check = result.checks["beats"]
    assert result.interrupted and check.fails == 1 and check.passes == 0
    assert "cut short: the run was interrupted (Ctrl-C or a stop signal)" in check.reason


async def test_a_bare_ping_shows_the_payload_it_sends(echo_url: str) -> None:
    """`ping` sends wsrun-1, wsrun-2, …, and the transcript shows exactly that."""
    from .helpers import run_yaml

    run = await run_yaml(
        """
        url: ws://127.0.0.1:9/
        rules:
          - {on: open, do: [ping, ping]}
          - {after: 200ms, do: [close]}
        checks:
          - {name: two pongs, that: pongs_received, equals: 2}
        """,
        url=echo_url,
    )
    sent = [frame.text for frame in run.result.transcript if frame.kind == "ping" and frame.direction == "sent"]
    pongs = [frame.text for frame in run.result.transcript if frame.kind == "pong"]
    assert sent == [f"<7 bytes: {b'wsrun-1'.hex()}>", f"<7 bytes: {b'wsrun-2'.hex()}>"]
    assert [pong.split(">")[0] + ">" for pong in pongs] == sent  # each pong carries its ping's payload
    assert run.check("two pongs")[1] == 0


def test_report_with_workers_has_the_timeline_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--workers 2 --report: the first session's timeline and the samples of both processes, merged."""
    path = write(
        tmp_path,
        "load.yaml",
        """
        url: ws://127.0.0.1:9/
        vus: 4
        iterations: 8
        rules:
          - {every: 20ms, do: [ping]}
          - {after: 200ms, do: [close]}
        """,
    )
    html = tmp_path / "report.html"
    assert main([path, "--serve", "-q", "--workers", "2", "--report", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "Frames of the first session (vu 1 #0)" in page
    assert "not recorded" not in page
    assert 'aria-label="ws_ping against time"' in page
    assert "8 samples" in page  # ws_connecting: one per session, from both processes
    assert "every: 0.02s: rules[0]" in page  # timer firings, recorded in the worker that ran vu 1


def test_init_warns_about_a_hidden_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A starter named .x.yaml is written, with a note that folder runs skip it."""
    assert main(["init", str(tmp_path / ".x")]) == 0
    assert "starts with a dot, so running its folder (wsrun FOLDER) skips it" in capsys.readouterr().out
    assert (tmp_path / ".x.yaml").is_file()


async def test_a_shared_name_reports_where_it_failed(echo_url: str) -> None:
    """Two expectations of one name: the report names the place of the one that failed, not the first."""
    from .helpers import run_yaml
    from .test_hostile_servers import report

    run = await run_yaml(
        """
        url: ws://127.0.0.1:9/
        rules:
          - on: open
            do:
              - send: hi
              - expect: {name: echo, message: {equals: hi}, within: 1s}
          - after: 50ms
            do:
              - expect: {name: echo, message: {equals: never}, within: 50ms}
          - {after: 300ms, do: [close]}
        """,
        url=echo_url,
    )
    check = run.result.checks["echo"]
    assert (check.passes, check.fails) == (1, 1)
    assert check.where == "rules[0].do[1]" and check.where_failed == "rules[1].do[0]"
    text = report(run.result)
    assert "rules[1].do[0])" in text and "rules[0].do[1])" not in text


# -- schema files in a suite's folder ------------------------------------------------------------

USES_SCHEMA = """
name: {name}
url: ws://127.0.0.1:9/
rules:
  - on: open
    do: [{{send_json: {{type: hello, n: 1}}}}]
  - on: message
    do:
      - {{check: {{name: reply shape, schema: {schema}}}}}
      - close
"""


def schema_suite(folder: Path) -> None:
    """A suite whose schemas are YAML files in its folder: one named directly, one through its $ref;
    the first sorts before every scenario."""
    write(folder, "a-schemas/reply.yaml", "$ref: common.yaml#/$defs/hello\n")
    write(folder, "a-schemas/common.yaml", "$defs:\n  hello: {type: object, required: [type, n]}\n")
    write(folder, "echo.yaml", USES_SCHEMA.format(name="echo", schema="a-schemas/reply.yaml"))
    write(folder, "other.yaml", USES_SCHEMA.format(name="other", schema="a-schemas/reply.yaml"))


def test_schema_files_in_a_folder_are_not_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A YAML schema file in a suite's folder, named by a scenario or reached through a $ref, is not run
    as a scenario (it made the run exit 2), whatever the order the files load in."""
    schema_suite(tmp_path)
    assert main(["validate", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert [line.split(":")[0] for line in out.splitlines()] == [
        str(tmp_path / "echo.yaml"),
        str(tmp_path / "other.yaml"),
    ]
    assert main([str(tmp_path), "--serve"]) == 0
    out = capsys.readouterr().out
    assert "2 scenarios: 2 passed" in out
    assert "reply.yaml" not in out and "common.yaml" not in out


def test_a_yaml_file_neither_scenario_nor_schema_is_still_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the files a scenario of the run uses as schemas are left out: other YAML is still refused."""
    schema_suite(tmp_path)
    write(tmp_path, "a-schemas/unused.yaml", "type: object\n")
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unused.yaml" in err and "reply.yaml" not in err and "common.yaml" not in err


def test_a_schema_file_that_is_also_a_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file used as a schema is a schema when found in a folder, even if it is a valid scenario too
    (`url: …` is a JSON Schema that accepts anything); named by itself, it is run as a scenario."""
    write(tmp_path, "loose.yaml", "url: ws://127.0.0.1:9/\n")
    write(tmp_path, "uses.yaml", USES_SCHEMA.format(name="uses", schema="loose.yaml"))
    assert main(["validate", str(tmp_path)]) == 0
    assert "loose.yaml" not in capsys.readouterr().out
    assert main(["validate", str(tmp_path), str(tmp_path / "loose.yaml")]) == 0
    assert "loose.yaml: valid" in capsys.readouterr().out


def test_a_broken_scenario_still_claims_its_schema_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario with another problem still names its schema files: they are not reported as bad scenarios."""
    schema_suite(tmp_path)
    write(tmp_path, "echo.yaml", USES_SCHEMA.format(name="echo", schema="a-schemas/reply.yaml") + "colour: red\n")
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'colour'" in err
    assert "reply.yaml" not in err and "common.yaml" not in err
