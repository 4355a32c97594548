"""Which network addresses the crawler may connect to.

The crawler follows URLs found on hostile pages, so by default it refuses every address
that is not globally routable: loopback, private (RFC 1918, ULA), link-local (which holds
the cloud metadata service 169.254.169.254), carrier-grade NAT, multicast, reserved and
unspecified addresses, and IPv4 mapped into IPv6. Tests and the local demo opt in to
exactly the networks they need through an allow-list.

This module is the one address rule: the crawler's guard and resolver, the browser's
proxy, the review app's image proxy and the re-checks (``notices/fetch.py``) all ask
:func:`forbidden_reason`. IPv6 ranges that carry or reach IPv4 are decided deliberately,
not by whatever ``ipaddress`` flags them as in this Python version:

- IPv4-mapped ``::ffff:0:0/96`` and NAT64's well-known prefix ``64:ff9b::/96`` (what
  DNS64 answers on an IPv6-only network) are judged by the IPv4 address they embed;
- 6to4 ``2002::/16`` (deprecated, RFC 7526; a relay reaches the embedded IPv4 on our
  behalf), Teredo ``2001::/32``, local-use NAT64 ``64:ff9b:1::/48`` (RFC 8215: where it
  leads depends on the operator), IPv4-compatible ``::/96`` (deprecated, RFC 4291),
  IPv4-translated ``::ffff:0:0:0/96`` and site-local ``fec0::/10`` (deprecated, RFC
  3879; still routed inside some networks) are refused as whole ranges.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Named explicitly even where is_private/is_link_local already cover them, so that a
# reader sees the metadata endpoints are meant.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Refused whole, in this order (a more specific name first); see the module docstring.
_IPV6_RANGES = tuple(
    (ipaddress.ip_network(cidr), reason)
    for cidr, reason in (
        ("2002::/16", "6to4 address"),
        ("2001::/32", "Teredo address"),
        ("64:ff9b:1::/48", "local-use NAT64 address"),
        ("::ffff:0:0:0/96", "IPv4-translated address"),
        ("::/96", "IPv4-compatible address"),
        ("fec0::/10", "site-local address"),
    )
)


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDR strings such as ``127.0.0.1/32``; raise ValueError for a malformed one."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def forbidden_reason(address: str | Address, allowed: Iterable[Network] = ()) -> str | None:
    """Why the crawler must not connect to ``address``, or None if it may.

    An address inside an ``allowed`` network is always permitted (the opt-in). A string
    that is not an IP address is refused.
    """
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return f"not an IP address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed):
        return None
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            reason = forbidden_reason(embedded, allowed)
            return f"NAT64 address of {embedded}, {reason}" if reason else None
        if not ip.is_loopback and not ip.is_unspecified:  # ::1 and :: keep their names
            for network, name in _IPV6_RANGES:
                if ip in network:
                    return name
    for reason, flag in (
        ("loopback address", ip.is_loopback),
        ("link-local address", ip.is_link_local),
        ("unspecified address", ip.is_unspecified),
        ("multicast address", ip.is_multicast),
        ("private address", ip.is_private),
        ("reserved address", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    ):
        if flag:
            return reason
    return None
