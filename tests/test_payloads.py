"""Binary payloads built from templates, and payloads of a given size, against real servers."""

from __future__ import annotations

import asyncio
import os
import re

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text
from wsrun.scenario.models import Payload, SizedText
from wsrun.scenario.models.payloads import random_text, repeat
from wsrun.scenario.templates import MISSING

from .helpers import UNIT, run_yaml, serving

#: Every test that connects runs on each transport (conftest.py).
on_both_transports = pytest.mark.usefixtures("transport")


async def tell_sizes(ws: ServerConnection) -> None:
    """Answers each message with its kind, its length in bytes, its start and its end (hex for binary)."""
    try:
        async for message in ws:
            if isinstance(message, str):
                data, show = message.encode(), bytes.decode
            else:
                data, show = message, bytes.hex
            await ws.send(
                f"{'text' if isinstance(message, str) else 'binary'} {len(data)} {show(data[:4])}…{show(data[-3:])}"
            )
    except ConnectionClosed:
        pass


# -- binary payloads from templates -------------------------------------------------------------


@on_both_transports
@pytest.mark.parametrize("field", ["hex", "base64"])
async def test_binary_echo_client(field: str) -> None:
    """A binary echo client sends each binary message back byte-identical: empty, one byte, 64 KiB random
    (as large as max_message_size lets in); a bytes value reads as its hex in hex:, its base64 in base64:."""
    payloads = [b"", b"\x00", os.urandom(65536)]

    async def send_and_compare(ws: ServerConnection) -> None:
        verdicts = []
        for index, payload in enumerate(payloads):
            await ws.send(payload)
            echoed = await asyncio.wait_for(ws.recv(), 5 * UNIT)
            if echoed != payload:
                verdicts.append(f"echo {index} differs: {len(echoed)} of {len(payload)} bytes")
        await ws.send("; ".join(verdicts) or "all byte-identical")
        async for _ in ws:  # until the client closes
            pass

    async with serving(send_and_compare) as url:
        run = await run_yaml(
            f"""
            url: ws://unused
            max_message_size: 65536
            compression: false  # compressed, random bytes grow a little: the frame would exceed the limit
            rules:
              - on: binary
                do: [{{send_binary: {{{field}: "{{{{ message }}}}"}}}}]
              - on: message
                do: [{{check: {{name: echoed, that: message, equals: all byte-identical}}}}, close]
            """,
            url,
        )
    assert run.errors == []
    assert run.check("echoed") == (1, 0, "")
    assert run.result.metrics.counters["ws_msgs_sent"] == 3


@on_both_transports
async def test_bytes_built_from_stored_bytes(echo_url: str) -> None:
    """Stored bytes build new messages: after a literal prefix in hex, and as base64."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [{send_binary: {hex: "0102"}}]
          - on: binary
            when: {that: messages_received, equals: 1}
            do:
              - store: {from: message, as: blob}
              - send_binary: {hex: "cafe {{ blob }}"}
              - send_binary: {base64: "{{ blob }}"}
              - send_binary: {size: 5, hex: "{{ blob }}"}
          - on: binary
            when: {that: messages_received, equals: 2}
            do: [{check: {name: prefixed, that: message, equals: cafe0102}}]
          - on: binary
            when: {that: messages_received, equals: 3}
            do: [{check: {name: as base64, that: message, equals: "0102"}}]
          - on: binary
            when: {that: messages_received, equals: 4}
            do: [{check: {name: repeated, that: message, equals: "0102010201"}}, close]
        """,
        echo_url,
    )
    assert run.errors == []
    assert [run.check(name) for name in ("prefixed", "as base64", "repeated")] == [(1, 0, "")] * 3


@on_both_transports
@pytest.mark.parametrize(
    ("action", "error"),
    [
        (
            '{send_binary: {hex: "ca{{ bad }}"}}',
            "rules[0].do[0] (on: open): send_binary skipped: not valid hex: non-hexadecimal number found in fromhex()"
            " arg at position 2",
        ),
        (
            '{send_binary: {base64: "{{ bad }}"}}',
            "rules[0].do[0] (on: open): send_binary skipped: not valid base64: Only base64 data is allowed",
        ),
        (
            '{send_binary: {size: 4, hex: "{{ empty }}"}}',
            "rules[0].do[0] (on: open): send_binary skipped: the pattern to repeat is empty: give at least one byte",
        ),
        (
            '{send: {size: 4, fill: "{{ empty }}"}}',
            "rules[0].do[0] (on: open): send skipped: fill is empty: give at least one character to repeat",
        ),
        (
            '{send: {size: 4, fill: "{{ accent }}"}}',
            "rules[0].do[0] (on: open): send skipped: fill must be ASCII, and as rendered it has a non-ASCII character"
            " at position 1",
        ),
    ],
)
async def test_a_payload_that_renders_wrong_is_an_error(echo_url: str, action: str, error: str) -> None:
    """Rendered text that does not make a payload is an error naming the rule; nothing is sent, the rest runs."""
    run = await run_yaml(
        f"""
        url: ws://unused
        vars: {{bad: "zz!", empty: "", accent: "aé"}}
        rules:
          - on: open
            do: [{action}, {{send: after}}]
          - on: message
            do: [{{check: {{name: the rest ran, that: message, equals: after}}}}, close]
        """,
        echo_url,
    )
    assert len(run.errors) == 1 and run.errors[0].startswith(error), run.errors
    assert run.check("the rest ran") == (1, 0, "")
    assert run.result.metrics.counters["ws_msgs_sent"] == 1


# -- payloads of a given size ---------------------------------------------------------------------


@on_both_transports
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("{send: {size: 2000}}", "equals: text 2000 xxxx…xxx"),
        ('{send: {size: 2001, fill: "ab"}}', "equals: text 2001 abab…aba"),
        ('{send: {size: 1000, fill: "{{ token }}-"}}', "equals: text 1000 ab-a…b-a"),
        ("{send: {size: 1}}", "equals: text 1 x…x"),
        ("{send: {size: 3000, random: true}}", 'matches: "^text 3000 [A-Za-z0-9]{4}…[A-Za-z0-9]{3}$"'),
        ("{send_binary: {size: 65536}}", "equals: binary 65536 00000000…000000"),
        ('{send_binary: {size: 65535, hex: "cafe"}}', "equals: binary 65535 cafecafe…cafeca"),
        ('{send_binary: {size: 7, base64: "yv4="}}', "equals: binary 7 cafecafe…cafeca"),
        ("{send_binary: {size: 4096, random: true}}", 'matches: "^binary 4096 [0-9a-f]{8}…[0-9a-f]{6}$"'),
    ],
)
async def test_sized_payloads_arrive_with_their_size(action: str, expected: str) -> None:
    """A payload of a given size arrives with exactly that many bytes: filler, a pattern repeated and cut, random."""
    async with serving(tell_sizes) as url:
        run = await run_yaml(
            f"""
            url: ws://unused
            vars: {{token: ab}}
            rules:
              - on: open
                do: [{action}]
              - on: message
                do: [{{check: {{name: size, that: message, {expected}}}}}, close]
            """,
            url,
        )
    assert run.errors == []
    assert run.check("size") == (1, 0, "")


@on_both_transports
async def test_an_empty_sized_payload(echo_url: str) -> None:
    """size: 0 sends an empty message, text or binary."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [{send: {size: 0}}, {send_binary: {size: 0, hex: "ff"}}]
          - on: message
            do: [{check: {name: empty text, that: message, equals: ""}}]
          - on: binary
            do: [{check: {name: empty bytes, that: message, equals: ""}}, close]
        """,
        echo_url,
    )
    assert run.errors == []
    assert (run.check("empty text"), run.check("empty bytes")) == ((1, 0, ""), (1, 0, ""))


@on_both_transports
@pytest.mark.parametrize(
    ("send", "reason"),
    [
        ("{send: {size: 64, random: true}}", ""),
        ("{send_binary: {size: 64, random: true}}", ""),
        ("{send: {size: 64}}", f'expected message not_equals "{"x" * 64}", got "{"x" * 64}"'),
        (
            '{send_binary: {size: 64, hex: "{{ zero }}"}}',
            f"expected message not_equals <64 bytes: {'00' * 64}>, got <64 bytes: {'00' * 64}>",
        ),
    ],
)
async def test_random_payloads_differ_at_each_send(echo_url: str, send: str, reason: str) -> None:
    """Random payloads are new at each send; a filler or a pattern gives the same payload each time."""
    event = "binary" if "send_binary" in send else "message"
    run = await run_yaml(
        f"""
        url: ws://unused
        vars: {{zero: "00"}}
        rules:
          - on: open
            do: [{send}, {send}]
          - on: {event}
            when: {{that: messages_received, equals: 1}}
            do: [{{store: {{from: message, as: first}}}}]
          - on: {event}
            when: {{that: messages_received, equals: 2}}
            do: [{{check: {{name: new payload, that: message, not_equals: "{{{{ first }}}}"}}}}, close]
        """,
        echo_url,
    )
    assert run.errors == []
    passes, fails, why = run.check("new payload")
    assert (passes, fails, why) == ((1, 0, "") if not reason else (0, 1, reason))


@on_both_transports
async def test_random_bytes_come_back_from_an_echo_server_byte_identical(echo_url: str) -> None:
    """64 KiB of random bytes, echoed, stored, sent back from the store and echoed again: byte-identical each time;
    a stored binary value compares as its hex."""
    run = await run_yaml(
        """
        url: ws://unused
        rules:
          - on: open
            do: [{send_binary: {size: 65536, random: true}}]
          - on: binary
            when: {that: messages_received, equals: 1}
            do: [{store: {from: message, as: first}}, {send_binary: {hex: "{{ first }}"}}]
          - on: binary
            when: {that: messages_received, equals: 2}
            do:
              - check: {name: same bytes, that: message, equals: "{{ first }}"}
              - check: {name: other bytes, that: message, equals: "00{{ first }}"}
              - close
        """,
        echo_url,
    )
    assert run.errors == []
    assert run.check("same bytes") == (1, 0, "")
    passes, fails, why = run.check("other bytes")
    assert (passes, fails) == (0, 1)
    assert why.startswith('expected message equals "00') and "got <65536 bytes: " in why, why


@on_both_transports
@pytest.mark.parametrize("action", ["send", "send_binary"])
async def test_a_payload_over_the_servers_limit_gets_1009(action: str) -> None:
    """A payload of the server's max_size goes through; one byte more and the server closes with 1009."""
    async with serving(tell_sizes, max_size=1000) as url:
        run = await run_yaml(
            f"""
            url: ws://unused
            rules:
              - on: open
                do: [{{{action}: {{size: 1000}}}}]
              - on: message
                do: [{{check: {{name: fits, that: message, matches: "^[a-z]+ 1000 "}}}}, {{{action}: {{size: 1001}}}}]
            checks:
              - {{name: too big, that: close_code, equals: 1009}}
              - {{name: not too big, that: close_code, equals: 1000}}
            """,
            url,
        )
    assert run.check("fits") == (1, 0, "")
    assert run.check("too big") == (1, 0, "")
    assert run.check("not too big") == (0, 1, "expected close_code equals 1000, got 1009")
    assert run.result.closed_by == "server"


@on_both_transports
async def test_a_megabyte_send_is_cut_in_the_transcript() -> None:
    """A 1 MiB payload is recorded as a short text: the transcript never holds megabytes."""
    async with serving(tell_sizes, max_size=2 * 1048576) as url:  # random bytes grow a little when compressed
        run = await run_yaml(
            """
            url: ws://unused
            rules:
              - on: open
                do: [{send: {size: 1048576}}, {send_binary: {size: 1048576, random: true}}]
              - on: message
                when: {that: messages_received, equals: 2}
                do: [close]
            """,
            url,
        )
    assert run.errors == []
    messages = [frame for frame in run.result.transcript if frame.kind in ("text", "binary")]
    sent = [frame.text for frame in messages if frame.direction == "sent"]
    received = [frame.text for frame in messages if frame.direction == "received"]
    assert sent[0].startswith("x" * 100) and sent[1].startswith("<1048576 bytes: "), sent
    assert all(len(text) <= 200 for text in sent), [len(text) for text in sent]
    assert received[0] == "text 1048576 xxxx…xxx"
    assert re.fullmatch("binary 1048576 [0-9a-f]{8}…[0-9a-f]{6}", received[1]), received


# -- load-time errors and building -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("{send: 5}", "4:17: rules[0].do[0].send: must be text, or a mapping with size (and fill or random), got 5"),
        ("{send: {fill: ab}}", "4:17: rules[0].do[0].send.size: required key is missing"),
        ("{send: {size: -1}}", "4:24: rules[0].do[0].send.size: must be greater than or equal to 0"),
        ('{send: {size: "10"}}', "4:24: rules[0].do[0].send.size: must be a valid integer, got '10'"),
        (
            "{send: {size: 67108865}}",
            "4:24: rules[0].do[0].send.size: size is at most 67108864 bytes (64 MiB), since the payload is built in"
            " memory; got 67108865",
        ),
        (
            "{send: {size: 9, fill: ab, random: true}}",
            "4:17: rules[0].do[0].send: random text has no filler: give fill or random: true, not both",
        ),
        (
            "{send: {size: 9, fill: é}}",
            "4:17: rules[0].do[0].send: fill must be ASCII (so that size counts characters as bytes), got 'é'",
        ),
        (
            '{send: {size: 9, fill: ""}}',
            "4:17: rules[0].do[0].send: fill is empty: give at least one character to repeat",
        ),
        (
            "{send: {size: 9, fil: ab}}",
            "4:27: rules[0].do[0].send.fil: unknown key 'fil': did you mean 'fill'? allowed here: size, fill, random",
        ),
        ('{send: {size: 9, fill: "{{ tokn }}"}}', "4:33: rules[0].do[0].send.fill: unknown name 'tokn'"),
        ("{send: {size: 9, random: yes}}", "4:35: rules[0].do[0].send.random: must be a valid boolean, got 'yes'"),
        ("{send_binary: {}}", "4:24: rules[0].do[0].send_binary: give exactly one of base64 or hex, or a size"),
        (
            '{send_binary: {hex: "00", base64: AA==}}',
            "4:24: rules[0].do[0].send_binary: give exactly one of base64 or hex, not both",
        ),
        ('{send_binary: {hex: "zz"}}', "4:24: rules[0].do[0].send_binary: not valid hex: non-hexadecimal number"),
        ('{send_binary: {base64: "{{ blob }}x"}}', "4:33: rules[0].do[0].send_binary.base64: unknown name 'blob'"),
        (
            '{send_binary: {hex: "{{ a + 1 }}"}}',
            "4:30: rules[0].do[0].send_binary.hex: '{{ a + 1 }}' is not a template",
        ),
        (
            "{send_binary: {random: true}}",
            "4:24: rules[0].do[0].send_binary: random needs a size: {size: 1024, random: true} sends 1024 random bytes",
        ),
        (
            '{send_binary: {size: 9, random: true, hex: "00"}}',
            "4:24: rules[0].do[0].send_binary: random bytes have no pattern: give random: true or hex/base64, not both",
        ),
        ('{send_binary: {size: 9, hex: ""}}', "4:24: rules[0].do[0].send_binary: the pattern to repeat is empty"),
        ("{send_binary: {size: 67108865}}", "4:31: rules[0].do[0].send_binary.size: size is at most 67108864 bytes"),
    ],
)
def test_a_bad_payload_is_a_load_error(action: str, error: str) -> None:
    """Whatever the file alone tells about a payload is an error when it is loaded, naming the line and what is allowed."""
    with pytest.raises(ScenarioError) as caught:
        load_text(f"url: ws://x\nrules:\n  - on: open\n    do: [{action}]\n", "s.yaml")
    assert f"s.yaml:{error}" in str(caught.value)


def test_a_constant_payload_is_built_once() -> None:
    """A payload without template or randomness is built when the scenario loads and sent as built."""
    binary = Payload.model_validate({"size": 1 << 20, "hex": "cafe"})
    text = SizedText.model_validate({"size": 1 << 20, "fill": "ab"})
    assert binary.constant is not None and binary.build(lambda name: MISSING) is binary.constant
    assert text.constant is not None and text.build(lambda name: MISSING) is text.constant
    assert Payload.model_validate({"hex": "{{ blob }}"}).constant is None


def test_random_payloads_are_new_each_time() -> None:
    """Random payloads are built at each send: letters and digits for text, any byte for binary."""
    text = SizedText.model_validate({"size": 4096, "random": True})
    binary = Payload.model_validate({"size": 4096, "random": True})
    first, second = text.build(lambda name: MISSING), text.build(lambda name: MISSING)
    assert first != second and re.fullmatch("[A-Za-z0-9]{4096}", first)
    assert len(set(random_text(100_000))) == 62
    assert binary.build(lambda name: MISSING) != binary.build(lambda name: MISSING)


@pytest.mark.parametrize(
    ("pattern", "size", "built"),
    [(b"ab", 5, b"ababa"), (b"ab", 0, b""), (b"", 0, b""), (b"abc", 2, b"ab"), (b"\x00", 3, b"\x00\x00\x00")],
)
def test_repeat(pattern: bytes, size: int, built: bytes) -> None:
    """A pattern is repeated and cut to the size."""
    assert repeat(pattern, size) == built


@on_both_transports
async def test_bytes_built_from_a_secret_are_masked(echo_url: str) -> None:
    """Stored secret bytes sent inside a new message are masked in the transcript, as every output of a secret is."""
    run = await run_yaml(
        """
        url: ws://unused
        secrets: [blob]
        rules:
          - on: open
            do: [{send_binary: {hex: "c0ffee42"}}]
          - on: binary
            when: {that: messages_received, equals: 1}
            do: [{store: {from: message, as: blob}}, {send_binary: {hex: "00{{ blob }}00"}}]
          - on: binary
            when: {that: messages_received, equals: 2}
            do: [{check: {name: built, that: message, equals: "00{{ blob }}00"}}, close]
        """,
        echo_url,
    )
    assert run.check("built") == (1, 0, "")
    texts = [frame.text for frame in run.result.transcript if frame.kind == "binary"]
    assert len(texts) == 4 and not any("c0ffee42" in text for text in texts), texts
    assert texts[2] == "<6 bytes: 00***00>", texts
