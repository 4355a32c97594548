"""The crawler's resolver: both address families, the checked address pinned, and one
WARNING line per refusal. Servers listen on loopback only (::1 and 127.0.0.1)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from crawler.addresses import parse_networks
from crawler.resolver import ForbiddenAddressError, GuardedResolver, stub_lookup, system_lookup
from store import Target
from tests.crawler.harness import FixtureServer, Reply, crawl
from tests.crawler.test_hostile import case_with, html, jpeg


def test_system_lookup_asks_for_both_families() -> None:
    # An IPv4-only lookup (AF_INET) cannot even answer for an IPv6 literal.
    assert system_lookup("::1") == ["::1"]
    assert system_lookup("127.0.0.1") == ["127.0.0.1"]


def test_resolver_pins_an_ipv6_answer_it_checked() -> None:
    lookup = stub_lookup({"v6.test": ["::1"], "mixed.test": ["::1", "127.0.0.1"]})
    resolver = GuardedResolver(None, parse_networks(["::1/128"]), lookup=lookup)
    assert resolver.resolve_now("v6.test") == "::1"
    with pytest.raises(ForbiddenAddressError, match=r"127\.0\.0\.1, loopback address"):
        resolver.resolve_now("mixed.test")  # one forbidden answer refuses the name


def test_each_refusal_logs_one_warning_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lookup = stub_lookup({"internal.test": ["fec0::1"]})
    resolver = GuardedResolver(None, lookup=lookup, cache_seconds=0)
    with caplog.at_level(logging.INFO, logger="crawler.resolver"):
        for _ in range(2):
            with pytest.raises(ForbiddenAddressError):
                resolver.resolve_now("internal.test")
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", "refused to connect: internal.test is fec0::1, site-local address", None)
    ] * 2


def test_ipv6_only_site_is_crawled(kodak: list[Path], tmp_path: Path) -> None:
    routes = {
        "/": Reply(body=html('<img src="/photo.jpg"><a href="/two">two</a>')),
        "/two": Reply(body=html('<img src="/photo.jpg">')),
        "/photo.jpg": Reply(body=jpeg(kodak[3]), content_type="image/jpeg"),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[3]])
    with FixtureServer(routes, host="::1") as site:
        port = site.url.rsplit(":", 1)[1]
        seed = f"http://v6only.test:{port}/"
        tid = store.add_target(Target("c1", seed, ("v6only.test",), max_depth=2)).id
        (report,) = crawl(
            db, [tid], allowed=("::1/128",), settings={"RADAR_DNS_STUB": {"v6only.test": ["::1"]}}
        )
    assert site.requests["/"] == 1 and site.requests["/photo.jpg"] == 1
    assert report.counts["pages"] == 2 and report.counts["hits"] == 1
    assert not report.counts.get("refused_address")


def test_refused_names_in_a_crawl_log_warnings_not_tracebacks(
    kodak: list[Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    routes = {
        "/": Reply(body=html('<img src="/ok.jpg"><img src="http://internal.test:9/x.jpg">')),
        "/ok.jpg": Reply(body=jpeg(kodak[0]), content_type="image/jpeg"),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[0]])
    with FixtureServer(routes) as site:
        tid = store.add_target(Target("c1", site.url + "/", ("127.0.0.1",))).id
        (report,) = crawl(db, [tid], settings={"RADAR_DNS_STUB": {"internal.test": ["10.0.0.1"]}})
    err = capfd.readouterr().err
    assert report.counts["refused_address"] == 1 and report.counts["hits"] == 1
    assert "Traceback" not in err and "ERROR" not in err, err
    assert len(re.findall(r"refused to connect: internal.test is 10.0.0.1", err)) == 1, err


def test_proxy_in_the_environment_is_never_used(
    kodak: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.0.2 stands in for an internal service, reached by a name; the "proxy" would
    # fetch it for us (and it records every request it is sent).
    internal = FixtureServer({"prefix:/": Reply(body=b"internal")}, host="127.0.0.2")
    proxy = FixtureServer({"prefix:": Reply(body=html('<img src="/x.jpg">'))})
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[0]])
    with internal, proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        port = internal.url.rsplit(":", 1)[1]
        seed = f"http://internal.test:{port}/"
        tid = store.add_target(Target("c1", seed, ("internal.test",))).id
        (report,) = crawl(db, [tid], settings={"RADAR_DNS_STUB": {"internal.test": ["127.0.0.2"]}})
    assert sum(proxy.requests.values()) == 0, proxy.requests
    assert sum(internal.requests.values()) == 0
    assert report.counts["refused_address"] >= 1 and report.counts.get("pages", 0) == 0


def test_crawler_with_the_proxy_middleware_on_refuses_to_start() -> None:
    from scrapy.utils.test import get_crawler

    from crawler.guard import AddressGuardMiddleware, ProxyConfigured

    with pytest.raises(ProxyConfigured, match="HTTPPROXY_ENABLED"):
        AddressGuardMiddleware.from_crawler(get_crawler(settings_dict={"HTTPPROXY_ENABLED": True}))
    guard = AddressGuardMiddleware.from_crawler(
        get_crawler(settings_dict={"HTTPPROXY_ENABLED": False})
    )
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest

    with pytest.raises(IgnoreRequest, match="never go through a proxy"):
        guard.process_request(Request("http://93.184.215.14/", meta={"proxy": "http://p:3128"}))
