"""
pytest plugin: scenario files as test items, one item a file.

Loaded by every pytest run through the ``pytest11`` entry point, but inert until
asked for: ``pytest --wsrun``, or ``wsrun = true`` in the ini file. Until then it
only declares its options, and wsrun's heavy modules (pydantic, websockets, rich)
are not imported.

Which files are scenarios:

- ``*.wsrun.yaml`` and ``*.wsrun.yml`` anywhere pytest collects;
- every ``*.yaml`` and ``*.yml`` under the folders of the ini option ``wsrun_paths``
  (relative to the ini file; pytest must still be collecting there);
- a ``.yaml``/``.yml`` file named on the command line.

``--wsrun-url URL`` and ``--wsrun-var NAME=VALUE`` mean what ``wsrun --url`` and
``wsrun --var`` mean; their names carry the prefix because a plugin loaded into
every pytest run must not claim generic names. As with ``wsrun --var``, a
variable is applied only to the scenarios that declare it, and a name that no
collected scenario declares is a usage error (a misspelt name would otherwise
change nothing, silently). When no scenario is collected at all (a run of some
Python tests with ``--wsrun-var`` in ``addopts``, say) nothing is checked.
Giving ``--wsrun-url`` or ``--wsrun-var`` while the plugin is off is a usage
error too, for the same reason.

An invalid scenario file is a collection error, as a Python test module that
does not import is, showing every problem located (``file:line:column: …``);
scenario files are validated before any test runs. A run fails when a check or
a threshold fails; the failure shows wsrun's report of the checks (and of the
metrics, when a threshold failed) as plain text, not a traceback. Log lines go
to the item's captured stdout, so pytest shows them with a failure whatever
its verbosity (``-s`` shows them live, ``--show-capture=no`` hides them).
Ctrl-C stops the scenario within a second, then pytest, as a KeyboardInterrupt does.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# pytest exports no class for a failure shown as plain text with a one-line summary;
# TerminalRepr is what its own representations derive from (and it is already loaded).
from _pytest._code.code import TerminalRepr

# Light modules only (they import nothing heavy): an inert plugin must cost nothing.
from .errors import UsageError
from .scenario.files import SUFFIXES
from .scenario.variables import check_declared, parse_vars

if TYPE_CHECKING:
    from _pytest._code.code import TracebackStyle
    from _pytest._io import TerminalWriter

    from .scenario.models import Scenario
    from .session.results import RunResult

__all__ = ["ScenarioFile", "ScenarioItem", "WsrunFailure"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the command line and the ini file say about every scenario."""

    url: str | None
    overrides: Mapping[str, str]
    folders: tuple[Path, ...]


@dataclasses.dataclass
class _Collected:
    """The variables the collected scenarios declare, for the check of --wsrun-var names."""

    declared: set[str] = dataclasses.field(default_factory=set)
    scenarios: int = 0
    invalid: int = 0


_COLLECTED = pytest.StashKey[_Collected]()


class WsrunFailure(Exception):
    """A scenario file that is invalid, or whose run failed: the report, and its gist in one line."""

    def __init__(self, text: str, gist: str, where: str) -> None:
        super().__init__(text)
        self.text, self.gist, self.where = text, gist, where


@dataclasses.dataclass(frozen=True)
class _Crash:
    """The one line pytest shows in its short summary, in JUnit XML and with --tb=line."""

    message: str
    where: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class FailureRepr(TerminalRepr):
    """wsrun's report as pytest shows a failure: the text as it is, no traceback."""

    def __init__(self, failure: WsrunFailure) -> None:
        self.text = failure.text
        self.reprcrash = _Crash(failure.gist, failure.where)

    def toterminal(self, tw: TerminalWriter) -> None:
        for line in self.text.splitlines():
            tw.line(line)


def gist(result: RunResult) -> str:
    """Why a run failed, in one line (made printable): its first failed check, else threshold, else error."""
    from .output.text import printable

    return printable(_gist(result))


def _gist(result: RunResult) -> str:
    failed = [check for check in result.checks.values() if check.fails]
    if result.errors and result.sample is not None and result.sample.status is None:
        # The connection never opened (refused, say): the cause, not the checks it left unmet.
        return f"error: {result.errors.most_common(1)[0][0]}"
    if failed:
        more = f" (and {len(failed) - 1} more failed checks)" if len(failed) > 1 else ""
        return f"✗ {failed[0].name}: {failed[0].reason}{more}"
    thresholds = [t.threshold for t in result.thresholds if not t.passed]
    if thresholds:
        more = f" (and {len(thresholds) - 1} more)" if len(thresholds) > 1 else ""
        return f"threshold failed: {thresholds[0].key}: {thresholds[0].source}{more}"
    if result.errors:
        return f"error: {result.errors.most_common(1)[0][0]}"
    return "no session ended"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wsrun", "wsrun scenario files")
    group.addoption("--wsrun", action="store_true", help="collect and run wsrun scenario files (*.wsrun.yaml)")
    group.addoption("--wsrun-url", metavar="URL", help="connect here instead of each scenario's url")
    group.addoption(
        "--wsrun-var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a variable from the scenarios' vars: (repeatable)",
    )
    parser.addini("wsrun", type="bool", default=False, help="collect and run wsrun scenario files, as --wsrun")
    parser.addini(
        "wsrun_paths",
        type="paths",
        default=[],
        help="folders whose *.yaml and *.yml files are all wsrun scenarios",
    )


def pytest_configure(config: pytest.Config) -> None:
    url: str | None = config.getoption("wsrun_url")
    pairs: list[str] = config.getoption("wsrun_var")
    if not (config.getoption("wsrun") or config.getini("wsrun")):
        if url is not None or pairs:
            raise pytest.UsageError("--wsrun-url and --wsrun-var need the wsrun plugin: add --wsrun")
        named = [arg for arg in config.args if arg.split("::")[0].endswith((".wsrun.yaml", ".wsrun.yml"))]
        if named:  # pytest alone would answer "not found", which says nothing of why
            raise pytest.UsageError(f"{named[0]}: a wsrun scenario; add --wsrun (or wsrun = true in the ini file)")
        return
    if url is not None:  # a bad URL is the command line's fault, not every scenario's
        from .transport.base import check_url

        try:
            check_url(url)
        except UsageError as exc:
            raise pytest.UsageError(f"--wsrun-url: {exc}") from None
    folders: list[Path] = config.getini("wsrun_paths")
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:  # a misspelt folder would otherwise collect nothing, silently
        raise pytest.UsageError(f"wsrun_paths: no such folder: {', '.join(missing)}")
    try:
        overrides = parse_vars(pairs, "--wsrun-var")
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    settings = Settings(url, overrides, tuple(folders))
    config.pluginmanager.register(Collection(settings), "wsrun-collection")


class Collection:
    """The hooks that work once the plugin is enabled."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schemas: dict[Path, frozenset[str]] = {}

    def schemas_in(self, folder: Path) -> frozenset[str]:
        """The files of a wsrun_paths folder that its scenarios use as schema files (real paths)."""
        if folder not in self.schemas:
            from .scenario.loader import load_suite

            try:
                self.schemas[folder] = frozenset(os.path.realpath(file) for file in load_suite([str(folder)]).schemas)
            except UsageError:  # no YAML file in it: nothing to leave out
                self.schemas[folder] = frozenset()
        return self.schemas[folder]

    def is_scenario(self, file_path: Path, parent: pytest.Collector) -> bool:
        if file_path.suffix not in SUFFIXES:
            return False
        if file_path.stem.endswith(".wsrun") or parent.session.isinitpath(file_path):
            return True
        return any(
            file_path.is_relative_to(folder) and os.path.realpath(file_path) not in self.schemas_in(folder)
            for folder in self.settings.folders
        )

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
        if not self.is_scenario(file_path, parent):
            return None
        return ScenarioFile.from_parent(parent, path=file_path, settings=self.settings)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        collected = session.config.stash.get(_COLLECTED, _Collected())
        if not collected.scenarios or collected.invalid:  # nothing to apply them to, or vars unknown
            return
        try:
            check_declared(self.settings.overrides, collected.declared, "--wsrun-var", "collected scenarios")
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None


def _label(config: pytest.Config, path: Path) -> str:
    """The file as pytest shows it: relative to where pytest was started, when it is below."""
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)


class ScenarioFile(pytest.File):
    """A scenario file: validated when collected, it yields one item."""

    def __init__(self, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    def collect(self) -> Iterable[pytest.Item]:
        from .errors import ScenarioError
        from .scenario.loader import load

        collected = self.config.stash.setdefault(_COLLECTED, _Collected())
        label = _label(self.config, self.path)
        try:
            # Loaded by its absolute path, so that files it names resolve whatever the
            # working directory; shown by its label.
            scenario = load(self.path)
        except ScenarioError as exc:
            collected.invalid += 1
            problems = [str(dataclasses.replace(problem, file=label)) for problem in exc.problems]
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise WsrunFailure("\n".join(problems), problems[0] + more, "") from None
        collected.scenarios += 1
        collected.declared.update(scenario.vars)
        overrides = {k: v for k, v in self.settings.overrides.items() if k in scenario.vars}
        # "::" separates the parts of a node id, so it cannot appear in a name.
        name = " ".join(scenario.name.split()).replace("::", ":") or self.path.name
        yield ScenarioItem.from_parent(
            self, name=name, scenario=scenario, overrides=overrides, url=self.settings.url, label=label
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str | TerminalRepr:  # type: ignore[override]
        if isinstance(excinfo.value, WsrunFailure):
            return FailureRepr(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    """One run of a scenario: it passes when every check and every threshold passes."""

    def __init__(
        self, *, scenario: Scenario, overrides: dict[str, str], url: str | None, label: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.overrides = overrides
        self.url = url
        self.label = label

    def runtest(self) -> None:
        from rich.console import Console

        from .errors import ScenarioError, WsrunError
        from .output.console import Reporter
        from .run import aio
        from .run.suite import Job, Options, run_jobs
        from .scenario.metric_names import DEFAULT_TREND_STATS

        # Printed into sys.stdout as it is now: pytest's capture, or the terminal with -s.
        logs = Reporter(Console(file=sys.stdout, highlight=False, soft_wrap=True))
        job = Job(self.scenario, str(self.path), self.overrides)
        try:
            results, interrupted = aio.run(run_jobs([job], Options(url=self.url), on_log=logs.log))
        except ScenarioError as exc:  # while preparing: a missing environment variable, say
            problems = [str(dataclasses.replace(problem, file=self.label)) for problem in exc.problems]
            raise WsrunFailure("\n".join(problems), problems[0], "") from None
        except WsrunError as exc:
            raise WsrunFailure(f"wsrun: {exc}", str(exc), self.label) from None
        if interrupted:
            raise KeyboardInterrupt
        result = results[0]
        if result.passed:
            return
        result.file = self.label
        text = io.StringIO()
        console = Console(file=text, width=120, color_system=None, highlight=False, soft_wrap=True)
        # Thresholds are judged in the metrics summary: shown only when one failed.
        stats = self.scenario.summary_trend_stats or DEFAULT_TREND_STATS
        Reporter(console, quiet=result.thresholds_passed, trend_stats=stats).run(result)
        raise WsrunFailure(text.getvalue().strip("\n"), gist(result), self.label)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, WsrunFailure):
            return FailureRepr(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario: {self.scenario.name}"
