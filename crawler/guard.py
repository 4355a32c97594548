"""Downloader middleware that refuses requests to forbidden addresses.

Every request (pages, images, robots.txt, each redirect hop) passes through it: the host
is resolved and the request is refused if any address it resolves to is forbidden by
:func:`crawler.addresses.forbidden_reason`. Settings: ``RADAR_ALLOWED_NETWORKS`` (CIDR
list, the opt-in for tests and the local demo).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.addresses import Network, forbidden_reason, parse_networks

log = logging.getLogger(__name__)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class AddressGuardMiddleware:
    def __init__(self, stats: Any, allowed: tuple[Network, ...]) -> None:
        self.stats = stats
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Any) -> AddressGuardMiddleware:
        allowed = parse_networks(crawler.settings.getlist("RADAR_ALLOWED_NETWORKS"))
        return cls(crawler.stats, allowed)

    def _refuse(self, request: Any, reason: str) -> None:
        self.stats.inc_value("radar/refused/address")
        log.info("refused %s: %s", request.url, reason)
        raise IgnoreRequest(f"refused {request.url}: {reason}")

    def _check(self, request: Any, addresses: list[str]) -> None:
        for address in addresses:
            reason = forbidden_reason(address, self.allowed)
            if reason:
                self._refuse(request, f"{urlsplit(request.url).hostname} is {address}, {reason}")

    async def process_request(self, request: Any, spider: Any = None) -> None:
        parts = urlsplit(request.url)
        host = parts.hostname
        if not host or parts.scheme not in ("http", "https"):
            self._refuse(request, "not an http(s) URL with a host")
            return
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            self._check(request, [host])
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await maybe_deferred_to_future(deferToThread(_resolve, host, port))
        except OSError as exc:
            self.stats.inc_value("radar/errors/dns")
            raise IgnoreRequest(f"cannot resolve {host}: {exc}") from None
        self._check(request, addresses)
