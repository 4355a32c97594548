"""Hash each fetched video (:class:`crawler.items.VideoItem`) with vPDQ, in memory.

Consumes a VideoItem with ``body``; produces it with ``hashes`` (a
:class:`hashing.frames.VideoHashes`) and no body, or drops it with a counted reason
(``radar/video_errors/<kind>``). The bytes go to :func:`hashing.video.hash_video_bytes`
(a memfd and a capped child process, never a disk) on a worker thread. Settings:
``RADAR_MAX_VIDEO_BYTES`` (also the download cap), ``RADAR_MAX_VIDEO_SECONDS``.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.items import VideoItem
from hashing.video import VideoError, VideoLimits, hash_video_bytes


class VideoHashPipeline:
    def __init__(self, stats: Any, limits: VideoLimits) -> None:
        self.stats = stats
        self.limits = limits

    @classmethod
    def from_crawler(cls, crawler: Any) -> VideoHashPipeline:
        settings = crawler.settings
        default = VideoLimits()
        limits = VideoLimits(
            max_bytes=settings.getint("RADAR_MAX_VIDEO_BYTES", default.max_bytes),
            max_seconds=settings.getfloat("RADAR_MAX_VIDEO_SECONDS", default.max_seconds),
        )
        return cls(crawler.stats, limits)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, VideoItem):
            return item
        body, item.body = item.body, None  # from here on only this frame holds the bytes
        if not body:
            raise DropItem("video item without a body", log_level="INFO")
        try:
            hashes = await maybe_deferred_to_future(
                deferToThread(hash_video_bytes, body, self.limits)
            )
        except VideoError as exc:
            self.stats.inc_value(f"radar/video_errors/{exc.kind}")
            raise DropItem(f"{item.video_url}: {exc.kind}: {exc}", log_level="INFO") from None
        finally:
            del body
        self.stats.inc_value("radar/videos_hashed")
        self.stats.inc_value("radar/video_frames_hashed", len(hashes.frames))
        item.hashes = hashes
        return item
