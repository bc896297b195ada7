"""Load runs against a real server: vus, iterations, duration, stages, per-session variables, workers."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import pytest

from wsrun.cli import main
from wsrun.scenario.loader import load_text
from wsrun.session.load import Load, LoadRun, load_of
from wsrun.session.plan import prepare
from wsrun.session.results import RunResult, SessionResult
from wsrun.session.session import Session

from .helpers import UNIT, interrupt


async def run_load(text: str, url: str, **load_args: object) -> tuple[RunResult, list[SessionResult]]:
    """Run a scenario under its load (overridden by load_args); also returns every session's result."""
    scenario = load_text(textwrap.dedent(text), "s.yaml")
    plan = prepare(scenario, file="s.yaml", url=url)
    sessions: list[SessionResult] = []
    run = LoadRun(plan, load_of(scenario, **load_args), on_session=sessions.append)  # type: ignore[arg-type]
    return await run.run(), sessions


SHORT = """
url: ws://unused
rules:
  - {after: 100ms, do: [close]}
checks:
  - {name: status is 101, that: status, equals: 101}
"""


def test_load_options_follow_k6() -> None:
    """Without options one session; vus alone run one each; the command line overrides the file."""
    scenario = load_text("url: ws://h\nvus: 5\nduration: 10s\n")
    assert load_of(load_text("url: ws://h\n")).single
    assert load_of(load_text("url: ws://h\nvus: 3\n")) == Load(vus=3, iterations=3, one_each=True)
    assert load_of(scenario) == Load(vus=5, duration=10.0)
    assert load_of(scenario, vus=2, duration=1.0) == Load(vus=2, duration=1.0)
    assert load_of(scenario, iterations=7) == Load(vus=5, iterations=7, duration=10.0)
    staged = load_of(load_text("url: ws://h\nstages: [{duration: 1s, target: 10}, {duration: 1s, target: 0}]\n"))
    assert staged.stages == ((1.0, 10), (1.0, 0)) and staged.total_duration == 2.0
    assert [staged.target(t) for t in (0.0, 0.5, 1.0, 1.5, 2.5)] == [1, 6, 10, 5, 0]


def test_stages_exclude_duration_and_iterations() -> None:
    """stages with duration or iterations is refused: one way to say the load."""
    from wsrun.errors import ScenarioError

    with pytest.raises(ScenarioError, match="give either stages"):
        load_text("url: ws://h\nduration: 1s\nstages: [{duration: 1s, target: 1}]\n")


async def test_shared_iterations_run_exactly(echo_url: str) -> None:
    """vus 3, iterations 7: seven sessions, numbered by vu and iteration without gaps."""
    result, sessions = await run_load(SHORT, echo_url, vus=3, iterations=7)
    assert result.sessions == 7 and len(sessions) == 7
    assert result.series.select().counters["ws_sessions"] == 7
    by_vu: dict[int, list[int]] = defaultdict(list)
    for session in sessions:
        by_vu[session.vu].append(session.iteration)
    assert set(by_vu) <= {1, 2, 3}
    assert all(sorted(iterations) == list(range(len(iterations))) for iterations in by_vu.values())
    assert result.checks["status is 101"].passes == 7 and result.passed


async def test_constant_vus_for_a_duration(echo_url: str) -> None:
    """vus 2 for 1 s with 100 ms sessions: each vu runs sessions back to back until the end."""
    started = time.monotonic()
    result, sessions = await run_load(SHORT, echo_url, vus=2, duration=1.0)
    elapsed = time.monotonic() - started
    assert 2 * 5 <= result.sessions <= 2 * 11
    assert {session.vu for session in sessions} == {1, 2}
    assert 1.0 <= elapsed < 1.0 + 3 * UNIT
    assert result.passed and result.stopped == 0


async def test_stages_ramp_up_and_down(echo_url: str) -> None:
    """Stages raise the number of concurrent sessions to the target, then lower it."""
    text = SHORT + "stages: [{duration: 600ms, target: 6}, {duration: 400ms, target: 0}]\n"
    result, sessions = await run_load(text, echo_url)
    assert result.vus_max == 6
    assert len({session.vu for session in sessions}) == 6
    assert result.sessions >= 6 and result.passed


async def test_per_session_variables(echo_url: str) -> None:
    """Variables may use {{ vu }} and {{ iteration }}: URLs and payloads differ per session."""
    text = """
    url: "ws://unused"
    vars:
      user: "user-{{ vu }}-{{ iteration }}"
    rules:
      - {on: message, do: [close]}
    checks:
      - {name: own user, that: message.path, equals: "/headers?user=user-{{ vu }}-{{ iteration }}"}
    """
    scenario = load_text(textwrap.dedent(text).replace('"ws://unused"', f'"{echo_url}/headers?user={{{{ user }}}}"'))
    plan = prepare(scenario, file="s.yaml")
    sessions: list[SessionResult] = []
    result = await LoadRun(plan, Load(vus=3, iterations=6), on_session=sessions.append).run()
    assert result.checks["own user"].passes == 6, result.checks["own user"].reason
    assert len({session.url for session in sessions}) == 6


async def test_graceful_stop_then_stopped(echo_url: str) -> None:
    """At the end of duration, running sessions get graceful_stop, then are stopped; none outlives the run."""
    text = """
    url: ws://unused
    graceful_stop: 200ms
    rules:
      - {after: 30s, do: [close]}
    """
    before = asyncio.all_tasks()
    started = time.monotonic()
    result, sessions = await run_load(text, echo_url, vus=4, duration=0.3)
    elapsed = time.monotonic() - started
    assert result.sessions == 4 and result.stopped == 4 and not result.interrupted
    assert all(session.stopped and session.closed_by == "client" for session in sessions)
    assert 0.5 <= elapsed < 0.5 + 3 * UNIT
    assert asyncio.all_tasks() - before == set()


async def test_stop_ends_a_load_run_at_once(echo_url: str) -> None:
    """stop() (Ctrl-C) ends every session within about a second and keeps the results so far."""
    scenario = load_text("url: ws://x\nrules:\n  - {every: 50ms, do: [ping]}\n")
    run = LoadRun(prepare(scenario, file="s", url=echo_url), Load(vus=20, duration=60.0))
    task = asyncio.create_task(run.run())
    while run.snapshot()[0] < 20:  # every session running
        await asyncio.sleep(0.01)
    started = time.monotonic()
    run.stop()
    result = await asyncio.wait_for(task, 5 * UNIT)
    assert time.monotonic() - started < 2 * UNIT
    assert result.interrupted and result.sessions == 20


async def test_starts_are_spread(echo_url: str) -> None:
    """200 sessions started at once connect over about 0.2 s, not in the same millisecond."""
    opened: list[float] = []
    original = Session._session

    async def spy(self: Session) -> None:
        opened.append(time.monotonic())
        await original(self)

    scenario = load_text("url: ws://x\nrules:\n  - {on: open, do: [close]}\n")
    Session._session = spy  # type: ignore[method-assign]
    try:
        # Each vu runs one session (vus alone): with 200 shared iterations, the first vus could take
        # them all before the last ones were due, on a fast enough machine.
        result = await LoadRun(prepare(scenario, file="s", url=echo_url), load_of(scenario, vus=200)).run()
    finally:
        Session._session = original  # type: ignore[method-assign]
    assert result.sessions == 200
    assert max(opened) - min(opened) >= 0.15


async def test_timers_do_not_drift(echo_url: str) -> None:
    """every: 50ms over 3 s fires 60 times (due times are absolute, not sleep-after-run)."""
    scenario = load_text(
        "url: ws://x\nrules:\n  - {every: 50ms, do: [{log: tick}]}\n  - {after: 3025ms, do: [close]}\n"
    )
    lines: list[float] = []
    await Session(prepare(scenario, file="s", url=echo_url), lambda line: lines.append(line.at)).run()
    # 60 slots in 3 s, never more (a late run skips to the next slot: no burst of catch-up runs); a machine
    # too busy to run a tick within its slot may skip a few.
    assert 54 <= len(lines) <= 60
    # The last tick is due at 3.0 s after open: drift would push it late.
    assert lines[-1] - lines[0] == pytest.approx(2.95, abs=0.05 * UNIT)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "load.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


LOAD = """
url: ws://127.0.0.1:9/json
vus: 6
iterations: 18
tags: {my_tag: hello}
thresholds:
  ws_ping: ["p(95) < 5000"]
  "ws_connecting{my_tag:hello}": ["max < 5000"]
  checks: ["rate > 0.99"]
  ws_msgs_received: ["count >= 18"]
rules:
  - on: open
    do: [ping, {send_json: {id: "{{ uuid }}", vu: "{{ vu }}"}}]
  - on: message
    do: [{check: {name: reply to my vu, that: message.request.vu, equals: "{{ vu }}"}}, close]
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_load_run_with_thresholds(tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: int) -> None:
    """A load run prints the k6 summary with thresholds; exports every metric and threshold; merges workers exactly."""
    export, out = tmp_path / "summary.json", tmp_path / "samples.ndjson"
    args = [write(tmp_path, LOAD), "--serve", "--summary-export", str(export), "--out", f"ndjson={out}"]
    code = main([*args, "--workers", str(workers)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "18 sessions, 6 vus max" in text
    assert "✓ ws_ping" in text and "✓ p(95) < 5000" in text and "✓ ws_connecting{my_tag:hello}" in text
    summary = json.loads(export.read_text())["metrics"]
    assert summary["ws_sessions"]["count"] == 18 and summary["ws_msgs_received"]["count"] == 18
    assert summary["ws_ping"]["thresholds"] == {"p(95) < 5000": False}  # k6: true means failed
    assert summary["checks"]["thresholds"] == {"rate > 0.99": False}
    assert set(summary["ws_connecting{my_tag:hello}"]) >= {"avg", "p(95)", "thresholds"}
    points = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum(1 for p in points if p["type"] == "Point" and p["metric"] == "ws_sessions") == 18
    assert all(p["data"]["tags"]["my_tag"] == "hello" for p in points if p["type"] == "Point")
    assert not list(tmp_path.glob("samples.ndjson.worker*"))


def test_failed_threshold_exits_99(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A threshold that fails is ✗ in the summary and exits 99, even though every check passed."""
    path = write(tmp_path, LOAD.replace('["count >= 18"]', '["count >= 1000"]'))
    assert main([path, "--serve", "-q"]) == 99
    text = capsys.readouterr().out
    assert "✗ failed" in text


def test_bad_threshold_is_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A threshold that does not parse is a validation error with its place in the file."""
    path = write(tmp_path, LOAD.replace('["p(95) < 5000"]', '["p95 < 5000"]'))
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert f"{path}:6:13: thresholds.ws_ping[0]: 'p95 < 5000' is not a threshold" in err


def test_ctrl_c_stops_a_load_run_and_prints_the_summary(tmp_path: Path) -> None:
    """Ctrl-C during a 60 s load run: every session stops within a second; the summary still prints; exit 130."""
    path = write(
        tmp_path,
        "url: ws://127.0.0.1:9\nvus: 50\nduration: 60s\nrules:\n  - {every: 100ms, do: [ping]}\n  - {after: 200ms, do: [{log: up}]}\n",
    )
    code, out, err, elapsed = interrupt([sys.executable, "-m", "wsrun", path, "--serve"], after="up")
    assert code == 130, err
    assert "interrupted" in out and "ws_ping" in out and "Traceback" not in err
    assert elapsed < 3 * UNIT


@pytest.mark.parametrize("workers", [1, 2])
def test_ndjson_declares_request_trends_and_thresholds(tmp_path: Path, workers: int) -> None:
    """--out declares a request's own metric as a trend of times, and each metric with its thresholds (as k6)."""
    path = write(
        tmp_path,
        """
        url: ws://127.0.0.1:9/json
        vus: 2
        tags: {my_tag: hello}
        thresholds:
          quote_latency: ["p(95) < 5000", "max < 9000"]
          "ws_connecting{my_tag:hello}": ["max < 5000"]
          ws_sessions: ["count >= 2"]
          checks: ["rate > 0.4"]
        rules:
          - on: open
            do: [{request: {name: quoted, send_json: {id: "{{ uuid }}"}, within: 5s, metric: quote_latency}}]
          - on: message
            do: [{check: {name: never, that: status, equals: 404}}, close]
        """,
    )
    out = tmp_path / "samples.ndjson"
    assert main([path, "--serve", "-q", "--out", f"ndjson={out}", "--workers", str(workers)]) == 1  # "never" fails
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    declared = [line for line in lines if line["type"] == "Metric"]
    metrics = {line["metric"]: line["data"] for line in declared}
    assert len(declared) == len(metrics)  # each metric declared once, workers or not
    assert metrics["quote_latency"]["type"] == "trend" and metrics["quote_latency"]["contains"] == "time"
    assert metrics["quote_latency"]["thresholds"] == ["p(95) < 5000", "max < 9000"]
    assert metrics["ws_sessions"]["thresholds"] == ["count >= 2"] and metrics["ws_sessions"]["type"] == "counter"
    assert metrics["ws_connecting"]["thresholds"] == []
    assert metrics["ws_connecting"]["submetrics"] == [
        {"name": "ws_connecting{my_tag:hello}", "suffix": "my_tag:hello", "tags": {"my_tag": "hello"}}
    ]
    assert sum(1 for line in lines if line["type"] == "Point" and line["metric"] == "quote_latency") == 2
    # Each check evaluation is a point of k6's checks rate, 1 passed or 0 failed, tagged with the check.
    assert metrics["checks"]["type"] == "rate" and metrics["checks"]["thresholds"] == ["rate > 0.4"]
    checks = sorted(
        (line["data"]["tags"]["check"], line["data"]["value"])
        for line in lines
        if line["type"] == "Point" and line["metric"] == "checks"
    )
    assert checks == [("never", 0), ("never", 0), ("quoted", 1), ("quoted", 1)]


async def test_vus_alone_run_one_session_each(echo_url: str) -> None:
    """vus without duration or iterations: each vu runs exactly one session (k6's "1 iterations for each
    of N VUs"), however quickly sessions end: with shared iterations, the first vus took the last ones'."""
    scenario = load_text("url: ws://x\nvus: 100\nrules:\n  - {on: open, do: [close]}\n")
    sessions: list[SessionResult] = []
    plan = prepare(scenario, file="s", url=echo_url)
    result = await LoadRun(plan, load_of(scenario), on_session=sessions.append).run()
    assert result.sessions == 100
    assert sorted((session.vu, session.iteration) for session in sessions) == [(vu, 0) for vu in range(1, 101)]


def test_a_worker_is_overdue_when_silent_late_or_slow_to_stop() -> None:
    """Every wait on a worker has a deadline: its start, its silence, its share's end, a stop's grace."""
    from wsrun.run.watch import SILENT_AFTER, START_WITHIN, STOP_GRACE, longest, overdue

    share = Load(vus=2, duration=6.0, graceful_stop=2.0)
    limit = longest(share)
    assert 6.0 + 2.0 < limit < 60.0  # duration + graceful_stop + a margin, not forever
    assert longest(Load(vus=2, iterations=10)) > 600.0  # k6's maximum duration of shared iterations bounds it
    running = {"spawned": 0.0, "first": 1.0, "longest": limit}
    assert overdue(3.0, heard=2.9, **running) is None
    assert "stopped answering" in (overdue(2.0 + SILENT_AFTER + 0.1, heard=2.0, **running) or "")
    assert "past the run's end" in (overdue(1.0 + limit + 0.1, heard=limit, **running) or "")
    assert overdue(START_WITHIN - 1, spawned=0.0, first=None, heard=None, longest=limit) is None
    assert "not started" in (overdue(START_WITHIN + 1, spawned=0.0, first=None, heard=None, longest=limit) or "")
    stopped = {**running, "heard": 4.0, "stopped_at": 4.0}
    assert overdue(4.0 + STOP_GRACE - 0.1, **stopped) is None
    assert "had not stopped" in (overdue(4.0 + STOP_GRACE + 0.1, **stopped) or "")
    assert overdue(4.5, **{**stopped, "grace": 0.4}) is not None  # a second stop's shorter grace


def test_what_a_worker_sent_decides_the_run() -> None:
    """A result with no stop of its own is merged; a signal only it got fails the run but keeps its sessions;
    no result is a lost worker, unless the run's stop explains it."""
    import signal

    from wsrun.run.watch import Reply
    from wsrun.run.workers import judge

    part = RunResult("s", "s.yaml", "ws://x", {})
    assert judge(Reply(part), stopped=False, vus=2) == (part, None)
    assert judge(Reply(part, signum=signal.SIGINT), stopped=True, vus=2) == (part, None)
    kept, why = judge(Reply(part, signum=signal.SIGTERM), stopped=False, vus=2)
    assert kept is part and "stopped by SIGTERM" in (why or "") and "so the run fails" in (why or "")
    assert judge(Reply(signum=signal.SIGINT), stopped=True, vus=2) == (None, None)
    lost, why = judge("killed by SIGKILL", stopped=False, vus=2)
    assert lost is None and "was lost (killed by SIGKILL): its 2 vus' sessions are missing" in (why or "")
    assert "was lost (it failed: {x})" in (judge(Reply(error="it failed: {x}"), stopped=False, vus=1)[1] or "")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_check_no_session_reached_fails_the_whole_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    """Every session stopped by the schedule before a rule's check: the run fails saying so, once, whether
    the load ran in one process or in several (each worker alone must not judge what another reached)."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "url: ws://127.0.0.1:9\nvus: 2\nduration: 200ms\ngraceful_stop: 100ms\n"
        "rules:\n  - {after: 30s, do: [{check: {name: late, that: status, equals: 101}}]}\n"
        "checks:\n  - {name: status is 101, that: status, equals: 101}\n",
        encoding="utf-8",
    )
    code = main([str(path), "--serve", "--workers", workers])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "never evaluated: every session ended or was stopped before reaching it" in out
    assert "✓ status is 101" in out


async def test_vus_max_counts_the_vus_that_ran_not_the_vus_asked_for(echo_url: str) -> None:
    """A run stopped while starting 100,000 vus reports how many ran at once, not 100,000 (it said so)."""
    scenario = load_text("url: ws://x\nrules:\n  - {every: 50ms, do: [ping]}\n")
    run = LoadRun(prepare(scenario, file="s", url=echo_url), Load(vus=100_000, duration=60.0))
    task = asyncio.create_task(run.run())
    while run.snapshot()[0] < 20:  # sessions running
        await asyncio.sleep(0.01)
    run.stop()
    result = await asyncio.wait_for(task, 10 * UNIT)
    assert 20 <= result.vus_max < 100_000
    assert result.vus_max >= result.sessions
