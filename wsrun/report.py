"""
The report: the only module that imports rich.

Log lines as they happen, then per scenario the checks with ✓/✗, the reason
for each failure with a short transcript, and k6's metrics summary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from .results import LogLine, Metrics, SessionResult

__all__ = ["Reporter", "format_bytes", "format_ms"]

TRANSCRIPT_SHOWN = 20
_ARROWS = {"sent": "→", "received": "←"}


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from a server or a file, made safe for a terminal: control characters become \\xNN.

    A server must not be able to recolour or rewrite the report with escape sequences.
    """
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def format_ms(ms: float) -> str:
    """A duration as k6 prints it: 850µs, 12.34ms, 2.01s."""
    if ms < 1:
        return f"{ms * 1000:.0f}µs"
    if ms < 1000:
        return f"{ms:.2f}ms"
    return f"{ms / 1000:.2f}s"


def format_bytes(count: float) -> str:
    """A byte count as k6 prints it: 512 B, 1.2 kB, 3.4 MB."""
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


class Reporter:
    """Prints log lines and reports to a console (colour only on a terminal, NO_COLOR honoured)."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.quiet = quiet

    def log(self, line: LogLine) -> None:
        if self.quiet and line.kind == "log":
            return
        stamp = f"[dim]\\[{line.at:8.3f}s][/dim]"
        if line.kind == "error":
            self.console.print(f"{stamp} [red]✗ {escape(printable(line.text))}[/red]")
        elif line.kind == "note":
            self.console.print(f"{stamp} [yellow]{escape(printable(line.text))}[/yellow]")
        else:
            self.console.print(f"{stamp} {escape(printable(line.text))}")

    def session(self, result: SessionResult) -> None:
        """The report of one scenario's session."""
        out = self.console
        if result.interrupted:
            verdict = "[yellow]interrupted[/yellow]"
        else:
            verdict = "[green]✓ passed[/green]" if result.passed else "[red]✗ failed[/red]"
        if result.timed_out:
            verdict += " [yellow](timed out)[/yellow]"
        tags = " · " + " ".join(f"{k}={v}" for k, v in result.tags.items()) if result.tags else ""
        out.print()
        out.print(
            f"[bold]{escape(result.scenario)}[/bold] · {escape(result.url)} · {result.duration:.2f}s{escape(tags)} · {verdict}"
        )
        out.print(f"  [dim]{escape(result.file)}[/dim]")
        if result.interrupted:
            out.print("  [yellow]interrupted (Ctrl-C): the report covers the session so far[/yellow]")
        if result.close_code is not None:
            reason = f" {result.close_reason!r}" if result.close_reason else ""
            out.print(f"  closed by {result.closed_by}: {result.close_code}{escape(reason)}")
        for warning in result.warnings:
            out.print(f"  [yellow]⚠ {escape(warning)}[/yellow]")
        for error in result.errors:
            out.print(f"  [red]error at {error.at:.3f}s: {escape(printable(error.text))}[/red]")
        out.print()
        for check in result.checks.values():
            if check.fails:
                tally = f"[dim]{check.passes} passed, {check.fails} failed[/dim]"
                out.print(f"  [red]✗ {escape(check.name)}[/red]  {tally}")
                at = f"at {check.failed_at:.3f}s, " if check.failed_at is not None else ""
                out.print(f"    [red]↳ {escape(printable(check.reason))}[/red] [dim]({at}{check.where})[/dim]")
            else:
                count = f"  [dim]{check.passes} passed[/dim]" if check.passes > 1 else ""
                out.print(f"  [green]✓[/green] {escape(check.name)}{count}")
        if not result.checks:
            out.print("  [dim]no checks: the session passes when it ends without an error[/dim]")
        if not result.passed:
            self._transcript(result)
        if not self.quiet:
            out.print()
            self._metrics(result.metrics, result.checks_tally, result.duration)

    def _transcript(self, result: SessionResult) -> None:
        frames = list(result.transcript)[-TRANSCRIPT_SHOWN:]
        if not frames:
            return
        self.console.print()
        self.console.print(f"  [bold]last {len(frames)} frames[/bold] [dim](→ sent, ← received)[/dim]")
        for frame in frames:
            line = Text(f"    {frame.at:8.3f}s {_ARROWS[frame.direction]} {frame.kind:<6} ", style="dim")
            line.append(printable(frame.text))
            self.console.print(line)

    def _metrics(self, metrics: Metrics, checks: tuple[int, int], duration: float) -> None:
        rows: list[tuple[str, str]] = []
        passes, fails = checks
        if passes or fails:
            rate = 100 * passes / (passes + fails)
            rows.append(("checks", f"{rate:.2f}% ✓ {passes} ✗ {fails}"))
        seconds = max(duration, 1e-9)
        for name in sorted({*metrics.counters, *metrics.trends}):
            if name in metrics.trends:
                stats = metrics.trends[name].stats()
                if not metrics.trends[name].samples:
                    continue
                rows.append((name, " ".join(f"{key}={format_ms(value)}" for key, value in stats.items())))
            else:
                count = metrics.counters[name]
                if name.startswith("data_"):
                    rows.append((name, f"{format_bytes(count)} {format_bytes(count / seconds)}/s"))
                else:
                    rows.append((name, f"{count} {count / seconds:.2f}/s"))
        width = max(len(name) for name, _ in rows) + 8
        for name, value in rows:
            self.console.print(f"  {name} [dim]{'.' * (width - len(name))}:[/dim] {escape(value)}")

    def totals(self, results: Sequence[SessionResult]) -> None:
        """One closing line when several scenarios ran."""
        if len(results) < 2:
            return
        failed = [r for r in results if not r.passed]
        self.console.print()
        colour = "red" if failed else "green"
        self.console.print(
            f"[{colour}]{len(results)} scenarios: {len(results) - len(failed)} passed, {len(failed)} failed[/{colour}]"
        )
        for result in failed:
            self.console.print(f"  [red]✗ {escape(result.file)}[/red]")
