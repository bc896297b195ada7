"""
A suite of short scenarios: wsrun running a folder at once, against one by one, against k6 one by one.

    python bench/suite.py               # 50 scenarios
    python bench/suite.py --count 20

Each scenario connects to the same node `ws` echo server (bench/run.py sets it
up), sends a message, checks the echo, and closes after its own delay: from
200 ms up to 1 s for the longest. The equivalent k6 scripts do the same with
ws.connect, socket.setTimeout and check. Nothing here is a test: timings depend
on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import ensure_tools, start_echo_server

SCENARIO = """\
name: suite member {index}
url: {url}
rules:
  - on: open
    do: [{{send: "hello {index}"}}]
  - after: {ms}ms
    do: [close]
checks:
  - {{name: echo, that: message, equals: "hello {index}"}}
  - {{name: closed normally, that: close_code, equals: 1000}}
"""

K6_SCRIPT = """\
import ws from 'k6/ws';
import {{ check }} from 'k6';

export default function () {{
  let echoed = '';
  const res = ws.connect('{url}', null, function (socket) {{
    socket.on('open', () => socket.send('hello {index}'));
    socket.on('message', (m) => {{ echoed = m; }});
    socket.setTimeout(() => socket.close(), {ms});
  }});
  check(echoed, {{ 'echo': (m) => m === 'hello {index}' }});
  check(res, {{ 'status is 101': (r) => r && r.status === 101 }});
}}
"""


def delay_ms(index: int, count: int) -> int:
    """Delays spread from 200 ms to 1,000 ms: the last scenario is the longest."""
    return 200 + round(800 * index / max(count - 1, 1))


def timed(commands: list[list[str]]) -> tuple[float, bool]:
    """Run the commands one after the other; wall seconds, and whether each exited 0."""
    started, ok = time.perf_counter(), True
    for command in commands:
        ok = (
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0
            and ok
        )
    return time.perf_counter() - started, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    count = args.count
    k6 = ensure_tools()
    wsrun = shutil.which("wsrun") or str(Path(sys.executable).parent / "wsrun")
    server, url = start_echo_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "suite"
            folder.mkdir()
            scenarios, scripts = [], []
            for index in range(count):
                ms = delay_ms(index, count)
                scenario = folder / f"s{index:03d}.yaml"
                scenario.write_text(SCENARIO.format(index=index, url=url, ms=ms), encoding="utf-8")
                script = Path(tmp) / f"s{index:03d}.js"
                script.write_text(K6_SCRIPT.format(index=index, url=url, ms=ms), encoding="utf-8")
                scenarios.append(str(scenario))
                scripts.append(str(script))
            longest = delay_ms(count - 1, count) / 1000
            suite, suite_ok = timed([[wsrun, str(folder), "-q"]])
            one_by_one, wsrun_ok = timed([[wsrun, scenario, "-q"] for scenario in scenarios])
            k6_one_by_one, k6_ok = timed([[k6, "run", "-q", "--no-summary", script] for script in scripts])
    finally:
        server.kill()
        server.wait()
    print(
        f"{count} scenarios; the longest closes after {longest:.1f} s; all passed: "
        f"{suite_ok and wsrun_ok and k6_ok} (suite {suite_ok}, wsrun one by one {wsrun_ok}, k6 {k6_ok})"
    )
    print(f"{'run':<38} {'wall':>8} {'vs longest':>11}")
    for name, seconds in (
        ("wsrun FOLDER (one process, at once)", suite),
        (f"wsrun FILE, {count} times one by one", one_by_one),
        (f"k6 run SCRIPT, {count} times one by one", k6_one_by_one),
    ):
        print(f"{name:<38} {seconds:>7.2f}s {seconds / longest:>10.1f}×")


if __name__ == "__main__":
    main()
