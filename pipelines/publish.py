"""Publish each hashed image as a :class:`wire.HashRecord` on ``images.hashed.v1``.

Setting ``RADAR_BUS``: the :class:`bus.Bus` to publish on (an object; the embedded crawl
passes its in-process bus, the distributed crawl a Kafka producer). Without one the
pipeline switches itself off. The item counts as done only once the bus acknowledged it;
a refused record fails the item (Scrapy counts it as an item error).

One sighting, one record: the same bytes found again on the same page in the same crawl
round under another URL (a photo and its link-preview copy in one post, ``src`` and a
differently named ``srcset`` candidate) is not published again; the item goes on marked
``same_as`` the first one's URL (counted ``radar/images_same_sighting``). Only the
first is remembered in the crawl state: the next crawl has it at once and downloads the
other again, so the same URL names the sighting in every round.
``RADAR_SIGHTINGS_REMEMBERED`` bounds how many sightings are remembered (oldest first
forgotten).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import Any

from scrapy.exceptions import DropItem, NotConfigured

from bus import Bus
from crawler.items import ImageItem, VideoItem
from wire import HASHES_TOPIC, HashRecord
from wire.records import video_fields


def video_record_of(item: VideoItem) -> HashRecord:
    """The wire record of a hashed video; raise ValueError if it was not hashed."""
    if item.hashes is None:
        raise ValueError(f"{item.video_url} was not hashed")
    return HashRecord(
        image_url=item.video_url,
        page_url=item.page_url,
        site=item.site,
        case_id=item.case_id,
        target_id=item.target_id,
        fetched_at=item.fetched_at,
        http_status=item.http_status,
        crawl_id=item.crawl_id,
        **video_fields(item.hashes),
    )


def record_of(item: ImageItem) -> HashRecord:
    """The wire record of a hashed item; raise ValueError if it was not hashed."""
    if item.hashes is None:
        raise ValueError(f"{item.image_url} was not hashed")
    h = item.hashes
    return HashRecord(
        image_url=item.image_url,
        page_url=item.page_url,
        site=item.site,
        case_id=item.case_id,
        target_id=item.target_id,
        fetched_at=item.fetched_at,
        http_status=item.http_status,
        content_sha256=h.sha256,
        width=h.width,
        height=h.height,
        pdq=h.pdq.hex,
        pdq_quality=h.pdq_quality,
        phash=h.phash.hex,
        pdq_trimmed=None if h.pdq_trimmed is None else h.pdq_trimmed.hex,
        pdq_trimmed_quality=h.pdq_trimmed_quality,
        crawl_id=item.crawl_id,
    )


class Sightings:
    """The first image URL of each (target, round, page, bytes) seen, the most recent
    ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._first: OrderedDict[bytes, str] = OrderedDict()

    def first_url(self, record: HashRecord) -> str:
        """The image URL this record's sighting was first published under (its own if it
        is the first)."""
        place = f"{record.target_id}\0{record.crawl_id}\0{record.page_url}\0"
        key = hashlib.blake2b((place + record.content_sha256).encode(), digest_size=16).digest()
        first = self._first.setdefault(key, record.image_url)
        self._first.move_to_end(key)
        while len(self._first) > self.limit:
            self._first.popitem(last=False)
        return first


class PublishPipeline:
    def __init__(self, bus: Bus, stats: Any, remembered: int = 100_000) -> None:
        self.bus = bus
        self.stats = stats
        self.sightings = Sightings(remembered)

    @classmethod
    def from_crawler(cls, crawler: Any) -> PublishPipeline:
        bus = crawler.settings.get("RADAR_BUS")
        if bus is None:
            raise NotConfigured("RADAR_BUS is not set")
        return cls(
            bus, crawler.stats, crawler.settings.getint("RADAR_SIGHTINGS_REMEMBERED", 100_000)
        )

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, ImageItem | VideoItem):
            return item
        try:
            record = record_of(item) if isinstance(item, ImageItem) else video_record_of(item)
        except ValueError as exc:
            raise DropItem(str(exc)) from None
        first = self.sightings.first_url(record)
        if first != record.image_url:
            item.same_as = first
            self.stats.inc_value("radar/images_same_sighting")
            return item
        delivery = self.bus.send(HASHES_TOPIC, record.key, record.to_json())
        if not delivery.done():  # Kafka: wait for the broker's acknowledgement
            await asyncio.wrap_future(delivery)
        delivery.result()  # raises if the bus refused it: the item is not done
        self.stats.inc_value("radar/published")
        return item

    def close_spider(self, spider: Any = None) -> None:
        self.bus.flush()
