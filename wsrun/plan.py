"""
From a validated scenario and the command line to what one session needs:
resolved variables, URL, headers and TLS settings. Fails before any connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .connection import ConnectOptions, check_url, tls_context
from .errors import TemplateError, UsageError
from .masking import Mask
from .model import Scenario
from .namespace import look_up
from .templates import render, text_of

__all__ = ["Plan", "prepare"]


@dataclass(frozen=True)
class Plan:
    """One scenario, ready to run."""

    scenario: Scenario
    file: str
    options: ConnectOptions
    variables: dict[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    mask: Mask = field(default_factory=Mask)


def _override(name: str, text: str, declared: Any) -> Any:
    """A --var value takes the type of the variable it overrides."""
    if isinstance(declared, bool):
        if text.lower() not in ("true", "false"):
            raise UsageError(f"--var {name}={text}: {name} is a boolean, give true or false")
        return text.lower() == "true"
    if isinstance(declared, (int, float)):
        try:
            return type(declared)(text)
        except ValueError:
            kind = "an integer" if isinstance(declared, int) else "a number"
            raise UsageError(f"--var {name}={text}: {name} is {kind}") from None
    return text


def prepare(
    scenario: Scenario,
    *,
    file: str,
    url: str | None = None,
    overrides: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    relocate: Callable[[str], str] | None = None,
) -> Plan:
    """Resolve everything that can be resolved before connecting; UsageError otherwise.

    ``relocate`` moves the resolved URL elsewhere (``--serve`` keeps its path on the
    embedded server), so that variables are resolved once, with one uuid.
    """
    env = dict(env or {})
    overrides = overrides or {}
    variables: dict[str, Any] = {}

    def lookup(name: str) -> Any:
        return look_up(name, (variables,), env)

    mask = Mask([env[name[4:]] for name in scenario.secrets if name.startswith("env.") and name[4:] in env])

    def resolve(where: str, text: str) -> str:
        try:
            return render(text, lookup)
        except TemplateError as exc:
            name = str(exc).split("}}")[0].strip("{ ")
            hint = "set that environment variable" if name.startswith("env.") else "it is not known before connecting"
            raise UsageError(f"{file}: {where}: {exc} ({hint})") from None

    for name, value in scenario.vars.items():
        if name in overrides:
            variables[name] = _override(name, overrides[name], value)
        elif isinstance(value, str):
            variables[name] = resolve(f"vars.{name}", value)
        else:
            variables[name] = value

    for name in scenario.secrets:
        if name in variables:
            mask.add(text_of(variables[name]))
    target = url if url is not None else resolve("url", scenario.url)
    if relocate is not None:
        target = relocate(target)
    try:
        check_url(target)
    except UsageError as exc:
        raise UsageError(mask(str(exc))) from None
    if scenario.tls is not None and not target.startswith("wss://"):
        raise UsageError(f"{file}: tls: applies only to wss:// URLs, and the URL is {target}")
    headers = {name: resolve(f"headers.{name}", value) for name, value in scenario.headers.items()}
    options = ConnectOptions(
        url=target,
        headers=headers,
        subprotocols=list(scenario.subprotocols),
        compression=scenario.compression,
        connect_timeout=scenario.connect_timeout,
        close_timeout=scenario.close_timeout,
        max_message_size=scenario.max_message_size,
        ssl=tls_context(scenario.tls, Path(file).parent) if target.startswith("wss://") else None,
    )
    return Plan(scenario, file, options, variables, env, mask)
