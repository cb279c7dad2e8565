"""`http_request` nodes' outbound calls: public addresses only, a size cap and one deadline per call.

The URL of an `http_request` node is chosen by a tenant (and may hold variables a customer typed), yet the
call leaves from inside our network, so it must not reach what only we can: loopback, private ranges,
link-local (the cloud metadata service at 169.254.169.254), IPv6 loopback/ULA/link-local, IPv4 embedded in
IPv6. Each hop's host is resolved once, every address it resolves to is checked, and the connection is
made to the checked address (the Host header and TLS SNI/certificate check keep the name), so a DNS answer
that changes between the check and the connect (rebinding) cannot slip an internal address in. Redirects
are followed here, each hop checked like the first. The body is read in chunks and given up past
`MAX_BODY`; a watchdog closes the socket when the node's timeout has passed, so a server that drips its
headers or body cannot hold a worker longer than that. `HTTP_REQUEST_ALLOW_PRIVATE` (`1`, or a list of
networks) lifts the address check for tests and self-hosted integrations on a private network.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json as jsonlib
import re
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import certifi
import idna
import urllib3
from flask import current_app, has_app_context
from urllib3 import HTTPHeaderDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import LocationParseError
from urllib3.util import make_headers, parse_url

from flows.services import HttpResult

MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 5
MAX_SECONDS = 30.0
MAX_TEXT = 10_000
REDIRECTS = (301, 302, 303, 307, 308)
# Sent again to another host only when the redirect stays on the same origin (as requests does).
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")
# Set from the URL and the body, whatever a node's headers say.
_OURS = ("host", "content-length", "transfer-encoding")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """The call is not made (or not continued); the message is the node's error text."""


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` may not be called from an `http_request` node, or None for a public unicast address.
    IPv4 carried inside IPv6 (mapped, NAT64, 6to4) is judged by the IPv4 address it leads to."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return address_problem(inner)
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_multicast or ip.is_unspecified or not ip.is_global:
        return "a private or reserved address"
    return None


class _Deadline:
    """One deadline for a whole call (resolving, connecting, every redirect, headers and body): when it
    passes, the connection in use is shut down, which ends any read blocked on a slow server."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._conn: HTTPConnection | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def left(self) -> float:
        remaining = self.at - time.monotonic()
        if remaining <= 0 or self.expired:
            raise Refused(self.message())
        return remaining

    def message(self) -> str:
        return f"no complete answer within {self.seconds:g} s (the node's timeout)"

    def watch(self, conn: HTTPConnection | None) -> None:
        with self._lock:
            self._conn = conn
            expired = self.expired
        if expired and conn is not None:
            _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            conn = self._conn
        if conn is not None:
            _shut(conn)


def _shut(conn: HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _resolve(host: str, port: int, deadline: _Deadline) -> list[Any]:
    """getaddrinfo in a daemon thread: it cannot be interrupted, and the deadline bounds a slow resolver."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, name="http-request-dns", daemon=True)
    thread.start()
    thread.join(deadline.left())
    if thread.is_alive():
        raise Refused(deadline.message())
    if "error" in box:
        raise Refused(f"cannot resolve {host}: {box['error']}")
    return box["infos"]


def _ascii_host(host: str) -> str:
    try:
        return host.encode("ascii").decode()
    except UnicodeEncodeError:
        try:
            return idna.encode(host, uts46=True).decode()
        except idna.IDNAError as exc:
            raise Refused(f"bad host name {host!r}: {exc}") from None


class RequestsHttp:
    """`Services.http` for tenants with the `integrations` feature (see the module docstring).

    `allow_private`: False (public addresses only), True (any address) or the networks that may be called
    besides public addresses; None reads the app's `HTTP_REQUEST_ALLOW_PRIVATE` (False outside an app)."""

    def __init__(self, allow_private: bool | Iterable[IPNetwork] | None = None) -> None:
        if allow_private is None:
            allow_private = has_app_context() and current_app.config.get("HTTP_REQUEST_ALLOW_PRIVATE") or False
        self.allow_any = allow_private is True
        self.allowed: tuple[IPNetwork, ...] = () if isinstance(allow_private, bool) else tuple(allow_private)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why this client may not call `ip`, or None."""
        if self.allow_any:
            return None
        problem = address_problem(ip)
        if problem and any(ip in net for net in self.allowed if net.version == ip.version):
            return None
        return problem

    def request(self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None,
                timeout: float = 10.0) -> HttpResult:
        if not url.lower().startswith(("http://", "https://")):
            return HttpResult(status=0, error="only http(s) URLs are allowed")
        deadline = _Deadline(min(max(float(timeout), 0.1), MAX_SECONDS))
        try:
            body = None if json is None else jsonlib.dumps(json, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            return HttpResult(status=0, error=f"the body is not valid JSON: {exc}")
        sent = {str(k): str(v) for k, v in (headers or {}).items()}
        if body is not None and not any(k.lower() == "content-type" for k in sent):
            sent["Content-Type"] = "application/json"
        try:
            with deadline:
                return self._follow(method.upper(), url, body, sent, deadline)
        except Refused as exc:
            return HttpResult(status=0, error=str(exc))
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError) as exc:
            if deadline.expired:
                return HttpResult(status=0, error=deadline.message())
            if isinstance(exc, ValueError):  # e.g. a header value with a line break
                return HttpResult(status=0, error=f"bad request: {str(exc)[:200]}")
            return HttpResult(status=0, error=f"{exc.__class__.__name__}: request failed")

    def _follow(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                deadline: _Deadline) -> HttpResult:
        origin = None
        for hop in range(MAX_REDIRECTS + 1):
            try:
                parts = parse_url(url)
            except LocationParseError:
                raise Refused(f"bad URL {url!r}") from None
            if parts.scheme not in ("http", "https") or not parts.host:
                raise Refused(f"only http(s) URLs are allowed (got {url!r})")
            here = (parts.scheme, parts.host, parts.port)
            if origin is not None and here != origin:
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            origin = here
            status, location, result = self._once(method, parts, body, headers, deadline)
            if status not in REDIRECTS or not location:
                return result
            if hop == MAX_REDIRECTS:
                raise Refused(f"more than {MAX_REDIRECTS} redirects")
            url = urljoin(url, location)
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = ("GET" if method != "HEAD" else method), None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        raise AssertionError("unreachable")

    def _addresses(self, host: str, port: int, deadline: _Deadline) -> list[str]:
        """Every address `host` resolves to, all checked (one internal address refuses the name)."""
        bare = host.strip("[]")
        try:
            literal: list[IPAddress] | None = [ipaddress.ip_address(bare)]
        except ValueError:
            literal = None
        if literal is None:
            infos = _resolve(_ascii_host(bare), port, deadline)
            found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
            resolved: list[IPAddress] = list(dict.fromkeys(found))
        else:
            resolved = literal
        for ip in resolved:
            problem = self.refusal(ip)
            if problem:
                named = f"{bare} resolves to {ip}, " if literal is None else f"{ip} is "
                raise Refused(f"refused: {named}{problem}; an HTTP request may only call public addresses")
        return [str(ip) for ip in resolved]

    def _once(self, method: str, parts: Any, body: bytes | None, headers: dict[str, str],
              deadline: _Deadline) -> tuple[int, str | None, HttpResult]:
        """One request to the checked address; (status, Location, result)."""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        host = _ascii_host(parts.host.strip("[]"))
        addresses = self._addresses(parts.host, port, deadline)
        host_header = f"[{host}]" if ":" in host else host
        if parts.port and parts.port != (443 if https else 80):
            host_header += f":{parts.port}"
        sent = HTTPHeaderDict({"User-Agent": "TemoWeb-Bots http_request", "Accept": "*/*",
                               "Accept-Encoding": "gzip, deflate"})
        if parts.auth:
            sent.update(make_headers(basic_auth=parts.auth))
        sent.update({k: v for k, v in headers.items() if k.lower() not in _OURS})
        sent["Host"] = host_header
        last_error: Exception | None = None
        for address in addresses:
            conn: HTTPConnection
            if https:
                conn = HTTPSConnection(address, port, timeout=deadline.left(), server_hostname=host,
                                       assert_hostname=host, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
            else:
                conn = HTTPConnection(address, port, timeout=deadline.left())
            try:
                deadline.watch(conn)
                try:
                    conn.connect()
                except OSError as exc:  # try the name's next checked address
                    last_error = exc
                    continue
                conn.request(method, parts.request_uri, body=body, headers=sent, preload_content=False)
                response = conn.getresponse()
                if response.status in REDIRECTS:
                    return response.status, response.headers.get("Location"), HttpResult(status=response.status)
                return response.status, None, _result(response, deadline)
            finally:
                deadline.watch(None)
                conn.close()
        if last_error is None:
            raise Refused(f"cannot resolve {parts.host}")
        raise last_error


def _result(response: Any, deadline: _Deadline) -> HttpResult:
    """The body, read in chunks up to MAX_BODY (decoded: a small gzip cannot inflate past it)."""
    too_big = HttpResult(status=response.status, error=f"the response is larger than {MAX_BODY // 1024} KB")
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        return too_big
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            return too_big
        chunks.append(chunk)
    if deadline.expired:  # a body without a length ends when the watchdog shuts the socket: not complete
        raise Refused(deadline.message())
    raw = b"".join(chunks)
    try:
        return HttpResult(status=response.status, body=jsonlib.loads(raw))
    except ValueError:
        pass
    charset = _CHARSET.search(response.headers.get("Content-Type") or "")
    try:
        text = raw.decode(charset.group(1) if charset else "utf-8", errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    return HttpResult(status=response.status, body=text[:MAX_TEXT])
