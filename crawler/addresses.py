"""Which network addresses the crawler may connect to.

The crawler follows URLs found on hostile pages, so by default it refuses every address
that is not globally routable: loopback, private (RFC 1918, ULA), link-local (which holds
the cloud metadata service 169.254.169.254), carrier-grade NAT, multicast, reserved and
unspecified addresses, and IPv4 mapped into IPv6. Tests and the local demo opt in to
exactly the networks they need through an allow-list.
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
