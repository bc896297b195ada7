"""
``--junit PATH``: the results as a JUnit XML report, for CI tools (Jenkins, GitLab, Azure DevOps).

The document is valid against the JUnit schema of Jenkins' xUnit plugin (``junit-10.xsd``,
copied in ``tests/data``), the strictest of the common ones:

- ``<testsuites name="wsrun">`` with the totals; that schema has no ``skipped`` attribute on
  ``testsuites``, so skipped tests are counted on each ``testsuite`` only;
- one ``<testsuite>`` per scenario file (its name is the file's path) with ``<properties>``
  (scenario, url, sessions, failed_sessions, vus_max, interrupted, timed_out, one ``tag.NAME``
  per tag, one ``metric.NAME`` per metric the scenario declares, with its value over the run) first,
  the sample session's log lines in ``<system-out>`` and the errors and warnings
  in ``<system-err>``;
- one ``<testcase>`` per check or expectation, its classname the file as a dotted name
  (``scenarios/k6-socket-on.yaml`` -> ``scenarios.k6-socket-on``); a failed one holds
  ``<failure type="CheckFailed">``: its reason as the message, and as text the reason, the
  place in the file, when and in which session it first failed, the tally and the frames
  around the failure (else the last frames of that session);
- one ``<testcase>`` per threshold (classname + ``.thresholds``, named by metric and
  expression), failing with ``type="ThresholdFailed"`` and the value found;
- a scenario without checks has one testcase, "session ended without an error", failing
  with the errors (``type="SessionError"``).

Checks and thresholds have no duration of their own: their ``time`` is 0, so that the cases'
times never add up to more than the suite's; the no-check testcase takes the run's duration.

An interrupted run (Ctrl-C) has no verdict (wsrun exits with 130), so the report keeps only
what the interruption did not decide. The suite says ``interrupted=true`` in its properties.
A check that passed, or failed before the interruption, keeps that outcome. A failure
recorded when the interruption ended the session (an expectation cut short, a rule that never
ran, a final check of a session closed early) is ``<skipped message="interrupted">`` with
the would-be reason as its text; so is a check never evaluated at all. This is known for the
session kept whole (``RunResult.sample``), from the time of its "interrupted" note; a first
failure in another session of a load run stays a failure, its text saying that it may come
from the interruption. Thresholds judge a whole run, so in an interrupted one every threshold
is skipped, its value on the partial run in the text.

Text from a server or a file may hold characters XML 1.0 forbids (NUL, ESC, ...), which
ElementTree would write as they are, making the file unreadable: control characters are
shown as ``\\xNN`` (also newlines inside one frame or log line, to keep one a line), as the
console report does, and anything else XML cannot hold as ``\\uNNNN``.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ..session.results import CheckResult, Frame, RunResult, SessionResult
from ..session.verdicts import ThresholdResult
from .text import NO_SAMPLES, format_count, frame_text, own_metric_text, printable

__all__ = ["classname", "junit_xml"]

#: Frames shown under a failure when the check kept no excerpt, as in the console report.
FRAMES_SHOWN = 20
#: Kinds of error listed for a load run; the rest are counted.
ERRORS_SHOWN = 100
NO_CHECKS = "session ended without an error"
#: The case of a run with --workers whose worker processes all sent their result.
EVERY_WORKER = "every worker process finished"


def classname(file: str) -> str:
    """The scenario file as a dotted name: ``scenarios/k6-socket-on.yaml`` -> ``scenarios.k6-socket-on``."""
    parts = [part for part in re.split(r"[\\/]+", file) if part not in ("", ".", "..")]
    if parts:
        parts[-1] = re.sub(r"\.ya?ml$", "", parts[-1], flags=re.IGNORECASE) or parts[-1]
    # A dot inside a name would read as one more level of packages.
    return printable(".".join(part.replace(".", "_") for part in parts) or "scenario")


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _frame_line(frame: Frame) -> str:
    return f"  {frame_text(frame)}"


def _who(session: tuple[int, int]) -> str:
    return f"vu {session[0]} #{session[1]}"


def _who_of(session: SessionResult) -> str:
    return _who((session.vu, session.iteration))


def _sample_of(result: RunResult, session: tuple[int, int] | None) -> SessionResult | None:
    """The session kept whole, if it is the one asked for (any, in a single-session run)."""
    sample = result.sample
    if sample is None or (result.sessions > 1 and session != (sample.vu, sample.iteration)):
        return None
    return sample


def _interrupted_at(session: SessionResult) -> float | None:
    """When Ctrl-C reached the session: the time of the engine's "interrupted" note."""
    if not session.interrupted:
        return None
    return next((line.at for line in session.logs if line.kind == "note" and line.text == "interrupted"), None)


def _check_text(result: RunResult, check: CheckResult) -> str:
    lines = [printable(check.reason), f"where: {printable(result.file)}, {printable(check.where_failed)}"]
    if check.failed_at is not None:
        who = f" of {_who(check.session)}" if check.session is not None and result.sessions > 1 else ""
        lines.append(f"when: {check.failed_at:.3f}s into the session{who}")
    lines.append(f"tally: {check.passes} passed, {check.fails} failed")
    if check.excerpt:
        lines.append("frames around the failure (→ sent, ← received, · local):")
        lines.extend(_frame_line(frame) for frame in check.excerpt)
    elif (sample := _sample_of(result, check.session)) is not None:
        lines.extend(_last_frames(sample))
    elif result.sample is not None:
        lines.append(f"no frames: the transcript kept is of another session, {_who_of(result.sample)}")
    return "\n".join(lines)


def _last_frames(session: SessionResult) -> list[str]:
    frames = list(session.transcript)[-FRAMES_SHOWN:]
    if not frames:
        return []
    return [f"last {len(frames)} frames of the session (→ sent, ← received, · local):", *map(_frame_line, frames)]


def _check_case(suite: ET.Element, result: RunResult, check: CheckResult, name: str) -> None:
    case = ET.SubElement(suite, "testcase", name=printable(check.name), classname=name, time=_seconds(0))
    if not check.passes and not check.fails:
        why = "interrupted" if result.interrupted else "never evaluated"
        ET.SubElement(case, "skipped", message=why).text = f"{why}: no session evaluated this check"
        return
    if not check.fails:
        return
    sample = _sample_of(result, check.session)
    stopped = None if sample is None else _interrupted_at(sample)
    if stopped is not None and check.failed_at is not None and check.failed_at >= stopped:
        skipped = ET.SubElement(case, "skipped", message="interrupted")
        skipped.text = (
            f"decided by the interruption (Ctrl-C or a stop signal) at {stopped:.3f}s:\n{_check_text(result, check)}"
        )
        return
    failure = ET.SubElement(case, "failure", message=printable(check.reason), type="CheckFailed")
    failure.text = _check_text(result, check)
    if stopped is not None:
        failure.text += f"\nthe session was interrupted (Ctrl-C or a stop signal) later, at {stopped:.3f}s"
    elif result.interrupted:
        # Another session than the one kept whole: when Ctrl-C reached it is not known.
        failure.text += (
            "\nthe run was interrupted (Ctrl-C or a stop signal): this failure came before, or from the interruption"
        )


def _actual(outcome: ThresholdResult) -> str:
    """The value a threshold judged, in its expression's unit (time in ms)."""
    threshold, actual = outcome.threshold, outcome.actual
    if actual is None:
        return NO_SAMPLES
    if threshold.kind == "rate":
        return f"{actual:.4f}"
    if threshold.kind == "counter":
        return f"{actual:.2f}/s" if threshold.stat == "rate" else format_count(actual)
    if threshold.kind == "gauge" or (threshold.plain and threshold.stat != "count"):
        return f"{actual:.6g}"  # a scenario's own plain number
    # Never in scientific notation: up to 3 decimals (a microsecond), trailing zeros dropped.
    return format_count(actual) if threshold.stat == "count" else f"{actual:.3f}".rstrip("0").rstrip(".") + "ms"


def _threshold_case(suite: ET.Element, result: RunResult, outcome: ThresholdResult, name: str) -> None:
    threshold = outcome.threshold
    title = f"{threshold.key} {threshold.source}"
    case = ET.SubElement(suite, "testcase", name=printable(title), classname=f"{name}.thresholds", time=_seconds(0))
    found = f"{threshold.stat}={_actual(outcome)}"
    sessions = f"{result.sessions} session" + ("" if result.sessions == 1 else "s")
    over = f"{threshold.key}: {found} over {sessions} in {result.duration:.2f}s"
    if result.interrupted:
        verdict = "would pass" if outcome.passed else "would fail"
        skipped = ET.SubElement(case, "skipped", message="interrupted")
        skipped.text = printable(
            f"not judged: the run was interrupted (Ctrl-C or a stop signal); {over}; {verdict} {threshold.source}"
        )
    elif not outcome.passed:
        message = f"{found}, expected {threshold.source}"
        failure = ET.SubElement(case, "failure", message=printable(message), type="ThresholdFailed")
        failure.text = printable(over) + f"\nexpected {printable(threshold.source)}"


def _errors_lines(result: RunResult) -> list[str]:
    sample = result.sample
    if result.sessions == 1 and sample is not None:
        return [f"error at {error.at:.3f}s: {printable(error.text)}" for error in sample.errors]
    if not result.errors:
        return []
    total = sum(result.errors.values())
    lines = [f"{total} errors in {result.sessions_with_errors} of {result.sessions} sessions:"]
    lines.extend(f"  {count} × {printable(text)}" for text, count in result.errors.most_common(ERRORS_SHOWN))
    if len(result.errors) > ERRORS_SHOWN:
        lines.append(f"  … and {len(result.errors) - ERRORS_SHOWN} other kinds")
    return lines


def _lost_workers_case(suite: ET.Element, result: RunResult, name: str) -> None:
    """A worker process lost (killed, out of memory, hung) or stopped by a signal of its own: part of the load
    is unknown or never ran, so the run fails; each line says which worker and what its sessions count for."""
    if not result.lost_workers:
        return
    case = ET.SubElement(suite, "testcase", name=EVERY_WORKER, classname=f"{name}.workers", time=_seconds(0))
    message = f"{len(result.lost_workers)} worker process(es) did not run their whole share, so the run fails"
    failure = ET.SubElement(case, "failure", message=message, type="LostWorker")
    failure.text = "\n".join(printable(lost) for lost in result.lost_workers)


def _no_checks_case(suite: ET.Element, result: RunResult, name: str) -> None:
    case = ET.SubElement(suite, "testcase", name=NO_CHECKS, classname=name, time=_seconds(result.duration))
    if not result.errors and result.sessions:  # a lost worker fails the run in a case of its own
        return
    if not result.errors and not result.sessions:
        why = "interrupted" if result.interrupted else "no session ran"
        ET.SubElement(case, "skipped", message=why).text = f"{why}: no session ended"
        return
    first = result.errors.most_common(1)[0][0] if result.errors else "no session ended"
    message = first if len(result.errors) <= 1 else f"{first} (and {len(result.errors) - 1} other kinds of error)"
    lines = _errors_lines(result)
    if result.sample is not None:
        lines.extend(_last_frames(result.sample))
    failure = ET.SubElement(case, "failure", message=printable(message), type="SessionError")
    failure.text = "\n".join(lines)


def _suite(result: RunResult, started: datetime, hostname: str) -> ET.Element:
    name = classname(result.file)
    suite = ET.Element("testsuite", name=printable(result.file))
    for count in ("tests", "failures", "errors", "skipped"):
        suite.set(count, "0")  # counted below; set first to keep the usual order of attributes
    suite.set("time", _seconds(result.duration))
    suite.set("timestamp", started.isoformat(timespec="seconds"))
    suite.set("hostname", printable(hostname))
    suite.set("file", printable(result.file))
    properties = ET.SubElement(suite, "properties")
    values = {
        **({"scenario": result.scenario} if result.scenario else {}),
        "url": result.url,
        "transport": result.transport,
        "sessions": str(result.sessions),
        "failed_sessions": str(result.failed_sessions),
        "vus_max": str(result.vus_max),
        "interrupted": "true" if result.interrupted else "false",
        "timed_out": str(result.timed_out),
        **{f"tag.{tag}": value for tag, value in result.tags.items()},
    }
    metrics = result.series.select()
    values.update({f"metric.{name}": own_metric_text(metrics, name) for name in metrics.own()})
    for key, value in values.items():
        ET.SubElement(properties, "property", name=printable(key), value=printable(value))
    if result.has_checks:
        for check in result.checks.values():
            _check_case(suite, result, check, name)
    else:
        _no_checks_case(suite, result, name)
    _lost_workers_case(suite, result, name)
    for outcome in result.thresholds:
        _threshold_case(suite, result, outcome, name)
    sample = result.sample
    if sample is not None and sample.logs:
        who = f"log lines of {_who_of(sample)}:\n" if result.sessions > 1 else ""
        lines = [
            f"{line.at:8.3f}s {'note: ' if line.kind == 'note' else ''}{printable(line.text)}" for line in sample.logs
        ]
        ET.SubElement(suite, "system-out").text = who + "\n".join(lines)
    err = [f"warning: {printable(warning)}" for warning in result.warnings] + _errors_lines(result)
    if err:
        ET.SubElement(suite, "system-err").text = "\n".join(err)
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for count, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(count, str(sum(1 for case in cases if case.find(tag) is not None)))
    return suite


def junit_xml(results: Sequence[RunResult], *, duration: float, timestamp: datetime | None = None) -> str:
    """The JUnit XML document of a run's results (write it as UTF-8).

    ``duration`` is the whole run's, in seconds; ``timestamp`` when it started (by default,
    ``duration`` seconds ago). Each suite's timestamp is when its scenario started, or the
    run's start for a result that does not say.
    """
    started = timestamp if timestamp is not None else datetime.now(UTC) - timedelta(seconds=duration)
    hostname = socket.gethostname() or "localhost"
    suites = [
        _suite(result, started if result.started is None else datetime.fromtimestamp(result.started, UTC), hostname)
        for result in results
    ]
    totals = {
        count: str(sum(int(suite.get(count, "0")) for suite in suites)) for count in ("tests", "failures", "errors")
    }
    root = ET.Element("testsuites", {"name": "wsrun", **totals, "time": _seconds(duration)})
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
