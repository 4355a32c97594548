"""The item the spider yields for every fetched image."""

from __future__ import annotations

from dataclasses import dataclass, field

from hashing import ImageHashes


@dataclass(slots=True)
class ImageItem:
    """One fetched image and where it was found.

    ``body`` holds the image bytes only between the spider and the hashing pipeline, which
    replaces it with ``hashes`` and sets it to None. It is left out of ``repr`` so that no
    log line, even an error report about the item, can carry image bytes.
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
