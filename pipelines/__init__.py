"""Scrapy item pipelines: image bytes in, hash records out on the bus.

Consumes :class:`crawler.items.ImageItem` from the spider. :class:`HashPipeline` hashes
the bytes in memory and drops them; :class:`PublishPipeline` turns the item into a
:class:`wire.HashRecord` and publishes it on ``images.hashed.v1``. Videos
(:class:`crawler.items.VideoItem`) are hashed by :class:`pipelines.video.VideoHashPipeline`
(vPDQ) and published the same way, as a record with ``video_frames``.
"""

from __future__ import annotations

from pipelines.hashing import HashPipeline
from pipelines.publish import PublishPipeline

__all__ = ["HashPipeline", "PublishPipeline"]
