"""A scenario's own metrics (k6's Counter, Trend, Rate, Gauge): recorded, read by name, judged, reported, merged."""

from __future__ import annotations

import json
import math
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from wsrun.cli import main
from wsrun.errors import ScenarioError
from wsrun.scenario.loader import load_text
from wsrun.session.metrics import Gauge, Metrics, Rate, Trend, sample_value

from .helpers import report, run_yaml

# Each echoed message says how much to add: the echo server sends the JSON back as it came.
KINDS = """
url: ws://127.0.0.1:9/echo
metrics: {pongs_answered: counter, seq_gap: trend, in_order: rate, queue_depth: gauge}
rules:
  - on: open
    do:
      - send: '{"n": 2, "gap": -1.5, "depth": 7, "ok": true}'
      - send: '{"n": 2, "gap": 3, "depth": 9, "ok": false}'
      - send: '{"n": 1, "gap": 0.5, "depth": 4, "ok": true}'
  - on: message
    do:
      - increment: pongs_answered
      - add: {metric: pongs_answered, value: "{{ message.n }}"}
      - add: {metric: seq_gap, value: "{{ message.gap }}"}
      - add: {metric: in_order, value: "{{ message.ok }}"}
      - add: {metric: queue_depth, value: "{{ message.depth }}"}
      - log: "answered {{ pongs_answered }} gaps {{ seq_gap }} in order {{ in_order }} depth {{ queue_depth }}"
  - on: message
    when: {that: pongs_answered, at_least: 8}
    do: [close]
checks:
  - {name: answered every ping, that: pongs_answered, at_least: 8}
  - {name: every gap recorded, that: seq_gap, equals: 3}
  - {name: mostly in order, that: in_order, at_least: 0.6}
  - {name: queue drained, that: queue_depth, at_most: 4}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_text(textwrap.dedent(text), "s.yaml")
    return [str(problem) for problem in info.value.problems]


# -- in a session, on both transports ------------------------------------------------------------


@pytest.mark.usefixtures("transport")
async def test_each_kind_is_recorded_and_read_by_its_name(echo_url: str) -> None:
    """A counter totals, a trend keeps samples (its name reads their count), a rate the share of true
    ones, a gauge its last value; each name reads this session's value in templates and checks."""
    run = await run_yaml(KINDS, echo_url)
    assert run.errors == []
    assert run.logs == [
        "answered 3 gaps 1 in order 1.0 depth 7",
        "answered 6 gaps 2 in order 0.5 depth 9",
        "answered 8 gaps 3 in order 0.6666666666666666 depth 4",
    ]
    metrics = run.result.metrics
    assert metrics.counters["pongs_answered"] == 8
    assert metrics.trends["seq_gap"].stats(["min", "max", "count"]) == {"min": -1.5, "max": 3, "count": 3}
    assert (metrics.rates["in_order"].trues, metrics.rates["in_order"].count) == (2, 3)
    gauge = metrics.gauges["queue_depth"]
    assert (gauge.value, gauge.minimum, gauge.maximum) == (4, 4, 9)
    for name in ("answered every ping", "every gap recorded", "mostly in order", "queue drained"):
        assert run.check(name) == (1, 0, "")
    text = report(run.result)
    assert "pongs_answered ......" in text and ": 8 -" in text
    assert "seq_gap" in text and "min=-1.5" in text and "max=3 " in text and "ms" not in text.split("seq_gap")[1][:60]
    assert "in_order" in text and "66.67% ✓ 2 ✗ 1" in text
    assert "queue_depth" in text and "4 min=4 max=9" in text


@pytest.mark.usefixtures("transport")
async def test_a_check_on_a_metric_fails_with_its_value(echo_url: str) -> None:
    """A check on a metric that did not reach its bound fails, saying the value it read."""
    run = await run_yaml(
        KINDS.replace(
            "every ping, that: pongs_answered, at_least: 8", "every ping, that: pongs_answered, at_least: 50"
        ),
        echo_url,
    )
    passes, fails, reason = run.check("answered every ping")
    assert (passes, fails) == (0, 1)
    assert reason == "expected pongs_answered at_least 50, got 8"


@pytest.mark.usefixtures("transport")
async def test_a_rate_or_gauge_never_given_a_value_is_unset(echo_url: str) -> None:
    """Before its first sample a rate or a gauge has no value: reading it is an error naming the rule."""
    run = await run_yaml(
        """
        url: ws://127.0.0.1:9/echo
        metrics: {in_order: rate, queue_depth: gauge, answered: counter, gaps: trend}
        rules:
          - on: open
            do: [{log: "counted {{ answered }} {{ gaps }}"}, {log: "{{ in_order }}"}, {log: "{{ queue_depth }}"}, close]
        """,
        echo_url,
    )
    assert run.logs == ["counted 0 0"]
    assert len(run.errors) == 2
    assert run.errors[0].startswith("rules[0].do[1] (on: open): {{ in_order }} is not set")
    assert run.errors[1].startswith("rules[0].do[2] (on: open): {{ queue_depth }} is not set")


@pytest.mark.usefixtures("transport")
async def test_a_value_that_is_not_a_number_is_an_error_naming_the_rule(echo_url: str) -> None:
    """At run time, a template giving text (or a counter a negative number) skips the add, as an error."""
    run = await run_yaml(
        """
        url: ws://127.0.0.1:9/echo
        metrics: {seq_gap: trend, answered: counter, in_order: rate}
        rules:
          - on: open
            do: [{send: '{"gap": "wide", "n": -2, "ok": null}'}]
          - on: message
            do:
              - add: {metric: seq_gap, value: "{{ message.gap }}"}
              - add: {metric: answered, value: "{{ message.n }}"}
              - add: {metric: in_order, value: "{{ message.ok }}"}
              - close
        """,
        echo_url,
    )
    assert run.errors == [
        "rules[1].do[0] (on: message): add to seq_gap skipped: 'wide' is not a number, which a trend takes",
        "rules[1].do[1] (on: message): add to answered skipped: -2 is negative, and a counter only grows",
        "rules[1].do[2] (on: message): add to in_order skipped: a NoneType is not true, false or a number,"
        " which a rate takes",
    ]
    assert run.result.metrics.trends["seq_gap"].count == 0
    assert run.result.metrics.counters["answered"] == 0


# -- every report, thresholds, workers, suites (the command line) -------------------------------

THRESHOLDS = (
    KINDS
    + """
thresholds:
  pongs_answered: ["count >= 8", "rate > 0"]
  in_order: ["rate > 0.5"]
  seq_gap: ["p(95) < 5", "min > -2"]
  queue_depth: ["value < 100"]
"""
)


@pytest.mark.parametrize("transport", ["websockets", "picows"])
def test_every_report_shows_them_and_thresholds_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], transport: str
) -> None:
    """The console summary, --summary-export, --junit, --out and --report all show each metric with its value."""
    summary, junit, out, html = (tmp_path / name for name in ("s.json", "j.xml", "o.ndjson", "r.html"))
    args = ["--serve", "--transport", transport, "--summary-export", str(summary), "--junit", str(junit)]
    code = main([write(tmp_path, THRESHOLDS), *args, "--out", f"ndjson={out}", "--report", str(html)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "✓ pongs_answered" in text and "✓ count >= 8 (count=8)" in text
    assert "✓ in_order" in text and "✓ rate > 0.5 (rate=66.67%)" in text
    assert "✓ seq_gap" in text and "✓ p(95) < 5 (p(95)=2.75)" in text and "✓ min > -2 (min=-1.5)" in text
    assert "✓ queue_depth" in text and "✓ value < 100 (value=4)" in text

    metrics = json.loads(summary.read_text())["metrics"]
    assert metrics["pongs_answered"]["count"] == 8
    assert metrics["pongs_answered"]["thresholds"] == {"count >= 8": False, "rate > 0": False}
    assert metrics["in_order"] == {"passes": 2, "fails": 1, "value": 2 / 3, "thresholds": {"rate > 0.5": False}}
    assert metrics["seq_gap"]["min"] == -1.5 and metrics["seq_gap"]["max"] == 3
    assert metrics["queue_depth"] == {"value": 4, "min": 4, "max": 9, "thresholds": {"value < 100": False}}

    properties = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert properties["metric.pongs_answered"] == "8"
    assert properties["metric.in_order"] == "66.67% ✓ 2 ✗ 1"
    assert properties["metric.queue_depth"] == "4 min=4 max=9"
    assert properties["metric.seq_gap"].startswith("count=3 avg=0.666667 min=-1.5")
    cases = [case.get("name") for case in ET.parse(junit).iter("testcase")]
    assert "queue_depth value < 100" in cases and "in_order rate > 0.5" in cases

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    declared = {line["metric"]: line["data"] for line in lines if line["type"] == "Metric"}
    assert {name: declared[name]["type"] for name in ("pongs_answered", "seq_gap", "in_order", "queue_depth")} == {
        "pongs_answered": "counter",
        "seq_gap": "trend",
        "in_order": "rate",
        "queue_depth": "gauge",
    }
    assert declared["seq_gap"]["contains"] == "default"  # plain numbers, not times
    points = [(line["metric"], line["data"]["value"]) for line in lines if line["type"] == "Point"]
    assert [value for metric, value in points if metric == "queue_depth"] == [7, 9, 4]
    assert [value for metric, value in points if metric == "in_order"] == [1, 0, 1]
    assert sum(value for metric, value in points if metric == "pongs_answered") == 8

    page = html.read_text()
    for row in (
        '">pongs_answered</td><td class="num">8</td>',
        '">in_order</td><td class="num">2 / 3</td><td class="num">66.67%</td>',
        '">queue_depth</td><td class="num">4</td><td class="num">min=4 max=9</td>',
        '">seq_gap</td><td class="num">3</td><td class="num">0.666667</td>',
    ):
        assert row in page


@pytest.mark.parametrize("transport", ["websockets", "picows"])
def test_failed_thresholds_exit_99(tmp_path: Path, capsys: pytest.CaptureFixture[str], transport: str) -> None:
    """A threshold on a metric of the scenario's own that fails is ✗ with the value it judged, and exits 99."""
    text = THRESHOLDS.replace('["count >= 8", "rate > 0"]', '["count >= 100"]').replace(
        '["value < 100"]', '["value > 5"]'
    )
    junit = tmp_path / "j.xml"
    code = main([write(tmp_path, text), "--serve", "--transport", transport, "--junit", str(junit)])
    out = capsys.readouterr().out
    assert code == 99, out
    assert "✗ pongs_answered" in out and "✗ count >= 100 (count=8)" in out
    assert "✗ queue_depth" in out and "✗ value > 5 (value=4)" in out
    failures = [f.get("message") for f in ET.parse(junit).iter("failure")]
    assert failures == ["count=8, expected count >= 100", "value=4, expected value > 5"]


def test_a_threshold_on_a_rate_never_given_a_value_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing measured proves nothing: a rate or gauge without samples fails its threshold, shown as no samples;
    a counter never incremented counts 0."""
    text = """
    url: ws://127.0.0.1:9/echo
    metrics: {in_order: rate, queue_depth: gauge, answered: counter}
    thresholds: {in_order: ["rate > 0.5"], queue_depth: ["value < 5"], answered: ["count == 0"]}
    rules: [{on: open, do: [close]}]
    """
    assert main([write(tmp_path, text), "--serve"]) == 99
    out = capsys.readouterr().out
    assert "✗ rate > 0.5 (rate=no samples)" in out and "✗ value < 5 (value=no samples)" in out
    assert "✓ count == 0 (count=0)" in out


LOAD = """
url: ws://127.0.0.1:9/echo
vus: 4
iterations: 8
tags: {side: a}
metrics: {answered: counter, depth: gauge, gaps: trend, in_order: rate}
thresholds:
  answered: ["count == 24"]
  "answered{side:a}": ["count == 24"]
rules:
  - on: open
    do: [{send: '{"gap": 2}'}]
  - on: message
    do:
      - increment: answered
      - add: {metric: answered, value: 2}
      - add: {metric: depth, value: "{{ vu }}"}
      - add: {metric: gaps, value: "{{ message.gap }}"}
      - add: {metric: in_order, value: true}
      - close
"""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_merged_across_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str) -> None:
    """Each session's counter adds up over every virtual user and every worker process; tag filters work."""
    summary = tmp_path / "s.json"
    code = main([write(tmp_path, LOAD), "--serve", "--workers", workers, "--summary-export", str(summary)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✓ count == 24 (count=24)" in out
    metrics = json.loads(summary.read_text())["metrics"]
    assert metrics["answered"]["count"] == 24 and metrics["answered{side:a}"]["count"] == 24
    assert metrics["gaps"]["avg"] == 2 and metrics["in_order"]["passes"] == 8
    assert metrics["depth"]["min"] == 1 and metrics["depth"]["max"] == 4


def test_merged_across_suite_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In a suite, one metric name declared in two files adds up in the summary export, as in one k6 run."""
    one = write(tmp_path, LOAD.replace("vus: 4\niterations: 8", "vus: 1\niterations: 2"), "one.yaml")
    two = write(tmp_path, LOAD.replace("vus: 4\niterations: 8", "vus: 1\niterations: 3"), "two.yaml")
    summary = tmp_path / "s.json"
    main([one, two, "--serve", "-q", "--summary-export", str(summary)])
    capsys.readouterr()
    assert json.loads(summary.read_text())["metrics"]["answered"]["count"] == 15


# -- load-time errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "metrics: {answered: counter}\nrules: [{on: open, do: [{increment: answerd}]}]",
            "s.yaml:3:37: rules[0].do[0].increment: unknown metric 'answerd': did you mean 'answered'?"
            " declared metrics: answered",
        ),
        (
            "rules: [{on: open, do: [{increment: answered}]}]",
            "s.yaml:2:37: rules[0].do[0].increment: unknown metric 'answered': declare it first, under metrics:"
            " (answered: counter, trend, rate or gauge)",
        ),
        (
            "metrics: {gaps: trend}\nrules: [{on: open, do: [{increment: gaps}]}]",
            "s.yaml:3:37: rules[0].do[0].increment: 'gaps' is a trend: increment adds 1 to a counter;"
            " use add: {metric: gaps, value: …}",
        ),
        (
            "metrics: {gaps: trend}\nrules: [{on: open, do: [{add: {metric: gap, value: 1}}]}]",
            "s.yaml:3:40: rules[0].do[0].add.metric: unknown metric 'gap': did you mean 'gaps'? declared metrics: gaps",
        ),
        (
            "metrics: {gaps: trend}\nrules: [{on: open, do: [{add: {metric: gaps, value: 'wide'}}]}]",
            "s.yaml:3:53: rules[0].do[0].add.value: 'wide' is text: give a number, true or false, or exactly one"
            ' template giving one, like "{{ message.n }}"',
        ),
        (
            "metrics: {answered: counter}\nrules: [{on: open, do: [{add: {metric: answered, value: true}}]}]",
            "s.yaml:3:57: rules[0].do[0].add.value: true is not a number: answered is a counter, which takes a number",
        ),
        (
            "metrics: {answered: counter}\nrules: [{on: open, do: [{add: {metric: answered, value: -1}}]}]",
            "s.yaml:3:57: rules[0].do[0].add.value: -1 is negative: answered is a counter, which only grows",
        ),
        (
            "metrics: {gaps: trend}\nrules: [{on: open, do: [{add: {metric: gaps, value: '{{ nope }}'}}]}]",
            "s.yaml:3:53: rules[0].do[0].add.value: unknown name 'nope':",
        ),
        (
            "metrics: {answered: counter}\nchecks: [{name: c, that: answerd, equals: 1}]",
            "s.yaml:3:26: checks[0].that: unknown name 'answerd': did you mean 'answered'?",
        ),
        (
            "metrics: {answered: counter}\nthresholds: {answerd: ['count > 1']}",
            "s.yaml:3:23: thresholds.answerd: unknown metric 'answerd': did you mean 'answered'?",
        ),
        (
            "metrics: {answered: counter}\nthresholds: {answered: ['value > 1']}",
            "s.yaml:3:25: thresholds.answered[0]: 'value > 1': answered is a counter; its statistics are count or rate",
        ),
        (
            "metrics: {in_order: rate}\nthresholds: {in_order: ['p(95) > 1']}",
            "s.yaml:3:25: thresholds.in_order[0]: 'p(95) > 1': in_order is a rate; its statistic is rate",
        ),
        (
            "metrics: {depth: gauge}\nthresholds: {depth: ['avg > 1']}",
            "s.yaml:3:22: thresholds.depth[0]: 'avg > 1': depth is a gauge; its statistic is value",
        ),
        (
            "metrics: {gaps: trend}\nthresholds: {gaps: ['rate > 1']}",
            "s.yaml:3:21: thresholds.gaps[0]: 'rate > 1': gaps is a trend; its statistics are avg, min, med, max,"
            " count or p(N)",
        ),
        ("metrics: {ws_ping: trend}", "s.yaml:2:20: metrics.ws_ping: 'ws_ping' is a built-in metric;"),
        ("metrics: {checks: rate}", "s.yaml:2:19: metrics.checks: 'checks' is a built-in metric;"),
        ("metrics: {ws_pongs: counter}", "s.yaml:2:21: metrics.ws_pongs: 'ws_pongs' starts with ws_, kept for"),
        ("metrics: {data_x: counter}", "s.yaml:2:19: metrics.data_x: 'data_x' starts with data_, kept for"),
        ("metrics: {status: gauge}", "s.yaml:2:19: metrics.status: 'status' is a built-in name;"),
        ("metrics: {n: gauge}\nvars: {n: 1}", "s.yaml:2:14: metrics.n: 'n' is a variable of vars;"),
        (
            "metrics: {token: gauge}\nrules: [{on: message, do: [{store: {from: message, as: token}}]}]",
            "s.yaml:2:18: metrics.token: 'token' is a stored name;",
        ),
        (
            "metrics: {quote: trend}\nrules: [{on: open, do: [{request: {name: q, send_json: {id: 1}, within: 1s,"
            " metric: quote}}]}]",
            "s.yaml:2:18: metrics.quote: 'quote' is the latency trend of a request (its metric:);",
        ),
        (
            "metrics: {sio: gauge}\npatterns: {sio: '^(?P<type>4[0-9])$'}",
            "s.yaml:2:16: metrics.sio: 'sio' is a named pattern of patterns;",
        ),
        ("metrics: {Answered: counter}", "s.yaml:2:11: metrics.Answered: "),
        ("metrics: {answered: histogram}", "s.yaml:2:21: metrics.answered: 'histogram' is not allowed: use"),
    ],
)
def test_load_time_errors(text: str, expected: str) -> None:
    """What the file alone tells about its metrics is an error when it is loaded, located, saying what is allowed."""
    found = problems("url: ws://h\n" + text + "\n")
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_validate_exits_2_on_an_undeclared_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """wsrun validate catches an action on a metric the file does not declare."""
    path = write(tmp_path, "url: ws://h\nrules: [{on: open, do: [{increment: answered}]}]\n")
    assert main(["validate", path]) == 2
    assert "unknown metric 'answered': declare it first" in capsys.readouterr().err


# -- the values, without sockets --------------------------------------------------------------------


def test_a_trend_of_plain_numbers_keeps_negative_values_in_order_past_the_exact_samples() -> None:
    """Beyond the 1,000 exact samples, the histogram keeps negative values in order, within 1%."""
    trend = Trend(time=False)
    for value in range(-1000, 1000):
        trend.add(value / 10)
    assert trend.exact is None
    assert trend.stat("min") == -100 and trend.stat("max") == 99.9
    assert math.isclose(trend.stat("p(10)"), -80, rel_tol=0.02)
    assert math.isclose(trend.stat("med"), 0, abs_tol=0.1)
    assert math.isclose(trend.stat("p(90)"), 80, rel_tol=0.02)


def test_merges() -> None:
    """Rates add their samples; a gauge keeps the value set last (by the clock), and the extremes of both."""
    one, two = Metrics(), Metrics()
    one.rates["ok"], two.rates["ok"] = Rate(1, 2), Rate(3, 3)
    one.gauges["depth"], two.gauges["depth"] = Gauge(), Gauge()
    one.gauges["depth"].set(5, at=20.0)
    two.gauges["depth"].set(1, at=10.0)
    two.gauges["depth"].set(9, at=11.0)
    one.merge(two)
    assert one.rates["ok"].rate == 4 / 5
    gauge = one.gauges["depth"]
    assert (gauge.value, gauge.minimum, gauge.maximum, gauge.count) == (5, 1, 9, 3)
    assert one.own() == ["depth", "ok"]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [("counter", 2, 2), ("trend", -1.5, -1.5), ("rate", True, 1), ("rate", 0, 0), ("gauge", 7, 7)],
)
def test_sample_value(kind: str, value: object, expected: float) -> None:
    """What an add gives becomes the sample its metric's kind takes."""
    assert sample_value(kind, value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("counter", True, "true is not a number, and a counter takes a number"),
        ("gauge", "5", "'5' is not a number, which a gauge takes"),
        ("trend", [1], "a list is not a number, which a trend takes"),
        ("trend", math.inf, "inf is not a finite number"),
        ("counter", -1, "-1 is negative, and a counter only grows"),
    ],
)
def test_sample_value_refuses(kind: str, value: object, message: str) -> None:
    """A value the kind cannot hold is refused, saying why."""
    with pytest.raises(ValueError, match=None) as info:
        sample_value(kind, value)  # type: ignore[arg-type]
    assert str(info.value) == message
