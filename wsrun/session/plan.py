"""
From a validated scenario and the command line to what one session needs:
resolved variables, URL, headers and TLS settings. Fails before any connection.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.headers import build_authorization_basic
from websockets.uri import parse_uri

from ..errors import TemplateError, UsageError
from ..scenario.custom_metrics import declared_trends
from ..scenario.loader import load_schemas
from ..scenario.models import Scenario
from ..scenario.namespace import look_up
from ..scenario.templates import render
from ..scenario.thresholds import Threshold, parse_all
from ..transport.base import ConnectOptions, TransportName, check_url, missing_transport, tls_context
from .masking import Mask

__all__ = ["Plan", "prepare"]


@dataclass(frozen=True)
class _Inputs:
    """What a plan was made from, to make the plan of another session (vu, iteration)."""

    url: str | None
    overrides: Mapping[str, str]
    relocate: Callable[[str], str] | None
    ssl: ssl.SSLContext | None
    transport: TransportName | None = None  # --transport, over the scenario's


@dataclass(frozen=True)
class Plan:
    """One session of a scenario, ready to run: variables, URL and headers resolved."""

    scenario: Scenario
    file: str
    options: ConnectOptions
    variables: dict[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    mask: Mask = field(default_factory=Mask)
    vu: int = 1
    iteration: int = 0
    thresholds: list[Threshold] = field(default_factory=list)
    schemas: dict[str, Any] = field(default_factory=dict)
    inputs: _Inputs = field(default_factory=lambda: _Inputs(None, {}, None, None), repr=False)
    #: Record this session as a timeline (--report): a long transcript, with timer firings.
    timeline: bool = False

    def for_session(self, vu: int, iteration: int) -> Plan:
        """The plan of another session: variables may differ with {{ vu }} and {{ iteration }}."""
        plan = _resolve(self.scenario, self.file, self.env, self.inputs, vu, iteration, self.thresholds)
        return replace(plan, schemas=self.schemas)


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
    transport: TransportName | None = None,
) -> Plan:
    """Resolve everything that can be resolved before connecting; UsageError otherwise.

    Returns the plan of the first session (vu 1, iteration 0); ``Plan.for_session``
    makes the others. ``relocate`` moves the resolved URL elsewhere (``--serve``
    keeps its path on the embedded server), so that variables are resolved once.
    """
    inputs = _Inputs(url, dict(overrides or {}), relocate, None, transport)
    missing = missing_transport(transport or scenario.transport)
    if missing is not None:
        raise UsageError(f"{file}: {missing}")
    thresholds = parse_all(scenario.thresholds, declared_trends(scenario), scenario.metrics)
    first = _resolve(scenario, file, dict(env or {}), inputs, 1, 0, thresholds)
    # Later sessions share the first one's TLS context (loading certificates is slow) and schemas.
    return replace(first, inputs=replace(inputs, ssl=first.options.ssl), schemas=load_schemas(scenario, file))


def _mask_derived(mask: Mask, url: str) -> None:
    """A value derived from a secret is a secret: the user name or password of a URL's
    ``user:password@`` that holds one, in any form, as decoded from percent-encoding, and the
    ``Authorization: Basic`` credentials built from them (RFC 7617)."""
    netloc = urlsplit(url).netloc
    if "@" not in netloc:
        return
    user_info = netloc.rpartition("@")[0]
    raw = user_info.partition(":")[::2]
    secret = [mask(part) != part for part in raw]
    if not any(secret) and mask(user_info) != user_info:  # a secret across the ':'
        secret = [True, True]
    if any(secret):
        for part, holds in zip(raw, secret, strict=True):
            if holds:
                mask.add(unquote(part))
        decoded = parse_uri(url).user_info
        if decoded is not None:
            mask.add(build_authorization_basic(*decoded).removeprefix("Basic "))


def _check_url(mask: Mask, url: str) -> None:
    """check_url, and an error that names no secret: the parser's message quotes parts of the
    URL as it split them (a password cut at a ``/``), so a URL holding a secret is shown masked, whole."""
    try:
        check_url(url)
    except UsageError:
        if mask(url) == url:
            raise
        raise UsageError(
            f"{mask(url)!r} is not a valid WebSocket URL (a character such as / ? # @ in the user"
            " name or password must be percent-encoded)"
        ) from None


def _resolve(
    scenario: Scenario,
    file: str,
    env: Mapping[str, str],
    inputs: _Inputs,
    vu: int,
    iteration: int,
    thresholds: list[Threshold],
) -> Plan:
    overrides = inputs.overrides
    variables: dict[str, Any] = {}
    session = {"vu": vu, "iteration": iteration}

    def lookup(name: str) -> Any:
        return look_up(name, (variables, session), env)

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
            mask.add_value(variables[name])
    target = inputs.url if inputs.url is not None else resolve("url", scenario.url)
    if inputs.relocate is not None:
        target = inputs.relocate(target)
    _check_url(mask, target)
    _mask_derived(mask, target)
    if scenario.tls is not None and not target.startswith("wss://"):
        raise UsageError(f"{file}: tls: applies only to wss:// URLs, and the URL is {mask(target)}")
    headers = {name: resolve(f"headers.{name}", value) for name, value in scenario.headers.items()}
    context = inputs.ssl
    if target.startswith("wss://") and context is None:
        context = tls_context(scenario.tls, Path(file).parent)
    options = ConnectOptions(
        url=target,
        headers=headers,
        subprotocols=list(scenario.subprotocols),
        compression=scenario.compression,
        connect_timeout=scenario.connect_timeout,
        close_timeout=scenario.close_timeout,
        max_message_size=scenario.max_message_size,
        ssl=context if target.startswith("wss://") else None,
        transport=inputs.transport or scenario.transport,
        answer_pings=scenario.answer_pings,
    )
    return Plan(scenario, file, options, variables, env, mask, vu, iteration, thresholds, {}, inputs)
