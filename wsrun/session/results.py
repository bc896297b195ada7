"""
What a run produces, as plain data: checks, metrics, logs and the transcript.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Literal

from .metrics import Metrics, Series
from .overtime import OverTime
from .verdicts import ThresholdResult

__all__ = ["CheckResult", "Frame", "LogLine", "Metrics", "RunResult", "SessionResult"]

TRANSCRIPT_LENGTH = 50
#: Frames kept of the session drawn as a timeline in the HTML report (--report).
TIMELINE_LENGTH = 2000


@dataclass
class CheckResult:
    """A named check's tally; the first failure's reason explains it in the report."""

    name: str
    where: str
    passes: int = 0
    fails: int = 0
    reason: str = ""
    failed_at: float | None = None
    session: tuple[int, int] | None = None  # (vu, iteration) of the first failure, in a load run
    excerpt: list[Frame] = field(default_factory=list)  # frames around the first failure of an expectation
    #: Where the first failure happened: checks of one name in several places count together.
    failed_where: str | None = None

    def record(self, passed: bool, reason: str, at: float, where: str | None = None) -> None:
        if passed:
            self.passes += 1
        else:
            self.fails += 1
            if not self.reason:
                self.reason, self.failed_at, self.failed_where = reason, at, where

    @property
    def where_failed(self) -> str:
        """The place of the first failure, or the place the name was first given."""
        return self.failed_where or self.where


@dataclass(slots=True)
class LogLine:
    """A line printed by a log action, or a note from wsrun itself."""

    at: float
    text: str
    kind: Literal["log", "error", "note"] = "log"
    session: tuple[int, int] | None = None  # (vu, iteration), in a load run
    source: str | None = None  # the scenario file, in a suite of several
    #: An error that decides the verdict: in a scenario without checks (else the checks do).
    decides: bool = True


@dataclass(slots=True)
class Frame:
    """One entry of the transcript: what went which way, and when (a timer firing is "local")."""

    at: float
    direction: Literal["sent", "received", "local"]
    kind: Literal["text", "binary", "ping", "pong", "close", "open", "error", "timer"]
    text: str


@dataclass
class SessionResult:
    """Everything one session did, for the report, the exit code and the exports."""

    scenario: str
    file: str
    url: str
    tags: dict[str, str] = field(default_factory=dict)
    transport: str = "websockets"
    duration: float = 0.0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    subprotocol: str | None = None
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: str | None = None
    close_handshake: str | None = None  # the close frame each way, when not one code and its echo
    errors: list[LogLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    checks: dict[str, CheckResult] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    transcript: deque[Frame] = field(default_factory=lambda: deque(maxlen=TRANSCRIPT_LENGTH))
    timed_out: bool = False
    interrupted: bool = False
    stopped: bool = False  # by the end of a load run (graceful stop), not by Ctrl-C
    has_checks: bool = False
    vu: int = 1
    iteration: int = 0

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks.values() if check.fails]

    @property
    def checks_tally(self) -> tuple[int, int]:
        """Passes and fails over every check."""
        return sum(c.passes for c in self.checks.values()), sum(c.fails for c in self.checks.values())

    @property
    def passed(self) -> bool:
        """Every check passed; with no checks at all, the session ended without an error."""
        if self.has_checks:
            return not self.failed_checks
        return not self.errors


@dataclass
class RunResult:
    """A scenario's whole run: one session, or many (vus, iterations, duration, stages).

    Sessions are folded in as they end, so memory does not grow with their number:
    metrics merge into tagged series, checks into tallies, errors into counts; one
    session is kept whole, for its details and transcript (the first that failed,
    else the last).
    """

    scenario: str
    file: str
    url: str
    tags: dict[str, str] = field(default_factory=dict)
    transport: str = "websockets"
    duration: float = 0.0
    started: float | None = None  # wall clock (time.time()) when the run started
    sessions: int = 0
    failed_sessions: int = 0
    sessions_with_errors: int = 0  # whether or not the errors failed them (a scenario with checks)
    vus_max: int = 0
    series: Series = field(default_factory=Series)
    checks: dict[str, CheckResult] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    sample: SessionResult | None = None
    first: SessionResult | None = None  # with --report: the first session (vu 1 #0), drawn as a timeline
    over_time: OverTime | None = None  # with --report: samples against time, for the plots
    thresholds: list[ThresholdResult] = field(default_factory=list)
    interrupted: bool = False
    timed_out: int = 0
    stopped: int = 0
    has_checks: bool = False
    #: --workers: why each process did not run its whole share (also in warnings); the run fails. Lost (no result,
    #: or killed for hanging: its part is left out everywhere) or stopped by a signal of its own (its part kept).
    lost_workers: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, session: SessionResult) -> RunResult:
        """The run of a single session."""
        run = cls(
            session.scenario,
            session.file,
            session.url,
            dict(session.tags),
            transport=session.transport,
            duration=session.duration,
            vus_max=1,
        )
        run.add(session, {**session.tags, "url": session.url, "status": str(session.status or "")})
        return run

    def add(self, session: SessionResult, tags: dict[str, str]) -> None:
        """Fold one finished session in."""
        self.sessions += 1
        self.series.add(session.metrics, tags)
        self.has_checks = self.has_checks or session.has_checks
        self._tally(session.checks, (session.vu, session.iteration))
        for error in session.errors:
            self.errors[error.text] += 1
        self.sessions_with_errors += bool(session.errors)
        for warning in session.warnings:
            if warning not in self.warnings:
                self.warnings.append(warning)
        self.timed_out += session.timed_out
        self.stopped += session.stopped
        self.interrupted = self.interrupted or session.interrupted
        if not session.passed:
            self.failed_sessions += 1
        if session.transcript.maxlen == TIMELINE_LENGTH:
            self.first = session
        if self.sample is None or (self.sample.passed and not session.passed):
            self.sample = session
        elif self.sample.passed:
            self.sample = session  # no failure yet: keep the latest

    def merge(self, part: RunResult) -> None:
        """Fold in the run of another process (--workers): everything adds up; the first failures are kept."""
        self.sessions += part.sessions
        self.failed_sessions += part.failed_sessions
        self.sessions_with_errors += part.sessions_with_errors
        self.vus_max += part.vus_max
        self.series.merge(part.series)
        self.has_checks = self.has_checks or part.has_checks
        self._tally(part.checks, None)
        self.errors.update(part.errors)
        self.warnings.extend(warning for warning in part.warnings if warning not in self.warnings)
        self.timed_out += part.timed_out
        self.stopped += part.stopped
        self.lost_workers += part.lost_workers
        self.interrupted = self.interrupted or part.interrupted
        self.duration = max(self.duration, part.duration)
        self.first = self.first or part.first
        if self.over_time is not None and part.over_time is not None:
            self.over_time.merge(part.over_time)
        if self.sample is None or (self.sample.passed and part.sample is not None and not part.sample.passed):
            self.sample = part.sample

    def _tally(self, checks: dict[str, CheckResult], session: tuple[int, int] | None) -> None:
        """Add check tallies; a first failure keeps its reason, time, frames and session."""
        for name, check in checks.items():
            tally = self.checks.setdefault(name, CheckResult(name, check.where))
            tally.passes += check.passes
            tally.fails += check.fails
            if check.fails and not tally.reason:
                tally.reason, tally.failed_at, tally.excerpt = check.reason, check.failed_at, check.excerpt
                tally.failed_where = check.failed_where
                tally.session = session if session is not None else check.session

    @property
    def checks_tally(self) -> tuple[int, int]:
        return sum(c.passes for c in self.checks.values()), sum(c.fails for c in self.checks.values())

    def judge_unreached(self) -> None:
        """A check or expectation that no session of the whole run evaluated fails: a silent rule must
        not make a green run, even when every session was stopped by the load schedule before reaching
        it. Called once on the whole run (after the merge, with --workers)."""
        for check in self.checks.values():
            if not check.passes and not check.fails and not self.interrupted:
                check.record(False, "never evaluated: every session ended or was stopped before reaching it", 0.0)

    @property
    def thresholds_passed(self) -> bool:
        return all(result.passed for result in self.thresholds)

    @property
    def checks_passed(self) -> bool:
        """Every check passed; with no checks at all, every session ended without an error.

        Never when a worker process was lost or stopped: part of the load is unknown or never ran.
        """
        if self.lost_workers:
            return False
        if self.has_checks:
            return not any(check.fails for check in self.checks.values())
        return not self.errors and self.sessions > 0

    @property
    def passed(self) -> bool:
        return self.checks_passed and self.thresholds_passed
