"""The pytest plugin: opt-in collection, one item a scenario file, failures as wsrun's report."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from .helpers import UNIT

pytest_plugins = ["pytester"]


def scenario(url: str, *, equals: str = "hello", extra: str = "") -> str:
    """A scenario that sends its variable `word`, logs the echo, and checks it equals `equals`."""
    return textwrap.dedent(
        f"""
        name: echo
        url: {url}
        vars: {{word: hello}}
        rules:
          - on: open
            do: [{{send: "{{{{ word }}}}"}}]
          - on: message
            do: [{{log: "got {{{{ message }}}}"}}, close]
        checks:
          - {{name: echoed, that: message, equals: {equals}}}
        """
    ) + textwrap.dedent(extra)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in its own process, in pytester's folder."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=30 * UNIT)


def test_off_by_default(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """Without --wsrun or the ini option, scenario files are not collected."""
    pytester.makefile(".wsrun.yaml", echo=scenario(server_in_thread))
    result = run(pytester)
    result.assert_outcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_options_need_the_plugin(pytester: pytest.Pytester) -> None:
    """--wsrun-url without --wsrun is a usage error rather than silently ignored."""
    result = run(pytester, "--wsrun-url", "ws://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--wsrun-url and --wsrun-var need the wsrun plugin: add --wsrun" in str(result.stderr)


def test_passing_scenario(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """With --wsrun, a *.wsrun.yaml file is one item, named after its scenario, and it passes."""
    pytester.makefile(".wsrun.yaml", echo=scenario(server_in_thread))
    pytester.makefile(".yaml", other="not: a scenario\n")  # plain YAML is not collected
    result = run(pytester, "--wsrun", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["echo.wsrun.yaml::echo PASSED*"])


def test_ini_option_enables(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """`wsrun = true` in the ini file enables collection, as --wsrun does."""
    pytester.makeini("[pytest]\nwsrun = true\n")
    pytester.makefile(".wsrun.yml", echo=scenario(server_in_thread))
    run(pytester).assert_outcomes(passed=1)


def test_failing_check_shows_the_report(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """A failed check fails the item with wsrun's checks report and the log as captured output, no traceback."""
    pytester.makefile(".wsrun.yaml", echo=scenario(server_in_thread, equals="goodbye"))
    result = run(pytester, "--wsrun")
    result.assert_outcomes(failed=1)
    out = str(result.stdout)
    result.stdout.fnmatch_lines(
        [
            "*_ scenario: echo _*",
            "echo · ws://127.0.0.1:* · ✗ failed",
            "  echo.wsrun.yaml · transport websockets",
            "*✗ echoed  0 passed, 1 failed",
            '*↳ expected message equals "goodbye", got "hello" (at *s, checks?0?)',
            "*Captured stdout call*",
            "*s] got hello",
            'FAILED echo.wsrun.yaml::echo - ✗ echoed: expected message equals "goodbye"*',
        ]
    )
    assert "Traceback" not in out and "pytest_plugin.py" not in out and "WsrunFailure" not in out


def test_invalid_file_is_a_collection_error(pytester: pytest.Pytester) -> None:
    """An invalid file is a collection error naming file:line:column, what was found and the allowed keys."""
    pytester.makefile(".wsrun.yaml", bad="url: ws://127.0.0.1:9\nrulez: []\n")
    result = run(pytester, "--wsrun")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting bad.wsrun.yaml*",
            "bad.wsrun.yaml:2:1: rulez: unknown key 'rulez': did you mean 'rules'? allowed here: name, description, url, *",
        ]
    )
    assert "Traceback" not in str(result.stdout)


def test_var_changes_what_is_sent(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """--wsrun-var overrides a variable of the scenarios that declare it, and only of those."""
    pytester.makefile(".wsrun.yaml", echo=scenario(server_in_thread, equals="bye"))
    pytester.makefile(".wsrun.yaml", plain=f"url: {server_in_thread}\nrules: [{{on: open, do: [close]}}]\n")
    run(pytester, "--wsrun").assert_outcomes(passed=1, failed=1)
    run(pytester, "--wsrun", "--wsrun-var", "word=bye").assert_outcomes(passed=2)


def test_unknown_var_is_a_usage_error(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """A --wsrun-var that no collected scenario declares is a usage error listing the variables."""
    pytester.makefile(".wsrun.yaml", echo=scenario(server_in_thread))
    result = run(pytester, "--wsrun", "--wsrun-var", "wrod=bye")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--wsrun-var wrod: not a variable of the collected scenarios (their vars: word)" in str(result.stderr)
    result = run(pytester, "--wsrun", "--wsrun-var", "word")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--wsrun-var 'word': write NAME=VALUE" in str(result.stderr)


def test_url_points_to_the_server(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """--wsrun-url connects there instead of the scenario's url."""
    pytester.makefile(".wsrun.yaml", echo=scenario("ws://127.0.0.1:9/nowhere"))
    result = run(pytester, "--wsrun", "--wsrun-url", server_in_thread, "-v")
    result.assert_outcomes(passed=1)


def test_wsrun_paths_collects_plain_yaml(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """Under the folders of `wsrun_paths`, every *.yaml file is a scenario; elsewhere, plain YAML is not."""
    pytester.makeini("[pytest]\nwsrun = true\nwsrun_paths = scenarios\n")
    pytester.mkdir("scenarios")
    (pytester.path / "scenarios" / "echo.yaml").write_text(scenario(server_in_thread), encoding="utf-8")
    pytester.makefile(".yaml", settings="not: a scenario\n")
    result = run(pytester, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["scenarios/echo.yaml::echo PASSED*"])


def test_wsrun_paths_leaves_out_the_schema_files_of_its_scenarios(
    pytester: pytest.Pytester, server_in_thread: str
) -> None:
    """A YAML schema file under `wsrun_paths`, named by a scenario there (or through a $ref), is not collected
    as a scenario (it failed as one); a YAML file no scenario uses is still collected, and fails."""
    pytester.makeini("[pytest]\nwsrun = true\nwsrun_paths = scenarios\n")
    folder = pytester.mkdir("scenarios")
    (folder / "a-schemas").mkdir()
    (folder / "a-schemas" / "reply.yaml").write_text("$ref: status.yaml\n", encoding="utf-8")
    (folder / "a-schemas" / "status.yaml").write_text("type: integer\n", encoding="utf-8")
    checked = "  - {name: a status, that: status, schema: a-schemas/reply.yaml}\n"
    (folder / "echo.yaml").write_text(scenario(server_in_thread) + checked, encoding="utf-8")
    result = run(pytester, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["scenarios/echo.yaml::echo PASSED*"])
    (folder / "a-schemas" / "unused.yaml").write_text("type: object\n", encoding="utf-8")
    result = run(pytester, "-v")
    result.assert_outcomes(errors=1)  # a collection error stops pytest before any item runs
    result.stdout.fnmatch_lines(["ERROR scenarios/a-schemas/unused.yaml*"])
    assert "reply.yaml" not in str(result.stdout) and "status.yaml" not in str(result.stdout)


def test_failing_threshold_fails(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """A failed threshold fails the item, whose report then shows the metrics and the threshold judged."""
    thresholds = """
        thresholds:
          ws_msgs_received: ["count > 100"]
        """
    pytester.makefile(".wsrun.yaml", echo=scenario(server_in_thread, extra=thresholds))
    result = run(pytester, "--wsrun")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*✓ echoed",
            "✗ ws_msgs_received *: 1 *",
            "    ✗ count > 100 (count=1)",
            "FAILED echo.wsrun.yaml::echo - threshold failed: ws_msgs_received: count > 100",
        ]
    )


def test_ctrl_c_stops_pytest(pytester: pytest.Pytester, server_in_thread: str) -> None:
    """Ctrl-C during a scenario stops it within a second, then pytest, as a KeyboardInterrupt does."""
    ticking = f"url: {server_in_thread}\ntimeout: 30s\nrules: [{{every: 50ms, do: [{{log: tick}}]}}]\n"
    path = pytester.makefile(".wsrun.yaml", ticking=ticking)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "--wsrun", str(path)]
    with subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            for line in process.stdout:  # ends at the first tick, or when pytest ends
                if "tick" in line:
                    break
            sent = time.monotonic()
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=10 * UNIT)
        finally:
            process.kill()
    assert process.returncode == pytest.ExitCode.INTERRUPTED
    assert "KeyboardInterrupt" in out
    assert time.monotonic() - sent < 5 * UNIT


def test_inert_run_imports_nothing_heavy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded but not enabled, the plugin imports neither pydantic, websockets nor rich."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # only this plugin: others may import them
    pytester.makepyfile(
        """
        import sys

        def test_light():
            assert not {"pydantic", "websockets", "rich"} & set(sys.modules)
        """
    )
    run(pytester, "-p", "wsrun.pytest_plugin").assert_outcomes(passed=1)


def test_bad_url_and_missing_folder_are_usage_errors(pytester: pytest.Pytester) -> None:
    """A malformed --wsrun-url, or a wsrun_paths folder that does not exist, stops pytest at once (exit 4)."""
    pytester.makefile(".wsrun.yaml", echo=scenario("ws://127.0.0.1:9/"))
    bad_url = run(pytester, "--wsrun", "--wsrun-url", "http://127.0.0.1:9")
    assert bad_url.ret == pytest.ExitCode.USAGE_ERROR
    assert "--wsrun-url: 'http://127.0.0.1:9' is not a WebSocket URL" in str(bad_url.stderr)
    pytester.makeini("[pytest]\nwsrun = true\nwsrun_paths = scenarioz\n")
    missing = run(pytester)
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    assert "wsrun_paths: no such folder:" in str(missing.stderr) and "scenarioz" in str(missing.stderr)


def test_a_refused_connection_is_summed_up_by_its_cause(pytester: pytest.Pytester) -> None:
    """The one-line summary names the refused connection, not the checks it left unmet."""
    pytester.makefile(".wsrun.yaml", echo=scenario("ws://127.0.0.1:9/"))
    result = run(pytester, "--wsrun", "-rf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["FAILED echo.wsrun.yaml::echo - error: connection refused*"])


def test_naming_a_scenario_without_the_plugin_says_what_to_add(pytester: pytest.Pytester) -> None:
    """`pytest x.wsrun.yaml` without --wsrun is a usage error that says to add --wsrun, not "not found"."""
    pytester.makefile(".wsrun.yaml", echo=scenario("ws://127.0.0.1:9/"))
    result = run(pytester, "echo.wsrun.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "echo.wsrun.yaml: a wsrun scenario; add --wsrun" in str(result.stderr)
