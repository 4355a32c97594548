"""The crawler's metrics: Scrapy's stats become labelled counters (refusals by reason,
images by outcome, responses by status), and a real frontier crawl moves the fetch and
hash histograms (the FrontierSpider harness of tests/crawler/harness.py, metrics wired as
crawler.service wires them)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from crawler.metrics import stat_families
from tests.crawler.harness import FixtureServer, Reply, frontier_crawl
from wire import PageRequest

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples_of(families: object) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families  # type: ignore[attr-defined]
        for s in family.samples
    }


def test_scrapy_stats_become_labelled_counters() -> None:
    stats = {
        "radar/refused/address": 3,
        "radar/refused/decompression_bomb/page": 1,
        "radar/hashed": 5,
        "radar/hash_cache_hits": 2,
        "radar/hash_errors/too_large": 1,
        "radar/pages": 4,
        "radar/gates/passed": 1,
        "downloader/response_status_count/200": 9,
        "downloader/exception_type_count/twisted.internet.error.DNSLookupError": 2,
        "start_time": "not a number",
        "radar/flag": True,
    }
    got = samples_of(stat_families(stats))
    assert got[("radar_crawler_refusals_total", (("reason", "address"),))] == 3
    assert got[("radar_crawler_refusals_total", (("reason", "decompression_bomb_page"),))] == 1
    assert got[("radar_crawler_refusals_total", (("reason", "url_length"),))] == 0  # from 0
    assert got[("radar_crawler_images_total", (("outcome", "hashed"),))] == 5
    assert got[("radar_crawler_images_total", (("outcome", "cached"),))] == 2
    assert got[("radar_crawler_images_total", (("outcome", "failed"),))] == 1
    assert got[("radar_crawler_hash_errors_total", (("kind", "too_large"),))] == 1
    assert got[("radar_crawler_pages_total", ())] == 4
    assert got[("radar_crawler_events_total", (("event", "gates_passed"),))] == 1
    assert got[("radar_crawler_responses_total", (("status", "200"),))] == 9
    assert got[("radar_crawler_download_errors_total", (("exception", "DNSLookupError"),))] == 2
    assert not any(
        name == "radar_crawler_events_total" and "flag" in str(labels) for name, labels in got
    )


def test_a_frontier_crawl_moves_the_fetch_and_hash_histograms(kodak: list[Path]) -> None:
    page = (
        b'<html><body><img src="/a.jpg">'
        b'<img src="http://10.1.2.3/private.jpg"></body></html>'  # refused by the address rule
    )
    routes: dict[str, Reply] = {
        "/": Reply(body=page),
        "/a.jpg": Reply(body=kodak[0].read_bytes(), content_type="image/png"),
    }
    with FixtureServer(routes) as site:  # type: ignore[arg-type]
        seed = PageRequest(
            url=site.url + "/",
            case_id="c1",
            target_id=1,
            depth=0,
            max_depth=0,
            max_pages=10,
            allowed_domains=("127.0.0.1",),
            crawl_id="1@now",
        )
        result = frontier_crawl([seed], browser=False)
    got = samples_of(text_string_to_metric_families(result["metrics"]))
    assert got[("radar_crawler_fetch_seconds_count", ())] >= 2  # page and image (robots.txt)
    assert got[("radar_crawler_hash_seconds_count", ())] == 1
    assert got[("radar_crawler_hash_seconds_sum", ())] > 0
    assert got[("radar_crawler_images_total", (("outcome", "hashed"),))] == 1
    assert got[("radar_crawler_refusals_total", (("reason", "address"),))] == 1
    assert got[("radar_crawler_responses_total", (("status", "200"),))] >= 2
    assert got[("radar_crawler_published_total", ())] == 1
