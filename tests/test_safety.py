"""Safety: secrets are masked in every output; insecure TLS is flagged; scenarios run no code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trustme
from rich.console import Console

from wsrun.cli import main
from wsrun.errors import ScenarioError
from wsrun.output.console import Reporter
from wsrun.scenario.loader import load_text
from wsrun.scenario.namespace import dig
from wsrun.scenario.templates import MISSING
from wsrun.session.masking import Mask
from wsrun.session.results import RunResult, SessionResult

from .helpers import UNIT, run_yaml
from .test_connection import tls_echo

TOKEN = "s3cr3t-T0ken"


def report(result: SessionResult) -> str:
    out = io.StringIO()
    Reporter(Console(file=out, width=200, color_system=None)).run(RunResult.of(result))
    return out.getvalue()


def test_mask_replaces_longest_first() -> None:
    """A secret inside another secret stays hidden; an empty value masks nothing."""
    mask = Mask(["abc", "abcdef", ""])
    assert mask("x abcdef y abc z") == "x *** y *** z"
    assert mask("nothing here") == "nothing here"


async def test_secrets_never_reach_logs_transcript_report_or_reasons(echo_url: str) -> None:
    """A secret variable, a secret env value and a secret stored value are *** everywhere."""
    run = await run_yaml(
        """
        url: ws://unused
        vars:
          token: "{{ env.WSRUN_SECRET }}"
        secrets: [token, env.WSRUN_OTHER, session]
        headers: {Authorization: "Bearer {{ token }}"}
        rules:
          - on: open
            do:
              - log: "using {{ token }} and {{ env.WSRUN_OTHER }}"
              - send_json: {token: "{{ token }}", session: "sess-9876"}
          - on: message
            do:
              - store: {from: message.session, as: session}
              - log: "session {{ session }}"
              - check: {name: echo, that: message, equals: "{{ token }}"}
              - close
        """,
        url=echo_url + f"/?key={TOKEN}",
        env={"WSRUN_SECRET": TOKEN, "WSRUN_OTHER": "other-value"},
    )
    outputs = [line.text for line in run.lines] + [frame.text for frame in run.result.transcript]
    outputs += [check.reason for check in run.result.checks.values()] + [report(run.result), run.result.url]
    everything = "\n".join(outputs)
    assert TOKEN not in everything and "other-value" not in everything and "sess-9876" not in everything
    assert "using *** and ***" in everything and "session ***" in everything
    assert 'got "{\\"token\\": \\"***\\"' in run.result.checks["echo"].reason
    assert run.result.url.endswith("/?key=***")


def test_secrets_masked_in_the_cli_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--var values of secret variables are masked in the printed report and the export."""
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent(
            """
            url: ws://127.0.0.1:9/json
            vars: {token: placeholder}
            secrets: [token]
            rules:
              - {on: open, do: [{send_json: {id: 1, token: "{{ token }}"}}]}
              - {on: message, do: [{log: "{{ message }}"}, close]}
            checks:
              - {name: "token not leaked", that: message.request.token, equals: nope}
            """
        )
    )
    export = tmp_path / "summary.json"
    assert main([str(path), "--serve", "--var", f"token={TOKEN}", "--summary-export", str(export)]) == 1
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err + export.read_text()
    assert '"token": "***"' in captured.out
    assert json.loads(export.read_text())["metrics"]["checks"]["fails"] == 1


def test_secret_must_name_something() -> None:
    """A secrets entry that names nothing is an error: a typo must not leave a secret unmasked."""
    with pytest.raises(ScenarioError, match=r"secrets\[0\]: 'tokn' is not a variable or stored name"):
        load_text("url: ws://h\nvars: {token: x}\nsecrets: [tokn]\n", "s.yaml")


async def test_insecure_tls_is_flagged_in_the_report() -> None:
    """Turning verification off works, and the report says it was off."""
    async with tls_echo(trustme.CA()) as port:
        run = await run_yaml(
            f"""
            url: wss://localhost:{port}
            tls: {{insecure: true}}
            rules: [{{on: open, do: [close]}}]
            checks: [{{name: status is 101, that: status, equals: 101}}]
            """
        )
    assert run.result.passed
    assert "⚠ TLS verification is off (tls.insecure): the server's identity was not checked" in report(run.result)


@pytest.mark.parametrize(
    "text",
    [
        "url: !!python/object/apply:os.system ['touch /tmp/wsrun-pwned']\n",
        "url: !!python/object/new:subprocess.Popen [['touch', '/tmp/wsrun-pwned']]\n",
        "url: !!python/name:os.system\n",
        'url: ws://h\nrules: [{on: open, do: [{log: \'{{ __import__("os").system("touch /tmp/wsrun-pwned") }}\'}]}]\n',
    ],
)
def test_nothing_in_a_scenario_runs_code(text: str) -> None:
    """Object tags and expressions in templates are refused; nothing is executed."""
    with pytest.raises(ScenarioError):
        load_text(text, "s.yaml")
    assert not Path("/tmp/wsrun-pwned").exists()


def test_dotted_names_read_data_never_attributes() -> None:
    """A dotted path reads keys and list indexes of data; Python attributes are out of reach."""
    assert dig({"a": {"b": [10, 20]}}, ["a", "b", "1"]) == 20
    assert dig("text", ["__class__"]) is MISSING
    assert dig({"a": 1}, ["__class__", "__init__"]) is MISSING


@pytest.mark.usefixtures("transport")
async def test_what_a_session_keeps_is_bounded_whatever_the_messages() -> None:
    """Log lines of 512 kB messages, their frames and a reason quoting one are cut once masked;
    a session keeps its last LOG_LINES log lines (each line was kept whole: GBs in seconds)."""
    from wsrun.session.record import FRAME_TEXT, LINE_TEXT, LOG_LINES, REASON_TEXT

    from .helpers import serving

    big = "x" * 500_000

    async def handler(ws: Any) -> None:
        for _ in range(8):
            await ws.send(big + TOKEN)
        for number in range(LOG_LINES + 200):
            await ws.send(str(number))
        await ws.send("done")
        await ws.wait_closed()

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://x
            vars: {token: s3cr3t-T0ken}
            secrets: [token]
            rules:
              - on: message
                do:
                  - log: "Received message: {{ message }}"
                  - {check: {name: short, that: message, matches: "^.{0,10}$"}}
              - {on: message, when: {that: message, equals: done}, do: [close]}
            """,
            url=url,
        )
    result = run.result
    assert run.result.closed_by == "client"
    assert len(result.logs) == LOG_LINES and result.logs[-1].text == "Received message: done"
    assert all(len(line.text) <= LINE_TEXT for line in run.lines)
    assert run.lines[0].text.endswith("…") and TOKEN not in "".join(line.text for line in run.lines)
    assert all(len(frame.text) <= FRAME_TEXT for frame in result.transcript)
    assert 0 < len(result.checks["short"].reason) <= REASON_TEXT


def test_deep_nesting_in_a_scenario_file_is_refused_not_a_crash(tmp_path: Path) -> None:
    """100,000 nested brackets: a located error and exit 2 (libyaml built the nodes recursively and crashed)."""
    path = tmp_path / "deep.yaml"
    path.write_text("url: ws://127.0.0.1:9\nvars: {x: " + "[" * 100_000 + "]" * 100_000 + "}\n")
    done = subprocess.run(
        [sys.executable, "-m", "wsrun", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=30 * UNIT,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-500:]
    assert f"{path}:2:" in done.stderr and "nested more than 64 levels deep" in done.stderr


@pytest.mark.parametrize(
    "url", ["ws://127.0.0.1:9/a b", "ws://127.0.0.1:9/a\r\nX-Injected: 1", "ws://127.0.0.1:9/\x00"]
)
def test_a_url_with_a_space_or_a_line_break_is_refused_when_loaded(url: str) -> None:
    """A space or a control character in a URL would go into the request line as it is (a line break
    writing a header of its own): an error when the file is loaded."""
    with pytest.raises(ScenarioError, match=r"url: .* is not allowed in a URL: percent-encode it"):
        load_text(f"url: {json.dumps(url)}\n", "s.yaml")


def test_a_templated_url_with_a_line_break_is_refused_before_connecting() -> None:
    """A value a template brings into the URL is checked once rendered, before any connection."""
    from wsrun.errors import UsageError
    from wsrun.session.plan import prepare

    scenario = load_text('url: "ws://127.0.0.1:9/{{ p }}"\nvars: {p: "a\\r\\nX-Injected: 1"}\n', "s.yaml")
    with pytest.raises(UsageError, match=r"'\\r' at position 18 is not allowed in a URL: percent-encode it \(%0D\)"):
        prepare(scenario, file="s.yaml")
