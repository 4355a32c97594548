"""One guarded HTTP fetch of a live URL, for the image proxy, re-checks and security.txt.

Every hop (the first request and each redirect) is resolved once, every address is
checked with :func:`crawler.addresses.forbidden_reason`, and the connection is made to
the address that was checked (the Host header and TLS SNI still name the host), so a
DNS-rebinding host cannot answer differently between the check and the connect. The
body is read into memory up to a byte cap and never written anywhere.

A request has one deadline, ``timeout`` seconds from the call, across every hop, the
connect, the TLS handshake, the headers and the body: before each socket operation the
socket's timeout is set to the time left, so a host that drips one byte at a time cannot
stretch it (name resolution is the system resolver's and not under the deadline).
Every failure -- a refusal, a timeout, a broken or non-HTTP answer, a body
over the cap -- is one :class:`crawler.failures.FetchError` with a ``reason``.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.addresses import Network, forbidden_reason, parse_networks
from crawler.failures import FetchError, as_fetch_error
from hashing.decode import DecodeLimits

USER_AGENT = "ReuploadRadar/0.1 (+takedown notice tracking)"
MAX_REDIRECTS = 5
# Content-Encodings undone (within the byte cap) although only identity is asked for:
# some hosts and CDNs compress anyway.
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}

# The old name of FetchError, for callers not yet renamed (notices/contacts.py).
FetchRefused = FetchError


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # the final URL after redirects
    status: int
    content_type: str
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Fetcher:
    """Fetches with the crawler's address rules. ``allowed`` is the explicit opt-in for
    tests and the local demo (e.g. ``127.0.0.1/32``). ``timeout`` is the whole request's
    deadline in seconds (redirects included)."""

    allowed: tuple[Network, ...] = ()
    max_bytes: int = DecodeLimits().max_bytes
    timeout: float = 10.0

    @classmethod
    def with_networks(cls, cidrs: Iterable[str], **kwargs: object) -> Fetcher:
        return cls(parse_networks(cidrs), **kwargs)  # type: ignore[arg-type]

    def _address(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchError("no_such_host", f"cannot resolve {host}: {exc}") from None
        addresses = sorted({str(info[4][0]) for info in infos})
        for address in addresses:
            reason = forbidden_reason(address, self.allowed)
            if reason:
                raise FetchError("refused_address", f"{host} is {address}, {reason}")
        return addresses[0]

    def get(self, url: str, method: str = "GET", max_bytes: int | None = None) -> FetchResult:
        """Fetch ``url`` following at most 5 redirects. Blocks for at most about
        ``timeout`` seconds in all. Raises :class:`FetchError` (and nothing else) when
        there is no usable answer; a body (or decoded body) over ``max_bytes`` is
        ``too_large``."""
        deadline = time.monotonic() + self.timeout
        cap = self.max_bytes if max_bytes is None else max_bytes
        try:
            for _ in range(MAX_REDIRECTS + 1):
                got = self._hop(url, method, cap, deadline)
                if isinstance(got, FetchResult):
                    return got
                url = got
        except Exception as exc:  # one error type for every way a host can fail us
            raise as_fetch_error(exc) from None
        raise FetchError("redirects", f"more than {MAX_REDIRECTS} redirects")

    def _hop(self, url: str, method: str, cap: int, deadline: float) -> FetchResult | str:
        """One request: the result, or the URL a redirect points to."""
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError("bad_url", f"bad port in {url[:200]!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad_url", f"not an http(s) URL: {url[:200]!r}")
        address = self._address(parts.hostname, port)
        conn = _connection(parts.scheme, parts.hostname, address, port, deadline)
        response = None
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
            conn.request(
                method,
                path,
                headers={
                    "Host": host_header,
                    "User-Agent": USER_AGENT,
                    "Accept": "*/*",
                    "Accept-Encoding": "identity",
                },
            )
            response = conn.getresponse()
            location = response.getheader("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                return urljoin(url, location)
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > cap:
                raise FetchError("too_large", f"{length} bytes is over the {cap} cap")
            body = b"" if method == "HEAD" else response.read(cap + 1)
            if method != "HEAD" and length and length.isdigit() and len(body) < int(length):
                raise FetchError("incomplete", f"{len(body)} of {length} bytes, then closed")
            body = _decoded(body, response.getheader("Content-Encoding", "") or "", cap)
            if len(body) > cap:
                raise FetchError("too_large", f"the body is over the {cap} byte cap")
            return FetchResult(
                url,
                response.status,
                response.getheader("Content-Type", "") or "",
                body,
            )
        finally:
            if response is not None:
                response.close()
            conn.close()


def _decoded(body: bytes, encoding: str, cap: int) -> bytes:
    """``body`` with its Content-Encoding undone; a decoded body over ``cap`` is
    ``too_large``. It inflates in steps of at most 1 MiB and never past ``cap + 1`` bytes
    in all, so a compression bomb costs about ``cap`` bytes of memory before it is refused."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in _DECODERS:
        raise FetchError("encoding", f"Content-Encoding {encoding[:40]!r} was not asked for")
    inflate = zlib.decompressobj(_DECODERS[encoding])
    parts, size, data = [], 0, body
    try:
        while data or not inflate.eof:
            part = inflate.decompress(data, min(1 << 20, cap + 1 - size))
            data = inflate.unconsumed_tail
            if not part:
                break
            parts.append(part)
            size += len(part)
            if size > cap:
                raise FetchError("too_large", f"the decoded body is over the {cap} byte cap")
    except zlib.error as exc:
        raise FetchError("encoding", f"broken {encoding} body: {exc}") from None
    return b"".join(parts)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the request's deadline passed")
    return left


class _DeadlineReader(io.RawIOBase):
    """Reads from a socket, each read allowed only the time left until the deadline."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._owner.sock.settimeout(_left(self._owner.deadline))
        return self._owner.sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.release()
        super().close()


class _DeadlineSocket:
    """The parts of a socket http.client uses, with every operation under the deadline.
    Like a real socket, closing it waits until the response's reader is closed too
    (http.client hands a ``Connection: close`` socket over to the response)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self._readers = 0
        self._closed = False

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(_left(self.deadline))
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def release(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self.sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self.sock.close()


def _connect(address: str, port: int, deadline: float) -> socket.socket:
    sock = socket.create_connection((address, port), _left(deadline))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _connection(
    scheme: str, host: str, address: str, port: int, deadline: float
) -> http.client.HTTPConnection:
    if scheme == "http":
        return _PinnedHTTP(address, port, deadline)
    return _PinnedHTTPS(address, port, host, deadline)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address under the deadline; the caller sets Host."""

    def __init__(self, address: str, port: int, deadline: float) -> None:
        super().__init__(address, port)
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = _DeadlineSocket(_connect(self.host, self.port, self._deadline), self._deadline)


class _PinnedHTTPS(http.client.HTTPConnection):
    """TLS to the checked address, with SNI and certificate checks for the host name;
    the handshake, too, under the deadline (CPython's ssl bounds each operation as a
    whole by the socket's timeout)."""

    default_port = 443

    def __init__(self, address: str, port: int, server_name: str, deadline: float) -> None:
        super().__init__(address, port)
        self._deadline = deadline
        self._server_name = server_name
        self._context = ssl.create_default_context()

    def connect(self) -> None:
        sock = _connect(self.host, self.port, self._deadline)
        try:
            sock.settimeout(_left(self._deadline))
            tls = self._context.wrap_socket(sock, server_hostname=self._server_name)
        except BaseException:
            sock.close()
            raise
        self.sock = _DeadlineSocket(tls, self._deadline)
