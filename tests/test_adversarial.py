"""What an adversarial pass found: stalls, crashes on server data, secrets escaping the mask, odd files."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from wsrun.cli import main
from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load, load_text

from .helpers import UNIT, run_yaml
from .hostile import PING, TEXT, Peer, close_frame, frame, hostile

SECRET = 'pa"ss\\wörd-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789-ABCDEFGHIJ'


async def test_timer_slower_than_its_interval_still_ends_on_time(echo_url: str) -> None:
    """A rule that takes longer than its own interval cannot keep the session past its timeout."""
    actions = ", ".join(["{log: tick}"] * 60)
    started = time.monotonic()
    run = await run_yaml(f"url: ws://x\ntimeout: 300ms\nrules:\n  - {{every: 1ms, do: [{actions}]}}\n", url=echo_url)
    assert run.result.timed_out
    assert time.monotonic() - started < 3 * UNIT


async def test_a_crafted_message_cannot_stall_a_regex() -> None:
    """matches uses RE2 (linear time): ^(a+)+$ against a crafted message returns at once."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, b"a" * 5000 + b"!"))
        peer.send(close_frame(1000))  # and the TCP connection ends with the script

    started = time.monotonic()
    async with hostile(script) as url:
        run = await run_yaml(
            "url: ws://x\nclose_timeout: 300ms\nrules:\n  - {on: message, when: {matches: '^(a+)+$'}, do: [{log: matched}]}\n",
            url=url,
        )
    assert run.logs == [] and time.monotonic() - started < 2 * UNIT


def test_backtracking_only_patterns_are_refused_at_load() -> None:
    """RE2 has no look-around: such a pattern is a located load error, not a surprise at run time."""
    with pytest.raises(ScenarioError, match=r"checks\[0\]: matches: '\(\?<=a\)b' is not a valid regular expression"):
        load_text("url: ws://h\nchecks: [{name: n, that: message, matches: '(?<=a)b'}]\n", "s.yaml")


async def test_ping_flood_is_bounded_and_the_timeout_holds() -> None:
    """A server flooding pings (which websockets does not queue): memory stays bounded, the timeout holds."""
    import tracemalloc

    async def script(peer: Peer) -> None:
        while True:
            for _ in range(500):
                peer.send(frame(PING, b"p"))
            await peer.drain()
            await asyncio.sleep(0)

    tracemalloc.start()
    try:
        started = time.monotonic()
        async with hostile(script) as url:
            run = await run_yaml("url: ws://x\ntimeout: 1s\nclose_timeout: 300ms\n", url=url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.result.timed_out and time.monotonic() - started < 10 * UNIT  # generous: tracemalloc slows all
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize(
    ("payload", "condition", "reason"),
    [
        (b"[" * 100_000, "{that: message.type, equals: tick}", "expected message.type equals"),
        (b"[" * 5000 + b"]" * 5000, "{that: message, equals: {type: reply}}", "nested too deeply to compare"),
        (b'{"n": 1' + b"0" * 400 + b"}", "{that: message.n, equals: 5}", "expected message.n equals 5, got 1000"),
        (b'{"n": 1' + b"0" * 400 + b"}", "{that: message.n, at_least: 5}", "which is not a number"),
    ],
)
async def test_hostile_json_fails_a_check_without_crashing(payload: bytes, condition: str, reason: str) -> None:
    """Deeply nested or enormous JSON from a server fails a check with a reason; the run goes on."""

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, payload))
        peer.send(close_frame(1000))  # and the TCP connection ends with the script

    async with hostile(script) as url:
        run = await run_yaml(
            f"url: ws://x\nrules:\n  - {{on: message, do: [{{check: {{name: c, {condition[1:-1]}}}}}]}}\n", url=url
        )
    assert run.result.checks["c"].fails == 1
    assert reason in run.result.checks["c"].reason


async def test_text_that_is_not_utf8_is_a_skipped_send(echo_url: str) -> None:
    """A value with bytes that are not UTF-8 (from the environment, say) is an error naming the rule."""
    run = await run_yaml(
        'url: ws://x\nvars: {t: "{{ env.T }}"}\nrules:\n  - {on: open, do: [{send: "{{ t }}"}, close]}\n',
        url=echo_url,
        env={"T": b"\xff\xfe".decode("utf-8", "surrogateescape")},
    )
    assert run.errors == [
        "rules[0].do[0] (on: open): send skipped: the text is not valid UTF-8 (surrogates not allowed at position 0)"
    ]
    assert run.result.closed_by == "client"


async def test_secrets_stay_masked_escaped_encoded_cut_or_stored(echo_url: str) -> None:
    """A long secret with quotes and non-ASCII, sent as JSON, as a ping payload, as a close reason, is never shown."""
    run = await run_yaml(
        """
        url: ws://unused
        vars: {token: "{{ env.T }}"}
        secrets: [token, session]
        rules:
          - on: open
            do:
              - send_json: {token: "{{ token }}"}
              - send: "{{ token }}"
              - ping: {data: "{{ token }}"}
          - on: message
            do:
              - check: {name: echo, that: message, equals: nope}
              - store: {from: message.token, as: session}
          - {on: pong, do: [{close: {code: 4000, reason: "{{ token }}"}}]}
        """.replace('{{ token }}"}}', '{{ token }}"}}').replace('{data: "{{ token }}"}', '{data: "short"}'),
        url=echo_url,
        env={"T": SECRET[:100]},
    )
    from .test_hostile_servers import report

    everything = report(run.result) + "\n".join(f.text for f in run.result.transcript)
    secret = SECRET[:100]
    forms = [secret, json.dumps(secret)[1:-1], secret.encode().hex(), secret[:40], json.dumps(secret)[1:41]]
    for form in forms:
        assert form not in everything, form
    assert "***" in everything


async def test_exists_fails_on_null(echo_url: str) -> None:
    """exists: true fails on a null value: no subprotocol negotiated is no subprotocol."""
    run = await run_yaml(
        "url: ws://x\nrules: [{on: open, do: [close]}]\nchecks: [{name: sub, that: subprotocol, exists: true}]\n",
        url=echo_url,
    )
    assert run.check("sub") == (0, 1, "expected subprotocol to be set, got null")


async def test_a_shared_check_name_does_not_hide_a_silent_rule(echo_url: str) -> None:
    """An end check and a never-run inline check sharing a name: the silent one still fails."""
    run = await run_yaml(
        """
        url: ws://x
        rules:
          - {on: open, do: [close]}
          - {on: binary, do: [{check: {name: ok, that: message, exists: true}}]}
        checks: [{name: ok, that: status, equals: 101}]
        """,
        url=echo_url,
    )
    passes, fails, reason = run.check("ok")
    assert (passes, fails) == (1, 1) and "never evaluated" in reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("url: ws://h\nvars: {d: 2001-02-30}\n", None),  # a date stays text
        ("url: ws://h\nvars: {n: !!int abc}\n", "invalid YAML value"),
        ("url: ws://h\nvars: {t: !!timestamp x}\n", "invalid YAML"),
        ("url: ws://h\nvars: {n: " + "9" * 5000 + "}\n", "invalid YAML value"),
    ],
)
def test_yaml_values_that_break_constructors(text: str, expected: str | None) -> None:
    """Constructor errors are located problems; dates are plain text (YAML 1.2)."""
    if expected is None:
        assert load_text(text).vars == {"d": "2001-02-30"}
        return
    with pytest.raises(ScenarioError, match=expected):
        load_text(text)


def test_pipes_and_devices_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FIFO or a device is not read as a scenario, and not written as an export."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load(fifo)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("url: ws://127.0.0.1:9\n")
    assert main([str(scenario), "--summary-export", "/dev/full"]) == 2
    assert "--summary-export /dev/full: not a regular file" in capsys.readouterr().err


async def test_server_text_cannot_forge_report_lines() -> None:
    """Newlines and tabs from a server are shown escaped: no fake report line can appear."""
    from .test_hostile_servers import report

    async def script(peer: Peer) -> None:
        peer.send(frame(TEXT, "nope\n\nforged · ✓ passed\n  ✓ status is 101\t".encode()))
        peer.send(close_frame(1000))  # and the TCP connection ends with the script

    async with hostile(script) as url:
        run = await run_yaml("url: ws://x\nchecks: [{name: c, that: message, equals: yes}]\n", url=url)
    text = report(run.result)
    assert "\\n\\nforged · ✓ passed\\n  ✓ status is 101\\t" in text
    assert "\nforged" not in text
