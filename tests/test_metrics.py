"""Metrics in bounded memory: exact then bucketed trend percentiles, merging, trend stat names, tagged series."""

from __future__ import annotations

import math
import random

import pytest

from wsrun.scenario.metric_names import COUNTERS, TRENDS, parse_trend_stat
from wsrun.session.metrics import Metrics, Series, Trend, percentile

PERCENTS = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]


def trend_of(values: list[float]) -> Trend:
    """A trend fed ``values`` in order."""
    trend = Trend()
    for value in values:
        trend.add(value)
    return trend


def uniform(count: int, low: float, high: float, seed: int) -> list[float]:
    """``count`` fixed-seed samples spread evenly between ``low`` and ``high``."""
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(count)]


def exponential(count: int, mean: float, seed: int) -> list[float]:
    """``count`` fixed-seed samples with a long tail, like real latencies."""
    rng = random.Random(seed)
    return [rng.expovariate(1 / mean) for _ in range(count)]


# percentile(): k6's linear interpolation


@pytest.mark.parametrize(
    ("ordered", "p", "expected"),
    [
        ([], 50, 0.0),
        ([7.0], 0, 7.0),
        ([7.0], 99.9, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 90, 3.7),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([10.0, 20.0, 30.0], 50, 20.0),
        ([10.0, 20.0, 30.0], 25, 15.0),
    ],
)
def test_percentile_interpolates_linearly_between_neighbours(ordered: list[float], p: float, expected: float) -> None:
    """percentile() interpolates between the two samples around rank (n-1)*p/100, as k6 does."""
    assert percentile(ordered, p) == pytest.approx(expected)


# Trend: exact while small


@pytest.mark.parametrize("count", [1, 2, 3, 10, 999, 1000])
def test_small_trend_gives_exact_interpolated_percentiles(count: int) -> None:
    """Up to 1000 samples, a trend's percentiles are exactly k6's interpolated ones."""
    values = exponential(count, 40.0, seed=count)
    trend = trend_of(values)
    assert trend.exact is not None
    assert len(trend.exact) == count
    for p in PERCENTS:
        assert trend.percentile(p) == percentile(sorted(values), p)


def test_trend_drops_exact_samples_at_the_1001st() -> None:
    """The 1001st sample drops the exact samples: the trend keeps only its histogram."""
    trend = trend_of([float(i) for i in range(1, 1001)])
    assert trend.exact is not None
    trend.add(1001.0)
    assert trend.exact is None
    assert trend.count == 1001
    assert sum(trend.buckets.values()) == 1001


# Trend: bucketed when large


DISTRIBUTIONS = {
    "uniform": uniform(20_000, 1.0, 500.0, seed=1),
    "uniform-wide": uniform(20_000, 0.01, 10_000.0, seed=2),
    "exponential": exponential(20_000, 50.0, seed=3),
    "constant": [42.5] * 5_000,
    "constant-below-1us": [0.0004] * 5_000,
    "around-1us": uniform(20_000, 0.001, 0.002, seed=4),
}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_large_trend_percentiles_within_one_percent(name: str) -> None:
    """Beyond 1000 samples, percentiles from the 1% buckets are within 1% of the exact ones."""
    values = DISTRIBUTIONS[name]
    trend = trend_of(values)
    assert trend.exact is None
    ordered = sorted(values)
    for p in PERCENTS:
        exact = percentile(ordered, p)
        assert trend.percentile(p) == pytest.approx(exact, rel=0.01), f"p({p})"


def test_large_trend_percentiles_below_1us_within_1us() -> None:
    """Values below 1 µs share one bucket: their percentiles are off by less than 1 µs (0.001 ms)."""
    values = uniform(5_000, 0.0001, 0.0009, seed=5)
    trend = trend_of(values)
    ordered = sorted(values)
    assert len(trend.buckets) == 1
    for p in PERCENTS:
        assert abs(trend.percentile(p) - percentile(ordered, p)) < 0.001


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_large_trend_avg_min_max_count_stay_exact(name: str) -> None:
    """Whatever the number of samples, avg, min, max and count are exact, not bucketed."""
    values = DISTRIBUTIONS[name]
    trend = trend_of(values)
    assert trend.stat("count") == len(values)
    assert trend.stat("min") == min(values)
    assert trend.stat("max") == max(values)
    assert trend.stat("avg") == pytest.approx(math.fsum(values) / len(values), rel=1e-12)


def test_large_constant_trend_gives_the_constant_exactly() -> None:
    """A bucket's middle is clamped to min and max: 5,000 equal samples give exactly that value at every percentile."""
    trend = trend_of([42.5] * 5_000)
    assert trend.exact is None
    for p in PERCENTS:
        assert trend.percentile(p) == 42.5


def test_memory_is_bounded_after_a_million_samples() -> None:
    """A million samples spread over 0.01..10,000 ms keep fewer than 2,000 buckets and no exact samples."""
    spread = [0.01 * 10 ** (6 * i / 9_999) for i in range(10_000)]
    trend = Trend()
    add = trend.add
    for _ in range(100):
        for value in spread:
            add(value)
    assert trend.count == 1_000_000
    assert trend.exact is None
    assert len(trend.buckets) < 2_000
    assert trend.stat("min") == pytest.approx(0.01)
    assert trend.stat("max") == pytest.approx(10_000.0)
    assert trend.stat("med") == pytest.approx(percentile(spread, 50), rel=0.01)


# Trend.stat(): k6 names


def test_stat_names_every_statistic() -> None:
    """stat() knows avg, min, med, max, count and p(N), including a fractional N."""
    values = [float(i) for i in range(1, 101)]
    trend = trend_of(values)
    assert trend.stat("avg") == 50.5
    assert trend.stat("min") == 1.0
    assert trend.stat("med") == 50.5
    assert trend.stat("max") == 100.0
    assert trend.stat("count") == 100.0
    assert trend.stat("p(90)") == pytest.approx(90.1)
    assert trend.stat("p(99.9)") == pytest.approx(percentile(values, 99.9))
    assert trend.stat("p(0)") == 1.0
    assert trend.stat("p(100)") == 100.0


def test_stats_default_to_avg_min_med_max_p90_p95() -> None:
    """stats() without names gives k6's default summary statistics."""
    trend = trend_of([1.0, 2.0, 3.0, 4.0])
    assert trend.stats() == {"avg": 2.5, "min": 1.0, "med": 2.5, "max": 4.0, "p(90)": 3.7, "p(95)": pytest.approx(3.85)}


@pytest.mark.parametrize("name", ["avg", "min", "med", "max", "count", "p(90)", "p(99.9)"])
def test_empty_trend_gives_zero(name: str) -> None:
    """A trend without samples reports 0.0 for every statistic (not inf, nan or an error)."""
    assert Trend().stat(name) == 0.0
    assert Trend().percentile(50) == 0.0


# Trend.merge()


def assert_same_trend(merged: Trend, single: Trend) -> None:
    """Two trends hold the same samples: same count, sum, min, max, buckets and percentiles."""
    assert merged.count == single.count
    assert merged.total == pytest.approx(single.total, rel=1e-12)
    assert merged.minimum == single.minimum
    assert merged.maximum == single.maximum
    assert merged.buckets == single.buckets
    assert (merged.exact is None) == (single.exact is None)
    for p in PERCENTS:
        assert merged.percentile(p) == single.percentile(p), f"p({p})"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (100, 200),
        (500, 500),
        (500, 501),
        (0, 300),
        (300, 0),
        (5_000, 3_000),
        (5_000, 10),
        (10, 5_000),
    ],
)
def test_merge_equals_one_trend_fed_both(first: int, second: int) -> None:
    """Merging two trends gives what one trend fed both sample sets gives, small (exact) or large (bucketed)."""
    a_values = exponential(first, 30.0, seed=first)
    b_values = uniform(second, 0.5, 300.0, seed=second + 1)
    merged = trend_of(a_values)
    merged.merge(trend_of(b_values))
    assert_same_trend(merged, trend_of(a_values + b_values))


def test_merge_of_small_trends_keeps_exact_samples() -> None:
    """Two trends whose samples fit within 1000 merge into exact, interpolated percentiles."""
    merged = trend_of([1.0, 2.0])
    merged.merge(trend_of([3.0, 4.0]))
    assert merged.exact is not None
    assert sorted(merged.exact) == [1.0, 2.0, 3.0, 4.0]
    assert merged.stat("p(90)") == pytest.approx(3.7)


def test_merging_an_empty_trend_changes_nothing() -> None:
    """Merging an empty trend into a trend, small or large, leaves its statistics as they were."""
    for values in (uniform(10, 1.0, 9.0, seed=7), uniform(2_000, 1.0, 9.0, seed=8)):
        trend = trend_of(values)
        trend.merge(Trend())
        assert_same_trend(trend, trend_of(values))


def test_merging_into_an_empty_trend_copies_the_other() -> None:
    """An empty trend merged with another takes its samples, without sharing its containers."""
    source = trend_of([5.0, 6.0])
    empty = Trend()
    empty.merge(source)
    assert_same_trend(empty, trend_of([5.0, 6.0]))
    source.add(1_000.0)
    assert empty.count == 2
    assert empty.maximum == 6.0
    assert sum(empty.buckets.values()) == 2


def test_two_empty_trends_merge_to_an_empty_trend() -> None:
    """Merging two empty trends stays empty: count 0 and every statistic 0.0."""
    trend = Trend()
    trend.merge(Trend())
    assert trend.count == 0
    assert trend.buckets == {}
    assert trend.stat("p(95)") == 0.0
    assert trend.stat("min") == 0.0


# parse_trend_stat()


@pytest.mark.parametrize("name", ["avg", "min", "med", "max", "count", "p(0)", "p(90)", "p(99.9)", "p(100)"])
def test_parse_trend_stat_accepts_k6_names(name: str) -> None:
    """parse_trend_stat() returns each k6 trend statistic unchanged."""
    assert parse_trend_stat(name) == name


def test_parse_trend_stat_strips_spaces() -> None:
    """parse_trend_stat() accepts surrounding spaces and returns the name without them."""
    assert parse_trend_stat("  p(95) ") == "p(95)"


@pytest.mark.parametrize("name", ["p(101)", "p(100.5)", "avg()", "mean", "", "p95", "p()", "P(95)", "p(-1)"])
def test_parse_trend_stat_refuses_others_and_lists_the_allowed(name: str) -> None:
    """parse_trend_stat() refuses anything else with a ValueError naming the text and what is allowed."""
    with pytest.raises(ValueError) as raised:
        parse_trend_stat(name)
    assert str(raised.value) == (
        f"{name!r} is not a trend statistic: use avg, min, med, max, count or p(N) with 0 <= N <= 100"
    )


# Metrics and Series


def metrics_of(counters: dict[str, float], trends: dict[str, list[float]]) -> Metrics:
    """A Metrics with these counters set and these samples added to its trends."""
    metrics = Metrics()
    metrics.counters.update(counters)
    for name, values in trends.items():
        for value in values:
            metrics.trends[name].add(value)
    return metrics


def test_new_metrics_has_every_counter_at_zero_and_trends_on_first_use() -> None:
    """A new Metrics has every counter at 0; a trend exists once used, empty until measured."""
    metrics = Metrics()
    assert metrics.counters == dict.fromkeys(COUNTERS, 0)
    assert set(metrics.trends) == set()  # thousands of sessions keep no empty trends
    for name in TRENDS:
        assert metrics.trends[name].count == 0
    assert set(metrics.trends) == set(TRENDS)


def test_metrics_merge_adds_counters_and_merges_trends() -> None:
    """Metrics.merge adds counters and merges each trend's samples."""
    merged = metrics_of({"ws_sessions": 1, "ws_msgs_sent": 5}, {"ws_ping": [1.0, 2.0]})
    merged.merge(metrics_of({"ws_sessions": 2, "data_sent": 100}, {"ws_ping": [3.0], "ws_connecting": [7.0]}))
    assert merged.counters["ws_sessions"] == 3
    assert merged.counters["ws_msgs_sent"] == 5
    assert merged.counters["data_sent"] == 100
    assert merged.counters["ws_msgs_received"] == 0
    assert merged.trends["ws_ping"].count == 3
    assert merged.trends["ws_ping"].stat("med") == 2.0
    assert merged.trends["ws_connecting"].stat("max") == 7.0
    assert merged.trends["ws_session_duration"].count == 0


def test_metrics_merge_keeps_metrics_it_does_not_know_yet() -> None:
    """Metrics.merge adds a counter or trend missing on its side instead of dropping it."""
    other = Metrics(counters={"custom": 4}, trends={"custom_trend": trend_of([9.0])})
    merged = Metrics()
    merged.merge(other)
    assert merged.counters["custom"] == 4
    assert merged.trends["custom_trend"].stat("max") == 9.0


def hello_series() -> Series:
    """Three sessions: two tagged my_tag=hello (one with a second tag), one tagged my_tag=bye, one untagged."""
    series = Series()
    series.add(metrics_of({"ws_sessions": 1, "ws_msgs_received": 10}, {"ws_ping": [1.0, 2.0]}), {"my_tag": "hello"})
    series.add(
        metrics_of({"ws_sessions": 1, "ws_msgs_received": 20}, {"ws_ping": [3.0]}),
        {"region": "eu", "my_tag": "hello"},
    )
    series.add(metrics_of({"ws_sessions": 1, "ws_msgs_received": 40}, {"ws_ping": [100.0]}), {"my_tag": "bye"})
    series.add(metrics_of({"ws_sessions": 1, "ws_msgs_received": 80}, {"ws_ping": [200.0]}), {})
    return series


def test_series_add_keeps_tag_sets_apart_and_merges_equal_ones() -> None:
    """Series.add files metrics by tag set, whatever the order of the tags, merging equal tag sets."""
    series = Series()
    series.add(metrics_of({"ws_sessions": 1}, {}), {"a": "1", "b": "2"})
    series.add(metrics_of({"ws_sessions": 1}, {}), {"b": "2", "a": "1"})
    series.add(metrics_of({"ws_sessions": 1}, {}), {"a": "1"})
    assert set(series.by_tags) == {(("a", "1"), ("b", "2")), (("a", "1"),)}
    assert series.by_tags[(("a", "1"), ("b", "2"))].counters["ws_sessions"] == 2
    assert series.by_tags[(("a", "1"),)].counters["ws_sessions"] == 1


def test_series_add_copies_the_metrics() -> None:
    """Series.add keeps a copy: changing the metrics afterwards leaves the series as it was."""
    metrics = metrics_of({"ws_sessions": 1}, {"ws_ping": [1.0]})
    series = Series()
    series.add(metrics, {})
    metrics.counters["ws_sessions"] = 50
    metrics.trends["ws_ping"].add(500.0)
    assert series.select().counters["ws_sessions"] == 1
    assert series.select().trends["ws_ping"].stat("max") == 1.0


def test_select_without_filter_merges_every_tag_set() -> None:
    """select() with no filter merges the metrics of every tag set, untagged included."""
    selected = hello_series().select()
    assert selected.counters["ws_sessions"] == 4
    assert selected.counters["ws_msgs_received"] == 150
    assert selected.trends["ws_ping"].count == 5
    assert selected.trends["ws_ping"].stat("max") == 200.0
    assert hello_series().select({}).counters["ws_sessions"] == 4


def test_select_with_filter_keeps_only_matching_tag_sets() -> None:
    """select({"my_tag": "hello"}) merges only the tag sets whose my_tag is hello, whatever their other tags."""
    selected = hello_series().select({"my_tag": "hello"})
    assert selected.counters["ws_sessions"] == 2
    assert selected.counters["ws_msgs_received"] == 30
    assert selected.trends["ws_ping"].count == 3
    assert selected.trends["ws_ping"].stat("max") == 3.0


def test_select_needs_every_filtered_tag() -> None:
    """select() with two tags keeps only the tag sets having both; an unmatched filter gives empty metrics."""
    series = hello_series()
    assert series.select({"my_tag": "hello", "region": "eu"}).counters["ws_msgs_received"] == 20
    nothing = series.select({"my_tag": "nobody"})
    assert nothing.counters["ws_sessions"] == 0
    assert nothing.trends["ws_ping"].stat("p(95)") == 0.0


def test_select_does_not_change_the_series() -> None:
    """select() returns new metrics: selecting twice gives the same result."""
    series = hello_series()
    first = series.select({"my_tag": "hello"})
    first.counters["ws_sessions"] = 99
    assert series.select({"my_tag": "hello"}).counters["ws_sessions"] == 2


def test_series_merge_equals_adding_everything_to_one() -> None:
    """Series.merge of two series gives the same tag sets and metrics as adding everything to one series."""
    parts = [
        (metrics_of({"ws_sessions": 1, "ws_msgs_sent": 3}, {"ws_ping": exponential(700, 20.0, seed=1)}), {"w": "a"}),
        (metrics_of({"ws_sessions": 1, "ws_msgs_sent": 4}, {"ws_ping": exponential(700, 20.0, seed=2)}), {"w": "a"}),
        (metrics_of({"ws_sessions": 1}, {"ws_connecting": [5.0, 6.0]}), {"w": "b"}),
        (metrics_of({"ws_sessions": 1}, {"ws_ping": [0.5]}), {}),
    ]
    one, left, right = Series(), Series(), Series()
    for index, (metrics, tags) in enumerate(parts):
        one.add(metrics, tags)
        (left if index % 2 == 0 else right).add(metrics, tags)
    left.merge(right)
    assert set(left.by_tags) == set(one.by_tags)
    for key, metrics in one.by_tags.items():
        assert left.by_tags[key].counters == metrics.counters
        for name, trend in metrics.trends.items():
            assert_same_trend(left.by_tags[key].trends[name], trend)
