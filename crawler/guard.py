"""Downloader middleware that refuses requests to forbidden addresses before any I/O.

Every request (pages, images, robots.txt, each redirect hop: Scrapy's redirect middleware
hands each hop back to the scheduler, so it passes here again) is checked: the scheme
must be http(s) and a host that is an IP literal must not be forbidden by
:func:`crawler.addresses.forbidden_reason`. Host *names* are checked where they are
resolved, at connect time, by :class:`crawler.resolver.GuardedResolver` (Scrapy's own
downloads) and :class:`crawler.proxy.GuardedProxy` (everything the browser loads), so
the address checked is the address connected to. Settings: ``RADAR_ALLOWED_NETWORKS``
(CIDR list, the opt-in for tests and the local demo).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from crawler.addresses import Network, forbidden_reason, parse_networks

log = logging.getLogger(__name__)


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

    def process_request(self, request: Any, spider: Any = None) -> None:
        parts = urlsplit(request.url)
        host = parts.hostname
        if not host or parts.scheme not in ("http", "https"):
            self._refuse(request, "not an http(s) URL with a host")
            return
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return  # a name: checked when resolved (GuardedResolver, GuardedProxy)
        reason = forbidden_reason(address, self.allowed)
        if reason:
            self._refuse(request, f"{host} is {reason}")
