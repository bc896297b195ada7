"""
The HTML report (``--report PATH.html``): one self-contained file, without JavaScript.

Per scenario: the verdict, the checks with the first failure's reason and frames,
the thresholds, k6's metrics, a timeline of the first session and plots of the
timed metrics against time. Charts are inline SVG drawn here. Everything from a
server or a file is escaped with its control characters made visible, and a
Content-Security-Policy forbids scripts and network loads should anything slip through.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .. import __version__
from ..scenario.metric_names import COUNTERS, DEFAULT_TREND_STATS, TRENDS
from ..session.metrics import Trend
from ..session.results import CheckResult, Frame, RunResult, SessionResult
from .charts import LANE_INDEX, LANES, histogram, lane, per_second_bars, scatter, timeline
from .text import ARROWS, format_bytes, format_ms, format_number, format_stat, html_text, rate_of, threshold_value

__all__ = ["render_html"]

#: Timed metrics with fewer samples are listed, not plotted.
PLOTTED_FROM = 3


def _verdict(result: RunResult) -> tuple[str, str]:
    """The CSS class and the words of a run's verdict."""
    if result.interrupted:
        return "warn", "interrupted"
    return ("pass", "✓ passed") if result.passed else ("fail", "✗ failed")


# -- sections -------------------------------------------------------------------------------------


def _frames_table(frames: Sequence[Frame]) -> str:
    rows = "".join(
        f'<tr><td class="num">{frame.at:.3f}s</td>'
        f'<td class="dir"><span class="chip k{LANE_INDEX[lane(frame)]}"></span>{ARROWS[frame.direction]} {frame.direction}</td>'
        f'<td>{frame.kind}</td><td class="mono text">{html_text(frame.text)}</td></tr>'
        for frame in frames
    )
    return (
        '<table class="frames"><thead><tr><th class="num">at</th><th>direction</th><th>kind</th><th>text</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _summary(result: RunResult) -> str:
    """File, URL, tags, and the headline figures."""
    meta = [("file", result.file), ("url", result.url), ("transport", result.transport)]
    if result.tags:
        meta.append(("tags", " ".join(f"{k}={v}" for k, v in result.tags.items())))
    sample = result.sample
    if result.sessions == 1 and sample is not None:
        if sample.status is not None:
            meta.append(
                ("status", str(sample.status) + (f", subprotocol {sample.subprotocol}" if sample.subprotocol else ""))
            )
        if sample.close_code is not None:
            reason = f" {sample.close_reason!r}" if sample.close_reason else ""
            meta.append(("closed", f"by {sample.closed_by}: {sample.close_code}{reason}"))
    rows = "".join(f"<dt>{name}</dt><dd class='mono'>{html_text(value)}</dd>" for name, value in meta)
    counters = result.series.select().counters
    passes, fails = result.checks_tally
    sessions = f"{result.sessions:,}" + (
        f" <small>{result.failed_sessions:,} failed</small>" if result.failed_sessions else ""
    )
    stats = [
        ("duration", f"{result.duration:.2f}s"),
        ("sessions", sessions),
        ("vus max", f"{result.vus_max:,}"),
        (
            "checks",
            f"<span class='ok'>{passes:,} ✓</span> <span class='{'bad' if fails else 'muted'}'>{fails:,} ✗</span>",
        ),
        ("messages sent", f"{counters.get('ws_msgs_sent', 0):,.0f}"),
        ("messages received", f"{counters.get('ws_msgs_received', 0):,.0f}"),
        # Errors fail a scenario only without checks: drawn as a failure only then.
        (
            "errors",
            f"<span class='{'bad' if result.errors and not result.has_checks else ''}'>{sum(result.errors.values()):,}</span>",
        ),
    ]
    cards = "".join(f'<div class="stat"><span>{name}</span><b>{value}</b></div>' for name, value in stats)
    return f'<dl class="meta">{rows}</dl><div class="stats">{cards}</div>'


def _notices(result: RunResult) -> str:
    parts = []
    if result.interrupted:
        parts.append(
            '<p class="note warn">Interrupted (Ctrl-C or a stop signal): the report covers the run so far.</p>'
        )
    if result.timed_out:
        parts.append(f'<p class="note warn">{result.timed_out} session(s) timed out.</p>')
    if result.stopped:
        parts.append(f'<p class="note">{result.stopped} session(s) stopped at the end of the load run.</p>')
    parts.extend(f'<p class="note warn">⚠ {html_text(warning)}</p>' for warning in result.warnings)
    if result.errors:
        total = sum(result.errors.values())
        items = "".join(
            f"<li><b>{count:,} ×</b> <span class='mono'>{html_text(text)}</span></li>"
            for text, count in result.errors.most_common(10)
        )
        more = f"<li class='muted'>… and {len(result.errors) - 10} other kinds</li>" if len(result.errors) > 10 else ""
        # Errors decide the verdict only in a scenario without checks: drawn as a failure only then.
        parts.append(
            f'<div class="note {"warn" if result.has_checks else "fail"}"><b>{total:,} errors in {result.sessions_with_errors:,} of {result.sessions:,} '
            f"sessions</b><ul>{items}{more}</ul></div>"
        )
    return "".join(parts)


def _check_row(check: CheckResult, load: bool) -> str:
    mark = '<span class="bad">✗</span>' if check.fails else '<span class="ok">✓</span>'
    row = (
        f'<tr class="{"failed" if check.fails else ""}"><td class="mark">{mark}</td><td>{html_text(check.name)}</td>'
        f'<td class="num">{check.passes:,}</td><td class="num {"bad" if check.fails else ""}">{check.fails:,}</td>'
        f'<td class="mono muted">{html_text(check.where)}</td></tr>'
    )
    if not check.fails:
        return row
    where = []
    if check.session is not None and load:
        where.append(f"vu {check.session[0]} #{check.session[1]}")
    if check.failed_at is not None:
        where.append(f"at {check.failed_at:.3f}s")
    excerpt = ""
    if check.excerpt:
        excerpt = f"<details open><summary>{len(check.excerpt)} frames around it</summary>{_frames_table(check.excerpt)}</details>"
    return row + (
        f'<tr class="detail"><td></td><td colspan="4"><div class="reason"><span class="mono">↳ {html_text(check.reason)}</span>'
        f' <span class="muted">({html_text(", ".join([*where, check.where_failed]))})</span></div>{excerpt}</td></tr>'
    )


def _checks(result: RunResult) -> str:
    if not result.checks:
        return '<p class="muted">No checks: a session passes when it ends without an error.</p>'
    rows = "".join(_check_row(check, result.sessions > 1) for check in result.checks.values())
    return (
        '<table class="checks"><thead><tr><th></th><th>check</th><th class="num">passes</th>'
        f'<th class="num">fails</th><th>where</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _thresholds(result: RunResult) -> str:
    rows = "".join(
        f'<tr><td class="mark">{"<span class=ok>✓</span>" if t.passed else "<span class=bad>✗</span>"}</td>'
        f'<td class="mono">{html_text(t.threshold.key)}</td><td class="mono">{html_text(t.threshold.source)}</td>'
        f'<td class="num {"ok" if t.passed else "bad"}">{threshold_value(t)}</td></tr>'
        for t in result.thresholds
    )
    return (
        '<table><thead><tr><th></th><th>metric</th><th>threshold</th><th class="num">actual</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _metrics(result: RunResult) -> str:
    """k6's summary: trends with their statistics; counters with their rates, rates and gauges beside them."""
    metrics = result.series.select()
    trends = [(name, trend) for name, trend in sorted(metrics.trends.items()) if trend.count]
    head = "".join(f'<th class="num">{stat}</th>' for stat in DEFAULT_TREND_STATS)
    trend_rows = "".join(
        f'<tr><td class="mono" title="{html_text(TRENDS.get(name, "a trend declared by the scenario"))}">{html_text(name)}</td>'
        f'<td class="num">{trend.count:,}</td>'
        + "".join(f'<td class="num">{format_stat(trend, trend.stat(stat))}</td>' for stat in DEFAULT_TREND_STATS)
        + "</tr>"
        for name, trend in trends
    )
    counter_rows = []
    passes, fails = result.checks_tally
    if passes or fails:
        counter_rows.append(
            f'<tr><td class="mono">checks</td><td class="num">{passes:,} / {passes + fails:,}</td>'
            f'<td class="num">{100 * passes / (passes + fails):.2f}%</td></tr>'
        )
    for name, count in sorted(metrics.counters.items()):
        data = name.startswith("data_")
        total, rate = format_bytes(count) if data else f"{count:,.0f}", rate_of(count, result.duration, bytes_=data)
        counter_rows.append(
            f'<tr><td class="mono" title="{html_text(COUNTERS.get(name, "a counter declared by the scenario"))}">'
            f'{html_text(name)}</td><td class="num">{total}</td><td class="num">{rate}</td></tr>'
        )
    for name, own in sorted(metrics.rates.items()):
        if own.count:
            counter_rows.append(
                f'<tr><td class="mono" title="a rate declared by the scenario">{html_text(name)}</td>'
                f'<td class="num">{own.trues:,} / {own.count:,}</td><td class="num">{100 * own.trues / own.count:.2f}%</td></tr>'
            )
    for name, gauge in sorted(metrics.gauges.items()):
        if gauge.count:
            counter_rows.append(
                f'<tr><td class="mono" title="a gauge declared by the scenario: its last value">{html_text(name)}</td>'
                f'<td class="num">{format_number(gauge.value)}</td><td class="num">min={format_number(gauge.minimum)}'
                f" max={format_number(gauge.maximum)}</td></tr>"
            )
    trend_table = (
        f'<table><thead><tr><th>trend</th><th class="num">count</th>{head}</tr></thead><tbody>{trend_rows}</tbody></table>'
        if trends
        else '<p class="muted">No timed metric was recorded.</p>'
    )
    return (
        f'<div class="metrics"><div>{trend_table}</div><div><table><thead><tr><th>counter</th><th class="num">total</th>'
        f'<th class="num">rate</th></tr></thead><tbody>{"".join(counter_rows)}</tbody></table></div></div>'
    )


def _timeline_section(result: RunResult) -> str:
    session: SessionResult | None = result.first or result.sample
    if session is None:
        return '<p class="muted">No session ended: there is no timeline.</p>'
    frames = list(session.transcript)
    which = (
        "the first session (vu 1 #0)" if result.first is not None else f"session vu {session.vu} #{session.iteration}"
    )
    if result.first is None and result.sessions > 1:
        which += ", the first that failed (else the last)"
    kept = ""
    if session.transcript.maxlen is not None and len(frames) == session.transcript.maxlen:
        kept = f" Only its last {len(frames):,} frames were kept."
    elif result.first is None:
        kept = " It was not recorded as a timeline: only its last frames were kept."
    intro = f'<p class="muted">Frames of {which}, {session.duration:.3f}s long; hover a mark for its text.{kept}</p>'
    if not frames:
        return intro + '<p class="muted">The session has no frames.</p>'
    return (
        f"{intro}<figure class='wide'>{timeline(frames, session.duration)}</figure>"
        f"<details><summary>All {len(frames):,} frames</summary>{_frames_table(frames)}</details>"
    )


def _trend_values(trend: Trend) -> list[tuple[float, float]]:
    """A trend's samples with their weights: exact while few, else 400 quantiles of its histogram."""
    if trend.exact is not None and len(trend.exact) == trend.count:
        return [(value, 1.0) for value in trend.exact]
    return [(trend.percentile((index + 0.5) / 4), trend.count / 400) for index in range(400)]


def _metric_figures(name: str, points: list[tuple[float, float]], trend: Trend | None, seconds: float) -> list[str]:
    """A timed metric against time (when recorded) and its histogram, from the points or else the trend."""
    stats, marks = "", {}
    if trend is not None and trend.count:
        marks = {"med": trend.stat("med"), "p(95)": trend.stat("p(95)")}
        stats = " · ".join(
            [
                f"{trend.count:,} samples",
                *(f"{k} {format_ms(v)}" for k, v in marks.items()),
                f"max {format_ms(trend.maximum)}",
            ]
        )
    caption = f'<figcaption><span class="mono">{html_text(name)}</span> <span class="muted">{stats}</span></figcaption>'
    figures = []
    if points:
        thinned = (
            f" ({len(points):,} of the samples, spread over the run)" if trend and len(points) < trend.count else ""
        )
        figures.append(
            f"<figure>{caption}{scatter(points, seconds, name)}<p class='legend'>value against time{thinned}</p></figure>"
        )
    values = [(value, 1.0) for _, value in points] if points else _trend_values(trend) if trend else []
    if values:
        figures.append(f"<figure>{caption}{histogram(values, marks, name)}<p class='legend'>distribution</p></figure>")
    return figures


def _plots(result: RunResult) -> str:
    """Each timed metric against time and as a histogram; messages (and sessions) per second."""
    over_time, metrics = result.over_time, result.series.select()
    trends = metrics.trends
    points = over_time.points if over_time is not None else {}
    names = {name for name, trend in trends.items() if trend.count} | {name for name, kept in points.items() if kept}
    names -= set(metrics.own())  # times are plotted; the scenario's own metrics are plain numbers, in the table
    order = list(TRENDS)
    parts, figures, few = [], [], []
    if over_time is None:
        parts.append(
            '<p class="note">Over-time plots were not recorded for this run (each process of a --workers run keeps '
            "its own samples): the histograms are drawn from the merged metrics.</p>"
        )
    for name in sorted(names, key=lambda name: (order.index(name) if name in order else len(order), name)):
        trend = trends.get(name)
        count = trend.count if trend is not None else len(points.get(name, []))
        if count < PLOTTED_FROM:
            values = [v for _, v in points.get(name, [])] or (trend.exact if trend and trend.exact else [])
            few.append(f'<span class="mono">{html_text(name)}</span> {", ".join(format_ms(v) for v in values)}')
            continue
        figures.extend(_metric_figures(name, points.get(name, []), trend, result.duration))
    if few:
        parts.append(f'<p class="muted">Too few samples to plot: {" · ".join(few)}</p>')
    per_second = over_time.per_second if over_time is not None else {}
    for title, names_, unit in (
        ("messages per second", ("ws_msgs_sent", "ws_msgs_received"), "msgs/s"),
        ("sessions started per second", ("ws_sessions",) if result.sessions > 1 else (), "sessions/s"),
    ):
        series = [(name, per_second[name]) for name in names_ if per_second.get(name)]
        if series and result.duration < 2:  # one or two bars say nothing a count does not
            continue
        if series:
            legend = " ".join(f'<span class="chip s{i}"></span>{name}' for i, (name, _) in enumerate(series))
            figures.append(
                f"<figure><figcaption>{title}</figcaption>{per_second_bars(series, result.duration, unit)}"
                f"<p class='legend'>{legend}</p></figure>"
            )
    if not figures and not few:
        parts.append('<p class="muted">Nothing was measured over time.</p>')
    return "".join(parts) + f'<div class="plots">{"".join(figures)}</div>'


def _scenario(result: RunResult, number: int) -> str:
    kind, words = _verdict(result)
    timed_out = f" ({result.timed_out} timed out)" if result.timed_out else ""
    failed = sum(1 for t in result.thresholds if not t.passed)
    thresholds = (
        f"<h3>Thresholds <small class='{'bad' if failed else 'ok'}'>{len(result.thresholds) - failed} of "
        f"{len(result.thresholds)} passed</small></h3>{_thresholds(result)}"
        if result.thresholds
        else ""
    )
    return (
        f'<section class="card scenario {kind}" id="scenario-{number}">'
        f'<header><h2>{html_text(result.scenario)}</h2><span class="badge {kind}">{words}{timed_out}</span></header>'
        f"{_summary(result)}{_notices(result)}"
        f"<h3>Checks</h3>{_checks(result)}{thresholds}"
        f"<h3>Metrics</h3>{_metrics(result)}"
        f"<h3>Timeline</h3>{_timeline_section(result)}"
        f"<h3>Over time</h3>{_plots(result)}"
        "</section>"
    )


def _overview(results: Sequence[RunResult]) -> str:
    rows = []
    for number, result in enumerate(results, 1):
        kind, words = _verdict(result)
        passes, fails = result.checks_tally
        failed = sum(1 for t in result.thresholds if not t.passed)
        thresholds = f"{len(result.thresholds) - failed}/{len(result.thresholds)}" if result.thresholds else "—"
        rows.append(
            f'<tr><td><span class="badge {kind}">{words}</span></td>'
            f'<td><a href="#scenario-{number}">{html_text(result.scenario)}</a></td><td class="mono muted">{html_text(result.file)}</td>'
            f'<td class="num"><span class="ok">{passes:,} ✓</span> <span class="{"bad" if fails else "muted"}">{fails:,} ✗</span></td>'
            f'<td class="num {"bad" if failed else ""}">{thresholds}</td><td class="num">{result.sessions:,}</td>'
            f'<td class="num">{result.duration:.2f}s</td></tr>'
        )
    return (
        '<section class="card"><h2>Scenarios</h2><table class="overview"><thead><tr><th>verdict</th><th>scenario</th>'
        '<th>file</th><th class="num">checks</th><th class="num">thresholds passed</th><th class="num">sessions</th>'
        f'<th class="num">duration</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )


def render_html(results: Sequence[RunResult], *, duration: float, generated: datetime | None = None) -> str:
    """The report of a run (one scenario or a suite) as one self-contained HTML page."""
    generated = generated or datetime.now().astimezone()
    failed = sum(1 for result in results if not result.passed and not result.interrupted)
    interrupted = sum(1 for result in results if result.interrupted)
    kind = "fail" if failed else "warn" if interrupted else "pass"
    if len(results) == 1:
        title = results[0].scenario
        headline = _verdict(results[0])[1]
        kind = _verdict(results[0])[0]
    else:
        title = f"{len(results)} scenarios"
        headline = f"{len(results) - failed - interrupted} passed, {failed} failed" if results else "no scenario ran"
        if interrupted:
            headline += f", {interrupted} interrupted"
    body = [
        f'<header class="page"><div><h1>wsrun report <span class="muted">· {html_text(title)}</span></h1>'
        f'<p class="muted">generated {generated:%Y-%m-%d %H:%M:%S %Z} · ran in {duration:.2f}s · wsrun {__version__}</p></div>'
        f'<span class="badge big {kind}">{headline}</span></header>'
    ]
    if len(results) > 1:
        body.append(_overview(results))
    body.extend(_scenario(result, number) for number, result in enumerate(results, 1))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>wsrun report · {html_text(title)}</title><style>{_css()}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _css() -> str:
    lanes = "".join(f".l{i}{{fill:{colour}}}.k{i}{{background:{colour}}}" for i, colour in enumerate(LANES.values()))
    return _CSS + lanes


_CSS = """
:root{--bg:#f4f6f8;--card:#fff;--line:#e3e7eb;--text:#1f2328;--muted:#656d76;--pass:#1a7f37;--pass-bg:#dafbe1;
--fail:#cf222e;--fail-bg:#ffebe9;--warn:#9a6700;--warn-bg:#fff8c5;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0}h2{font-size:19px;margin:0}h3{font-size:15px;margin:26px 0 8px}
h3 small{font-weight:500;margin-left:8px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.page{display:flex;justify-content:space-between;align-items:center;gap:16px;margin-bottom:20px}
header.page p{margin:4px 0 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:0 0 24px;
box-shadow:0 1px 2px rgba(31,35,40,.04)}
.scenario{border-top:4px solid var(--pass)}.scenario.fail{border-top-color:var(--fail)}
.scenario.warn{border-top-color:var(--warn)}
.scenario>header{display:flex;align-items:center;gap:12px;margin-bottom:12px}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:600;font-size:13px;white-space:nowrap}
.badge.big{font-size:16px;padding:6px 16px}
.pass.badge{background:var(--pass-bg);color:var(--pass)}.fail.badge{background:var(--fail-bg);color:var(--fail)}
.warn.badge{background:var(--warn-bg);color:var(--warn)}
.ok{color:var(--pass)}.bad{color:var(--fail)}.muted{color:var(--muted)}
.mono,.frames td.text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0 0 14px}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px}
.stat{border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:#fafbfc}
.stat>span{color:var(--muted);font-size:12px}.stat b{display:block;font-size:19px;font-weight:600}
.stat small{font-size:12px;color:var(--fail);font-weight:500}
.note{margin:12px 0 0;padding:8px 12px;border-radius:6px;background:#eef3f8;border-left:3px solid #8c959f}
.note.warn{background:var(--warn-bg);border-left-color:var(--warn)}
.note.fail{background:var(--fail-bg);border-left-color:var(--fail)}.note ul{margin:4px 0 0;padding-left:20px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;
background:#f6f8fa}
.num{text-align:right;white-space:nowrap}td.mark{width:24px;font-weight:700}
tr.failed td{background:#fff8f7}tr.detail td{border-bottom:1px solid var(--line);background:#fff8f7}
.reason{background:var(--fail-bg);border-left:3px solid var(--fail);padding:6px 10px;border-radius:4px;
overflow-wrap:anywhere}
.metrics{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:16px}
details{margin:8px 0}details>summary{cursor:pointer;color:var(--accent);font-weight:500;margin:4px 0}
.frames td{padding:2px 10px;border-bottom:1px solid #f0f2f4}.frames td.text{overflow-wrap:anywhere}
.frames td.dir{white-space:nowrap}
.chip{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fff}
figure.wide{padding:6px 8px}figcaption{font-weight:600;margin-bottom:4px}figcaption .muted{font-weight:400;font-size:12px}
.legend{margin:2px 0 0;color:var(--muted);font-size:12px}.legend .chip{margin-left:10px}
svg.chart{width:100%;height:auto;display:block}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#57606a}
svg text.title{fill:#8c959f}svg .count{fill:#8c959f}
.grid{stroke:#edf0f2}.axis{stroke:#8c959f}.lane{fill:#fff}.stripe{fill:#f6f8fa}
.dots{fill:none;stroke:#0969da;stroke-opacity:.55;stroke-width:4;stroke-linecap:round}
.bars rect{fill:#54aeff}.marker{stroke:#cf222e;stroke-dasharray:4 3}svg text.mark-label{fill:#cf222e;stroke:#fff;stroke-width:3px;paint-order:stroke}
.s0{fill:#0969da;background:#0969da}.s1{fill:#1b7c83;background:#1b7c83}.s2{fill:#8250df;background:#8250df}
"""
