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

from .conditions import Outcome
from .masking import Mask
from .metrics import Trend
from .model import Check, CheckAction, Expect, ExpectOptions, Request, RequestOptions, Scenario
from .results import CheckResult, Frame, LogLine, SessionResult

__all__ = ["EXCERPT", "LogSink", "Recorder", "SampleSink", "cut", "fan_out"]

LogSink = Callable[[LogLine], None]
#: Receives every metric sample as it is recorded (for --out ndjson): metric, value, tags.
SampleSink = Callable[[str, float, dict[str, str]], None]

#: Frames shown with a failed expectation.
EXCERPT = 12


def fan_out(*sinks: SampleSink | None) -> SampleSink | None:
    """One sink feeding every given one (--out and the HTML report's plots), or None for none."""
    given = [sink for sink in sinks if sink is not None]
    if len(given) < 2:
        return given[0] if given else None

    def sample(metric: str, value: float, tags: dict[str, str]) -> None:
        for sink in given:
            sink(metric, value, tags)

    return sample


def cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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

    def now(self) -> float:
        """Seconds since the session started."""
        return time.perf_counter() - self._started

    def log(self, text: str, kind: str = "log") -> None:
        result = self.result
        who = (result.vu, result.iteration) if self._name_lines else None
        line = LogLine(self.now(), self.mask(text), kind, who)  # type: ignore[arg-type]
        (result.errors if kind == "error" else result.logs).append(line)
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

    def _sample_tags(self) -> dict[str, str]:
        status = self.result.status
        return {**self.result.tags, "url": self.result.url, "status": "" if status is None else str(status)}

    def frame(self, direction: str, kind: str, data: str | bytes, suffix: str = "") -> None:
        """Record a frame in the transcript: masked first, then cut (a secret is never half shown)."""
        text = data if isinstance(data, str) else f"<{len(data)} bytes: {data.hex()}>"
        if self.mask:
            text = self.mask(text)
        self.result.transcript.append(Frame(self.now(), direction, kind, cut(text) + suffix))  # type: ignore[arg-type]

    def hide(self, secret: str) -> None:
        """Mask a secret learnt during the session, also in what was already recorded."""
        mask, result = self.mask, self.result
        mask.add(secret)
        result.transcript = deque(
            (replace(frame, text=mask(frame.text)) for frame in result.transcript), maxlen=result.transcript.maxlen
        )
        result.logs = [replace(line, text=mask(line.text)) for line in result.logs]
        result.errors = [replace(line, text=mask(line.text)) for line in result.errors]
        for check in result.checks.values():
            check.reason = mask(check.reason)
            check.excerpt = [replace(frame, text=mask(frame.text)) for frame in check.excerpt]

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
        reason = self.mask(outcome.reason) if outcome.reason else ""
        tally = self.result.checks[name]
        first_failure = not outcome.passed and not tally.reason
        tally.record(outcome.passed, cut(reason, 400), self.now(), where)
        self._evaluated.add(where)
        if first_failure and excerpt_since is not None:
            tally.excerpt = [frame for frame in self.result.transcript if frame.at >= excerpt_since][-EXCERPT:]

    def never_evaluated(self) -> None:
        """A check that never ran fails, per place in the file: a shared name must not hide a silent rule."""
        for where, name in self._inline_checks:
            if where not in self._evaluated:
                self.result.checks[name].record(
                    False, f"never evaluated: the rule holding it ({where}) did not run", self.result.duration, where
                )
