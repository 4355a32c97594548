"""The distributed crawl: page requests shared by crawler processes over Kafka.

Consumes :class:`wire.PageRequest` records from ``pages.requested.v1`` as one member of
the ``radar-crawlers`` consumer group and produces image items (for the pipelines) and
new page requests (back onto the topic). The topic is keyed by site, so each site's pages
belong to one partition and one process at a time: per-domain politeness holds across
processes. A record's offset is committed only when its page and every image it led to
are finished (published, refused or failed) and the links it found are acknowledged by
Kafka, so a crawler killed mid-page loses nothing: its pages are crawled again by the
partition's next owner. A hash record or link that Kafka refuses is not done: it is sent
again with back-off until Kafka acknowledges it, and until then its page's offset (and
every later one of the partition) stays uncommitted; a page waiting on such a record is
never abandoned. With the service store (``state``), each link is recorded in its round's
progress before it is published and each page marked done or failed when its record is
finished: what ``radar seed --wait`` reads (:mod:`radar.rounds`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import scrapy
from kafka import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.internet import task

from bus.kafka import KafkaBus, KafkaSettings, consumer
from crawler.items import ImageItem
from crawler.offsets import OffsetTracker
from crawler.spider import ImageSpider, robots_sitemaps
from ops.metrics import ConsumerLag
from pipelines.publish import record_of
from wire import FRONTIER_TOPIC, HASHES_TOPIC, PageRequest, RecordError, utc_now

log = logging.getLogger(__name__)


@dataclass(eq=False)
class PageWork:
    """One frontier record in progress: done when parsed and nothing is outstanding."""

    partition: Any
    offset: int
    started: float
    outstanding: int = 0
    parsed: bool = False
    unsent: int = 0  # records of this page Kafka refused, waiting to be sent again
    page: PageRequest | None = None  # once the record parsed and is not a duplicate
    images: int = 0  # image requests the page led to
    reported: bool = False  # its round's progress records it finished


@dataclass(eq=False)
class Unsent:
    """A record Kafka refused: sent again at ``due`` (monotonic seconds)."""

    topic: str
    key: str
    value: bytes
    work: PageWork
    attempts: int = 0
    due: float = 0.0

    def backoff(self, now: float, cap: float = 30.0) -> None:
        self.attempts += 1
        self.due = now + min(cap, 0.5 * 2**self.attempts)


class _Seen:
    """URLs already requested, per crawl round; the oldest rounds are forgotten."""

    def __init__(self, rounds: int = 64) -> None:
        self._rounds: OrderedDict[str, set[str]] = OrderedDict()
        self._max = rounds

    def add(self, crawl_id: str, url: str) -> bool:
        """Remember ``url``; False if it was seen in this round already."""
        seen = self._rounds.setdefault(crawl_id, set())
        self._rounds.move_to_end(crawl_id)
        while len(self._rounds) > self._max:
            self._rounds.popitem(last=False)
        if url in seen:
            return False
        seen.add(url)
        return True


class FrontierSpider(ImageSpider):
    name = "frontier"
    CARRIED_META = ("radar_work",)  # a gate's answer and the page again belong to the record

    def __init__(
        self,
        kafka: KafkaSettings,
        group_id: str = "radar-crawlers",
        max_pending_pages: int = 32,
        page_timeout: float = 900.0,
        lag: ConsumerLag | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.lag = lag  # measured on the consumer's thread, read by the metrics
        self.kafka = kafka
        self.group_id = group_id
        self.max_pending = max_pending_pages
        self.page_timeout = page_timeout
        self.tracker = OffsetTracker()
        self.lock = threading.Lock()
        self.works: set[PageWork] = set()
        self.seen = _Seen()  # pages and images requested here, per crawl round
        self.sent = _Seen()  # links published from here, per crawl round
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="frontier")  # consumer's thread
        self.unsent: list[Unsent] = []
        self.consumer: Any = None
        self.links = KafkaBus(kafka)
        # The Sitemap: lines of each site's robots.txt (Scrapy reads it once per site and
        # process, so it is remembered for the next rounds), newest sites last.
        self.robots_sitemaps: OrderedDict[str, list[str]] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> FrontierSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        for handler, signal in (
            (spider._item_finished, signals.item_scraped),
            (spider._item_finished, signals.item_dropped),
            (spider._item_failed, signals.item_error),
            (spider._request_dropped, signals.request_dropped),
            (spider._idle, signals.spider_idle),
            (spider._closed, signals.spider_closed),
            (spider._robots_parsed, signals.robots_parsed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return spider

    # -- Kafka (always on the executor's one thread) -----------------------------------------
    async def _on_consumer(self, fn: Any, *args: Any) -> Any:
        return await asyncio.wrap_future(self.executor.submit(fn, *args))

    def _subscribe(self) -> None:
        spider = self

        class Revoked(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                spider._commit_now()
                with spider.lock:
                    spider.tracker.forget(set(revoked))

            def on_partitions_assigned(self, assigned: Any) -> None:
                log.info(
                    "frontier partitions assigned: %s", sorted(tp.partition for tp in assigned)
                )

        self.consumer = consumer(self.kafka, self.group_id, max_poll_records=self.max_pending)
        self.consumer.subscribe([self.kafka.topic(FRONTIER_TOPIC)], listener=Revoked())

    def _commit_now(self) -> None:
        with self.lock:
            offsets = self.tracker.committable()
        if not offsets:
            return
        try:
            self.consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        except Exception as exc:  # e.g. a rebalance took the partition: the next owner redoes it
            log.warning("frontier commit failed: %s", exc)
            return
        with self.lock:
            self.tracker.committed(offsets)

    # -- the request stream --------------------------------------------------------------------
    async def start(self) -> Any:
        await self._on_consumer(self._subscribe)
        committer = task.LoopingCall(self._tick)
        committer.start(2.0, now=False)
        while True:
            with self.lock:
                busy = self.tracker.pending() >= self.max_pending
            if busy:
                await asyncio.sleep(0.2)
                continue
            polled = await self._on_consumer(self.consumer.poll, 1000, self.max_pending)
            for tp, records in polled.items():
                for record in records:
                    request = self._request_for(tp, record)
                    if request is not None:
                        yield request

    def _request_for(self, tp: Any, record: Any) -> scrapy.Request | None:
        work = PageWork(tp, record.offset, time.monotonic())
        with self.lock:
            self.tracker.started(tp, record.offset)
        try:
            page = PageRequest.from_json(record.value or b"")
        except RecordError as exc:
            self.crawler.stats.inc_value("radar/frontier/bad_records")
            log.warning("bad page request at %s/%d: %s", tp, record.offset, exc)
            self._finish(work)
            return None
        if not self.seen.add(page.crawl_id, page.url):
            self.crawler.stats.inc_value("radar/frontier/duplicates")
            self._finish(work)
            return None
        work.page = page
        self.works.add(work)
        return self.page_request(page, radar_work=work, dont_filter=True)

    async def parse(self, response: Response, **kwargs: Any) -> Any:
        work: PageWork = response.meta["radar_work"]
        page: PageRequest = response.meta["radar_page"]
        images, links = self.parts(response)  # as the embedded crawl parses it
        if page.depth == 0 and page.parse_as == "page":  # a round's seed: robots.txt's maps
            links = [*links, *self._robots_links(page)]
        fresh = [link for link in links if self.sent.add(link.crawl_id, link.url)]
        self._queue_in_round(fresh)  # before they are sent: a round never looks finished early
        for link in fresh:  # the owner dedups again on receipt
            try:
                await asyncio.wrap_future(self.links.send(FRONTIER_TOPIC, link.key, link.to_json()))
            except Exception as exc:
                self._send_later(Unsent(FRONTIER_TOPIC, link.key, link.to_json(), work), exc)
        for image in images:
            if not isinstance(image, scrapy.Request):  # the "page" was an image: its item
                yield image
                continue
            if image.meta.get("radar_kind") == "gate":  # outstanding until the page again
                work.outstanding += 1
                image.meta["radar_work"] = work
                yield image
                continue
            if not self.seen.add(page.crawl_id, image.url):
                continue
            work.outstanding += 1
            work.images += 1
            image.meta["radar_work"] = work
            yield image.replace(dont_filter=True)
        if response.meta.get("radar_gate_tried"):
            work.outstanding -= 1  # the gate's answer led here: that step is done
        work.parsed = True
        self._maybe_done(work)

    def _robots_parsed(self, robotparser: Any, request: scrapy.Request) -> None:
        site = urlsplit(request.url).netloc
        self.robots_sitemaps[site] = robots_sitemaps(robotparser)[:100]
        self.robots_sitemaps.move_to_end(site)
        while len(self.robots_sitemaps) > 10_000:
            self.robots_sitemaps.popitem(last=False)

    def _robots_links(self, page: PageRequest) -> list[PageRequest]:
        """The sitemaps a seed's robots.txt names, as the embedded crawl follows them
        (:meth:`crawler.spider.TargetSpider.robots_parsed`): parsed as sitemaps, through
        the same domain, page-limit and trap rules as every other link, once per round."""
        return self.sitemap_links(self.robots_sitemaps.get(urlsplit(page.url).netloc, []), page)

    # -- completion ------------------------------------------------------------------------------
    def _finish(self, work: PageWork, ok: bool = True) -> None:
        """The record is done: its offset may be committed, and its round's progress
        (when the crawler has the service store) counts the page ``ok`` or failed."""
        self.works.discard(work)
        with self.lock:
            self.tracker.finished(work.partition, work.offset)
        page = work.page
        if page is None or work.reported or self.state is None or not page.crawl_id:
            return
        work.reported = True
        try:
            self.state.finish_round_page(
                page.crawl_id, page.url, page.target_id, ok, work.images, utc_now()
            )
        except Exception as exc:  # the crawl goes on; `radar seed --wait` times out
            self.crawler.stats.inc_value("radar/frontier/round_unrecorded")
            log.error(
                "round %s: page %s not recorded as finished: %s", page.crawl_id, page.url, exc
            )

    def _queue_in_round(self, links: list[PageRequest]) -> None:
        """Record ``links`` in their round's progress (when the crawler has the service
        store), before they are published. A store that refuses is logged and counted
        (``radar/frontier/round_unrecorded``); the crawl goes on without it."""
        if self.state is None:
            return
        rounds: dict[tuple[str, int], list[str]] = {}
        for link in links:
            if link.crawl_id:
                rounds.setdefault((link.crawl_id, link.target_id), []).append(link.url)
        for (crawl_id, target_id), urls in rounds.items():
            try:
                self.state.queue_round_pages(crawl_id, target_id, urls, utc_now())
            except Exception as exc:
                self.crawler.stats.inc_value("radar/frontier/round_unrecorded", len(urls))
                log.error("round %s: %d links not recorded: %s", crawl_id, len(urls), exc)

    def _maybe_done(self, work: PageWork) -> None:
        if work.parsed and work.outstanding <= 0:
            self._finish(work)

    def _done_one(self, meta: dict[str, Any]) -> None:
        work = meta.get("radar_work")
        if work is None:
            return
        if meta.get("radar_kind") in ("image", "video"):
            work.outstanding -= 1
            self._maybe_done(work)
        else:  # the page itself failed or was dropped
            self._finish(work, ok=False)

    def _item_finished(self, item: Any, response: Response, spider: Any, **_: Any) -> None:
        self._done_one(response.meta)

    def _item_failed(
        self, item: Any, response: Response, spider: Any, failure: Any, **_: Any
    ) -> None:
        """A pipeline failed on a hashed image: publishing it is what failed (or a later
        stage, then publishing again is harmless: the matcher's ids are deterministic).
        The image stays outstanding until its record is acknowledged."""
        work = response.meta.get("radar_work")
        if work is None or not isinstance(item, ImageItem) or item.hashes is None:
            self._done_one(response.meta)
            return
        record = record_of(item)
        self._send_later(Unsent(HASHES_TOPIC, record.key, record.to_json(), work), failure.value)

    # -- records Kafka refused -----------------------------------------------------------------
    def _send_later(self, unsent: Unsent, exc: BaseException) -> None:
        """Keep ``unsent`` (its page stays unfinished) and send it again after a back-off."""
        if unsent.attempts == 0:
            unsent.work.outstanding += 1
            unsent.work.unsent += 1
            self.unsent.append(unsent)
        unsent.backoff(time.monotonic())
        self.crawler.stats.inc_value("radar/frontier/publish_failed")
        log.warning(
            "Kafka refused a %s record (attempt %d, again in %.1fs): %s",
            unsent.topic,
            unsent.attempts,
            unsent.due - time.monotonic(),
            exc,
        )

    def _resend_due(self, now: float) -> None:
        from twisted.internet import reactor

        for unsent in [u for u in self.unsent if u.due <= now]:
            unsent.due = float("inf")  # in flight

            def settled(future: Any, unsent: Unsent = unsent) -> None:
                reactor.callFromThread(self._resent, unsent, future.exception())

            try:
                self.links.send(unsent.topic, unsent.key, unsent.value).add_done_callback(settled)
            except Exception as exc:  # the producer's buffer is full: later
                self._send_later(unsent, exc)

    def _resent(self, unsent: Unsent, exc: BaseException | None) -> None:
        if exc is not None:
            self._send_later(unsent, exc)
            return
        self.unsent.remove(unsent)
        self.crawler.stats.inc_value("radar/frontier/republished")
        if unsent.topic == HASHES_TOPIC:
            self.crawler.stats.inc_value("radar/published")
        work = unsent.work
        work.unsent -= 1
        work.outstanding -= 1
        self._maybe_done(work)

    def _request_dropped(self, request: scrapy.Request, spider: Any) -> None:
        self._done_one(request.meta)

    def failed(self, failure: Any) -> None:
        super().failed(failure)
        self._done_one(failure.request.meta)

    def _tick(self) -> None:
        now = time.monotonic()
        self._resend_due(now)
        stale = [w for w in self.works if now - w.started > self.page_timeout and not w.unsent]
        for work in stale:
            self.crawler.stats.inc_value("radar/frontier/abandoned")
            log.warning(
                "page at %s/%d unfinished after %.0fs: giving up on it",
                work.partition,
                work.offset,
                self.page_timeout,
            )
            self._finish(work, ok=False)
        self.executor.submit(self._commit_now)
        if self.lag is not None and self.consumer is not None:
            self.executor.submit(self.lag.refresh, self.consumer)  # asks at most every 10 s

    def _idle(self, spider: Any) -> None:
        raise DontCloseSpider  # a crawler waits for more pages; it stops on SIGTERM

    def _closed(self, spider: Any, reason: str) -> None:
        self.links.flush()
        self.executor.submit(self._commit_now).result(timeout=30)
        self.executor.submit(self.consumer.close).result(timeout=30)
        self.links.close()
