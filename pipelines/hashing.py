"""Hash each image in memory, then drop its bytes.

An item marked ``unchanged`` (the server answered 304, or a channel photo already known
by its key) carries its stored hashes and no body: it passes through untouched.

Settings: ``RADAR_MAX_IMAGE_BYTES``, ``RADAR_MAX_IMAGE_PIXELS`` (decode limits) and
``RADAR_HASH_CACHE_SIZE`` (content digests remembered per crawl, so the same bytes seen
at another URL are not decoded again) and ``RADAR_STATE_STORE`` (the crawl state: bytes
identical to what an earlier crawl hashed at the same URL are not decoded again).
Hashing runs in Twisted's thread pool: decoding releases the GIL, so it overlaps with downloads.
Each hash's duration (in the pool's thread, without the wait for it) goes out as the
signal :data:`crawler.metrics.IMAGE_HASHED`.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import time
from collections import OrderedDict
from typing import Any

from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.items import ImageItem
from crawler.metrics import IMAGE_HASHED
from hashing import DecodeLimits, ImageError, ImageHashes, hash_bytes

log = logging.getLogger(__name__)


def _timed_hash(body: bytes, limits: DecodeLimits) -> tuple[ImageHashes, float]:
    started = time.perf_counter()
    hashes = hash_bytes(body, limits)
    return hashes, time.perf_counter() - started


class HashPipeline:
    def __init__(
        self,
        stats: Any,
        limits: DecodeLimits,
        cache_size: int,
        state: Any = None,
        signals: Any = None,
    ) -> None:
        self.stats = stats
        self.signals = signals
        self.limits = limits
        self.cache_size = cache_size
        self.state = state
        self._cache: OrderedDict[str, ImageHashes] = OrderedDict()
        # imagehash imports scipy.fftpack on first use; imported lazily by two hash worker
        # threads at once, CPython 3.11 can fail with "AST constructor recursion depth
        # mismatch". Import it here, once, on the reactor thread.
        importlib.import_module("scipy.fftpack")

    @classmethod
    def from_crawler(cls, crawler: Any) -> HashPipeline:
        settings = crawler.settings
        default = DecodeLimits()
        limits = DecodeLimits(
            max_bytes=settings.getint("RADAR_MAX_IMAGE_BYTES", default.max_bytes),
            max_pixels=settings.getint("RADAR_MAX_IMAGE_PIXELS", default.max_pixels),
        )
        return cls(
            crawler.stats,
            limits,
            settings.getint("RADAR_HASH_CACHE_SIZE", 100_000),
            settings.get("RADAR_STATE_STORE"),
            crawler.signals,
        )

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, ImageItem):
            return item
        body, item.body = item.body, None  # from here on only this frame holds the bytes
        if body is None and item.unchanged and item.hashes is not None:
            self.stats.inc_value("radar/hash_skipped_unchanged")  # hashes from crawl state
            return item
        if body is None:
            raise DropItem("image item without a body", log_level="INFO")
        digest = hashlib.sha256(body).hexdigest()
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
        else:
            cached = self._remembered(item.image_url, digest)
        if cached is not None:
            self.stats.inc_value("radar/hash_cache_hits")
            item.hashes = cached
            return item
        try:
            hashes, seconds = await maybe_deferred_to_future(
                deferToThread(_timed_hash, body, self.limits)
            )
        except ImageError as exc:
            self.stats.inc_value(f"radar/hash_errors/{exc.kind}")
            raise DropItem(f"{item.image_url}: {exc.kind}: {exc}", log_level="INFO") from None
        finally:
            del body
        self.stats.inc_value("radar/hashed")
        if self.signals is not None:
            self.signals.send_catch_log(IMAGE_HASHED, seconds=seconds)
        self._cache[digest] = hashes
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        item.hashes = hashes
        return item

    def _remembered(self, url: str, digest: str) -> ImageHashes | None:
        """The hashes an earlier crawl stored for exactly these bytes at this URL."""
        if self.state is None:
            return None
        known = self.state.image_state(url)
        if known is None or known.sha256 != digest or not known.hashes:
            return None
        from crawler.incremental import hashes_of

        try:
            return hashes_of(known)
        except (KeyError, TypeError, ValueError):  # stored by another hashing version
            return None
