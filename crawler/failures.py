"""Why a fetch failed: one error type and one short vocabulary for every fetch path.

The guarded single fetch (:mod:`notices.fetch`, behind the review proxy, the notice
re-checks and ``security.txt``) raises only :class:`FetchError`; the crawler's re-check
(:mod:`radar.recheck`) names its Twisted/Scrapy failures with the same reasons through
:func:`reason_of`. A leaf module: it imports nothing of the project, nor Scrapy.

Reasons (stable: they are counted and stored in re-check details):

``bad_url``          not an http(s) URL, or no host / a bad port
``refused_address``  the host is (or resolves to) an address the address rule forbids
``no_such_host``     the name does not resolve
``connection``       refused, reset, closed before an answer, unreachable
``tls``              the TLS handshake or the certificate failed
``timeout``          the request's one overall deadline passed
``not_http``         the answer is not HTTP (a banner, a broken status line or header)
``too_large``        a body, a header block or a decompressed body over its cap
``incomplete``       fewer body bytes than the Content-Length promised
``redirects``        more redirects than allowed (a loop)
``encoding``         a Content-Encoding that was not asked for and cannot be undone
"""

from __future__ import annotations

import http.client
import socket
import ssl

REASONS = (
    "bad_url",
    "refused_address",
    "no_such_host",
    "connection",
    "tls",
    "timeout",
    "not_http",
    "too_large",
    "incomplete",
    "redirects",
    "encoding",
)


class FetchError(Exception):
    """A fetch that gave no usable answer. ``reason`` is one of :data:`REASONS`;
    ``str(exc)`` is a short human detail (never any body bytes)."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown fetch error reason {reason!r}")
        super().__init__(message)
        self.reason = reason

    @property
    def detail(self) -> str:
        """``reason: message``, what callers store and show."""
        return f"{self.reason}: {self}"


# Twisted / Scrapy failure classes by name, so this module needs neither installed.
_BY_NAME = {
    "DNSLookupError": "no_such_host",
    "CannotResolveHostError": "no_such_host",
    "ForbiddenAddressError": "refused_address",
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "UserTimeoutError": "timeout",
    "ConnectionRefusedError": "connection",
    "ConnectionLost": "connection",
    "ConnectionDone": "connection",
    "ConnectError": "connection",
    "NoRouteError": "connection",
    "ResponseNeverReceived": "connection",
    "ParseError": "not_http",
    "BadStatusLine": "not_http",
    "SSLError": "tls",
    "Error": "tls",  # OpenSSL.SSL.Error
    "_DataLoss": "incomplete",
    "PotentialDataLoss": "incomplete",
    "ResponseDataLossError": "incomplete",
    "DownloadTimeoutError": "timeout",
    "DownloadConnectionRefusedError": "connection",
}


def reason_of(exc: BaseException) -> str:
    """The :data:`REASONS` entry for any exception a fetch can end with (stdlib socket,
    ssl and http.client errors, Twisted and Scrapy download failures). Unknown ones are
    ``connection``: the host gave no usable answer."""
    if isinstance(exc, FetchError):
        return exc.reason
    if isinstance(exc, http.client.InvalidURL | UnicodeError):
        return "bad_url"
    if isinstance(exc, http.client.RemoteDisconnected):  # also a BadStatusLine
        return "connection"
    if isinstance(exc, http.client.IncompleteRead):
        return "incomplete"
    if isinstance(exc, http.client.LineTooLong) or (
        isinstance(exc, http.client.HTTPException) and "more than" in str(exc)
    ):
        return "too_large"
    if isinstance(exc, http.client.HTTPException):
        return "not_http"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, socket.gaierror):
        return "no_such_host"
    if isinstance(exc, OSError):
        return "connection"
    nested = getattr(exc, "reasons", None)  # twisted.web ResponseFailed: a list of failures
    if nested:
        inner = getattr(nested[0], "value", nested[0])
        if isinstance(inner, BaseException):
            return reason_of(inner)
    name = type(exc).__name__
    if name not in _BY_NAME and exc.__cause__ is not None:  # Scrapy's DownloadFailedError
        return reason_of(exc.__cause__)
    return _BY_NAME.get(name, "connection")


def as_fetch_error(exc: BaseException) -> FetchError:
    """``exc`` as a :class:`FetchError` (itself if it is one already)."""
    if isinstance(exc, FetchError):
        return exc
    text = str(exc).strip() or type(exc).__name__
    return FetchError(reason_of(exc), f"{type(exc).__name__}: {text[:200]}")
