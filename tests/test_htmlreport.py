"""The HTML report (--report): real runs rendered, escaped, self-contained, and drawn by a browser."""

from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
import textwrap
import zlib
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from websockets.asyncio.server import ServerConnection

from wsrun.output.charts import BARS_SHOWN, nice_ticks
from wsrun.output.html import render_html
from wsrun.scenario.loader import load_text
from wsrun.session.load import LoadRun, load_of
from wsrun.session.overtime import OverTime
from wsrun.session.plan import prepare
from wsrun.session.results import TIMELINE_LENGTH, Frame, RunResult, SessionResult
from wsrun.session.session import Session
from wsrun.session.verdicts import evaluate

from .helpers import UNIT, run_yaml, serving

GENERATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

FAILING = """
name: JSON replies
url: ws://unused
timeout: 5s
thresholds:
  ws_ping: ["p(95) < 0.0001"]
  checks: ["rate > 0.4"]
rules:
  - on: open
    do:
      - send_json: {id: 1}
      - expect: {name: a heartbeat comes, message: {that: message.type, equals: heartbeat}, within: 200ms}
  - every: 50ms
    do: [ping, {send_json: {id: "{{ uuid }}"}}]
  - after: 150ms
    do: [{send_binary: {hex: "cafe 0001"}}]
  - after: 600ms
    do: [close]
checks:
  - {name: status is 101, that: status, equals: 101}
"""

LOAD = """
name: Load
url: ws://unused
thresholds:
  ws_connecting: ["p(95) < 5000"]
rules:
  - every: 50ms
    do: [ping, {send: hello}]
  - after: 200ms
    do: [close]
checks:
  - {name: status is 101, that: status, equals: 101}
"""


async def run_with_report(text: str, url: str, file: str = "scenario.yaml") -> RunResult:
    """One session run as the CLI runs it with --report: a timeline, and samples over time."""
    scenario = load_text(textwrap.dedent(text), file)
    plan = dataclasses.replace(prepare(scenario, file=file, url=url), timeline=True)
    over_time = OverTime()
    session = await Session(plan, on_sample=over_time.sample).run()
    run = RunResult.of(session)
    run.first, run.over_time = session, over_time
    run.thresholds = evaluate(plan.thresholds, run.series, run.checks_tally, run.duration)
    return run


async def load_with_report(text: str, url: str) -> RunResult:
    """A load run as the CLI runs it with --report: the first session as a timeline, samples over time."""
    scenario = load_text(textwrap.dedent(text), "load.yaml")
    plan = dataclasses.replace(prepare(scenario, file="load.yaml", url=url), timeline=True)
    over_time = OverTime()
    run = await LoadRun(plan, load_of(scenario, vus=3, duration=1.0), on_sample=over_time.sample).run()
    run.over_time = over_time
    return run


def assert_self_contained(page: str) -> None:
    """No script, no event handler, nothing loaded from anywhere: links only within the page."""
    assert not re.search(r"<script", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page  # Content-Security-Policy, should anything slip through
    for element in lxml.html.document_fromstring(page).iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            assert name.lower() not in ("src", "srcset", "action", "xlink:href"), (element.tag, name)
            if name.lower() == "href":
                assert value.startswith("#"), value


async def test_report_shows_a_run(echo_url: str) -> None:
    """A single run: verdict, file, url, checks with the failure's reason and frames, thresholds, metrics, plots."""
    run = await run_with_report(FAILING, echo_url + "/json", file="scenarios/replies.yaml")
    page = render_html([run], duration=run.duration, generated=GENERATED)
    assert_self_contained(page)
    assert "generated 2026-01-02 03:04:05 UTC" in page
    for text in ("JSON replies", "✗ failed", "scenarios/replies.yaml", echo_url + "/json", "vus max"):
        assert text in page
    for section in ("Checks", "Thresholds", "Metrics", "Timeline", "Over time"):
        assert f"<h3>{section}" in page
    assert "no message matching message.type equals &quot;heartbeat&quot; within 200ms" in page
    assert "frames around it" in page and "rules[0].do[1]" in page
    assert "p(95) &lt; 0.0001" in page and "rate &gt; 0.4" in page and "1 of 2 passed" in page
    for name in ("ws_connecting", "ws_session_duration", "ws_ping", "ws_msgs_sent", "data_received", "p(95)"):
        assert name in page
    # The timeline: every lane, a mark per frame, and the frames in a collapsed table.
    for lane in (
        "sent text",
        "sent binary",
        "received text",
        "received binary",
        "ping sent",
        "ping received",
        "pong",
        "timer",
        "open / close",
    ):
        assert f"{lane} <tspan" in page
    assert run.first is not None
    assert page.count('width="2.5"') == len(run.first.transcript) and f"All {len(run.first.transcript)} frames" in page
    assert "every: 0.05s: rules[1]" in page  # timer firings are frames of their own
    # Plots: ws_ping against time and as a histogram; no per-second bars for a run this short.
    assert 'aria-label="ws_ping against time"' in page and 'aria-label="histogram of ws_ping"' in page
    assert run.duration < 2 and "messages per second" not in page
    assert "Too few samples to plot" in page  # one ws_connecting, one session duration
    assert "not recorded" not in page


async def test_hostile_text_is_inert() -> None:
    """Markup and control characters from a server or a file are shown as text, never run or hidden."""
    hostile = "<script>alert(1)</script>\x1b[31m\u202eevil"

    async def handler(connection: ServerConnection) -> None:
        await connection.send(hostile)
        await connection.send(b"<b>")
        await connection.close(4000, "</td><script>x</script>")

    scenario = """
    name: "<img src=http://evil.example/x.png onerror=alert(2)>"
    url: ws://unused
    timeout: 5s
    tags: {team: "<b onclick=alert(3)>"}
    rules:
      - on: message
        do: [{check: {name: "<i>plain</i>", that: message, equals: plain}}]
    """
    async with serving(handler) as url:
        run = await run_with_report(scenario, url, file="dir/<x>\udcff.yaml")  # an undecodable file name
    page = render_html([run], duration=run.duration)
    assert_self_contained(page)
    assert "<img" not in page and "<b onclick" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31m\\u202eevil" in page
    assert "\x1b" not in page and "\u202e" not in page
    assert "&lt;/td&gt;&lt;script&gt;x&lt;/script&gt;" in page  # the close reason
    assert "dir/&lt;x&gt;\\udcff.yaml" in page and page.encode("utf-8")  # written as UTF-8 by the CLI
    assert "&lt;i&gt;plain&lt;/i&gt;" in page
    assert "<title>wsrun report · &lt;img src=http://evil.example/x.png onerror=alert(2)&gt;</title>" in page


async def test_a_suite_gets_an_overview(echo_url: str) -> None:
    """Several scenarios: an overview table at the top, linking to each scenario's section."""
    failing = await run_with_report(FAILING, echo_url + "/json", file="a.yaml")
    passing = (await run_yaml("url: ws://unused\nrules: [{on: open, do: [close]}]\n", echo_url, file="b.yaml")).result
    page = render_html([failing, RunResult.of(passing)], duration=2.5, generated=GENERATED)
    assert_self_contained(page)
    assert "<h2>Scenarios</h2>" in page and "1 passed, 1 failed" in page and "ran in 2.50s" in page
    assert page.index("<h2>Scenarios</h2>") < page.index('id="scenario-1"') < page.index('id="scenario-2"')
    overview = page[page.index("<h2>Scenarios</h2>") : page.index('id="scenario-1"')]
    assert '<a href="#scenario-1">JSON replies</a>' in overview and 'href="#scenario-2"' in overview
    assert "a.yaml" in overview and "b.yaml" in overview and "✗ failed" in overview and "✓ passed" in overview


async def test_a_load_run(echo_url: str) -> None:
    """A load run: its sessions, the first session as the timeline, sessions and messages per second."""
    run = await load_with_report(LOAD, echo_url)
    assert run.first is not None and (run.first.vu, run.first.iteration) == (1, 0)
    page = render_html([run], duration=run.duration)
    assert_self_contained(page)
    assert f"<b>{run.sessions:,}</b>" in page and run.sessions > 3
    assert "Frames of the first session (vu 1 #0)" in page
    # Per-second bars only for a run of 2 s or more: one or two bars say nothing a count does not.
    assert ("sessions started per second" in page) == ("messages per second" in page) == (run.duration >= 2)
    assert f"{run.sessions:,} samples" in page  # ws_connecting, plotted: one per session
    assert "ws_connecting</span>" in page and "✓ passed" in page


async def test_without_samples_over_time_the_report_says_so(echo_url: str) -> None:
    """A run without samples over time (--workers): said plainly; histograms drawn from the merged trends."""
    text = "url: ws://unused\ntimeout: 5s\nrules:\n  - {every: 20ms, do: [ping]}\n  - {after: 300ms, do: [close]}\n"
    run = RunResult.of((await run_yaml(text, echo_url)).result)
    page = render_html([run], duration=run.duration)
    assert_self_contained(page)
    assert "Over-time plots were not recorded for this run" in page
    assert 'aria-label="histogram of ws_ping"' in page and "against time" not in page
    assert "messages per second" not in page
    # No timeline was recorded: the kept session's last frames are drawn instead.
    assert "It was not recorded as a timeline" in page and 'aria-label="timeline' in page


def test_long_runs_stay_bounded() -> None:
    """A day of samples and a full timeline: bars are grouped, points and frames as their holders bound them."""
    over_time = OverTime()
    over_time.points["ws_ping"] = [(second * 21.6, 1 + second % 7) for second in range(4000)]
    over_time.per_second["ws_msgs_sent"] = {second: 10 for second in range(86_400)}
    session = SessionResult("soak", "soak.yaml", "ws://h", duration=86_400)
    session.transcript = type(session.transcript)(maxlen=TIMELINE_LENGTH)
    for index in range(5000):
        session.transcript.append(Frame(index * 17.0, "sent", "text", "x" * 120))
    session.metrics.counters["ws_msgs_sent"] = 864_000
    run = RunResult.of(session)
    run.first, run.over_time, run.duration = session, over_time, 86_400
    page = render_html([run], duration=86_400)
    assert page.count('<rect class="s0"') <= BARS_SHOWN and "each bar averages 576 s" in page
    assert page.count("h0") >= 4000 and "All 2,000 frames" in page and "Only its last 2,000 frames" in page
    assert len(page) < 2_000_000


def test_nice_ticks() -> None:
    """Axis ticks are round numbers that cover the data."""
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0, 0.9) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
    assert nice_ticks(413, 429)[0] <= 413 and nice_ticks(413, 429)[-1] >= 429
    assert nice_ticks(5, 5) == [5, 6, 7, 8, 9, 10]
    assert nice_ticks(0, 3, 4, integer=True) == [0, 1, 2, 3]


# -- the browser -------------------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """An 8-bit RGB or RGBA PNG as width, height and rows of RGB bytes (PNG spec, section 9: filters)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed = 8, []
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and not interlace
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            compressed.append(body)
    raw, stride, rows = zlib.decompress(b"".join(compressed)), width * channels, []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if method == 1:
            for x in range(channels, stride):
                line[x] = (line[x] + line[x - channels]) & 0xFF
        elif method == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif method == 3:
            for x in range(stride):
                left = line[x - channels] if x >= channels else 0
                line[x] = (line[x] + (left + previous[x]) // 2) & 0xFF
        elif method == 4:
            for x in range(stride):
                a = line[x - channels] if x >= channels else 0
                b, c = previous[x], previous[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line) if channels == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3))
        previous = line
    return width, height, rows


async def test_a_browser_draws_the_report(echo_url: str, tmp_path: Path) -> None:
    """Chromium renders the report of a suite: the screenshot has ink in every region, and the verdict colours."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Chromium not installed: apt-get install chromium (.ci/run installs it)")
    failing = await run_with_report(FAILING, echo_url + "/json", file="scenarios/replies.yaml")
    load = await load_with_report(LOAD, echo_url)
    report, shot = tmp_path / "report.html", tmp_path / "shot.png"
    report.write_text(render_html([failing, load], duration=3.0), encoding="utf-8")
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,3000",
        f"--screenshot={shot}",
        report.as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=60 * UNIT, check=True)
    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 3000)
    colours: set[bytes] = set()
    for top in range(0, height, 500):  # six bands down the page: none is empty
        band = rows[top : top + 500]
        pixels = [row[x : x + 3] for row in band[::4] for x in range(0, width * 3, 12)]
        ink = sum(1 for pixel in pixels if min(pixel) < 200)
        assert ink > len(pixels) * 0.01, f"the band from {top}px is nearly blank"
        colours.update(pixels)
    assert len(colours) > 200

    def near(target: tuple[int, int, int]) -> bool:
        return any(all(abs(c - t) < 24 for c, t in zip(pixel, target, strict=True)) for pixel in colours)

    assert near((0xCF, 0x22, 0x2E)) and near((0x1A, 0x7F, 0x37))  # fail red, pass green
    assert near((0x09, 0x69, 0xDA))  # the charts' blue
