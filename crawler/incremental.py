"""Incremental crawling: ask with the last crawl's validators, reuse what did not change.

A page or image seen before is requested with ``If-None-Match`` (its ETag) and
``If-Modified-Since`` (its Last-Modified). A 304 answer means unchanged: a page's stored
image URLs and links are used as if it had been parsed again (so the crawl still reaches
the pages below it), an image's stored hashes are published again without downloading or
decoding it, so the sighting of a known hit is still recorded. Images whose bytes come
back identical (same SHA-256) are not decoded again either (the hashing pipeline's
digest cache). State lives in the store (:class:`store.evidence.CrawlStateStore`).
"""

from __future__ import annotations

from typing import Any

from crawler.extract import ImageRef
from crawler.items import ImageItem, PageSeen
from hashing import ImageHashes, PdqHash, PHash
from store.evidence import ImageState, PageState


def conditional_headers(etag: str, last_modified: str) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def header(response: Any, name: bytes) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1")[:500] if value else ""


def page_state_of(
    target_id: int,
    url: str,
    response: Any,
    seen: PageSeen,
    refs: list[ImageRef],
    links: list[str],
) -> PageState:
    return PageState(
        target_id=target_id,
        url=url,
        etag=header(response, b"ETag"),
        last_modified=header(response, b"Last-Modified"),
        sha256=seen.sha256,
        images=tuple((ref.url, ref.how) for ref in refs),
        links=tuple(links),
        fetched_at=seen.fetched_at,
    )


def image_state_of(item: ImageItem) -> ImageState | None:
    """The state to remember for a hashed item (None if it was not hashed)."""
    if item.hashes is None:
        return None
    return ImageState(
        url=item.image_url,
        etag=item.etag,
        last_modified=item.last_modified,
        sha256=item.hashes.sha256,
        hashes=item.hashes.as_dict(),
        fetched_at=item.fetched_at,
    )


def hashes_of(state: ImageState) -> ImageHashes:
    """The stored hashes of an image. Raise ValueError if they are malformed or were
    stored by another version of the hashing (a different set of fields): then the
    image must be fetched and hashed again, never matched on stale hashes."""
    h = state.hashes
    if set(h) != set(ImageHashes.__dataclass_fields__):
        raise ValueError("hashes stored by another hashing version")
    values: dict[str, Any] = {}
    for name, value in h.items():
        if isinstance(value, str) and name.startswith("pdq"):
            values[name] = PdqHash(bytes.fromhex(value))
        elif isinstance(value, str) and name.startswith("phash"):
            values[name] = PHash(bytes.fromhex(value))
        else:
            values[name] = value
    values["sha256"] = str(h["sha256"])
    return ImageHashes(**values)


def usable(state: ImageState | None) -> bool:
    """Whether ``state`` holds hashes this version can reuse."""
    if state is None or not state.hashes:
        return False
    try:
        hashes_of(state)
    except (KeyError, TypeError, ValueError):
        return False
    return True
