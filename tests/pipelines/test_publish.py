"""The publishing pipeline: one record per sighting, whatever URL led to the bytes."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image

from bus import InProcessBus
from crawler.items import ImageItem
from hashing import hash_bytes
from pipelines.publish import PublishPipeline
from tests.pipelines.fakes import Stats
from wire import HASHES_TOPIC, HashRecord


def jpeg_bytes(seed: int) -> bytes:
    """A generated picture: smooth random blobs, so PDQ has something to see."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(small).resize((128, 128), Image.Resampling.BICUBIC).save(out, "JPEG")
    return out.getvalue()


def item(url: str, data: bytes, page: str = "https://t.example/s/chan", **kw: Any) -> ImageItem:
    return ImageItem(
        image_url=url,
        page_url=page,
        site="t.example",
        case_id="c",
        target_id=1,
        http_status=200,
        fetched_at="2026-12-03T07:00:00Z",
        how="telegram-photo",
        hashes=hash_bytes(data),
        **kw,
    )


def test_the_same_bytes_on_one_page_in_one_round_are_published_once() -> None:
    bus = InProcessBus()
    sent: list[HashRecord] = []
    bus.subscribe(HASHES_TOPIC, lambda key, value: sent.append(HashRecord.from_json(value)))
    stats = Stats()
    pipeline = PublishPipeline(bus, stats)
    photo, other = jpeg_bytes(seed=1), jpeg_bytes(seed=2)
    post = "https://t.example/chan/5"
    items = [
        item(post, photo, crawl_id="1@a"),
        item(post + "?photo=1", photo, crawl_id="1@a"),  # the post's link preview, same bytes
        item(post, photo, crawl_id="1@a"),  # the same URL again: a replay, not a new URL
        item(post + "?photo=2", other, crawl_id="1@a"),  # other bytes
        item("https://t.example/x.jpg", photo, page="https://t.example/p2", crawl_id="1@a"),
        item(post + "?photo=1", photo, crawl_id="1@b"),  # the next round
    ]
    done = [asyncio.run(pipeline.process_item(i)) for i in items]
    assert [i.same_as for i in done] == ["", post, "", "", "", ""]
    assert [r.image_url for r in sent] == [
        post,
        post,
        post + "?photo=2",
        "https://t.example/x.jpg",
        post + "?photo=1",
    ]
    assert stats.values == {"radar/images_same_sighting": 1, "radar/published": 5}


def test_remembered_sightings_are_bounded() -> None:
    bus = InProcessBus()
    pipeline = PublishPipeline(bus, Stats(), remembered=2)
    photo = jpeg_bytes(seed=1)
    first = item("https://t.example/a.jpg", photo)
    asyncio.run(pipeline.process_item(first))
    for n in range(3):  # three other sightings push the first one out
        other = item(f"https://t.example/{n}.jpg", photo, page=f"https://t.example/{n}")
        asyncio.run(pipeline.process_item(other))
    again = asyncio.run(pipeline.process_item(replace(first, image_url="https://t.example/b.jpg")))
    assert again.same_as == ""
    assert len(pipeline.sightings._first) == 2
