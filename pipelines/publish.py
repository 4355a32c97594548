"""Publish each hashed image as a :class:`wire.HashRecord` on ``images.hashed.v1``.

Setting ``RADAR_BUS``: the :class:`bus.Bus` to publish on (an object; the embedded crawl
passes its in-process bus, the distributed crawl a Kafka producer). Without one the
pipeline switches itself off. The item counts as done only once the bus acknowledged it;
a refused record fails the item (Scrapy counts it as an item error).
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy.exceptions import DropItem, NotConfigured

from bus import Bus
from crawler.items import ImageItem
from wire import HASHES_TOPIC, HashRecord


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


class PublishPipeline:
    def __init__(self, bus: Bus, stats: Any) -> None:
        self.bus = bus
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> PublishPipeline:
        bus = crawler.settings.get("RADAR_BUS")
        if bus is None:
            raise NotConfigured("RADAR_BUS is not set")
        return cls(bus, crawler.stats)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, ImageItem):
            return item
        try:
            record = record_of(item)
        except ValueError as exc:
            raise DropItem(str(exc)) from None
        delivery = self.bus.send(HASHES_TOPIC, record.key, record.to_json())
        if not delivery.done():  # Kafka: wait for the broker's acknowledgement
            await asyncio.wrap_future(delivery)
        delivery.result()  # raises if the bus refused it: the item is not done
        self.stats.inc_value("radar/published")
        return item

    def close_spider(self, spider: Any = None) -> None:
        self.bus.flush()
