"""The protocol examples in scenarios/ pass against real servers of their protocols (python-socketio,
strawberry-graphql, the embedded STOMP broker) and fail, naming the right check, when the server misbehaves
or the client stops its heart-beats; on both transports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wsrun.cli import main
from wsrun.server import running, url_of

from .helpers import Run, run_yaml
from .protocol_servers import graphql_serving, socketio_serving

pytestmark = pytest.mark.usefixtures("transport")

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


async def run_example(name: str, url: str, **prepare_args: object) -> Run:
    path = SCENARIOS / name
    return await run_yaml(path.read_text(encoding="utf-8"), url, file=str(path), **prepare_args)


def failed(run: Run) -> dict[str, str]:
    """The checks and expectations that failed, by name, with their reasons."""
    return {name: tally.reason for name, tally in run.result.checks.items() if tally.fails}


@pytest.fixture
async def stomp_url() -> AsyncIterator[str]:
    """The embedded server, whose /stomp path is a STOMP 1.2 broker."""
    async with running() as server:
        yield url_of(server, "/stomp")


# -- Socket.IO ---------------------------------------------------------------------------------------


async def test_socketio_example_passes() -> None:
    """Joins /chat, gets the ack of its emit and the broadcast, answers every ping: all checks pass."""
    async with socketio_serving() as url:
        run = await run_example("socketio-chat.yaml", url)
    assert failed(run) == {} and run.errors == [] and run.logs == []
    assert run.check("chat acknowledged within 1s")[:2] == (1, 0)
    assert run.check("ack says ok")[:2] == (1, 0)
    assert run.check("broadcast carries the text")[:2] == (1, 0)
    assert run.check("answered the server's pings")[:2] == (1, 0)
    assert run.result.metrics.counters["pings_answered"] >= 2


async def test_socketio_example_fails_on_a_missing_ack() -> None:
    """A server that broadcasts but never acknowledges: the ack expectation fails, saying what it waited for."""
    async with socketio_serving(acks=False) as url:
        run = await run_example("socketio-chat.yaml", url)
    reasons = failed(run)
    assert set(reasons) == {"chat acknowledged within 1s", "ack says ok", "ack repeats the text"}, reasons
    assert (
        reasons["chat acknowledged within 1s"]
        == "no message matching sio.type equals 43 and sio.ack equals 1 within 1000ms"
    )
    assert run.check("chat broadcast to /chat")[:2] == (1, 0)
    assert run.logs == [
        "chat acknowledged within 1s failed: no message matching sio.type equals 43 and sio.ack equals 1 within 1000ms"
    ]


# -- GraphQL over graphql-transport-ws ---------------------------------------------------------------


async def test_graphql_example_passes() -> None:
    """connection_ack in time, next 1, 2, 3 in order (each valid against its schema), complete, the bad
    query's error."""
    async with graphql_serving() as url:
        run = await run_example("graphql-subscription.yaml", url)
    assert failed(run) == {} and run.errors == [] and run.logs == []
    assert run.check("next matches its schema")[:2] == (3, 0)
    assert run.check("bad query answered with error")[:2] == (1, 0)
    assert run.check("each next counts up")[:2] == (3, 0)
    assert run.check("the error names the bad field")[:2] == (1, 0)


async def test_graphql_example_fails_on_next_out_of_order() -> None:
    """A subscription that yields 1, 3, 2: the in-order sequence fails, naming the step that came early, and so
    does the templated comparison with the previous count, on the 2."""
    async with graphql_serving(in_order=False) as url:
        run = await run_example("graphql-subscription.yaml", url)
    reasons = failed(run)
    assert set(reasons) == {"next 1, 2, 3 in order, then complete", "each next counts up"}, reasons
    assert reasons["next 1, 2, 3 in order, then complete"].startswith(
        "step 3 (message.payload.data.count equals 3) arrived before step 2 (message.payload.data.count equals 2): "
    )
    assert reasons["each next counts up"] == (
        "none of: expected last_count not to be set, got 3; or expected message.payload.data.count at_least 3, got 2"
    )
    assert run.check("each next counts up")[:2] == (2, 1)


async def test_graphql_example_stops_when_the_server_falls_silent() -> None:
    """A subscription that stalls after its first next: the sequence fails at its deadline, the idle rule
    closes after 3 s of silence, and the count fails at that close, not at the session's timeout."""
    async with graphql_serving(stalls=True) as url:
        run = await run_example("graphql-subscription.yaml", url)
    reasons = failed(run)
    assert set(reasons) == {"next 1, 2, 3 in order, then complete", "exactly 3 next"}, reasons
    assert run.logs == ["no message for 3s: closing"]
    assert run.result.close_code == 1000
    assert reasons["exactly 3 next"].startswith(
        '1 messages matching message.type equals "next" before the session ended'
    )
    assert reasons["next 1, 2, 3 in order, then complete"] == (
        "only 1 of 4 steps within 2000ms; waiting for message.payload.data.count equals 2"
    )


# -- STOMP over WebSocket ----------------------------------------------------------------------------


async def test_stomp_example_passes(stomp_url: str) -> None:
    """CONNECTED, a receipted SUBSCRIBE, the MESSAGE with its headers, heart-beats both ways, DISCONNECT."""
    run = await run_example("stomp.yaml", stomp_url)
    assert failed(run) == {} and run.errors == [] and run.logs == []
    assert run.check("MESSAGE has its content-type")[:2] == (1, 0)
    assert run.check("broker heart-beats at least every 1s")[:2] == (1, 0)


async def test_stomp_example_fails_when_the_client_stops_its_heart_beats(stomp_url: str) -> None:
    """A client that promised heart-beats and sends none is dropped by the broker: an ERROR frame and 1011."""
    run = await run_example("stomp.yaml", stomp_url, overrides={"heart_beats": "off"})
    reasons = failed(run)
    assert reasons["never an ERROR frame"].startswith('got a message matching stomp.command equals "ERROR"')
    assert "no heart-beat from the client in 1000ms" in reasons["never an ERROR frame"]
    assert reasons["closed normally, not dropped by the broker"] == "expected close_code equals 1000, got 1011"
    assert any("1011" in error and "STOMP heart-beat missed" in error for error in run.errors), run.errors


def test_stomp_example_from_the_command_line(transport: str, capsys: pytest.CaptureFixture[str]) -> None:
    """As its comment says: --serve passes, and --var heart_beats=off fails (exit 1), the ERROR frame shown."""
    example = str(SCENARIOS / "stomp.yaml")
    assert main([example, "--serve", "-q", "--transport", transport]) == 0
    assert "✓ passed" in capsys.readouterr().out
    assert main([example, "--serve", "-q", "--transport", transport, "--var", "heart_beats=off"]) == 1
    out = capsys.readouterr().out
    assert "✗ never an ERROR frame" in out and "closed by server: 1011 'STOMP heart-beat missed'" in out
