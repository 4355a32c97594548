"""Downloader middleware that refuses requests to forbidden addresses before any I/O.

Every request (pages, images, robots.txt, each redirect hop: Scrapy's redirect middleware
hands each hop back to the scheduler, so it passes here again) is checked: the scheme
must be http(s) and a host that is an IP literal must not be forbidden by
:func:`crawler.addresses.forbidden_reason`. Host *names* are checked where they are
resolved, at connect time, by :class:`crawler.resolver.GuardedResolver` (Scrapy's own
downloads) and :class:`crawler.proxy.GuardedProxy` (everything the browser loads), so
the address checked is the address connected to. Settings: ``RADAR_ALLOWED_NETWORKS``
(CIDR list, the opt-in for tests and the local demo).

No HTTP proxy, ever: a proxy is handed host *names* unresolved, so the address rule
would never see where a request goes. :func:`crawler.settings.crawl_settings` switches
Scrapy's proxy middleware off (``HTTPPROXY_ENABLED = False``), so ``http_proxy`` /
``https_proxy`` in the environment are ignored (with one WARNING per crawl); a crawler
configured with the middleware on refuses to start, and a request that names a proxy
in its ``meta`` is refused.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

from scrapy.exceptions import IgnoreRequest

from crawler.addresses import Network, forbidden_reason, parse_networks

log = logging.getLogger(__name__)


class ProxyConfigured(Exception):
    """The crawler was configured to send requests through an HTTP proxy."""


class AddressGuardMiddleware:
    def __init__(self, stats: Any, allowed: tuple[Network, ...]) -> None:
        self.stats = stats
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Any) -> AddressGuardMiddleware:
        if crawler.settings.getbool("HTTPPROXY_ENABLED"):
            raise ProxyConfigured(
                "HTTPPROXY_ENABLED is on: a proxy would resolve names the address rule "
                "never sees; the crawler connects directly only"
            )
        proxies = {k: v for k, v in getproxies().items() if k in ("http", "https", "all")}
        if proxies:
            log.warning("ignoring the proxy environment (%s): crawls connect directly", proxies)
        allowed = parse_networks(crawler.settings.getlist("RADAR_ALLOWED_NETWORKS"))
        return cls(crawler.stats, allowed)

    def _refuse(self, request: Any, reason: str) -> None:
        self.stats.inc_value("radar/refused/address")
        log.info("refused %s: %s", request.url, reason)
        raise IgnoreRequest(f"refused {request.url}: {reason}")

    def process_request(self, request: Any, spider: Any = None) -> None:
        if request.meta.get("proxy"):
            self._refuse(request, "requests never go through a proxy")
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
