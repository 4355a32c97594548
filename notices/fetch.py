"""One guarded HTTP fetch of a live URL, for the image proxy, re-checks and security.txt.

Every hop (the first request and each redirect) is resolved once, every address is
checked with :func:`crawler.addresses.forbidden_reason`, and the connection is made to
the address that was checked (the Host header and TLS SNI still name the host), so a
DNS-rebinding host cannot answer differently between the check and the connect. The
body is read into memory up to a byte cap and never written anywhere.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from crawler.addresses import Network, forbidden_reason, parse_networks
from hashing.decode import DecodeLimits

USER_AGENT = "ReuploadRadar/0.1 (+takedown notice tracking)"
MAX_REDIRECTS = 5


class FetchRefused(Exception):
    """The URL may not be fetched (bad scheme, forbidden address, too big)."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # the final URL after redirects
    status: int
    content_type: str
    body: bytes = field(repr=False)
    truncated: bool = False  # the body hit the byte cap


@dataclass(frozen=True, slots=True)
class Fetcher:
    """Fetches with the crawler's address rules. ``allowed`` is the explicit opt-in for
    tests and the local demo (e.g. ``127.0.0.1/32``)."""

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
            raise FetchRefused(f"cannot resolve {host}: {exc}") from None
        addresses = sorted({str(info[4][0]) for info in infos})
        for address in addresses:
            reason = forbidden_reason(address, self.allowed)
            if reason:
                raise FetchRefused(f"{host} is {address}, {reason}")
        return addresses[0]

    def get(self, url: str, method: str = "GET", max_bytes: int | None = None) -> FetchResult:
        """Fetch ``url`` following at most 5 redirects; raise FetchRefused or OSError.
        Blocks for at most about ``timeout`` seconds per hop."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchRefused(f"not an http(s) URL: {url[:200]!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = self._address(parts.hostname, port)
            conn = _connection(parts.scheme, parts.hostname, address, port, self.timeout)
            try:
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
                conn.request(
                    method,
                    path,
                    headers={"Host": host_header, "User-Agent": USER_AGENT, "Accept": "*/*"},
                )
                response = conn.getresponse()
                location = response.getheader("Location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    url = urljoin(url, location)
                    continue
                length = response.getheader("Content-Length")
                if length and length.isdigit() and int(length) > cap:
                    raise FetchRefused(f"{length} bytes is over the {cap} cap")
                body = b"" if method == "HEAD" else response.read(cap + 1)
                return FetchResult(
                    url,
                    response.status,
                    response.getheader("Content-Type", "") or "",
                    body[:cap],
                    len(body) > cap,
                )
            finally:
                conn.close()
        raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")


def _connection(
    scheme: str, host: str, address: str, port: int, timeout: float
) -> http.client.HTTPConnection:
    if scheme == "http":
        return _PinnedHTTP(address, port, timeout=timeout)
    return _PinnedHTTPS(address, port, host, timeout=timeout)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; the Host header is set by the caller."""


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the checked address, with SNI and certificate checks for the host name."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)  # type: ignore[attr-defined]
