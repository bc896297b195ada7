"""
What a session records: log lines, the transcript, metrics, check outcomes.

Everything goes through here so that secrets are masked, long text is cut only
after masking, and every sample reaches --out as it is recorded.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..scenario.conditions import Outcome
from ..scenario.metric_names import MetricKind
from ..scenario.models import Check, CheckAction, Expect, ExpectOptions, Request, RequestOptions, Scenario
from .masking import Mask
from .metrics import Gauge, Rate, Trend
from .results import CheckResult, Frame, LogLine, SessionResult

__all__ = [
    "EXCERPT",
    "FRAME_TEXT",
    "LINE_TEXT",
    "LOG_LINES",
    "REASON_TEXT",
    "LogSink",
    "Recorder",
    "SampleSink",
    "fan_out",
]

LogSink = Callable[[LogLine], None]
#: Receives every metric sample as it is recorded (for --out ndjson): metric, value, tags.
SampleSink = Callable[[str, float, dict[str, str]], None]

#: Frames shown with a failed expectation.
EXCERPT = 12
# What a session keeps is bounded, whatever the messages: each text is masked, then cut to
#: characters of a frame's text in the transcript (of which the start of the text as received,
#: up to KEPT_TEXT, is kept to mask it again when a secret is learnt),
FRAME_TEXT = 120
KEPT_TEXT = 4 * FRAME_TEXT
#: of a log or error line (printed as kept),
LINE_TEXT = 2000
#: of a check's failure reason;
REASON_TEXT = 400
#: and the log lines a session keeps for the reports (the latest; all are printed as they happen).
LOG_LINES = 1000


def fan_out(*sinks: SampleSink | None) -> SampleSink | None:
    """One sink feeding every given one (--out and the HTML report's plots), or None for none."""
    given = [sink for sink in sinks if sink is not None]
    if len(given) < 2:
        return given[0] if given else None

    def sample(metric: str, value: float, tags: dict[str, str]) -> None:
        for sink in given:
            sink(metric, value, tags)

    return sample


class Recorder:
    """Records into one session's result, masking secrets on the way."""

    def __init__(
        self,
        result: SessionResult,
        mask: Mask,
        *,
        on_log: LogSink | None = None,
        on_sample: SampleSink | None = None,
        name_lines: bool = False,
    ) -> None:
        self.result, self.mask = result, mask
        self._on_log, self._on_sample = on_log, on_sample
        self._name_lines = name_lines  # in a load run, log lines say which session printed them
        self._started = time.perf_counter()
        self._inline_checks: list[tuple[str, str]] = []
        self._evaluated: set[str] = set()
        # The start of each frame still in the transcript, unmasked, and whether there was more,
        # and its suffix: what a secret learnt later is masked in (a cut text cannot be masked again).
        self._kept: deque[tuple[Frame, str, bool, str]] | None = None  # made at the first frame
        #: Frames recorded and not yet made (see frame): time, direction, kind, start of the data, its size, suffix.
        self._raw: deque[tuple[float, str, str, str | bytes, int, str]] = deque(maxlen=result.transcript.maxlen)

    def now(self) -> float:
        """Seconds since the session started."""
        return time.perf_counter() - self._started

    def log(self, text: str, kind: str = "log") -> None:
        result = self.result
        who = (result.vu, result.iteration) if self._name_lines else None
        # Values inside a line may have been cut before masking (a template's explanation quotes
        # the start of a message): each cut is masked at its edge too.
        text = self.mask.edge(self.mask.cut(text, LINE_TEXT), every=True)
        line = LogLine(self.now(), text, kind, who, decides=not result.has_checks)  # type: ignore[arg-type]
        if kind == "error":
            result.errors.append(line)
        else:
            if len(result.logs) >= LOG_LINES:
                del result.logs[0]
            result.logs.append(line)
        if self._on_log is not None:
            self._on_log(line)

    def count(self, metric: str, value: int = 1) -> None:
        self.result.metrics.counters[metric] += value
        if self._on_sample is not None:
            self._on_sample(metric, value, self._sample_tags())

    def measure(self, metric: str, ms: float) -> None:
        trends = self.result.metrics.trends
        (trends.get(metric) or trends.setdefault(metric, Trend())).add(ms)
        if self._on_sample is not None:
            self._on_sample(metric, ms, self._sample_tags())

    def add(self, metric: str, kind: MetricKind, value: float) -> None:
        """A sample of one of the scenario's own metrics (see :func:`~wsrun.session.metrics.sample_value`)."""
        metrics = self.result.metrics
        if kind == "counter":
            metrics.counters[metric] = metrics.counters.get(metric, 0) + value
        elif kind == "trend":
            (metrics.trends.get(metric) or metrics.trends.setdefault(metric, Trend(time=False))).add(value)
        elif kind == "rate":
            metrics.rates.setdefault(metric, Rate()).add(value)
        else:
            metrics.gauges.setdefault(metric, Gauge()).set(value, time.time())
        if self._on_sample is not None:
            self._on_sample(metric, value, self._sample_tags())

    def register_metrics(self, scenario: Scenario) -> None:
        """The scenario's own counters, at 0 (a count is always measured), and its trends, of plain numbers."""
        metrics = self.result.metrics
        for name, kind in scenario.metrics.items():
            if kind == "counter":
                metrics.counters.setdefault(name, 0)
            elif kind == "trend":
                metrics.trends.setdefault(name, Trend(time=False))

    def _check_sample(self, name: str, passed: bool) -> None:
        """Each evaluation of a check is a sample of k6's ``checks`` rate: 1 passed, 0 failed, tagged with it."""
        if self._on_sample is not None:
            self._on_sample("checks", 1 if passed else 0, {**self._sample_tags(), "check": self.mask(name)})

    def _sample_tags(self) -> dict[str, str]:
        status = self.result.status
        return {**self.result.tags, "url": self.result.url, "status": "" if status is None else str(status)}

    def frame(self, direction: str, kind: str, data: str | bytes, suffix: str = "") -> None:
        """Record a frame in the transcript: masked first, then cut (a secret is never half shown).

        Once per message, so only what is needed later is kept now, in a ring as long as the
        transcript: the time, the start of the data and its size. The text is made (masked, cut)
        when the transcript is read (:meth:`flush`), with the mask as it is now: only :meth:`hide`
        changes it during the session, and it flushes first.
        """
        raw = self._raw
        if raw.maxlen != self.result.transcript.maxlen:
            raw = self._raw = deque(raw, maxlen=self.result.transcript.maxlen)
        head = data[:KEPT_TEXT] if isinstance(data, str) else data[: KEPT_TEXT // 2]
        raw.append((time.perf_counter() - self._started, direction, kind, head, len(data), suffix))

    def flush(self) -> None:
        """Make the transcript's frames of what was recorded since the last flush."""
        raw = self._raw
        if not raw:
            return
        transcript, mask = self.result.transcript, self.mask
        kept_frames = self._kept
        if kept_frames is None or kept_frames.maxlen != transcript.maxlen:
            kept_frames = self._kept = deque(kept_frames or (), maxlen=transcript.maxlen)
        for at, direction, kind, head, size, suffix in raw:
            if isinstance(head, str):
                kept, more = head, size > KEPT_TEXT
            else:  # the hex of as many bytes as are kept
                text = f"<{size} bytes: {head.hex()}{'…' if len(head) < size else ''}>"
                kept, more = text[:KEPT_TEXT], len(text) > KEPT_TEXT
            frame = Frame(at, direction, kind, mask.cut(kept, FRAME_TEXT, more=more) + suffix)  # type: ignore[arg-type]
            transcript.append(frame)
            kept_frames.append((frame, kept, more, suffix))
        raw.clear()

    def hide(self, secret: Any) -> None:
        """Mask a secret learnt during the session (a structured one: see Mask.add_value), also in
        what was already recorded, where a cut made before may have left it half shown."""
        mask, result = self.mask, self.result
        self.flush()  # what was recorded so far is shown as it was masked until now, then masked anew
        new = mask.add_value(secret)
        if not new:  # known already: what was recorded is masked
            return
        # A frame is shown again from the start kept of it, masked and cut anew (the transcript
        # and the excerpts of failed checks hold the same frames).
        redone = set()
        for frame, kept, more, suffix in self._kept or ():
            frame.text = mask.cut(kept, FRAME_TEXT, more=more) + suffix
            redone.add(id(frame))
        for check in result.checks.values():
            check.reason = mask.edge(check.reason, every=True, new=new)
            for frame in check.excerpt:
                if id(frame) not in redone:  # gone from the transcript since
                    frame.text = mask.edge(frame.text, new=new)
        result.logs = [replace(line, text=mask.edge(line.text, every=True, new=new)) for line in result.logs]
        result.errors = [replace(line, text=mask.edge(line.text, every=True, new=new)) for line in result.errors]
        if result.close_reason:
            result.close_reason = mask(result.close_reason)
        if result.close_handshake:
            result.close_handshake = mask(result.close_handshake)

    # -- checks and expectations ----------------------------------------------------------------

    def register_checks(self, scenario: Scenario) -> None:
        """Every named check and expectation, with its place in the file, before anything runs."""
        checks = self.result.checks
        for index, check in enumerate(scenario.checks):
            checks.setdefault(check.name, CheckResult(check.name, f"checks[{index}]"))
        for r, rule in enumerate(scenario.rules):
            for a, action in enumerate(rule.do):
                named: Check | ExpectOptions | RequestOptions | None = None
                if isinstance(action, CheckAction):
                    named = action.check
                elif isinstance(action, Expect):
                    named = action.expect
                elif isinstance(action, Request):
                    named = action.request
                if named is not None:
                    where = f"rules[{r}].do[{a}]"
                    checks.setdefault(named.name, CheckResult(named.name, where))
                    self._inline_checks.append((where, named.name))
        self.result.has_checks = bool(checks)

    def outcome(self, name: str, where: str, outcome: Outcome, excerpt_since: float | None = None) -> None:
        """A check's or an expectation's outcome; a first failure may keep the frames since a time."""
        tally = self.result.checks[name]
        first_failure = not outcome.passed and not tally.reason
        # Only a first failure's reason is kept.
        reason = self.shown(outcome.reason) if first_failure else ""
        tally.record(outcome.passed, reason, self.now(), where)
        self._evaluated.add(where)
        self._check_sample(name, outcome.passed)
        if first_failure and excerpt_since is not None:
            self.flush()
            tally.excerpt = [frame for frame in self.result.transcript if frame.at >= excerpt_since][-EXCERPT:]

    def shown(self, reason: str) -> str:
        """A failure's reason as the report shows it: masked, then cut.

        The values in it were cut before masking (conditions.show): each cut is masked at its edge too.
        """
        return self.mask.cut(self.mask.edge(reason, every=True), REASON_TEXT)

    def never_evaluated(self) -> None:
        """A check that never ran fails, per place in the file: a shared name must not hide a silent rule."""
        for where, name in self._inline_checks:
            if where not in self._evaluated:
                self.result.checks[name].record(
                    False, f"never evaluated: the rule holding it ({where}) did not run", self.result.duration, where
                )
                self._check_sample(name, False)
