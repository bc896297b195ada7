"""
Opening a connection on picows (RFC 6455 section 4): the URL, the handshake, redirects and errors.

picows checks neither the subprotocol nor the extensions of the answer, follows
redirects its own way, and leaks the socket when ``ws_connect`` is cancelled;
this module does what the websockets transport does instead, and translates
picows' exceptions once into :class:`~wsrun.errors.ConnectFailed` with that
transport's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import sys
import time
from typing import Any
from urllib.parse import urljoin

from picows import (
    WSHandshakeError,
    WSInvalidHeaderError,
    WSParsedURL,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    ws_connect,
)
from picows.version import __version__ as picows_version
from websockets.asyncio.client import MAX_REDIRECTS
from websockets.headers import build_authorization_basic, build_host
from websockets.uri import WebSocketURI, parse_uri

from ..errors import ConnectFailed
from . import deflate
from .base import ConnectOptions, translate_error
from .picows_connection import PicowsConnection
from .picows_listener import QUIET, READ_BUFFER_START, Listener, Refused

__all__ = ["open_picows"]

#: The statuses websockets follows when they come with a Location.
REDIRECTS = (300, 301, 302, 303, 307, 308)
USER_AGENT = f"Python/{sys.version_info.major}.{sys.version_info.minor} picows/{picows_version}"


def _subprotocol(values: list[str], offered: list[str]) -> str | None:
    """The subprotocol the server chose, checked as websockets does (RFC 6455 4.1): picows does not check it."""
    if not values:
        return None
    if not offered:
        raise Refused("no subprotocols supported")
    chosen = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if len(chosen) != 1:
        raise Refused(f"invalid Sec-WebSocket-Protocol header: multiple values: {', '.join(chosen)}")
    if chosen[0] not in offered:
        raise Refused(f"unsupported subprotocol: {chosen[0]}")
    return chosen[0]


def _accept(request: WSUpgradeRequest, response: WSUpgradeResponse, options: ConnectOptions) -> Listener:
    """picows' listener factory: it runs on a valid 101, and what it raises fails the handshake.

    picows checked the status, Upgrade, Connection and Sec-WebSocket-Accept; the
    extensions and then the subprotocol are checked here, in websockets' order.
    """
    try:
        agreement = deflate.negotiate(response.headers.getall("Sec-WebSocket-Extensions", []), options.compression)
    except deflate.NegotiationError as exc:
        raise Refused(str(exc)) from None
    subprotocol = _subprotocol(response.headers.getall("Sec-WebSocket-Protocol", []), options.subprotocols)
    return Listener(request, response, options, agreement, subprotocol)


def _request_headers(
    uri: WebSocketURI, headers: list[tuple[str, str]], options: ConnectOptions
) -> list[tuple[str, str]]:
    """What follows picows' own lines (Host, Upgrade, Connection, Version, Key) in the upgrade request.

    Host replaces picows' (which would keep the URL's userinfo and default port), built
    as websockets builds it; then what websockets also sends, and the scenario's headers.
    """
    extra = [("Host", build_host(uri.host, uri.port, uri.secure))]
    if uri.user_info is not None:
        extra.append(("Authorization", build_authorization_basic(*uri.user_info)))
    if options.compression:
        extra.append(("Sec-WebSocket-Extensions", deflate.OFFER))
    if options.subprotocols:
        extra.append(("Sec-WebSocket-Protocol", ", ".join(options.subprotocols)))
    extra += headers
    if not any(name.lower() == "user-agent" for name, _ in headers):
        extra.append(("User-Agent", USER_AGENT))
    return extra


class _Socket:
    """The TCP connection of one handshake, made by us so that a timeout or Ctrl-C can end it.

    Cancelling picows' ws_connect while it waits for the 101 leaves its transport
    open (picows 2.3 aborts it only on its proxy path). Shutting the socket down
    makes the transport read EOF and close itself.
    """

    def __init__(self) -> None:
        self.sock: socket.socket | None = None

    async def connect(self, target: WSParsedURL) -> socket.socket:
        """picows' socket factory: each address in turn, as loop.create_connection does."""
        loop = asyncio.get_running_loop()
        errors: list[OSError] = []
        for family, address in await _addresses(loop, target.host, target.port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
            except OSError as exc:
                sock.close()
                errors.append(exc)
                continue
            except BaseException:
                sock.close()
                raise
            self.sock = sock
            return sock
        if not errors:
            raise OSError("getaddrinfo() returned empty list")
        if len({str(exc) for exc in errors}) == 1:
            raise errors[0]
        raise OSError(f"Multiple exceptions: {', '.join(str(exc) for exc in errors)}")

    def end(self) -> None:
        if self.sock is not None and self.sock.fileno() != -1:
            with contextlib.suppress(OSError):  # not connected, or already closed by the transport
                self.sock.shutdown(socket.SHUT_RDWR)


async def _addresses(loop: asyncio.AbstractEventLoop, host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    """Where to connect: an IP address as it is (no resolver thread), a name through getaddrinfo."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [(family, address) for family, _, _, _, address in found]
    return [(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, (host, port))]


async def _handshake(
    uri: WebSocketURI, headers: list[tuple[str, str]], options: ConnectOptions
) -> tuple[WSTransport, Listener]:
    """One opening handshake, without following redirects; picows' exceptions as they come."""
    host = f"[{uri.host}]" if ":" in uri.host else uri.host
    url = f"{'wss' if uri.secure else 'ws'}://{host}:{uri.port}{uri.resource_name}"
    tcp = _Socket()
    try:
        transport, listener = await ws_connect(
            lambda request, response: _accept(request, response, options),
            url,
            ssl_context=options.ssl,
            websocket_handshake_timeout=None,  # connect_timeout bounds the whole opening
            logger_name=QUIET,
            enable_auto_ping=False,
            enable_auto_pong=False,  # we answer pings, so that the session sees them
            max_frame_size=options.max_message_size,
            extra_headers=_request_headers(uri, headers, options),
            max_redirects=0,  # followed by _open, as websockets follows them
            socket_factory=tcp.connect,
            # aiofastnet (picows' default when installed) reports TLS failures in other words
            # and prints a logging error to stderr when a wss:// server speaks plain TCP.
            use_aiofastnet=False,
            # picows starts every connection with a 16 KiB read buffer; held sessions rarely need
            # more than a small one, and the buffer grows (doubling) when a message needs it.
            read_buffer_init_size=READ_BUFFER_START,
        )
    except BaseException:
        tcp.end()
        raise
    if listener is None:  # picows returns no listener when TCP closes before any answer
        raise Refused("the server closed the connection without answering the upgrade request")
    assert isinstance(listener, Listener)
    return transport, listener


def _location(exc: WSHandshakeError) -> str | None:
    """Where a refusal redirects to, if it is a redirect websockets would follow."""
    response = exc.response
    if response is None or int(response.status) not in REDIRECTS:
        return None
    return response.headers.get("Location")


async def _open(options: ConnectOptions) -> tuple[WSTransport, Listener]:
    """The opening handshake, following redirects with websockets' rules and limit."""
    url = options.url
    uri = parse_uri(url)
    headers = list(options.headers.items())
    for _ in range(MAX_REDIRECTS):
        try:
            return await _handshake(uri, headers, options)
        except WSHandshakeError as exc:
            location = _location(exc)
            if location is None:
                raise
        url = urljoin(url, location)
        target = parse_uri(url)
        if uri.secure and not target.secure:
            raise Refused(f"cannot follow redirect to non-secure URI {url}")
        if (uri.secure, uri.host, uri.port) != (target.secure, target.host, target.port):
            # Credentials stay with their origin.
            headers = [
                (k, v) for k, v in headers if k.lower() not in ("authorization", "cookie", "proxy-authorization")
            ]
        uri = target
    raise Refused(f"more than {MAX_REDIRECTS} redirects")


def _status_line(raw_header: bytes | None) -> tuple[int, str] | None:
    """Status and reason phrase as the server wrote them: picows keeps only http.HTTPStatus, or nothing (499)."""
    parts = (raw_header or b"").split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not (parts[1].isdigit() and len(parts[1]) == 3):
        return None
    return int(parts[1]), parts[2].decode("latin-1") if len(parts) == 3 else ""


def _raw_headers(raw_header: bytes) -> dict[str, str]:
    headers = {}
    for line in raw_header.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    return headers


def _handshake_error(exc: WSHandshakeError) -> ConnectFailed:
    """picows' handshake errors in the websockets transport's words."""
    status = _status_line(exc.raw_header)
    if status is not None and status[0] != 101:
        code, phrase = status
        return ConnectFailed(
            f"handshake failed: server answered HTTP {code} {phrase}".rstrip(),
            status=code,
            headers=_raw_headers(exc.raw_header or b""),
            # Only the body bytes that came with the head: picows does not read on.
            body=(exc.raw_body or b"").decode("utf-8", errors="replace"),
        )
    if isinstance(exc, WSInvalidHeaderError):
        if exc.value is None:
            return ConnectFailed(f"handshake failed: missing {exc.name} header")
        return ConnectFailed(f"handshake failed: invalid {exc.name} header: {exc.value}")
    return ConnectFailed("handshake failed: did not receive a valid HTTP response")


async def open_picows(options: ConnectOptions) -> PicowsConnection:
    """Open a connection on picows and complete the handshake within connect_timeout, or raise ConnectFailed."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(options.connect_timeout):
            transport, listener = await _open(options)
    except WSHandshakeError as exc:
        raise _handshake_error(exc) from exc
    except Refused as exc:
        raise ConnectFailed(f"handshake failed: {exc}") from exc
    except Exception as exc:  # URL, timeout, TLS, DNS, TCP: the same words as the websockets transport
        raise translate_error(exc, options) from exc
    return PicowsConnection(transport, listener, time.perf_counter() - started)
