"""What reaches the terminal: text from a file or a server as written, escaped where it could act; true figures."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from wsrun.cli import main
from wsrun.output.console import Reporter
from wsrun.output.html import render_html
from wsrun.output.junit import junit_xml
from wsrun.output.text import format_count, printable, rate_of
from wsrun.session.metrics import Metrics
from wsrun.session.results import LogLine, RunResult

from .helpers import run_yaml, serving

RAW = ("\x1b", "\x00", "\u202e", "\u2066", "\u200f")


def console_of(result: RunResult, *, quiet: bool = False) -> str:
    out = io.StringIO()
    Reporter(Console(file=out, width=300, highlight=False, color_system=None), quiet=quiet).run(result)
    return out.getvalue()


def live(lines: list[LogLine]) -> str:
    out = io.StringIO()
    reporter = Reporter(Console(file=out, width=300, highlight=False, color_system=None))
    for line in lines:
        reporter.log(line)
    return out.getvalue()


@pytest.mark.usefixtures("transport")
async def test_backslashes_from_the_file_reach_the_terminal_as_written(echo_url: str) -> None:
    r"""A check named `exp \[ name` and a pattern `^nope\[` print as written (rich markup ate the backslash)."""
    run = await run_yaml(
        r"""
        url: ws://x
        rules:
          - {on: open, do: [{send: "hello [b]bold[/b] \\[x]"}]}
          - on: message
            do:
              - {check: {name: 'exp \[ name', that: message, matches: '^nope\['}}
              - {log: "{{ message }}"}
              - close
        """,
        url=echo_url,
    )
    text = console_of(RunResult.of(run.result)) + live(run.lines)
    assert r"✗ exp \[ name" in text
    assert r"/^nope\[/" in text
    assert r"hello [b]bold[/b] \[x]" in text


@pytest.mark.usefixtures("transport")
async def test_bidi_controls_from_a_server_are_escaped_in_log_and_error_lines_and_junit() -> None:
    """A close reason with U+202E shows as \\u202e on the console, in error lines and in JUnit."""

    async def handler(ws: Any) -> None:
        await ws.send("evil \u202etxt.exe \u2066x\u2069")
        await ws.close(4401, "\u202edenied")

    async with serving(handler) as url:
        run = await run_yaml(
            'url: ws://x\nrules: [{on: message, do: [{log: "{{ message }}"}]}, {on: close, do: [{log: "{{ close_reason }}"}]}]\n',
            url=url,
        )
    result = RunResult.of(run.result)
    outputs = [console_of(result), live(run.lines), junit_xml([result], duration=1.0)]
    for text in outputs:
        assert not any(char in text for char in RAW), ascii(text)
    assert "\\u202edenied" in outputs[0] and "evil \\u202etxt.exe \\u2066x\\u2069" in outputs[1]
    assert "\\u202edenied" in outputs[2]


def test_text_from_files_is_escaped_like_text_from_servers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario name, a check name and a tag with NUL, ESC or bidi controls never reach the terminal raw."""
    path = tmp_path / "evil.yaml"
    path.write_text(
        textwrap.dedent(
            r"""
            name: "red \e[31m name \0 nul \u202e rlo"
            tags: {team: "\e[2J"}
            url: ws://127.0.0.1:9/
            rules: [{on: open, do: [close]}]
            checks:
              - {name: "check \e[1m bold", that: close_code, equals: 1}
            """
        )
    )
    code = main([str(path), "--serve"])
    captured = capsys.readouterr()
    assert code == 1
    text = captured.out + captured.err
    assert not any(char in text for char in RAW), ascii(text)
    assert "red \\x1b[31m name \\x00 nul \\u202e rlo" in text
    assert "check \\x1b[1m bold" in text and "team=\\x1b[2J" in text


def test_counts_are_integers_never_scientific_notation() -> None:
    """ws_msgs_received: 1234567 (it printed 1.23457e+06), in the console and in JUnit."""
    from wsrun.scenario.thresholds import parse_all

    result = RunResult("s", "s.yaml", "ws://h", duration=10.0, sessions=1)
    metrics = Metrics()
    metrics.counters["ws_msgs_received"] = 1_234_567
    metrics.trends["ws_session_duration"].add(1_500_000.5)
    result.series.add(metrics, {})
    thresholds = parse_all({"ws_msgs_received": ["count < 10"], "ws_session_duration": ["max < 1"]})
    from wsrun.session.verdicts import evaluate

    result.thresholds = evaluate(thresholds, result.series, (0, 0), result.duration)
    text = console_of(result)
    xml = junit_xml([result], duration=10.0)
    assert "1234567 123,456.70/s" in text and "e+06" not in text and "e+06" not in xml
    assert "count=1234567" in xml and "max=1500000.5ms" in xml
    assert format_count(3.0) == "3" and format_count(2.5) == "2.50"


@pytest.mark.usefixtures("transport")
async def test_a_run_of_a_few_milliseconds_shows_no_rate() -> None:
    """A connection refused at once: `ws_sessions 1 -`, not `1 213.48/s`; rates need a run of RATE_FROM seconds."""
    run = await run_yaml("url: ws://127.0.0.1:9/\nrules: [{on: open, do: [close]}]\n")
    result = RunResult.of(run.result)
    assert result.duration < 1
    line = next(line for line in console_of(result).splitlines() if line.startswith("  ws_sessions"))
    assert line.endswith(": 1 -"), line
    assert rate_of(10, 2.0) == "5.00/s" and rate_of(2000, 2.0, bytes_=True) == "1.0 kB/s"


@pytest.mark.usefixtures("transport")
async def test_an_expected_application_close_draws_no_failure_mark() -> None:
    """A 4401 the scenario checks for and gets is still an error (k6), but no ✗ is drawn: the checks decide."""

    async def handler(ws: Any) -> None:
        await ws.close(4401, "unauthorized")

    async with serving(handler) as url:
        checked = await run_yaml(
            "url: ws://x\nchecks: [{name: closed with 4401, that: close_code, equals: 4401}]\n", url=url
        )
        unchecked = await run_yaml("url: ws://x\n", url=url)
    assert checked.errors == ["server closed the connection with 4401 (application-defined): unauthorized"]
    text = console_of(RunResult.of(checked.result)) + live(checked.lines)
    assert "✓ passed" in text and "✓ closed with 4401" in text
    assert "✗ server" not in text and "✗ failed" not in text
    assert "• server closed the connection with 4401" in text
    page = render_html([RunResult.of(checked.result)], duration=1.0)
    assert '<div class="note warn"><b>1 errors' in page and "<span class='bad'>1</span>" not in page
    # Without checks the error decides the verdict: then it is drawn as a failure.
    text = console_of(RunResult.of(unchecked.result)) + live(unchecked.lines)
    assert "✗ failed" in text and "✗ server closed the connection with 4401" in text


def test_printable_escapes_bidi_controls_and_keeps_right_to_left_text() -> None:
    """Bidi controls are escaped; Hebrew or Arabic letters are not controls and stay."""
    assert printable("a\u202eb\u2067c\u200ed\u061c") == "a\\u202eb\\u2067c\\u200ed\\u061c"
    assert printable("שלום مرحبا") == "שלום مرحبا"


@pytest.mark.parametrize("command", [["validate"], []])
def test_a_load_error_never_sends_control_characters_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """A key of the file with an escape sequence in it is shown escaped in the error, never raw."""
    path = tmp_path / "s.yaml"
    path.write_text('url: ws://h\n"k\\x1b[31mey\\u202e": 1\n', encoding="utf-8")
    assert main([*command, str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown key" in err and "k\\x1b[31mey\\u202e" in err
    assert "\x1b" not in err and "\u202e" not in err
