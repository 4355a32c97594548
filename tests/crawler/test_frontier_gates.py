"""The distributed crawler answers age gates as the embedded one does: a real
:class:`crawler.frontier.FrontierSpider` crawl of two targets' gated seeds in one
process, with Kafka replaced by stand-ins (records handed to it, links and commits
kept), against the age-gated demo place on 127.0.0.1, over HTTP and in Chromium."""

from __future__ import annotations

import multiprocessing
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from radar.demo.gated import age_gated
from radar.demo.site import DemoServer
from tests.crawler.harness import FAST
from tests.crawler.test_places import chromium  # noqa: F401 - the fixture
from wire import PageRequest


@dataclass
class _Record:
    offset: int
    value: bytes


def _child(pages: list[bytes], browser: bool, out: Any) -> None:
    try:
        import asyncio

        from kafka.structs import TopicPartition
        from prometheus_client import generate_latest
        from scrapy.crawler import CrawlerProcess
        from scrapy.exceptions import DontCloseSpider

        import crawler.frontier as frontier
        from bus import InProcessBus
        from bus.kafka import KafkaSettings
        from crawler.metrics import CrawlerMetrics
        from crawler.settings import crawl_settings
        from wire import HASHES_TOPIC, HashRecord

        links: list[bytes] = []
        committed: dict[int, int] = {}

        class Links:  # stands in for the KafkaBus links are published on
            def __init__(self, *_: Any) -> None:
                pass

            def send(self, topic: str, key: str, value: bytes) -> Future[None]:
                links.append(value)
                done: Future[None] = Future()
                done.set_result(None)
                return done

            def flush(self) -> None:
                pass

            def close(self) -> None:
                pass

        class Consumer:  # stands in for the consumer offsets are committed on
            def commit(self, offsets: dict[Any, Any]) -> None:
                committed.update({tp.partition: o.offset for tp, o in offsets.items()})

            def close(self) -> None:
                pass

        class Frontier(frontier.FrontierSpider):
            """Records come from ``pages``, one at a time (the second once the first is
            finished: its target then crawls after the first passed the gate)."""

            async def start(self) -> Any:
                self.consumer, self.all_started = Consumer(), False
                tp = TopicPartition("pages", 0)
                for offset, value in enumerate(pages):
                    while self.tracker.pending():
                        await asyncio.sleep(0.05)
                    request = self._request_for(tp, _Record(offset, value))
                    if request is not None:
                        yield request
                self.all_started = True

            def _idle(self, spider: Any) -> None:
                if not getattr(self, "all_started", False) or self.tracker.pending():
                    raise DontCloseSpider

        frontier.KafkaBus = Links  # type: ignore[misc,assignment]
        bus = InProcessBus()
        published: list[tuple[int, str]] = []
        bus.subscribe(
            HASHES_TOPIC,
            lambda key, value: published.append(
                (HashRecord.from_json(value).target_id, HashRecord.from_json(value).image_url)
            ),
        )
        settings = crawl_settings(bus, ("127.0.0.1/32",), browser=browser)
        process = CrawlerProcess({**settings, **FAST, "LOG_LEVEL": "WARNING"})
        crawler = process.create_crawler(Frontier)
        metrics = CrawlerMetrics()  # as crawler.service wires it
        metrics.connect(crawler)
        process.crawl(crawler, kafka=KafkaSettings(), lag=metrics.lag)
        process.start()
        stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int)}
        exposition = generate_latest(metrics.registry).decode()
        out.put(
            {
                "stats": stats,
                "published": published,
                "links": links,
                "committed": committed,
                "metrics": exposition,
            }
        )
    except BaseException:
        out.put({"error": traceback.format_exc()})
        raise


def _run(pages: list[PageRequest], browser: bool) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=_child, args=([p.to_json() for p in pages], browser, out))
    process.start()
    result = out.get(timeout=240)
    process.join(30)
    assert "error" not in result, result.get("error")
    return result  # type: ignore[no-any-return]


@pytest.mark.parametrize("render", ["http", "browser"])
def test_the_frontier_passes_gates_per_target(
    render: str,
    request: pytest.FixtureRequest,
    kodak: list[Path],
) -> None:
    if render == "browser":
        request.getfixturevalue("chromium")
    site = age_gated(kodak[:2], kodak[10:14], style="button" if render == "browser" else "post")
    with DemoServer(site) as server:
        seeds = [
            PageRequest(
                url=server.base_url + "/vip/",
                case_id="c1",
                target_id=target_id,
                depth=0,
                max_depth=1,
                max_pages=10,
                allowed_domains=("127.0.0.1",),
                crawl_id=f"{target_id}@now",
                render=render,
            )
            for target_id in (1, 2)
        ]
        result = _run(seeds, browser=render == "browser")
        requests, cookies = dict(server.requests), list(server.cookies)
    stats = result["stats"]
    # Each target met the gate and passed it itself: the second one, crawled in the
    # same process after the first had passed, did not get the first one's cookie.
    assert stats["radar/gates/passed"] == 2 and "radar/gates/failed" not in stats
    assert requests["/vip/"] == 4
    assert sum(1 for path, _ in cookies if path == "/vip/") == 2
    # What is behind the gate was found for both, and the link on is published with
    # the target's setting.
    on_seed = {urlsplit(u).path for u in _image_paths(site.files["/vip/"][1])}
    for target_id in (1, 2):
        mine = {urlsplit(url).path for t, url in result["published"] if t == target_id}
        assert mine == on_seed, target_id
    published_links = [PageRequest.from_json(v) for v in result["links"]]
    assert sorted((p.target_id, urlsplit(p.url).path) for p in published_links) == [
        (1, "/vip/more"),
        (2, "/vip/more"),
    ]
    assert all(p.pass_gates for p in published_links)
    # Both records were finished (page, gate, page again, images) and committed.
    assert result["committed"] == {0: 2}


def _image_paths(html: bytes) -> list[str]:
    import re

    return re.findall(r'<img src="([^"]+)"', html.decode())
