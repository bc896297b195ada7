"""The JUnit XML report (--junit): real runs, each document validated against Jenkins' junit-10.xsd."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from wsrun.output.junit import classname, junit_xml
from wsrun.scenario.loader import load_text
from wsrun.session.load import Load, LoadRun, load_of
from wsrun.session.plan import prepare
from wsrun.session.results import LogLine, RunResult

from .helpers import UNIT, run_yaml

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "junit-10.xsd")))
START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def valid(results: list[RunResult], duration: float = 1.0) -> Any:
    """The document of these results, parsed and validated against the schema."""
    root = etree.fromstring(junit_xml(results, duration=duration, timestamp=START).encode("utf-8"))
    SCHEMA.assertValid(root)
    return root


def counts(element: Any) -> dict[str, str]:
    return {name: element.get(name) for name in ("tests", "failures", "errors", "skipped") if element.get(name)}


def case(root: Any, name: str) -> Any:
    (found,) = root.xpath("//testcase[@name=$name]", name=name)
    return found


def properties(suite: Any) -> dict[str, str]:
    return {prop.get("name"): prop.get("value") for prop in suite.find("properties")}


async def load_run(text: str, url: str, **load_args: Any) -> RunResult:
    scenario = load_text(textwrap.dedent(text), "load.yaml")
    return await LoadRun(prepare(scenario, file="load.yaml", url=url), load_of(scenario, **load_args)).run()


def test_the_classname_is_the_file_as_a_dotted_name() -> None:
    """A scenario file's path becomes a dotted name: folders are packages, the .yaml suffix goes."""
    assert classname("scenarios/k6-socket-on.yaml") == "scenarios.k6-socket-on"
    assert classname("./a/../b/c.v2.yml") == "a.b.c_v2"
    assert classname("ci\\smoke.YAML") == "ci.smoke"
    assert classname("") == "scenario"


async def test_a_passing_scenario(echo_url: str) -> None:
    """A passing scenario: one suite named by its file, one passing test case per check, its properties and logs."""
    run = await run_yaml(
        """
        name: echo
        url: ws://x
        tags: {team: qa}
        rules:
          - {on: open, do: [{log: opened}, {send: hello}]}
          - {on: message, do: [{check: {name: echoed, that: message, equals: hello}}, close]}
        checks: [{name: status is 101, that: status, equals: 101}]
        """,
        url=echo_url,
        file="scenarios/echo.yaml",
    )
    root = valid([RunResult.of(run.result)], duration=2.5)
    assert root.tag == "testsuites" and root.get("name") == "wsrun" and root.get("time") == "2.500"
    assert counts(root) == {"tests": "2", "failures": "0", "errors": "0"}
    (suite,) = root
    assert suite.get("name") == "scenarios/echo.yaml" and suite.get("timestamp") == "2025-01-02T03:04:05+00:00"
    assert counts(suite) == {"tests": "2", "failures": "0", "errors": "0", "skipped": "0"}
    assert suite.get("hostname")
    props = properties(suite)
    assert props["url"] == echo_url and props["sessions"] == "1" and props["vus_max"] == "1"
    assert props["interrupted"] == "false" and props["tag.team"] == "qa" and props["scenario"] == "echo"
    assert [(c.get("name"), c.get("classname")) for c in suite.iter("testcase")] == [
        ("status is 101", "scenarios.echo"),
        ("echoed", "scenarios.echo"),
    ]
    assert not list(suite.iter("failure")) and "opened" in suite.findtext("system-out")


async def test_a_failed_check_shows_its_reason_tally_and_transcript(echo_url: str) -> None:
    """A failed check: failure message with expected and actual; text with place, tally and the last frames."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - {on: open, do: [{send: hello}]}
          - {on: message, do: [{check: {name: reply is bye, that: message, equals: bye}}, close]}
        checks: [{name: status is 101, that: status, equals: 101}]
        """,
        url=echo_url,
        file="s.yaml",
    )
    root = valid([RunResult.of(run.result)])
    assert counts(root) == {"tests": "2", "failures": "1", "errors": "0"}
    failure = case(root, "reply is bye").find("failure")
    assert failure.get("type") == "CheckFailed"
    assert failure.get("message") == 'expected message equals "bye", got "hello"'
    text = failure.text
    assert text.startswith('expected message equals "bye", got "hello"\n')
    assert "where: s.yaml, rules[1].do[0]" in text and "tally: 0 passed, 1 failed" in text
    assert "into the session\n" in text  # one session: no vu named
    assert "→ text   hello" in text and "← text   hello" in text and "← open   HTTP 101" in text


async def test_an_expectation_failure_shows_the_frames_around_it(echo_url: str) -> None:
    """A failed expectation shows its excerpt: the frames around the failure, not the end of the transcript."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - on: open
            do:
              - expect: {name: never an error, no_message: {that: message.type, equals: error}}
              - send_json: {type: error, code: 42}
          - {on: message, do: [close]}
        """,
        url=echo_url,
        file="s.yaml",
    )
    root = valid([RunResult.of(run.result)])
    failure = case(root, "never an error").find("failure")
    assert failure.get("message").startswith("got a message matching message.type equals")
    text = failure.text
    assert "frames around the failure" in text and "last" not in text
    assert '→ text   {"type": "error", "code": 42}' in text
    assert '← text   {"type": "error", "code": 42}' in text
    assert "close" not in text.split("frames around the failure")[1]  # the excerpt ends at the failure


async def test_a_load_run_with_thresholds(echo_url: str) -> None:
    """A load run: a test case per threshold, the failing one with its value; a failed check names its session."""
    result = await load_run(
        """
        url: ws://x
        thresholds:
          ws_msgs_received: ["count >= 1000"]
          checks: ["rate >= 0"]
          ws_connecting: ["p(95) < 60000"]
        rules:
          - {on: open, do: [{send: "{{ vu }}"}]}
          - {on: message, do: [{check: {name: first vu only, that: vu, equals: 1}}, close]}
        checks: [{name: status is 101, that: status, equals: 101}]
        """,
        echo_url,
        vus=2,
        iterations=4,
    )
    root = valid([result])
    (suite,) = root
    assert counts(suite) == {"tests": "5", "failures": "2", "errors": "0", "skipped": "0"}
    props = properties(suite)
    assert props["sessions"] == "4" and props["vus_max"] == "2" and int(props["failed_sessions"]) >= 1
    thresholds = suite.xpath("testcase[@classname='load.thresholds']")
    assert [c.get("name") for c in thresholds] == [
        "ws_msgs_received count >= 1000",
        "checks rate >= 0",
        "ws_connecting p(95) < 60000",
    ]
    failure = thresholds[0].find("failure")
    assert failure.get("type") == "ThresholdFailed"
    assert failure.get("message") == "count=4, expected count >= 1000"
    assert "over 4 sessions" in failure.text
    assert thresholds[1].find("failure") is None and thresholds[2].find("failure") is None
    check = case(root, "first vu only").find("failure")
    check_passes, check_fails = result.checks["first vu only"].passes, result.checks["first vu only"].fails
    assert f"tally: {check_passes} passed, {check_fails} failed" in check.text
    vu, iteration = result.checks["first vu only"].session or (0, 0)
    assert vu == 2 and f"into the session of vu 2 #{iteration}" in check.text
    assert "← text   2" in check.text  # the frames of that very session


async def test_a_scenario_without_checks_that_cannot_connect() -> None:
    """No checks and a closed port: one test case, "session ended without an error", failing with the error."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    run = await run_yaml("url: ws://x\nrules:\n  - {on: open, do: [close]}\n", url=f"ws://127.0.0.1:{port}")
    (error,) = run.errors
    root = valid([RunResult.of(run.result)])
    assert counts(root) == {"tests": "1", "failures": "1", "errors": "0"}
    failure = case(root, "session ended without an error").find("failure")
    assert failure.get("type") == "SessionError" and failure.get("message") == error
    assert "error at" in failure.text and error in failure.text
    assert error in root.findtext("testsuite/system-err")


async def test_hostile_text_is_made_xml_safe(echo_url: str) -> None:
    """NUL, ESC and markup from a server are shown escaped; the document stays well-formed and valid."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - {on: open, do: [{send: "evil\\0\\e[31m<&>]]>"}]}
          - on: message
            do: [{log: "got {{ message }}"}, {check: {name: "no <&> ]]> here", that: message, equals: ok}}, close]
        """,
        url=echo_url,
    )
    document = junit_xml([RunResult.of(run.result)], duration=0.1)
    assert "\x00" not in document and "\x1b" not in document
    root = valid([RunResult.of(run.result)])
    failure = case(root, "no <&> ]]> here").find("failure")
    assert "→ text   evil\\x00\\x1b[31m<&>]]>" in failure.text
    assert "<&>]]>" in failure.get("message")
    assert "got evil\\x00\\x1b[31m<&>]]>" in root.findtext("testsuite/system-out")


async def test_an_interrupted_run_skips_what_the_interruption_decided(echo_url: str) -> None:
    """Ctrl-C: a failure before it stays a failure, an expectation it cut short and every threshold are skipped."""
    scenario = load_text(
        textwrap.dedent(
            """
            url: ws://x
            thresholds: {ws_msgs_received: ["count >= 1000"]}
            rules:
              - {on: open, do: [{send: hello}]}
              - on: message
                do:
                  - check: {name: reply is bye, that: message, equals: bye}
                  - expect: {name: a second reply, message: {that: message, equals: never}, within: 60s}
                  - log: waiting
              - {after: 60s, do: [close]}
            checks: [{name: status is 101, that: status, equals: 101}]
            """
        ),
        "s.yaml",
    )
    run: LoadRun

    def on_log(line: LogLine) -> None:
        if line.text == "waiting":
            run.stop()

    run = LoadRun(prepare(scenario, file="s.yaml", url=echo_url), Load(), on_log=on_log)
    result = await asyncio.wait_for(run.run(), 10 * UNIT)
    assert result.interrupted
    root = valid([result])
    (suite,) = root
    assert properties(suite)["interrupted"] == "true"
    assert counts(suite) == {"tests": "4", "failures": "1", "errors": "0", "skipped": "2"}
    failure = case(root, "reply is bye").find("failure")
    assert failure.get("message") == 'expected message equals "bye", got "hello"'
    assert "the session was interrupted (Ctrl-C or a stop signal) later" in failure.text
    skipped = case(root, "a second reply").find("skipped")
    assert (
        skipped.get("message") == "interrupted"
        and "cut short: the run was interrupted (Ctrl-C or a stop signal)" in skipped.text
    )
    assert case(root, "status is 101").find("*") is None
    threshold = case(root, "ws_msgs_received count >= 1000").find("skipped")
    assert threshold.get("message") == "interrupted" and "count=1" in threshold.text


async def test_suites_follow_one_another(echo_url: str) -> None:
    """Several scenario files: one suite each, totals summed, timestamps one after the other."""
    runs = [
        await run_yaml(
            f"url: ws://x\nrules:\n  - {{on: open, do: [close]}}\nchecks: [{{name: c, that: status, equals: {status}}}]\n",
            url=echo_url,
            file=f"{status}.yaml",
        )
        for status in (101, 200)
    ]
    results = [RunResult.of(run.result) for run in runs]
    root = valid(results)
    assert [suite.get("name") for suite in root] == ["101.yaml", "200.yaml"]
    assert counts(root) == {"tests": "2", "failures": "1", "errors": "0"}
    first, second = (datetime.fromisoformat(suite.get("timestamp")) for suite in root)
    assert first == START and START <= second
