"""Secrets: masked in every form they take, before any cut, inside structures, and in what is derived from them."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import os
import re
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsrun.cli import main
from wsrun.errors import UsageError
from wsrun.output.html import render_html
from wsrun.output.junit import junit_xml
from wsrun.output.text import html_text, printable
from wsrun.scenario.loader import load_text
from wsrun.session.masking import MASK, Mask
from wsrun.session.plan import prepare
from wsrun.session.results import RunResult, SessionResult

from .helpers import UNIT, report, run_yaml, serving

pytest_plugins = ["pytester"]

#: A JSON Web Token, 253 characters long.
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIy"
    "LCJleHAiOjE1MTYyNDkwMjIsInNjb3BlIjoicmVhZCB3cml0ZSBhZG1pbiJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
QUOTED = 'Tr0ub4dor"&3\\x/é'


def shown(result: SessionResult, lines: list[Any]) -> str:
    """Everything a session shows: its report, log and error lines, transcript, reasons."""
    texts = [report(result), result.url, *(line.text for line in lines), *(line.text for line in result.errors)]
    texts += [frame.text for frame in result.transcript] + [check.reason for check in result.checks.values()]
    return "\n".join(texts)


def forms_of(secret: str) -> set[str]:
    """What the issue lists, computed here independently: JSON once and twice (with ``\\/`` or not),
    percent-encoding, base64, hex, a Python bytes literal; then as each output shows text."""
    data = secret.encode()
    once = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    once |= {form.replace("/", "\\/") for form in once}
    twice = {json.dumps(form)[1:-1] for form in once} | {json.dumps(form, ensure_ascii=False)[1:-1] for form in once}
    raw = {secret, *once, *twice, quote(secret, safe=""), base64.b64encode(data).decode(), data.hex(), repr(data)[2:-1]}
    return raw | {printable(form) for form in raw} | {html_text(form) for form in raw} | {html.escape(f) for f in raw}


def leaks(secret: str, text: str) -> list[str]:
    return [form for form in forms_of(secret) if form and form in text]


def pieces(secret: str, text: str, size: int = 8) -> list[str]:
    """The runs of ``size`` consecutive characters of the secret that the text shows."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1) if secret[i : i + size] in text]


def outputs(run: Any) -> dict[str, str]:
    """What a session shows: the console report and lines, JUnit, the HTML report."""
    results = [RunResult.of(run.result)]
    return {
        "console": shown(run.result, run.lines),
        "junit": junit_xml(results, duration=0.1),
        "html": render_html(results, duration=0.1),
    }


def test_every_encoding_of_a_secret_is_masked() -> None:
    """JSON once and twice, PHP's \\/, percent-encoding, base64 (also inside longer base64), hex, bytes literals."""
    mask = Mask([QUOTED])
    data = QUOTED.encode()
    samples = [
        json.dumps({"p": QUOTED}),
        json.dumps(json.dumps({"p": QUOTED})),
        json.dumps({"p": QUOTED}).replace("/", "\\/"),
        json.dumps(json.dumps({"p": QUOTED}).replace("/", "\\/")).replace("/", "\\/"),
        "https://h/?p=" + quote(QUOTED, safe=""),
        "p=" + re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(QUOTED, safe="")),
        "Basic " + base64.b64encode(b"user:" + data).decode(),
        base64.urlsafe_b64encode(b"xy" + data + b"z").decode(),
        data.hex().upper(),
        repr(b"pre " + data),
        repr(QUOTED),
    ]
    for sample in samples:
        masked = mask(sample)
        assert MASK in masked, sample
        assert not leaks(QUOTED, masked), (sample, masked)
        # Not even a third of the secret's base64 survives around the mask.
        assert base64.b64encode(data).decode()[4:12] not in masked


def test_percent_and_hex_in_any_case_hex_with_spaces_and_html_escapes_are_masked() -> None:
    """%c3%a9 and %C3%a9, DeadBeef and de ad be ef (as binary frames are shown), &quot; &amp; &#x27; &lt;."""
    secret = "pä\"s/s&<w'0rd"
    mask, data = Mask([secret]), secret.encode()
    samples = [
        quote(secret, safe="").lower(),
        re.sub("%[0-9A-F]{2}", lambda m: m.group()[:2] + m.group()[2].lower(), quote(secret, safe="")),
        data.hex().upper()[:10] + data.hex()[10:],
        data.hex(" "),
        data.hex(" ").upper(),
        html.escape(secret),
        html.escape(secret, quote=False),
        html.escape(json.dumps(secret)[1:-1]),
    ]
    for sample in samples:
        assert mask(f"x {sample} y") == "x *** y", sample


def test_numbers_inside_a_structured_secret_are_masked() -> None:
    """{"pin": 98765432} stored as a secret: the number is masked on its own; short numbers are not."""
    mask = Mask()
    mask.add_value({"pin": 98765432, "n": 12, "rate": 1234.5})
    assert mask('{"code": 98765432, "x": 1234.5, "count": 12}') == '{"code": ***, "x": ***, "count": 12}'


def test_a_secret_that_is_not_utf8_is_masked() -> None:
    """A value from the environment with bytes that are not UTF-8 (surrogateescape) is masked, not a crash."""
    secret = b"k\xff\xfe-key".decode("utf-8", "surrogateescape")
    mask = Mask([secret])
    assert mask(f"a {secret} b {b'k' + bytes([255, 254]) + b'-key'!r}") == "a *** b b'***'"


def test_a_deeply_nested_structured_secret_is_masked() -> None:
    """A stored secret nested as deep as a server likes: each string in it is masked, nothing raises."""
    value: Any = "deep-secret-value"
    for _ in range(5000):
        value = [value]
    mask = Mask()
    mask.add_value({"a": value, "b": "other-secret"})
    assert mask("deep-secret-value other-secret") == "*** ***"


def test_a_cut_never_shows_half_a_secret() -> None:
    """Mask first, then cut; a cut made before a secret was known is masked at its edge."""
    mask = Mask([JWT])
    cut = mask.cut("x" * 150 + JWT + "y" * 300, 200)
    assert len(cut) <= 200 and JWT[:8] not in cut and cut.endswith("…")
    assert JWT[:8] not in mask.edge(f'got "{JWT[:120]}…", and more')
    # A text made mostly of secrets still ends where it may.
    assert JWT[:8] not in mask.cut(JWT * 20 + "tail", 50)


@pytest.mark.usefixtures("transport")
async def test_a_long_secret_stored_from_a_frame_is_not_half_shown_in_frames_cut_before() -> None:
    """A 253-character JWT stored from a message: the frames holding it, cut to 120 characters
    before it was known, show none of it (they showed its first 110 characters)."""

    async def handler(ws: Any) -> None:
        await ws.send(json.dumps({"jwt": JWT}))
        await ws.send(json.dumps({"t": JWT}))
        await ws.wait_closed()

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://x
            secrets: [tok]
            rules:
              - {on: message, when: {that: message.t, exists: true}, do: [{store: {from: message.t, as: tok}}, close]}
            checks:
              - {name: fails, that: message, equals: nope}
            """,
            url=url,
        )
    assert run.check("fails")[1] == 1
    texts = [frame.text for frame in run.result.transcript if frame.kind == "text"]
    assert texts == ['{"jwt": "***"}', '{"t": "***"}']  # masked again whole, from what was kept
    for name, text in outputs(run).items():
        assert not pieces(JWT, text), (name, pieces(JWT, text)[:3])


@pytest.mark.usefixtures("transport")
async def test_a_long_secret_in_a_check_reason_is_masked_before_it_is_cut(echo_url: str) -> None:
    """A reason quoting a 253-character JWT shows none of it (it showed 198 characters)."""
    run = await run_yaml(
        """
        url: ws://x
        vars: {token: "{{ env.JWT }}"}
        secrets: [token]
        rules:
          - {on: open, do: [{send: "{{ token }}"}]}
          - on: message
            do:
              - {check: {name: jwt, that: message, equals: nope}}
              - {expect: {name: more, message: {that: message, equals: nope}, within: 50ms}}
          - {on: message, do: [close]}
        """,
        url=echo_url,
        env={"JWT": JWT},
    )
    assert run.check("jwt")[1] == 1
    everything = shown(run.result, run.lines)
    assert JWT[:10] not in everything and JWT[-10:] not in everything
    assert run.result.checks["jwt"].reason.startswith('expected message equals "nope", got "***')


@pytest.mark.usefixtures("transport")
async def test_a_secret_with_quotes_inside_json_is_masked_escaped_twice(echo_url: str) -> None:
    """A secret with " and \\ in a JSON message is masked in the reason, where it reads escaped twice."""
    run = await run_yaml(
        """
        url: ws://x
        vars: {password: "{{ env.P }}"}
        secrets: [password]
        rules:
          - {on: open, do: [{send_json: {password: "{{ password }}"}}]}
          - {on: message, do: [{check: {name: echo, that: message, equals: nope}}, {log: "{{ message }}"}, close]}
        """,
        url=echo_url,
        env={"P": QUOTED},
    )
    assert run.check("echo")[1] == 1
    assert not leaks(QUOTED, shown(run.result, run.lines))
    assert '\\"***\\"' in run.result.checks["echo"].reason


@pytest.mark.usefixtures("transport")
async def test_each_string_of_a_structured_stored_secret_is_masked_also_before_the_store() -> None:
    """store: an object, secrets: [creds]: its compact form in frames recorded before is masked."""

    async def handler(ws: Any) -> None:
        await ws.send('{"type":"hello","credentials":{"user":"alice-admin","password":"Tr0ub4dor&3"}}')
        await ws.send('{"type":"again","password":"Tr0ub4dor&3"}')
        await ws.wait_closed()

    async with serving(handler) as url:
        run = await run_yaml(
            """
            url: ws://x
            secrets: [creds]
            rules:
              - on: message
                when: {that: message.type, equals: hello}
                do:
                  - store: {from: message.credentials, as: creds}
                  - log: "stored {{ creds }}"
              - {on: message, when: {that: message.type, equals: again}, do: [{log: "{{ message }}"}, close]}
            """,
            url=url,
        )
    everything = shown(run.result, run.lines)
    kept = "\n".join(line.text for line in run.result.logs)
    for secret in ("Tr0ub4dor&3", "alice-admin"):
        assert secret not in everything and secret not in kept, secret
    hello = next(frame.text for frame in run.result.transcript if "hello" in frame.text)
    assert hello == '{"type":"hello","credentials":***}'  # the compact form, recorded before the store
    assert '{"type":"again","password":"***"}' in everything


@pytest.mark.usefixtures("transport")
async def test_basic_credentials_built_from_a_secret_in_the_url_are_masked(echo_url: str) -> None:
    """ws://user:{{ password }}@host: the Authorization: Basic header derived from it is a secret too."""
    run = await run_yaml(
        f"""
        url: "{echo_url.replace("ws://", "ws://user:{{ password }}@")}/headers"
        vars: {{password: "{{{{ env.P }}}}"}}
        secrets: [password]
        rules:
          - {{on: message, do: [{{log: "{{{{ message }}}}"}}, {{check: {{name: h, that: message, equals: no}}}}, close]}}
        """,
        env={"P": "pa55-w0rd-xyz"},
    )
    assert run.logs and '"authorization": "Basic ***"' in run.logs[0]
    credentials = base64.b64encode(b"user:pa55-w0rd-xyz").decode()
    assert credentials[:12] not in shown(run.result, run.lines)


@pytest.mark.usefixtures("transport")
async def test_a_percent_encoded_password_in_the_url_is_masked_decoded_and_in_basic_credentials(
    echo_url: str,
) -> None:
    """A password written percent-encoded in the URL (sekret%40Value99) goes out decoded in the
    Basic credentials: the decoded password and the credentials are masked (they were shown)."""
    run = await run_yaml(
        f"""
        url: "{echo_url.replace("ws://", "ws://user:{{ env.API_PW }}@")}/headers"
        secrets: [env.API_PW]
        rules:
          - {{on: message, do: [{{log: "{{{{ message }}}}"}}, {{check: {{name: h, that: message, equals: no}}}}, close]}}
        """,
        env={"API_PW": "sekret%40Value99"},
    )
    assert run.check("h")[1] == 1
    assert run.logs and '"authorization": "Basic ***"' in run.logs[0]
    credentials = base64.b64encode(b"user:sekret@Value99").decode()
    for name, text in outputs(run).items():
        assert not pieces("sekret@Value99", text) and not pieces(credentials, text), name


@pytest.mark.parametrize("password", ["hunter2Secret/abc", "hunter2Secret?abc", "hunter2Secret#abc"])
def test_an_error_about_a_url_holding_a_secret_quotes_none_of_it(password: str) -> None:
    """A raw / ? or # in a secret password splits the URL there: the error quotes no part of the
    secret (it quoted 'hunter2Secret' as a port)."""
    scenario = load_text("url: ws://user:{{ env.API_PW }}@127.0.0.1:9/\nsecrets: [env.API_PW]\n", "s.yaml")
    with pytest.raises(UsageError) as raised:
        prepare(scenario, file="s.yaml", env={"API_PW": password})
    message = str(raised.value)
    assert "is not a valid WebSocket URL" in message and "ws://user:***@127.0.0.1:9/" in message
    assert not pieces(password, message, 4), message


@pytest.mark.usefixtures("transport")
async def test_a_non_ascii_ping_payload_secret_is_masked_in_the_still_waiting_error() -> None:
    """A ping still waiting for its pong names its payload as text, masked (it was a bytes repr)."""

    # websockets answers pings itself: a server that reads nothing leaves the first ping waiting.
    from .hostile import hostile

    async def silent(peer: Any) -> None:
        await peer.hold()

    async with hostile(silent) as url:
        run = await run_yaml(
            """
            url: ws://x
            vars: {word: "{{ env.P }}"}
            secrets: [word]
            rules:
              - {on: open, do: [{ping: {data: "{{ word }}"}}, {ping: {data: "{{ word }}"}}, close]}
            close_timeout: 200ms
            """,
            url=url,
            env={"P": "mötley-crüe-sécret"},
        )
    assert any("still waiting" in error for error in run.errors), run.errors
    assert not leaks("mötley-crüe-sécret", shown(run.result, run.lines))


# -- the property: no output holds a secret, in any form --------------------------------------------


SCENARIO = """
url: ws://user:{{ env.PW }}@HOSTPORT/headers?key={{ env.QUOTED }}
vars: {token: "{{ env.SECRET }}"}
secrets: [token, stored, late, env.PW]
timeout: 5s
headers: {X-Token: "{{ env.QUOTED }}"}
rules:
  - on: message
    when: {that: message.later, exists: true}
    do: [{store: {from: message.later, as: late}}]
  - on: open
    do:
      - send_json: {token: "{{ token }}", nested: {password: "{{ token }}", n: 1}}
      - send: "{{ token }}"
      - log: "sending {{ token }}"
      - send_json: {later: "{{ env.LATER }}"}
  - on: message
    do:
      - log: "got {{ message }}"
      - check: {name: echo, that: message, equals: "nope"}
  - on: message
    when: {that: message.nested, exists: true}
    do: [{store: {from: message.nested, as: stored}}, {log: "stored {{ stored }}"}]
  - {on: message, when: {that: messages_received, at_least: 4}, do: [{close: {code: 4000}}]}
checks:
  - {name: end, that: message, equals: "{{ token }}!"}
"""

CORE = "Zq7Kx9"  # in every secret, so that no output holds one of its forms by chance
secrets = st.builds(
    lambda before, after: before + CORE + after,
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40),
    st.text(st.sampled_from("\"\\/'é€😀 \n\t\u202e%+=&<>:@"), max_size=40)
    | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=100, max_size=300),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secrets)
def test_no_output_holds_a_secret_in_any_form(server_in_thread: str, transport: str, secret: str) -> None:
    """Random secrets in messages, the URL, headers, stored values and check reasons: the console,
    --summary-export, --out, --junit and --report hold none of them, in any form. Among them: a
    secret stored from a frame recorded (and cut) before, and a URL password that the URL holds
    percent-encoded, which goes out decoded in the Basic credentials."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "secrets.yaml"
        path.write_text(textwrap.dedent(SCENARIO).replace("HOSTPORT", server_in_thread.removeprefix("ws://")))
        files = {name: Path(folder) / name for name in ("summary.json", "out.ndjson", "junit.xml", "report.html")}
        out, err = io.StringIO(), io.StringIO()
        # Values that only the URL's user info and a later store make secrets.
        password, late = secret[::-1], secret.swapcase()
        environ = {"SECRET": secret, "QUOTED": quote(secret, safe=""), "PW": quote(password, safe="")}
        environ["LATER"] = late
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _environ(environ):
            code = main(
                [
                    str(path),
                    "--transport",
                    transport,
                    "--summary-export",
                    str(files["summary.json"]),
                    "--out",
                    f"ndjson={files['out.ndjson']}",
                    "--junit",
                    str(files["junit.xml"]),
                    "--report",
                    str(files["report.html"]),
                ]
            )
        console = out.getvalue() + err.getvalue()
        assert code == 1, console
        assert MASK in console
        credentials = base64.b64encode(f"user:{password}".encode()).decode()
        for name, text in {"console": console, **{n: p.read_text() for n, p in files.items()}}.items():
            for value in (secret, password, late):
                assert not leaks(value, text), (name, leaks(value, text))
            # The core of each, where a cut made before the value was known would leave it.
            for core in (CORE, CORE[::-1], CORE.swapcase(), credentials):
                assert core not in text, (name, core)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_the_pytest_report_holds_no_secret(
    pytester: pytest.Pytester, server_in_thread: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing *.wsrun.yaml item: pytest's report and its one-line summary show the secret as ***."""
    secret = 'Tr0ub4dor"&3\\x/é-' + CORE
    pytester.makefile(
        ".wsrun.yaml",
        leak=f"""
        name: leak
        url: {server_in_thread}/headers?key={{{{ env.QUOTED }}}}
        vars: {{token: "{{{{ env.SECRET }}}}"}}
        secrets: [token]
        rules:
          - {{on: open, do: [{{send_json: {{token: "{{{{ token }}}}"}}}}]}}
          - {{on: message, do: [{{log: "got {{{{ message }}}}"}}]}}
          - {{on: message, when: {{that: messages_received, at_least: 2}}, do: [close]}}
        checks:
          - {{name: echoed, that: message, equals: nope}}
        """,
    )
    monkeypatch.setenv("SECRET", secret)
    monkeypatch.setenv("QUOTED", quote(secret, safe=""))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--wsrun", "-rA", timeout=30 * UNIT)
    result.assert_outcomes(failed=1)
    text = str(result.stdout) + str(result.stderr)
    assert MASK in text and "echoed" in text
    assert not leaks(secret, text), leaks(secret, text)
