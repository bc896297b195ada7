"""
The report: the only module that imports rich.

Log lines as they happen, then per scenario the checks with ✓/✗, the reason
for each failure with a short transcript, and k6's metrics summary.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from .load import Load
from .metrics import DEFAULT_TREND_STATS, TRENDS
from .results import Frame, LogLine, RunResult, SessionResult
from .text import NO_SAMPLES, format_bytes, format_ms, frame_head, plural, printable, threshold_value
from .thresholds import ThresholdResult, parse_metric

__all__ = ["Reporter"]

TRANSCRIPT_SHOWN = 20
ERRORS_SHOWN = 10
PROGRESS_AFTER = 2.0  # seconds: runs shorter than this show no live display


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
        source = f"{escape(line.source)} " if line.source is not None else ""
        stamp = f"[dim]{source}\\[{line.at:8.3f}s{who}][/dim]"
        if line.kind == "error":
            self.console.print(f"{stamp} [red]✗ {escape(printable(line.text))}[/red]")
        elif line.kind == "note":
            self.console.print(f"{stamp} [yellow]{escape(printable(line.text))}[/yellow]")
        else:
            self.console.print(f"{stamp} {escape(printable(line.text))}")

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
        if result.interrupted:
            mark, what = "[yellow]-[/yellow]", "[yellow]interrupted[/yellow]"
        elif result.passed:
            mark = "[green]✓[/green]"
            what = f"{plural(len(result.checks), 'check')} passed" if result.checks else "ended without an error"
        else:
            mark, parts = "[red]✗[/red]", []
            if failed_checks:
                parts.append(f"{failed_checks} of {plural(len(result.checks), 'check')} failed")
            elif not result.checks_passed:
                parts.append(plural(sum(result.errors.values()), "error"))
            failed_thresholds = sum(1 for threshold in result.thresholds if not threshold.passed)
            if failed_thresholds:
                parts.append(f"{plural(failed_thresholds, 'threshold')} failed")
            what = f"[red]{', '.join(parts)}[/red]"
        load = f" · {plural(result.sessions, 'session')}" if result.sessions != 1 else ""
        if result.transport != "websockets":
            load += f" · {result.transport}"
        self.console.print(
            f"{mark} {escape(result.file)} [dim]· {escape(result.scenario)} · {result.duration:.2f}s{load} ·[/dim] {what}"
        )

    def _full(self, result: RunResult) -> None:
        """The report of one scenario's run: its session's details, or a load run's totals."""
        out = self.console
        if result.interrupted:
            verdict = "[yellow]interrupted[/yellow]"
        else:
            verdict = "[green]✓ passed[/green]" if result.passed else "[red]✗ failed[/red]"
        if result.timed_out:
            verdict += (
                " [yellow](timed out)[/yellow]"
                if result.sessions == 1
                else f" [yellow]({result.timed_out} timed out)[/yellow]"
            )
        tags = " · " + " ".join(f"{k}={v}" for k, v in result.tags.items()) if result.tags else ""
        load = f" · {result.sessions} sessions, {result.vus_max} vus max" if result.sessions != 1 else ""
        if result.stopped:
            load += f" ({result.stopped} stopped at the end)"
        out.print()
        out.print(
            f"[bold]{escape(result.scenario)}[/bold] · {escape(result.url)} · {result.duration:.2f}s{load}{escape(tags)} · {verdict}"
        )
        out.print(f"  [dim]{escape(result.file)} · transport {result.transport}[/dim]")
        if result.interrupted:
            out.print("  [yellow]interrupted (Ctrl-C): the report covers the run so far[/yellow]")
        for warning in result.warnings:
            out.print(f"  [yellow]⚠ {escape(warning)}[/yellow]")
        sample = result.sample
        if result.sessions == 1 and sample is not None:
            if sample.close_code is not None:
                reason = f" {sample.close_reason!r}" if sample.close_reason else ""
                shown = sample.close_handshake or f"{sample.close_code}{reason}"
                out.print(f"  closed by {sample.closed_by}: {escape(printable(shown))}")
            for error in sample.errors:
                out.print(f"  [red]error at {error.at:.3f}s: {escape(printable(error.text))}[/red]")
        elif result.errors:
            total = sum(result.errors.values())
            out.print(f"  [red]{total} errors in {result.failed_sessions} of {result.sessions} sessions:[/red]")
            for text, count in result.errors.most_common(ERRORS_SHOWN):
                out.print(f"    [red]{count} × {escape(printable(text))}[/red]")
            if len(result.errors) > ERRORS_SHOWN:
                out.print(f"    [dim]… and {len(result.errors) - ERRORS_SHOWN} other kinds[/dim]")
        out.print()
        self._checks(result)
        if self.quiet:  # thresholds are verdicts too: shown with the checks when metrics are not
            for threshold in result.thresholds:
                sign = "[green]✓[/green]" if threshold.passed else "[red]✗[/red]"
                found = f"{threshold.threshold.stat}={threshold_value(threshold)}"
                out.print(
                    f"  {sign} threshold {escape(threshold.threshold.key)}: {escape(threshold.threshold.source)} [dim]({found})[/dim]"
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
                tally = f"[dim]{check.passes} passed, {check.fails} failed[/dim]"
                out.print(f"  [red]✗ {escape(check.name)}[/red]  {tally}")
                at = f"at {check.failed_at:.3f}s, " if check.failed_at is not None else ""
                who = f"vu {check.session[0]} #{check.session[1]}, " if check.session and result.sessions > 1 else ""
                out.print(
                    f"    [red]↳ {escape(printable(check.reason))}[/red] [dim]({who}{at}{check.where_failed})[/dim]"
                )
                for frame in check.excerpt:
                    out.print(_frame_line(frame, "      "))
            else:
                count = f"  [dim]{check.passes} passed[/dim]" if check.passes > 1 else ""
                out.print(f"  [green]✓[/green] {escape(check.name)}{count}")
        if not result.checks:
            out.print("  [dim]no checks: a session passes when it ends without an error[/dim]")

    def _transcript(self, result: SessionResult, which: bool) -> None:
        frames = list(result.transcript)[-TRANSCRIPT_SHOWN:]
        if not frames:
            return
        session = f" of the first failed session (vu {result.vu} #{result.iteration})" if which else ""
        self.console.print()
        self.console.print(f"  [bold]last {len(frames)} frames{session}[/bold] [dim](→ sent, ← received)[/dim]")
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
            rate = 100 * passes / (passes + fails) if passes + fails else 0.0
            rows.append(("checks", f"{rate:.2f}% ✓ {passes} ✗ {fails}", judged.pop("checks", [])))
        seconds = max(result.duration, 1e-9)
        names = sorted({*metrics.counters, *metrics.trends, *judged})
        for key in names:
            name, tags = parse_metric(key, extra_trends=metrics.trends.keys())
            selected = result.series.select(dict(tags)) if tags else metrics
            if name in TRENDS or name in metrics.trends:
                trend = selected.trends[name]
                if not trend.count and key not in judged:
                    continue
                value = (
                    " ".join(f"{stat}={format_ms(trend.stat(stat))}" for stat in self.trend_stats)
                    if trend.count
                    else f"{NO_SAMPLES}: nothing was measured"
                )
            else:
                count = selected.counters.get(name, 0)
                if name.startswith("data_"):
                    value = f"{format_bytes(count)} {format_bytes(count / seconds)}/s"
                else:
                    value = f"{count:g} {count / seconds:.2f}/s"
            rows.append((key, value, judged.get(key, [])))
        width = max(len(name) for name, _, _ in rows) + 8
        for name, value, thresholds in rows:
            mark = (
                ("[green]✓[/green] " if all(t.passed for t in thresholds) else "[red]✗[/red] ") if thresholds else "  "
            )
            self.console.print(f"{mark}{escape(name)} [dim]{'.' * (width - len(name))}:[/dim] {escape(value)}")
            for threshold in thresholds:
                sign = "[green]✓[/green]" if threshold.passed else "[red]✗[/red]"
                stat = threshold.threshold.stat
                actual = threshold_value(threshold)
                self.console.print(f"    {sign} {escape(threshold.threshold.source)} [dim]({stat}={actual})[/dim]")

    def hard_stop(self) -> None:
        self.console.print("[yellow]stopped at once (second Ctrl-C): the running scenario has no report[/yellow]")

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
        self.console.print(f"[{colour}]{plural(len(results) + skipped, 'scenario')}: {', '.join(counts)}[/{colour}]")
        for result in failed:
            self.console.print(f"  [red]✗ {escape(result.file)}[/red]")
        for result in interrupted:
            self.console.print(f"  [yellow]- {escape(result.file)} (interrupted)[/yellow]")


def _frame_line(frame: Frame, indent: str) -> Text:
    """One frame of a transcript: when, which way, what kind, and its text (escaped)."""
    line = Text(indent + frame_head(frame), style="dim")
    line.append(printable(frame.text))
    return line


def _isatty(console: Console) -> bool:
    isatty = getattr(console.file, "isatty", None)
    return bool(isatty is not None and isatty())
