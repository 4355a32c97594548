"""HashPipeline with RADAR_HASH_PROCESSES: the same hashes as in threads, computed in
spawned worker processes; an image that is not one fails with its kind as in threads; a
worker that dies fails the image it held, and the next image gets a fresh pool."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from scrapy.exceptions import DropItem

from hashing import DecodeLimits, hash_bytes
from pipelines.hashing import HashPipeline
from tests.pipelines.fakes import Stats
from tests.pipelines.test_evidence import item


def jpeg(path: Path) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").resize((320, 240)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_worker_processes_hash_as_threads_do(kodak: list[Path]) -> None:
    bodies = [jpeg(p) for p in kodak[:4]]
    stats = Stats()
    pipeline = HashPipeline(stats, DecodeLimits(), cache_size=10, processes=2)

    async def crawl() -> list[object]:
        items = [
            item(body=b, hashes=None, image_url=f"https://a.test/{i}.jpg")
            for i, b in enumerate(bodies)
        ]
        return await asyncio.gather(*(pipeline.process_item(i) for i in items))

    try:
        done = asyncio.run(crawl())
        assert [d.hashes for d in done] == [hash_bytes(b) for b in bodies]  # type: ignore[attr-defined]
        assert all(d.body is None for d in done)  # type: ignore[attr-defined]
        with pytest.raises(DropItem, match="not_image"):
            asyncio.run(pipeline.process_item(item(body=b"<html>not an image", hashes=None)))
        assert stats.values == Counter({"radar/hashed": 4, "radar/hash_errors/not_image": 1})
    finally:
        pipeline.close_spider()


def test_a_dead_worker_fails_its_image_and_the_next_one_gets_a_new_pool(
    kodak: list[Path],
) -> None:
    body = jpeg(kodak[0])
    stats = Stats()
    pipeline = HashPipeline(stats, DecodeLimits(), cache_size=0, processes=1)
    try:
        first = asyncio.run(pipeline.process_item(item(body=body, hashes=None)))
        assert first.hashes == hash_bytes(body)
        assert pipeline.workers is not None and pipeline.workers._pool is not None
        for pid in list(pipeline.workers._pool._processes):  # the OOM killer, say
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(DropItem, match="worker died"):
            asyncio.run(pipeline.process_item(item(body=body, hashes=None, image_url="u2")))
        again = asyncio.run(pipeline.process_item(item(body=body, hashes=None, image_url="u3")))
        assert again.hashes == hash_bytes(body)
        assert stats.values["radar/hash_errors/worker_died"] == 1
    finally:
        pipeline.close_spider()
