"""Retries that wait do not stall the crawl: a real embedded crawl of a fast loopback
host whose page shows images of a second host that answers 429 with ``Retry-After: 5``
the first time. The servers log when they answered; the order of those answers shows
what the crawler did while the retries waited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import scrapy

from tests.crawler.harness import FixtureServer, Reply, crawl
from tests.crawler.test_hostile import case_with, html, jpeg, target

SLOW = 4  # images on the host that asks to come back later
CHAIN = 4  # pages of the fast host, one after the other


def test_retries_waiting_for_retry_after_hold_no_download_slot(
    kodak: list[Path], tmp_path: Path
) -> None:
    photos = kodak[: SLOW + 2 * CHAIN]
    answered_once: set[str] = set()

    def busy_first(body: bytes) -> object:
        def reply(path: str, _: dict[str, str]) -> Reply:
            if path not in answered_once:
                answered_once.add(path)
                return Reply(429, b"slow down", {"Retry-After": "5"}, "text/plain")
            return Reply(body=body, content_type="image/jpeg")

        return reply

    slow = FixtureServer(
        {f"/s{i}.jpg": busy_first(jpeg(photos[i])) for i in range(SLOW)},  # type: ignore[misc]
        host="127.0.0.1",
    ).start()
    # The fast host's pages form a chain (each links to the next), so its work is still
    # going on while the retries wait: the seed shows the slow host's images and links
    # to /p1, each /pN shows two images of its own and links to /pN+1.
    fast_images = {f"/f{i}.jpg": jpeg(photos[SLOW + i]) for i in range(2 * CHAIN)}
    slow_tags = "".join(f'<img src="{slow.url}/s{i}.jpg">' for i in range(SLOW))
    routes: dict[str, Reply] = {"/": Reply(body=html(slow_tags + '<a href="/p1">next</a>'))}
    for n in range(1, CHAIN + 1):
        more = f'<a href="/p{n + 1}">next</a>' if n < CHAIN else ""
        tags = f'<img src="/f{2 * n - 2}.jpg"><img src="/f{2 * n - 1}.jpg">'
        routes[f"/p{n}"] = Reply(body=html(tags + more))
    routes.update(
        {name: Reply(body=body, content_type="image/jpeg") for name, body in fast_images.items()}
    )
    db = tmp_path / "radar.db"
    store = case_with(db, [photos[0], photos[SLOW]])  # one of each host
    try:
        with FixtureServer(routes, host="127.0.0.2") as fast:
            tid = target(store, fast.url + "/", max_depth=CHAIN)
            (report,) = crawl(
                db,
                [tid],
                allowed=("127.0.0.1/32", "127.0.0.2/32"),
                settings={"CONCURRENT_REQUESTS": 2, "RADAR_RETRY_MAX_DELAY": 30.0},
            )
    finally:
        slow.stop()

    fast_answers = [(t, path) for t, path, status in fast.answered if status == 200]
    assert {path for _, path in fast_answers} == {*routes}
    busy = {path: t for t, path, status in slow.answered if status == 429}
    served = {path: t for t, path, status in slow.answered if status == 200}
    assert set(busy) == set(served) == {f"/s{i}.jpg" for i in range(SLOW)}
    # Every page and image of the fast host was answered before the first retry was
    # even sent: the waiting retries held none of the 2 download slots.
    assert max(t for t, _ in fast_answers) < min(served.values())
    # Each retry came after the 5 s the server asked for, and then succeeded.
    assert all(served[path] - busy[path] >= 5.0 for path in busy)
    counts = report.counts
    assert counts["retries"] == SLOW and counts["http:429"] == SLOW
    assert counts["scheduler:held"] == counts["scheduler:released"] == SLOW
    assert "scheduler:dropped_at_close" not in counts
    assert counts["hashed"] == SLOW + 2 * CHAIN and counts["hits"] == 2
    assert report.finish_reason == "finished"


class _Clock:
    """Stands in for time.monotonic and the event loop's call_later in the scheduler."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[tuple[float, Any]] = []

    def monotonic(self) -> float:
        return self.now

    def call_later(self, delay: float, fn: Any) -> Any:
        self.timers.append((self.now + delay, fn))

        class Handle:
            def cancel(self) -> None:
                pass

        return Handle()


@pytest.fixture
def scheduler(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, _Clock]:
    from scrapy.utils.test import get_crawler

    import crawler.scheduler as module
    from crawler.settings import crawl_settings

    clock = _Clock()
    monkeypatch.setattr(module.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(module, "call_later", clock.call_later)
    settings = {
        "SCHEDULER": crawl_settings(None)["SCHEDULER"],
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",  # no engine here
    }
    crawler = get_crawler(settings_dict=settings)
    held = module.HoldingScheduler.from_crawler(crawler)
    held.open(scrapy.Spider("s"))
    return held, clock


def test_a_delayed_retry_is_held_counted_and_released_when_due(
    scheduler: tuple[Any, _Clock],
) -> None:
    held, clock = scheduler
    retry = scrapy.Request("http://a.test/1.jpg", dont_filter=True, meta={"radar_retry_delay": 5.0})
    assert held.enqueue_request(retry) and "radar_retry_delay" not in retry.meta
    held.enqueue_request(scrapy.Request("http://b.test/2.jpg"))
    assert len(held) == 2 and held.has_pending_requests()
    assert held.next_request().url == "http://b.test/2.jpg"  # the other one goes first
    assert held.next_request() is None and held.has_pending_requests()  # not yet due
    assert [due for due, _ in clock.timers] == [1005.0]  # the engine is woken then
    clock.now = 1005.0
    assert held.next_request() is retry and not held.has_pending_requests()
    assert held.stats.get_value("radar/scheduler/released") == 1


def test_retries_still_waiting_at_shutdown_are_dropped_and_counted(
    scheduler: tuple[Any, _Clock],
) -> None:
    held, _ = scheduler
    for n in range(3):
        request = scrapy.Request(f"http://a.test/{n}", meta={"radar_retry_delay": 30.0})
        held.enqueue_request(request)
    held.close("shutdown")
    assert held.stats.get_value("radar/scheduler/dropped_at_close") == 3 and len(held) == 0
