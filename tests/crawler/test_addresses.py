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
    ],
)
def test_forbidden_addresses(address: str, reason: str) -> None:
    assert forbidden_reason(address) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(address) is None


def test_allow_list_is_an_exact_opt_in() -> None:
    allowed = parse_networks(["127.0.0.1/32"])
    assert forbidden_reason("127.0.0.1", allowed) is None
    assert forbidden_reason("127.0.0.2", allowed) == "loopback address"
    assert forbidden_reason("169.254.169.254", allowed) == "cloud metadata address"


def test_parse_networks_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_networks(["127.0.0.1/33"])
    assert parse_networks(["", " 10.0.0.0/8 "]) == parse_networks(["10.0.0.0/8"])
