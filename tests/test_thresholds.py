"""Thresholds in k6's syntax: parsing keys and expressions, located problems, and evaluation on tagged metrics."""

from __future__ import annotations

import pytest

from wsrun.scenario.thresholds import Threshold, parse, parse_all, parse_metric, problems
from wsrun.session.metrics import Metrics, Series
from wsrun.session.verdicts import evaluate

METRICS_LIST = (
    "checks, data_received, data_sent, ws_connecting, ws_expect_latency, ws_msgs_received, ws_msgs_sent,"
    " ws_ping, ws_reply_latency, ws_session_duration, ws_sessions"
)

# parse(): valid thresholds


@pytest.mark.parametrize(
    ("key", "expression", "stat", "op", "bound"),
    [
        ("ws_ping", "p(95) < 100", "p(95)", "<", 100.0),
        ("ws_ping", "p(99.9)<=5", "p(99.9)", "<=", 5.0),
        ("ws_ping", "avg<200", "avg", "<", 200.0),
        ("ws_ping", "max < 500", "max", "<", 500.0),
        ("ws_connecting", "p(95) < 100", "p(95)", "<", 100.0),
        ("ws_connecting", "p(99.9)<=5", "p(99.9)", "<=", 5.0),
        ("ws_connecting", "avg<200", "avg", "<", 200.0),
        ("ws_connecting", "max < 500", "max", "<", 500.0),
        ("ws_connecting", "min > 0.5", "min", ">", 0.5),
        ("ws_session_duration", "med >= 1000", "med", ">=", 1000.0),
        ("ws_ping", "count > 3", "count", ">", 3.0),
        ("ws_ping", "p( 90 ) < 1e3", "p(90)", "<", 1000.0),
        ("ws_msgs_received", "count >= 1000", "count", ">=", 1000.0),
        ("ws_msgs_received", "rate > 10", "rate", ">", 10.0),
        ("data_sent", "count < -1", "count", "<", -1.0),
        ("checks", "rate > 0.99", "rate", ">", 0.99),
        ("ws_ping", "avg === 3", "avg", "===", 3.0),
        ("ws_ping", "avg == 3", "avg", "==", 3.0),
        ("ws_sessions", "count != 0", "count", "!=", 0.0),
    ],
)
def test_parse_accepts_k6_thresholds(key: str, expression: str, stat: str, op: str, bound: float) -> None:
    """parse() splits a valid threshold into metric, statistic, operator and bound, and says the metric's kind."""
    threshold = parse(key, expression)
    kind = "trend" if key.startswith("ws_") and key not in ("ws_msgs_received", "ws_sessions") else "counter"
    kind = "rate" if key == "checks" else kind
    assert threshold == Threshold(key, (), stat, op, bound, expression.strip(), kind)  # type: ignore[arg-type]


def test_parse_keeps_the_expression_as_written_without_outer_spaces() -> None:
    """A threshold's source is its expression as written, stripped, for reports."""
    assert parse("ws_ping", "  p(95)  <  100 ").source == "p(95)  <  100"


def test_parse_reads_a_tag_filter() -> None:
    """A key with a tag filter gives the metric and its (name, value) tags."""
    threshold = parse("ws_ping{my_tag:hello}", "p(95) < 100")
    assert threshold.metric == "ws_ping"
    assert threshold.tags == (("my_tag", "hello"),)


def test_parse_sorts_and_strips_several_tags() -> None:
    """Several tag filters are stripped of spaces and sorted by name."""
    threshold = parse("ws_ping{ region : eu , my_tag:hello}", "avg < 1")
    assert threshold.tags == (("my_tag", "hello"), ("region", "eu"))


@pytest.mark.parametrize("key", ["ws_ping", "ws_ping{my_tag:hello}", "ws_connecting{a:1,b:2}", "ws_ping{url:ws://x:1}"])
def test_key_round_trips(key: str) -> None:
    """A threshold's key is the metric as written; parsing the key again gives the same metric and tags."""
    threshold = parse(key, "max < 500")
    assert threshold.key == key
    assert parse_metric(threshold.key) == (threshold.metric, threshold.tags)


def test_key_is_canonical_for_spaced_tags() -> None:
    """A key written with spaces and unsorted tags comes back in one canonical spelling."""
    assert parse("ws_ping{ b : 2 , a:1 }", "avg < 1").key == "ws_ping{a:1,b:2}"


def test_parse_all_parses_every_expression_of_every_key() -> None:
    """parse_all() gives one threshold per expression, in the order written."""
    thresholds = parse_all({"ws_ping": ["p(95) < 100", "avg < 50"], "checks": ["rate > 0.99"]})
    assert [(t.key, t.source) for t in thresholds] == [
        ("ws_ping", "p(95) < 100"),
        ("ws_ping", "avg < 50"),
        ("checks", "rate > 0.99"),
    ]


# parse(): refusals


@pytest.mark.parametrize(
    ("key", "expression", "message"),
    [
        (
            "http_req_duration",
            "p(95) < 100",
            "unknown metric 'http_req_duration': did you mean 'ws_session_duration'? metrics: " + METRICS_LIST,
        ),
        (
            "ws_pings{my_tag:hello}",
            "avg < 1",
            f"unknown metric 'ws_pings': did you mean 'ws_ping'? metrics: {METRICS_LIST}",
        ),
        (
            "WS_PING",
            "avg < 1",
            "'WS_PING' is not a metric: write a name, optionally with tags, like ws_ping{my_tag:hello}",
        ),
        (
            "ws_ping",
            "p95 < 100",
            "'p95 < 100' is not a threshold: write a statistic, an operator and a number, like 'p(95) < 100'",
        ),
        (
            "ws_ping",
            "p(95) <",
            "'p(95) <' is not a threshold: write a statistic, an operator and a number, like 'p(95) < 100'",
        ),
        (
            "ws_ping",
            "< 100",
            "'< 100' is not a threshold: write a statistic, an operator and a number, like 'p(95) < 100'",
        ),
        (
            "ws_ping",
            "p(95) => 100",
            "'p(95) => 100' is not a threshold: write a statistic, an operator and a number, like 'p(95) < 100'",
        ),
        ("ws_ping", "", "'' is not a threshold: write a statistic, an operator and a number, like 'p(95) < 100'"),
        ("ws_ping", "p(101) < 5", "'p(101) < 5': a percentile is between p(0) and p(100)"),
        ("ws_ping", "p(100.1) < 5", "'p(100.1) < 5': a percentile is between p(0) and p(100)"),
        (
            "ws_ping",
            "rate > 1",
            "'rate > 1': ws_ping is a trend; its statistics are avg, min, med, max, count or p(N)",
        ),
        (
            "ws_connecting",
            "value > 1",
            "'value > 1': ws_connecting is a trend; its statistics are avg, min, med, max, count or p(N)",
        ),
        (
            "ws_msgs_received",
            "p(95) < 1",
            "'p(95) < 1': ws_msgs_received is a counter; its statistics are count or rate",
        ),
        ("ws_sessions", "avg < 1", "'avg < 1': ws_sessions is a counter; its statistics are count or rate"),
        ("checks", "count > 1", "'count > 1': checks is a rate; its statistic is rate"),
        ("checks", "p(95) > 1", "'p(95) > 1': checks is a rate; its statistic is rate"),
        (
            "ws_ping{my_tag}",
            "avg < 1",
            "'ws_ping{my_tag}': a tag filter is name:value, like ws_ping{my_tag:hello}",
        ),
        (
            "ws_ping{:hello}",
            "avg < 1",
            "'ws_ping{:hello}': a tag filter is name:value, like ws_ping{my_tag:hello}",
        ),
        ("checks{my_tag:hello}", "rate > 0.9", "'checks{my_tag:hello}': checks has no tags to filter on"),
    ],
)
def test_parse_refuses_with_a_message_saying_what_is_allowed(key: str, expression: str, message: str) -> None:
    """parse() refuses a bad key or expression with a ValueError naming it and what is allowed."""
    with pytest.raises(ValueError) as raised:
        parse(key, expression)
    assert str(raised.value) == message


# problems(): located for the loader


def test_problems_of_good_thresholds_is_empty() -> None:
    """problems() finds nothing in valid thresholds."""
    good = {
        "ws_ping": ["p(95) < 100", "avg<200"],
        "ws_connecting{my_tag:hello}": ["max < 500"],
        "ws_msgs_received": ["count >= 1000", "rate > 10"],
        "checks": ["rate > 0.99"],
    }
    assert problems(good) == []
    assert problems({}) == []


def test_problems_locates_a_bad_key_at_the_key() -> None:
    """A bad key is one problem at ("thresholds", key), however many expressions it has."""
    found = problems({"http_req_duration": ["p(95) < 100", "avg < 1"], "ws_ping": ["avg < 1"]})
    assert found == [
        (
            ("thresholds", "http_req_duration"),
            "unknown metric 'http_req_duration': did you mean 'ws_session_duration'? metrics: " + METRICS_LIST,
        )
    ]


def test_problems_locates_a_bad_expression_at_its_index() -> None:
    """A bad expression is a problem at ("thresholds", key, index), next to the good ones."""
    found = problems({"ws_ping": ["avg < 1", "p95 < 100", "rate > 1"], "checks": ["rate > 0.9"]})
    assert found == [
        (
            ("thresholds", "ws_ping", 1),
            "'p95 < 100' is not a threshold: write a statistic, an operator and a number, like 'p(95) < 100'",
        ),
        (
            ("thresholds", "ws_ping", 2),
            "'rate > 1': ws_ping is a trend; its statistics are avg, min, med, max, count or p(N)",
        ),
    ]


def test_problems_reports_a_tag_filter_on_checks() -> None:
    """A tag filter on checks is reported under its key, with its message."""
    found = problems({"checks{my_tag:hello}": ["rate > 0.9"]})
    assert len(found) == 1
    location, message = found[0]
    assert location[:2] == ("thresholds", "checks{my_tag:hello}")
    assert message == "'checks{my_tag:hello}': checks has no tags to filter on"


def test_problems_reports_a_tag_filter_on_checks_without_expressions() -> None:
    """A tag filter on checks is a bad key even when its list of expressions is empty."""
    assert problems({"checks{my_tag:hello}": []}) == [
        (("thresholds", "checks{my_tag:hello}"), "'checks{my_tag:hello}': checks has no tags to filter on")
    ]


# evaluate(): on a hand-built series


def session(received: int, pings: list[float], connecting: list[float]) -> Metrics:
    """One session's metrics: messages received, ping round trips and connection times (ms)."""
    metrics = Metrics()
    metrics.counters["ws_sessions"] = 1
    metrics.counters["ws_msgs_received"] = received
    for value in pings:
        metrics.trends["ws_ping"].add(value)
    for value in connecting:
        metrics.trends["ws_connecting"].add(value)
    return metrics


def run_series() -> Series:
    """A run of three sessions: two tagged my_tag=hello, one tagged my_tag=bye."""
    series = Series()
    series.add(session(10, [1.0, 2.0, 3.0], [10.0]), {"my_tag": "hello"})
    series.add(session(20, [4.0, 5.0], [20.0]), {"my_tag": "hello", "region": "eu"})
    series.add(session(70, [100.0], [300.0]), {"my_tag": "bye"})
    return series


def actual(key: str, expression: str, checks: tuple[int, int] = (0, 0), duration: float = 10.0) -> float | None:
    """The value evaluate() compares for one threshold on run_series()."""
    (result,) = evaluate([parse(key, expression)], run_series(), checks, duration)
    return result.actual


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("avg < 1", 115 / 6),
        ("min < 1", 1.0),
        ("med < 1", 3.5),
        ("max < 1", 100.0),
        ("count < 1", 6.0),
        ("p(90) < 1", 52.5),
        ("p(0) < 1", 1.0),
        ("p(100) < 1", 100.0),
    ],
)
def test_evaluate_trend_statistics_over_every_session(expression: str, expected: float) -> None:
    """A trend threshold without tags is evaluated on the samples of every tag set."""
    assert actual("ws_ping", expression) == pytest.approx(expected)


def test_evaluate_counter_count_and_rate_per_second() -> None:
    """A counter's count is its total; its rate is the total divided by the run's duration."""
    assert actual("ws_msgs_received", "count > 1") == 100
    assert actual("ws_msgs_received", "rate > 1", duration=10.0) == pytest.approx(10.0)
    assert actual("ws_msgs_received", "rate > 1", duration=4.0) == pytest.approx(25.0)
    assert actual("ws_sessions", "count > 1") == 3
    assert actual("data_sent", "count > 1") == 0


@pytest.mark.parametrize(
    ("checks", "expected"),
    [((99, 1), 0.99), ((3, 0), 1.0), ((0, 4), 0.0), ((1, 3), 0.25), ((0, 0), None)],
)
def test_evaluate_checks_rate_is_the_share_passed(checks: tuple[int, int], expected: float | None) -> None:
    """The checks rate is passes / (passes + fails), and not measured (None) when no check ran."""
    assert actual("checks", "rate > 0.5", checks=checks) == (None if expected is None else pytest.approx(expected))


def test_evaluate_sub_metric_selects_only_matching_tags() -> None:
    """A tag-filtered threshold sees only the tag sets with that tag value."""
    assert actual("ws_ping{my_tag:hello}", "max < 1") == 5.0
    assert actual("ws_ping{my_tag:hello}", "count < 1") == 5.0
    assert actual("ws_connecting{my_tag:hello}", "avg < 1") == 15.0
    assert actual("ws_msgs_received{my_tag:hello}", "count < 1") == 30
    assert actual("ws_msgs_received{my_tag:bye}", "rate < 1", duration=7.0) == pytest.approx(10.0)
    assert actual("ws_ping{my_tag:hello,region:eu}", "min < 1") == 4.0
    assert actual("ws_ping{my_tag:nobody}", "p(95) < 1") is None


def test_one_tag_filtered_twice_is_refused() -> None:
    """A filter giving one tag two values is refused, rather than silently keeping one of them."""
    with pytest.raises(ValueError, match="the tag 'my_tag' is filtered twice"):
        parse("ws_ping{my_tag:hello,my_tag:bye}", "count < 1")


def test_evaluate_returns_one_result_per_threshold_in_order() -> None:
    """evaluate() returns one result per threshold, in order, each with its threshold."""
    thresholds = [parse("ws_ping", "max < 50"), parse("checks", "rate > 0.9"), parse("ws_sessions", "count == 3")]
    results = evaluate(thresholds, run_series(), (10, 0), 10.0)
    assert [result.threshold for result in results] == thresholds
    assert [result.passed for result in results] == [False, True, True]
    assert [result.actual for result in results] == [100.0, 1.0, 3]


# evaluate(): each operator on both sides (ws_ping{my_tag:hello} has avg 3.0)


@pytest.mark.parametrize(
    ("expression", "passed"),
    [
        ("avg < 3.5", True),
        ("avg < 3", False),
        ("avg <= 3", True),
        ("avg <= 2.9", False),
        ("avg > 2.5", True),
        ("avg > 3", False),
        ("avg >= 3", True),
        ("avg >= 3.1", False),
        ("avg == 3", True),
        ("avg == 3.5", False),
        ("avg === 3", True),
        ("avg === 2", False),
        ("avg != 4", True),
        ("avg != 3", False),
    ],
)
def test_evaluate_passes_on_one_side_of_each_operator(expression: str, passed: bool) -> None:
    """Each operator passes on its side of the bound and fails on the other."""
    (result,) = evaluate([parse("ws_ping{my_tag:hello}", expression)], run_series(), (0, 0), 1.0)
    assert result.actual == 3.0
    assert result.passed is passed


@pytest.mark.parametrize(
    ("metric", "expression"),
    [("ws_reply_latency", "p(95) < 100"), ("ws_ping", "max < 100"), ("ws_ping", "avg >= 0"), ("checks", "rate < 1")],
)
def test_a_threshold_with_no_samples_fails(metric: str, expression: str) -> None:
    """An objective with nothing measured proves nothing: it fails, with no value, whatever its bound."""
    (result,) = evaluate([parse(metric, expression)], Series(), (0, 0), 1.0)
    assert not result.passed and result.actual is None


def test_counts_are_always_measured() -> None:
    """A count of nothing is a count: 0 messages, 0 samples of a trend."""
    thresholds = [parse("ws_reply_latency", "count == 0"), parse("ws_msgs_sent", "count < 1")]
    assert [(r.passed, r.actual) for r in evaluate(thresholds, Series(), (0, 0), 1.0)] == [(True, 0), (True, 0)]
