"""
``wsrun init NAME``: a commented starter scenario that validates and passes against ``--serve``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from ..errors import UsageError
from .files import SUFFIXES

__all__ = ["STARTER", "starter_path", "write_starter"]

STARTER = """\
# A wsrun scenario: rules (on an event, or every/after a time, do actions) and checks.
# Run it against wsrun's embedded test server:  wsrun {file} --serve
# or against your service:                     wsrun {file} --url wss://example.test/ws
# The format: README "The scenario format"; `wsrun validate {file}` checks it without connecting.
# Editor support: `wsrun schema > wsrun.schema.json`, then make this the first line:
#   # yaml-language-server: $schema=wsrun.schema.json
name: {name}
url: ws://127.0.0.1:8765/      # --url and --serve replace this
timeout: 10s                   # the session ends here at the latest

vars:                          # used as {{{{ greeting }}}}; override with --var greeting=hi
  greeting: hello

rules:
  - on: open                   # events: open, message, binary, ping, pong, close, error
    do:
      - log: connected
      - send: "{{{{ greeting }}}}"
  - on: message                # the embedded server echoes what it receives
    do:
      - log: "received {{{{ message }}}}"
      - check: {{name: echo is the greeting, that: message, equals: "{{{{ greeting }}}}"}}
  - every: 1s                  # timers count from the open
    do:
      - ping
  - after: 2s
    do:
      - close                  # 1000, normal closure

checks:                        # evaluated when the session has ended
  - {{name: handshake answered 101, that: status, equals: 101}}
  - {{name: one echo received, that: messages_received, equals: 1}}
  - {{name: closed normally, that: close_code, equals: 1000}}
"""


def starter_path(name: str) -> Path:
    """NAME as a file: ``smoke`` becomes ``smoke.yaml``; ``smoke.yml`` and ``a/b.yaml`` stay."""
    if not name.strip() or name.endswith(("/", "\\")) or Path(name).name in ("", ".", ".."):
        raise UsageError(f"{name!r}: give a file name, like smoke or checks/login.yaml")
    path = Path(name)
    return path if path.suffix in SUFFIXES else path.with_name(path.name + ".yaml")


def write_starter(name: str) -> Path:
    """Write the starter scenario; never over an existing file."""
    path = starter_path(name)
    title = path.name.removesuffix(path.suffix).replace("-", " ").replace("_", " ") or "starter"
    try:
        with open(path, "x", encoding="utf-8") as file:
            file.write(STARTER.format(file=shlex.quote(str(path)), name=json.dumps(title)))
    except FileExistsError:
        raise UsageError(f"{path}: already exists; wsrun init writes new files only") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write it: {exc.strerror}") from None
    return path
