"""The item the spider yields for every fetched image, and the page it was found on."""

from __future__ import annotations

from dataclasses import dataclass, field

from hashing import ImageHashes
from hashing.frames import VideoHashes


@dataclass(slots=True)
class PageSeen:
    """A fetched page as evidence needs it. ``html`` is the text the crawler parsed (for
    browser targets the DOM after scripts ran); it is kept out of ``repr``."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]
    title: str
    sha256: str  # of ``html`` as UTF-8
    fetched_at: str
    rendered: bool = False
    html: str = field(default="", repr=False)


@dataclass(slots=True)
class ImageItem:
    """One fetched image and where it was found.

    ``body`` holds the image bytes only between the spider and the hashing pipeline, which
    replaces it with ``hashes`` and sets it to None. It is left out of ``repr`` so that no
    log line, even an error report about the item, can carry image bytes.

    ``image_url`` is the image's name in hits and evidence: the URL found on the page, or
    for a channel photo its permanent post URL; ``fetched_url`` is what was requested and
    ``final_url`` where redirects ended. An *unchanged* item (the server answered 304, or
    the image is known by its key) arrives without a body and with ``hashes`` already set
    from the crawl state.
    """

    image_url: str
    page_url: str
    site: str
    case_id: str
    target_id: int
    http_status: int
    fetched_at: str
    how: str
    body: bytes | None = field(default=None, repr=False)
    hashes: ImageHashes | None = None
    fetched_url: str = ""
    final_url: str = ""
    redirects: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    unchanged: bool = False
    page: PageSeen | None = field(default=None, repr=False)
    crawl_id: str = ""  # the crawl round (distributed crawls), see wire.HashRecord
    same_as: str = ""  # the image URL (or post key) of this sighting's first item


@dataclass(slots=True)
class VideoItem:
    """One fetched video and where it was found (issue 14). Like :class:`ImageItem`:
    ``body`` holds the bytes only between the spider and the video hashing pipeline
    (``pipelines.video``), which replaces them with ``hashes``; never in ``repr``.
    Videos have no crawl state yet: each round fetches them again."""

    video_url: str
    page_url: str
    site: str
    case_id: str
    target_id: int
    http_status: int
    fetched_at: str
    how: str
    body: bytes | None = field(default=None, repr=False)
    hashes: VideoHashes | None = None
    fetched_url: str = ""
    final_url: str = ""
    crawl_id: str = ""
    same_as: str = ""
