"""
The report: the only module that imports rich.

Log lines as they happen, then per scenario the checks with ✓/✗, the reason
for each failure with a short transcript, and k6's metrics summary.

Text from a file or a server is never read as rich markup: lines are assembled
from ``Text`` parts, that text made printable (``_out``), so ``exp \\[ name``
prints as written and no escape sequence reaches the terminal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.text import Text

from ..scenario.metric_names import DEFAULT_TREND_STATS
from ..session.load import Load
from ..session.results import Frame, LogLine, RunResult, SessionResult
from ..session.verdicts import ThresholdResult
from .text import (
    NO_SAMPLES,
    format_bytes,
    format_count,
    format_stat,
    frame_head,
    gauge_text,
    plural,
    printable,
    rate_of,
    rate_text,
    threshold_value,
)

__all__ = ["Reporter"]

TRANSCRIPT_SHOWN = 20
ERRORS_SHOWN = 10
PROGRESS_AFTER = 2.0  # seconds: runs shorter than this show no live display


Part = str | tuple[str, str]


def _out(text: object, style: str = "") -> tuple[str, str]:
    """Text from a file or a server, as one part of a line: printable, never markup."""
    return printable(str(text)), style


def _line(*parts: Part | Text) -> Text:
    return Text.assemble(*parts)


def _mark(passed: bool) -> tuple[str, str]:
    return ("✓", "green") if passed else ("✗", "red")


class Reporter:
    """Prints log lines and reports to a console (colour only on a terminal, NO_COLOR honoured)."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        quiet: bool = False,
        trend_stats: Sequence[str] = DEFAULT_TREND_STATS,
        suite: bool = False,
    ) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.quiet = quiet
        self.trend_stats = tuple(trend_stats)
        # A suite (several files): a line per scenario as it ends, the failures in full at the end.
        self.suite = suite
        self._progress: asyncio.Task[None] | None = None

    def log(self, line: LogLine) -> None:
        # -q prints no live lines at all: errors are in the report, counted, and a load run
        # against a server that is down would otherwise print one line per session.
        if self.quiet:
            return
        who = f" vu {line.session[0]} #{line.session[1]}" if line.session is not None else ""
        source = f"{printable(line.source)} " if line.source is not None else ""
        stamp = (f"{source}[{line.at:8.3f}s{who}]", "dim")
        if line.kind == "error":
            # An error decides nothing in a scenario with checks: no failure mark then.
            mark, style = ("✗", "red") if line.decides else ("•", "yellow")
            self.console.print(_line(stamp, " ", _out(f"{mark} {line.text}", style)))
        elif line.kind == "note":
            self.console.print(_line(stamp, " ", _out(line.text, "yellow")))
        else:
            self.console.print(_line(stamp, " ", _out(line.text)))

    def progress(self, figures: Callable[[], tuple[int, int, int, int]], load: Load) -> None:
        """Start the live display of a run: on a terminal only, and not with -q; it ends with the report."""
        # A real terminal only: FORCE_COLOR makes rich treat a pipe as one, and a CI log must not
        # fill with cursor movements.
        if self.quiet or not self.console.is_terminal or not _isatty(self.console):
            return
        self._progress = asyncio.get_running_loop().create_task(self._show_progress(figures, load))

    async def _show_progress(self, figures: Callable[[], tuple[int, int, int, int]], load: Load) -> None:
        started = time.monotonic()
        await asyncio.sleep(PROGRESS_AFTER)  # short runs need no progress display
        from rich.live import Live  # only here: a short run, a log or a pipe never shows one

        total = load.total_duration
        previous, before = figures()[2], time.monotonic()
        with Live(console=self.console, transient=True, refresh_per_second=4) as live:
            while True:
                await asyncio.sleep(0.5)
                active, ended, received, failed = figures()
                now = time.monotonic()
                rate = (received - previous) / max(now - before, 1e-9)
                previous, before = received, now
                elapsed = f"{now - started:.0f}s" + (f"/{total:.0f}s" if total else "")
                if total and now - started > total:
                    elapsed = f"{total:.0f}s, stopping"  # the graceful stop
                failing = f" · [red]{failed} check failures[/red]" if failed else ""
                live.update(
                    Text.from_markup(
                        f"[dim]running[/dim] {elapsed} · {active} sessions active · {ended} ended"
                        f" · {rate:,.0f} msgs/s{failing}"
                    )
                )

    def run(self, result: RunResult) -> None:
        """A scenario's run has ended: its report, or in a suite its result line."""
        if self._progress is not None:
            self._progress.cancel()
            self._progress = None
        if self.suite:
            self._line(result)
        else:
            self._full(result)

    def _line(self, result: RunResult) -> None:
        """One line of a suite: verdict, file, name, time and what failed."""
        failed_checks = sum(1 for check in result.checks.values() if check.fails)
        what: Part
        if result.interrupted:
            mark, what = ("-", "yellow"), ("interrupted", "yellow")
        elif result.passed:
            mark = ("✓", "green")
            what = f"{plural(len(result.checks), 'check')} passed" if result.checks else "ended without an error"
        else:
            mark, parts = ("✗", "red"), []
            if result.lost_workers:
                parts.append(f"{plural(len(result.lost_workers), 'worker')} lost or stopped")
            if failed_checks:
                parts.append(f"{failed_checks} of {plural(len(result.checks), 'check')} failed")
            elif not result.checks_passed and result.errors:
                parts.append(plural(sum(result.errors.values()), "error"))
            failed_thresholds = sum(1 for threshold in result.thresholds if not threshold.passed)
            if failed_thresholds:
                parts.append(f"{plural(failed_thresholds, 'threshold')} failed")
            what = (", ".join(parts), "red")
        load = f" · {plural(result.sessions, 'session')}" if result.sessions != 1 else ""
        if result.transport != "websockets":
            load += f" · {result.transport}"
        self.console.print(
            _line(
                mark,
                " ",
                _out(result.file),
                (" · ", "dim"),
                _out(result.scenario, "dim"),
                (f" · {result.duration:.2f}s{load} ·", "dim"),
                " ",
                what,
            )
        )

    def _full(self, result: RunResult) -> None:
        """The report of one scenario's run: its session's details, or a load run's totals."""
        out = self.console
        verdict: list[Part] = []
        if result.interrupted:
            verdict.append(("interrupted", "yellow"))
        else:
            verdict.append(("✓ passed", "green") if result.passed else ("✗ failed", "red"))
        if result.timed_out:
            timed_out = "timed out" if result.sessions == 1 else f"{result.timed_out} timed out"
            verdict.append((f" ({timed_out})", "yellow"))
        tags = " · " + " ".join(f"{k}={v}" for k, v in result.tags.items()) if result.tags else ""
        load = f" · {result.sessions} sessions, {result.vus_max} vus max" if result.sessions != 1 else ""
        if result.stopped:
            load += f" ({result.stopped} stopped at the end)"
        out.print()
        out.print(
            _line(
                _out(result.scenario, "bold"),
                " · ",
                _out(result.url),
                f" · {result.duration:.2f}s{load}",
                _out(tags),
                " · ",
                *verdict,
            )
        )
        out.print(_line(_out(f"  {result.file} · transport {result.transport}", "dim")))
        if result.interrupted:
            out.print(_line(("  interrupted (Ctrl-C or a stop signal): the report covers the run so far", "yellow")))
        for warning in result.warnings:
            out.print(_line(_out(f"  ⚠ {warning}", "yellow")))
        # Errors decide the verdict only in a scenario without checks: a failure mark only then.
        colour = "yellow" if result.has_checks else "red"
        sample = result.sample
        if result.sessions == 1 and sample is not None:
            if sample.close_code is not None:
                reason = f" {sample.close_reason!r}" if sample.close_reason else ""
                shown = sample.close_handshake or f"{sample.close_code}{reason}"
                out.print(_line(_out(f"  closed by {sample.closed_by}: {shown}")))
            for error in sample.errors:
                out.print(_line(_out(f"  error at {error.at:.3f}s: {error.text}", colour)))
        elif result.errors:
            total = sum(result.errors.values())
            out.print(
                _line((f"  {total} errors in {result.sessions_with_errors} of {result.sessions} sessions:", colour))
            )
            for text, count in result.errors.most_common(ERRORS_SHOWN):
                out.print(_line(_out(f"    {count} × {text}", colour)))
            if len(result.errors) > ERRORS_SHOWN:
                out.print(_line((f"    … and {len(result.errors) - ERRORS_SHOWN} other kinds", "dim")))
        out.print()
        self._checks(result)
        if self.quiet:  # thresholds are verdicts too: shown with the checks when metrics are not
            for threshold in result.thresholds:
                found = f"{threshold.threshold.stat}={threshold_value(threshold)}"
                out.print(
                    _line(
                        "  ",
                        _mark(threshold.passed),
                        " threshold ",
                        _out(f"{threshold.threshold.key}: {threshold.threshold.source}"),
                        (f" ({found})", "dim"),
                    )
                )
        if not result.passed and sample is not None and not sample.passed:
            self._transcript(sample, result.sessions > 1)
        if not self.quiet:
            out.print()
            self._metrics(result)

    def _checks(self, result: RunResult) -> None:
        out = self.console
        for check in result.checks.values():
            if check.fails:
                tally = (f"{check.passes} passed, {check.fails} failed", "dim")
                out.print(_line(_out(f"  ✗ {check.name}", "red"), "  ", tally))
                at = f"at {check.failed_at:.3f}s, " if check.failed_at is not None else ""
                who = f"vu {check.session[0]} #{check.session[1]}, " if check.session and result.sessions > 1 else ""
                out.print(
                    _line(_out(f"    ↳ {check.reason}", "red"), " ", _out(f"({who}{at}{check.where_failed})", "dim"))
                )
                for frame in check.excerpt:
                    out.print(_frame_line(frame, "      "))
            else:
                count = ("  " + f"{check.passes} passed", "dim") if check.passes > 1 else ""
                out.print(_line("  ", ("✓", "green"), " ", _out(check.name), count))
        if not result.checks:
            out.print(_line(("  no checks: a session passes when it ends without an error", "dim")))

    def _transcript(self, result: SessionResult, which: bool) -> None:
        frames = list(result.transcript)[-TRANSCRIPT_SHOWN:]
        if not frames:
            return
        session = f" of the first failed session (vu {result.vu} #{result.iteration})" if which else ""
        self.console.print()
        self.console.print(
            _line((f"  last {len(frames)} frames{session}", "bold"), " ", ("(→ sent, ← received)", "dim"))
        )
        for frame in frames:
            self.console.print(_frame_line(frame, "    "))

    def _metrics(self, result: RunResult) -> None:
        """k6's summary: one line a metric, sorted; thresholds under the metric they judge."""
        metrics = result.series.select()
        judged: dict[str, list[ThresholdResult]] = {}
        for threshold in result.thresholds:
            judged.setdefault(threshold.threshold.key, []).append(threshold)
        rows: list[tuple[str, str, list[ThresholdResult]]] = []
        passes, fails = result.checks_tally
        if passes or fails or "checks" in judged:
            shown = f"{100 * passes / (passes + fails):.2f}% ✓ {passes} ✗ {fails}" if passes + fails else NO_SAMPLES
            rows.append(("checks", shown, judged.pop("checks", [])))
        names = sorted({*metrics.counters, *metrics.trends, *metrics.rates, *metrics.gauges, *judged})
        for key in names:
            # A threshold's key says its metric, tags and kind; a request's own metric is a trend even
            # when nothing measured it (its threshold then says so).
            judging = judged[key][0].threshold if key in judged else None
            name, tags = (judging.metric, judging.tags) if judging is not None else (key, ())
            kind = judging.kind if judging is not None else metrics.kind(key)
            selected = result.series.select(dict(tags)) if tags else metrics
            if kind == "trend":
                trend = selected.trends[name]
                if not trend.count and key not in judged:
                    continue
                value = (
                    " ".join(f"{stat}={format_stat(trend, trend.stat(stat))}" for stat in self.trend_stats)
                    if trend.count
                    else f"{NO_SAMPLES}: nothing was measured"
                )
            elif kind == "rate":
                rate = selected.rates.get(name)
                value = rate_text(rate) if rate is not None and rate.count else f"{NO_SAMPLES}: nothing was added"
            elif kind == "gauge":
                gauge = selected.gauges.get(name)
                value = gauge_text(gauge) if gauge is not None and gauge.count else f"{NO_SAMPLES}: never set"
            else:
                count = selected.counters.get(name, 0)
                value = rate_of(count, result.duration, bytes_=name.startswith("data_"))
                value = f"{format_bytes(count) if name.startswith('data_') else format_count(count)} {value}"
            rows.append((key, value, judged.get(key, [])))
        width = max(len(name) for name, _, _ in rows) + 8
        for name, value, thresholds in rows:
            mark: Part = _mark(all(t.passed for t in thresholds)) if thresholds else " "
            self.console.print(_line(mark, " ", _out(name), (f" {'.' * (width - len(name))}:", "dim"), " ", value))
            for threshold in thresholds:
                stat = threshold.threshold.stat
                actual = threshold_value(threshold)
                self.console.print(
                    _line(
                        "    ",
                        _mark(threshold.passed),
                        " ",
                        _out(threshold.threshold.source),
                        (f" ({stat}={actual})", "dim"),
                    )
                )

    def hard_stop(self) -> None:
        self.console.print(_line(("stopped at once (second Ctrl-C): the running scenario has no report", "yellow")))

    def totals(self, results: Sequence[RunResult], skipped: int = 0) -> None:
        """The end of a suite: each failed scenario's report in full, then one closing line."""
        if not self.suite:
            return
        failed = [r for r in results if not r.passed and not r.interrupted]
        interrupted = [r for r in results if r.interrupted]
        passed = len(results) - len(failed) - len(interrupted)
        if failed or interrupted:
            self.console.print()
            self.console.rule("[bold]failures[/bold]" if failed else "[bold]interrupted[/bold]", align="left")
        for result in failed + interrupted:
            self._full(result)
        self.console.print()
        colour = "red" if failed else "yellow" if interrupted or skipped else "green"
        counts = [f"{passed} passed", f"{len(failed)} failed"]
        if interrupted:
            counts.append(f"{len(interrupted)} interrupted")
        if skipped:
            counts.append(f"{skipped} not run")
        self.console.print(_line((f"{plural(len(results) + skipped, 'scenario')}: {', '.join(counts)}", colour)))
        for result in failed:
            self.console.print(_line(_out(f"  ✗ {result.file}", "red")))
        for result in interrupted:
            self.console.print(_line(_out(f"  - {result.file} (interrupted)", "yellow")))


def _frame_line(frame: Frame, indent: str) -> Text:
    """One frame of a transcript: when, which way, what kind, and its text (escaped)."""
    return _line((indent + frame_head(frame), "dim"), _out(frame.text))


def _isatty(console: Console) -> bool:
    isatty = getattr(console.file, "isatty", None)
    return bool(isatty is not None and isatty())
