"""The DNS resolver Scrapy connects through: it refuses forbidden addresses at connect time.

Installed as ``TWISTED_DNS_RESOLVER`` (:func:`crawler.settings.crawl_settings`), as the
reactor's name resolver (``IHostnameResolver``, so an IPv6 answer is connected to over
IPv6) and its simple resolver, so the address Twisted connects to is the very address
that was checked: there is no second lookup a DNS-rebinding host could answer
differently (the gap of checking in a middleware and letting Twisted resolve again).
Both families are asked (A and AAAA, in the system's preference order); the first
answer is pinned. A name whose answers include any forbidden address is refused as a
whole, because which answer a client picks is not ours to predict; each refusal logs
one WARNING line (no traceback). Only allowed answers are cached, for
``RADAR_DNS_CACHE_SECONDS``.

Settings (read from the process settings, as Scrapy builds resolvers per process):
``RADAR_ALLOWED_NETWORKS`` (the CIDR opt-in of tests and the demo) and ``DNS_TIMEOUT``.
IP literals never reach a resolver; :mod:`crawler.guard` checks them.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet import defer, threads
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IHostResolution, IResolverSimple
from zope.interface import implementer  # type: ignore[import-untyped]

from crawler.addresses import Network, forbidden_reason, parse_networks

Lookup = Callable[[str], list[str]]

log = logging.getLogger(__name__)


class ForbiddenAddressError(Exception):
    """A host resolved to an address the crawler must not connect to."""


def refusal(host: str | None) -> str | None:
    """Why the installed resolver refused ``host`` most recently, or None. Twisted turns
    a resolver's failure into a plain DNS error on the way up, so the spider (to count a
    refusal, not a DNS error) and the retry middleware (not to retry it) ask here."""
    from twisted.internet import reactor

    refused = getattr(getattr(reactor, "nameResolver", None), "refused", None)
    return refused.get(host) if refused is not None and host else None


def system_lookup(host: str) -> list[str]:
    """Every IPv4 and IPv6 address of ``host`` from the system resolver, in its order of
    preference (RFC 6724: a family this host cannot reach sorts last); blocks."""
    infos = socket.getaddrinfo(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).partition("%")[0] for info in infos))


def stub_lookup(answers: dict[str, list[str]]) -> Lookup:
    """A lookup that answers from ``answers`` only (tests: no real DNS is ever asked);
    an unknown name fails like a name that does not exist."""

    def lookup(host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]  # a literal answers for itself
        except ValueError:
            pass
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the stub")
        return list(answers[host])

    return lookup


def check_addresses(host: str, addresses: Sequence[str], allowed: Sequence[Network]) -> str:
    """The address to connect to for ``host`` (the first one); raise
    :class:`ForbiddenAddressError` if any answer is forbidden, DNSLookupError if none."""
    if not addresses:
        raise DNSLookupError(f"{host} has no address")
    for address in addresses:
        reason = forbidden_reason(address, allowed)
        if reason:
            raise ForbiddenAddressError(f"{host} is {address}, {reason}")
    return addresses[0]


@implementer(IResolverSimple, IHostnameResolver)
class GuardedResolver:
    """Resolves in Twisted's thread pool, checks every answer, pins the first."""

    def __init__(
        self,
        reactor: Any,
        allowed: Sequence[Network] = (),
        timeout: float = 30.0,
        cache_seconds: float = 60.0,
        lookup: Lookup = system_lookup,
    ) -> None:
        self.reactor = reactor
        self.allowed = tuple(allowed)
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.lookup = lookup
        self._cache: dict[str, tuple[float, str]] = {}
        self.refused: dict[str, str] = {}  # host -> reason, see refusal()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        settings = crawler.settings
        stub = settings.getdict("RADAR_DNS_STUB")  # tests: {host: [addresses]}, no real DNS
        return cls(
            reactor,
            parse_networks(settings.getlist("RADAR_ALLOWED_NETWORKS")),
            timeout=settings.getfloat("DNS_TIMEOUT", 30.0),
            cache_seconds=settings.getfloat("RADAR_DNS_CACHE_SECONDS", 60.0),
            lookup=stub_lookup(stub) if stub else system_lookup,
        )

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)
        self.reactor.installNameResolver(self)  # after: it wraps whatever came before

    def resolve_now(self, name: str) -> str:
        """The checked address for ``name`` (blocking; the cache first)."""
        cached = self._cache.get(name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            answers = self.lookup(name)
        except OSError as exc:  # gaierror: Scrapy retries DNS errors, and counts them
            raise DNSLookupError(f"{name}: {exc}") from None
        try:
            address = check_addresses(name, answers, self.allowed)
        except ForbiddenAddressError as exc:
            if len(self.refused) > 10_000:
                self.refused.clear()
            self.refused[name] = str(exc)
            log.warning("refused to connect: %s", exc)
            raise
        self.refused.pop(name, None)
        if self.cache_seconds > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[name] = (time.monotonic() + self.cache_seconds, address)
        return address

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        cached = self._cache.get(name)
        if cached is not None and cached[0] > time.monotonic():
            return defer.succeed(cached[1])
        d = threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), self.resolve_now, name
        )
        return d.addTimeout(self.timeout, self.reactor)

    def resolveHostName(
        self,
        resolutionReceiver: Any,  # IResolutionReceiver (zope interfaces are not typed)
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[Any]] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        """``IHostnameResolver``: hands the receiver the one checked address, as IPv4 or
        IPv6, or none (a refusal or a failed lookup: the endpoint then fails with a DNS
        error, which the spider counts as a refusal when :func:`refusal` names it)."""
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def resolved(address: str) -> None:
            kind = IPv6Address if ":" in address else IPv4Address
            if addressTypes is None or kind in addressTypes:
                resolutionReceiver.addressResolved(kind("TCP", address, portNumber))

        def failed(failure: Any) -> None:
            if not failure.check(ForbiddenAddressError):  # refusals logged by resolve_now
                log.info("cannot resolve %s: %s", hostName, failure.getErrorMessage())

        def complete(_: object) -> None:
            resolutionReceiver.resolutionComplete()

        self.getHostByName(hostName).addCallbacks(resolved, failed).addBoth(complete)
        return resolution


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        pass  # the lookup runs to its timeout in the thread pool; its answer is dropped
