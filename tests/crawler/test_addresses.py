"""The forbidden-address rule, tested on addresses only: nothing here connects anywhere."""

from __future__ import annotations

import pytest

from crawler.addresses import forbidden_reason, parse_networks


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.8.9.10", "loopback address"),
        ("::1", "loopback address"),
        ("10.1.2.3", "private address"),
        ("172.16.0.1", "private address"),
        ("192.168.1.1", "private address"),
        ("fd12:3456::1", "private address"),
        ("169.254.169.254", "cloud metadata address"),
        ("169.254.1.1", "link-local address"),
        ("fe80::1", "link-local address"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("100.64.0.1", "not globally routable"),
        ("0.0.0.0", "unspecified address"),
        ("224.0.0.1", "multicast address"),
        ("240.0.0.1", "private address"),
        ("::ffff:127.0.0.1", "loopback address"),
        ("::ffff:10.0.0.1", "private address"),
        ("not-an-ip", "not an IP address: 'not-an-ip'"),
        # IPv6 ranges that reach IPv4 or private networks, decided on purpose (issue 12).
        ("2002:7f00:1::1", "6to4 address"),  # 6to4 of 127.0.0.1
        ("2002:5db8:d70e::1", "6to4 address"),  # 6to4 of a public address: still refused
        ("fec0::1", "site-local address"),
        ("feff:ffff::1", "site-local address"),
        ("64:ff9b::7f00:1", "NAT64 address of 127.0.0.1, loopback address"),
        ("64:ff9b::a00:1", "NAT64 address of 10.0.0.1, private address"),
        ("64:ff9b::a9fe:a9fe", "NAT64 address of 169.254.169.254, cloud metadata address"),
        ("64:ff9b:1::5db8:d70e", "local-use NAT64 address"),
        ("2001::1", "Teredo address"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo address"),
        ("::127.0.0.1", "IPv4-compatible address"),
        ("::5db8:d70e", "IPv4-compatible address"),
        ("::ffff:0:7f00:1", "IPv4-translated address"),
        ("::", "unspecified address"),
        ("::ffff:169.254.169.254", "cloud metadata address"),
        ("fc00::1", "private address"),
        ("ff02::1", "multicast address"),
        ("ff0e::1", "multicast address"),
        ("2001:db8::1", "private address"),  # documentation
        ("100::1", "private address"),  # discard-only
        ("192.0.2.1", "private address"),
        ("198.18.0.1", "private address"),
        ("255.255.255.255", "private address"),
    ],
)
def test_forbidden_addresses(address: str, reason: str) -> None:
    assert forbidden_reason(address) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
        "2001:4860:4860::8888",
        "::ffff:93.184.215.14",  # mapped: judged by the IPv4 address
        "64:ff9b::5db8:d70e",  # NAT64 (DNS64 on an IPv6-only network) of a public address
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(address) is None


def test_allow_list_is_an_exact_opt_in() -> None:
    allowed = parse_networks(["127.0.0.1/32"])
    assert forbidden_reason("127.0.0.1", allowed) is None
    assert forbidden_reason("127.0.0.2", allowed) == "loopback address"
    assert forbidden_reason("169.254.169.254", allowed) == "cloud metadata address"


def test_ipv6_opt_in_is_exact() -> None:
    allowed = parse_networks(["::1/128"])
    assert forbidden_reason("::1", allowed) is None
    assert forbidden_reason("127.0.0.1", allowed) == "loopback address"
    assert forbidden_reason("fec0::1", allowed) == "site-local address"


def test_parse_networks_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_networks(["127.0.0.1/33"])
    assert parse_networks(["", " 10.0.0.0/8 "]) == parse_networks(["10.0.0.0/8"])
